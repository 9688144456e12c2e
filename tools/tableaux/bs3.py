"""Bogacki-Shampine 3(2), with the cubic Hermite interpolant.

P. Bogacki and L. F. Shampine, "A 3(2) pair of Runge-Kutta formulas", Appl. Math. Lett. 2(4),
321-325 (1989): the 3rd-order solution b and the 2nd-order b_hat, which also weights f(y_new)
(first same as last). The interpolant is the cubic Hermite one through both ends of the step.
"""

from __future__ import annotations

from .exact import exact, hermite_dense, minus


def tableau() -> dict:
    b = exact(["2/9", "1/3", "4/9"])
    b_hat = exact(["7/24", "1/4", "1/3", "1/8"])
    return dict(
        stages=3,
        c=exact(["0", "1/2", "3/4"]),
        a=[[], exact(["1/2"]), exact(["0", "3/4"])],
        b=b,
        e=minus(b, b_hat),
        dense=hermite_dense(b),
    )
