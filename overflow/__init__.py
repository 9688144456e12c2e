"""overflow: the gradient flow of overparameterized problems (deep linear networks on any cost).

A C++ core integrates the flow of eq. 4 with adaptive Runge-Kutta methods; costs are Numba
kernels called through C function pointers; this package is the thin Python layer on top.
"""

from . import activations, costs, datasets, events, vector
from .analysis import critical_point, linearization
from .costs import Cost, cost
from .integrate import AUTO_METHOD, IMPLICIT_METHODS, METHODS, ConvergenceWarning, IntegrationInterrupted, integrate
from .invariants import imbalance, invariants
from .montecarlo import MCResult, MonteCarloInterrupted, monte_carlo, samplers
from .network import Network
from .neuron_invariants import neuron_invariants
from .ode_solution import DenseOutput, OdeSolution
from .ode_solver import BDF, DOP853, LSODA, RK23, RK45, OdeSolver, Radau
from .result import Result
from .solve_ivp import SCIPY_METHODS, OdeResult, solve_ivp
from .solver import Solver

__version__ = "0.1.0"


def cmake_prefix_path() -> str:
    """The prefix to give CMake (``-DCMAKE_PREFIX_PATH=...``) so that ``find_package(overflow)`` finds
    the C++ core this package was built with: target ``overflow::core``, headers ``overflow/*.hpp``
    and the C ABI ``overflow/overflow.h`` (see examples/). That is the folder of the compiled module:
    the package's own folder in a regular install, the build's install tree in an editable one."""
    import os

    from . import _core

    return os.path.dirname(os.path.abspath(_core.__file__))


__all__ = [
    "AUTO_METHOD",
    "BDF",
    "cmake_prefix_path",
    "ConvergenceWarning",
    "Cost",
    "DenseOutput",
    "DOP853",
    "IMPLICIT_METHODS",
    "IntegrationInterrupted",
    "LSODA",
    "MCResult",
    "METHODS",
    "MonteCarloInterrupted",
    "Network",
    "Result",
    "activations",
    "cost",
    "costs",
    "critical_point",
    "datasets",
    "events",
    "imbalance",
    "integrate",
    "invariants",
    "linearization",
    "monte_carlo",
    "neuron_invariants",
    "OdeResult",
    "OdeSolution",
    "OdeSolver",
    "Radau",
    "RK23",
    "RK45",
    "samplers",
    "SCIPY_METHODS",
    "solve_ivp",
    "Solver",
    "vector",
]
