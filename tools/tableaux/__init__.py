"""The explicit Runge-Kutta methods' coefficients as their authors publish them, one module per method.

Each module's `tableau()` returns exact numbers (fractions.Fraction; a published decimal is read
digit for digit as the fraction it denotes), so that tools/generate_tableaux.py rounds every
coefficient to a double once. Entries of the dict: ``stages``, ``c``, ``a`` (row i lists a_i0 ..
a_i,i-1), ``b``, ``e`` (stages + 1 error weights over the stages and f(t + h, y_new): the local
error is h sum_i e_i K_i), optionally ``e_low``, ``extra_c`` and ``extra_a`` (dense-output stages,
row i over the stages, f(y_new) and the extra stages before it) and ``dense`` (one polynomial per
slot: b_i(theta) = sum_p dense[i][p] theta^(p+1)).
"""

METHODS = ("bs3", "dopri5", "tsit5", "dop853")
