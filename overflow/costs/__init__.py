"""Cost functions ``f : R^{m x n} -> R`` compiled with Numba for the C++ core.

Every constructor returns a `Cost`: the addresses of two ``numba.cfunc`` callbacks following the
cost ABI (``value_and_grad`` and ``hvp``, see ``csrc/include/overflow/overflow.h``) plus the
float64 parameter array they read. The generic kernels are compiled on first use and cached on
disk by Numba; nothing is compiled at import.

- `matrix_factorization` -- ``1/2 ||P - T||_F^2``
- `linear_regression` -- ``1/2 ||P X - Y||_F^2 / s``
- `scalar` -- a 1x1 cost from scalar functions ``f, f', f''``
- `cost` -- decorator for a user kernel ``fn(P, grad) -> float``
"""

from .base import Cost
from .linear_regression import linear_regression
from .matrix_factorization import matrix_factorization
from .scalar import scalar
from .user import cost

__all__ = ["Cost", "cost", "linear_regression", "matrix_factorization", "scalar"]
