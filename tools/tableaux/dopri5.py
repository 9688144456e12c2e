"""Dormand-Prince 5(4) with Shampine's quartic interpolant.

J. R. Dormand and P. J. Prince, "A family of embedded Runge-Kutta formulae", J. Comput. Appl.
Math. 6(1), 19-26 (1980), RK5(4)7M: c, a, the 5th-order b and the 4th-order b_hat (which weights
f(y_new)). Dense output: L. F. Shampine, "Some practical Runge-Kutta formulas", Math. Comp.
46(173), 135-150 (1986), in the nested form and with the coefficients d of Hairer's dopri5.f
(E. Hairer, S. P. Norsett and G. Wanner, Solving Ordinary Differential Equations I, 2nd ed.,
section II.6).
"""

from __future__ import annotations

from .exact import exact, minus, nested_dense


def tableau() -> dict:
    b = exact(["35/384", "0", "500/1113", "125/192", "-2187/6784", "11/84"])
    b_hat = exact(["5179/57600", "0", "7571/16695", "393/640", "-92097/339200", "187/2100", "1/40"])
    # dopri5.f's D1, D3..D7 over the stages and f(y_new) (its K2 at that point).
    d = exact(
        [
            "-12715105075/11282082432",
            "0",
            "87487479700/32700410799",
            "-10690763975/1880347072",
            "701980252875/199316789632",
            "-1453857185/822651844",
            "69997945/29380423",
        ]
    )
    return dict(
        stages=6,
        c=exact(["0", "1/5", "3/10", "4/5", "8/9", "1"]),
        a=[
            [],
            exact(["1/5"]),
            exact(["3/40", "9/40"]),
            exact(["44/45", "-56/15", "32/9"]),
            exact(["19372/6561", "-25360/2187", "64448/6561", "-212/729"]),
            exact(["9017/3168", "-355/33", "46732/5247", "49/176", "-5103/18656"]),
        ],
        b=b,
        e=minus(b, b_hat),
        dense=nested_dense(b, [d], slots=7),
    )
