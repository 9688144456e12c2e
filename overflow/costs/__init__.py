"""Cost functions ``f : R^{m x n} -> R`` compiled with Numba for the C++ core.

Every constructor returns a `Cost`: the addresses of two ``numba.cfunc`` callbacks following the
cost ABI (``value_and_grad`` and ``hvp``, see ``csrc/include/overflow/overflow.h``) plus the
float64 parameter array they read. The generic kernels are compiled on first use and cached on
disk by Numba; nothing is compiled at import.

- `matrix_factorization` -- ``1/2 ||P - T||_F^2``
- `linear_regression` -- ``1/2 ||P X - Y||_F^2 / s``
- `ridge` -- linear regression plus ``lam/2 ||P||_F^2``
- `logistic` -- binary logistic regression, labels +-1, mean log-loss
- `softmax_cross_entropy` -- multi-class logistic regression
- `matrix_sensing` -- ``1/2 sum_i (<A_i, P> - b_i)^2``
- `log_cosh` -- robust regression ``sum log cosh(P X - Y) / s``
- `lqr`, `dlqr` -- LQR policy optimisation ``tr(P_K Sigma0)`` on the stabilizing gains (NaN outside);
  `lqr_optimal`, `dlqr_optimal` give the optimal gain from scipy's Riccati solvers for checks
- `scalar` -- a 1x1 cost from scalar functions ``f, f', f''``
- `squared_loss`, `logistic_loss`, `softmax_cross_entropy_loss`, `huber_loss`, `log_cosh_loss` -- losses on a
  network's outputs ``Yhat`` (m x s, one sample per column), each averaged over the ``s`` samples:
  ``1/2 ||Yhat - Y||_F^2 / s``, logistic with labels +-1, softmax cross-entropy, Huber and log-cosh
- `cost` -- decorator for a user kernel ``fn(P) -> float`` or ``fn(P, grad) -> float``, with
  complex-step derivatives where none are given
"""

from .base import Cost
from .huber_loss import huber_loss
from .linear_regression import linear_regression
from .log_cosh import log_cosh
from .log_cosh_loss import log_cosh_loss
from .logistic import logistic
from .logistic_loss import logistic_loss
from .lqr import dlqr, dlqr_optimal, lqr, lqr_optimal
from .matrix_factorization import matrix_factorization
from .matrix_sensing import matrix_sensing
from .ridge import ridge
from .scalar import scalar
from .softmax import softmax_cross_entropy
from .softmax_loss import softmax_cross_entropy_loss
from .squared_loss import squared_loss
from .user import cost

__all__ = [
    "Cost",
    "cost",
    "dlqr",
    "dlqr_optimal",
    "linear_regression",
    "log_cosh",
    "logistic",
    "lqr",
    "lqr_optimal",
    "matrix_factorization",
    "matrix_sensing",
    "ridge",
    "scalar",
    "softmax_cross_entropy",
    "squared_loss",
    "logistic_loss",
    "softmax_cross_entropy_loss",
    "huber_loss",
    "log_cosh_loss",
]
