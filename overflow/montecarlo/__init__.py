"""Monte Carlo over initializations: `monte_carlo`, its result, the samplers and streaming to disk."""

from . import samplers
from .chunkfile import ChunkError
from .lock import StoreLocked
from .result import MCResult, MCSummary
from .run import MonteCarloInterrupted, global_minimum, load, monte_carlo
from .store import ResumeMismatch, StoreWarning

__all__ = [
    "ChunkError",
    "MCResult",
    "MCSummary",
    "MonteCarloInterrupted",
    "ResumeMismatch",
    "StoreLocked",
    "StoreWarning",
    "global_minimum",
    "load",
    "monte_carlo",
    "samplers",
]
