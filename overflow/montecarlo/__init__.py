"""Monte Carlo over initializations: `monte_carlo`, its result, the samplers and streaming to disk."""

from . import samplers
from .result import MCResult, MCSummary
from .run import MonteCarloInterrupted, global_minimum, load, monte_carlo
from .store import ResumeMismatch

__all__ = ["MCResult", "MCSummary", "MonteCarloInterrupted", "ResumeMismatch", "global_minimum", "load",
           "monte_carlo", "samplers"]
