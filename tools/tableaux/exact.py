"""Exact arithmetic on published coefficients, shared by the method modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction


def exact(values: Iterable[str | int]) -> list[Fraction]:
    """Published numbers as exact fractions: "44/45" or a decimal such as "0.5260e-01", digit for digit."""
    return [Fraction(v) for v in values]


def minus(x: Sequence[Fraction], y: Sequence[Fraction]) -> list[Fraction]:
    """x - y entrywise; the shorter is padded with zeros."""
    n = max(len(x), len(y))
    return [(x[i] if i < len(x) else 0) - (y[i] if i < len(y) else 0) for i in range(n)]


def hermite_dense(b: Sequence[Fraction]) -> list[list[Fraction]]:
    """The cubic Hermite interpolant through (y0, f0) and (y_new, f_new) as per-slot polynomials.

    y(theta) = y0 + h [h10(theta) f0 + h01(theta) sum_i b_i K_i + h11(theta) f_new] with
    h10 = theta - 2 theta^2 + theta^3, h01 = 3 theta^2 - 2 theta^3, h11 = theta^3 - theta^2; rows
    are the stages then f_new, columns the coefficients of theta, theta^2, theta^3.
    """
    rows = [[Fraction(0), 3 * bi, -2 * bi] for bi in b] + [[Fraction(0), Fraction(-1), Fraction(1)]]
    rows[0] = [r + h for r, h in zip(rows[0], (1, -2, 1))]
    return rows


def _poly_mul(p: list[Fraction], q: Sequence[int]) -> list[Fraction]:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, pi in enumerate(p):
        for j, qj in enumerate(q):
            out[i + j] += pi * qj
    return out


def nested_dense(b: Sequence[Fraction], d: Sequence[Sequence[Fraction]], slots: int) -> list[list[Fraction]]:
    """Hairer's dense output (dopri5.f's CONTD5, dop853.f's CONTD8) as per-slot polynomials.

    Hairer stores y(theta) = y0 + theta (F0 + (1-theta) (F1 + theta (F2 + (1-theta) (F3 + ...))))
    with F0 = h sum b_i K_i, F1 = h f0 - F0, F2 = F0 - h f_new - F1 and F3.. = h sum_i d_i K_i (one
    row of `d` each; the stage slots, f_new at slot len(b), then any extra stages). Expanded into
    monomials: rows are the slots, columns the coefficients of theta, theta^2, ...
    """
    s = len(b)
    f0, f_new, dy = [Fraction(0)] * slots, [Fraction(0)] * slots, [Fraction(0)] * slots
    f0[0] = Fraction(1)
    f_new[s] = Fraction(1)
    dy[:s] = b
    f1 = minus(f0, dy)
    f2 = minus(minus(dy, f_new), f1)
    terms = [dy, f1, f2] + [list(row) + [Fraction(0)] * (slots - len(row)) for row in d]
    polys = [[Fraction(0)] for _ in range(slots)]
    for depth, f in reversed(list(enumerate(terms))):
        factor = (0, 1) if depth % 2 == 0 else (1, -1)  # theta, then (1 - theta), alternating outwards
        polys = [_poly_mul([p[0] + f[k]] + p[1:], factor) for k, p in enumerate(polys)]
    assert all(p[0] == 0 for p in polys)  # y(0) = y0
    return [p[1:] for p in polys]
