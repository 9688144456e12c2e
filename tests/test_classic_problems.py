"""The generic solver (of.solve_ivp) on classic non-stiff problems with published reference
solutions: the error at the end must fall in proportion to the tolerance for every method.

References (kept here with their source):
- Pleiades (7 bodies in the plane, masses m_i = i, 28 equations, t in [0, 3]): F. Mazzia and
  C. Magherini, Test Set for Initial Value Problem Solvers, release 2.4, University of Bari
  (2008), problem PLEI (report plei.pdf); also Hairer, Norsett & Wanner I, section II.10.
- Brusselator (y1' = 1 + y1^2 y2 - 4 y1, y2' = 3 y1 - y1^2 y2, y(0) = (1.5, 3), t in [0, 20]):
  Hairer, Norsett & Wanner I, section II.16; the value at t = 20 from Mathematica's NDSolve at
  32-digit working precision (NDSolveProblems "BrusselatorODE").
"""

import itertools

import numpy as np
import pytest

import overflow as of

METHODS = sorted(of.METHODS)
RTOLS = (1e-4, 1e-6, 1e-8, 1e-10)

PLEIADES_Y0 = np.array(
    [
        3,
        3,
        -1,
        -3,
        2,
        -2,
        2,  # x_i(0)
        3,
        -3,
        2,
        0,
        0,
        -4,
        4,  # y_i(0)
        0,
        0,
        0,
        0,
        0,
        1.75,
        -1.5,  # x_i'(0)
        0,
        0,
        0,
        -1.25,
        1,
        0,
        0,
    ],
    dtype=float,
)  # y_i'(0)
PLEIADES_AT_3 = np.array(
    [
        0.3706139143970502,
        0.3237284092057233e1,
        -0.3222559032418324e1,
        0.6597091455775310,
        0.3425581707156584,
        0.1562172101400631e1,
        -0.7003092922212495,
        -0.3943437585517392e1,
        -0.3271380973972550e1,
        0.5225081843456543e1,
        -0.2590612434977470e1,
        0.1198213693392275e1,
        -0.2429682344935824,
        0.1091449240428980e1,
        0.3417003806314313e1,
        0.1354584501625501e1,
        -0.2590065597810775e1,
        0.2025053734714242e1,
        -0.1155815100160448e1,
        -0.8072988170223021,
        0.5952396354208710,
        -0.3741244961234010e1,
        0.3773459685750630,
        0.9386858869551073,
        0.3667922227200571,
        -0.3474046353808490,
        0.2344915448180937e1,
        -0.1947020434263292e1,
    ]
)

BRUSSELATOR_Y0 = np.array([1.5, 3.0])
BRUSSELATOR_AT_20 = np.array([0.4986370712683478291402659846476, 4.596780349452011024598321237263])


def pleiades(t, y, dy):
    for i in range(7):
        ax = 0.0
        ay = 0.0
        for j in range(7):
            if j != i:
                dx = y[j] - y[i]
                dz = y[7 + j] - y[7 + i]
                r3 = (dx * dx + dz * dz) ** 1.5
                ax += (j + 1) * dx / r3
                ay += (j + 1) * dz / r3
        dy[i] = y[14 + i]
        dy[7 + i] = y[21 + i]
        dy[14 + i] = ax
        dy[21 + i] = ay


def brusselator(t, y, dy):
    dy[0] = 1.0 + y[0] * y[0] * y[1] - 4.0 * y[0]
    dy[1] = 3.0 * y[0] - y[0] * y[0] * y[1]


PROBLEMS = {
    "pleiades": (pleiades, PLEIADES_Y0, 3.0, PLEIADES_AT_3),
    "brusselator": (brusselator, BRUSSELATOR_Y0, 20.0, BRUSSELATOR_AT_20),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_error_at_the_end_is_proportional_to_the_tolerance(problem, method):
    fun, y0, t_end, reference = PROBLEMS[problem]
    errors = []
    for rtol in RTOLS:
        res = of.solve_ivp(fun, (0.0, t_end), y0, method=method, rtol=rtol, atol=rtol)
        assert res.status == 0
        errors.append(np.max(np.abs(res.y[:, -1] - reference)))
    # Local error control per step gives a global error roughly proportional to the tolerance:
    # slope 1 in log-log (measured 0.92-1.21 over these eight cases). Each factor 100 of tolerance
    # must buy at least a factor 10 of accuracy, and the error must stay within 10^4 tolerances.
    slope = np.polyfit(np.log10(RTOLS), np.log10(errors), 1)[0]
    assert 0.75 < slope < 1.5, (errors, slope)
    assert all(b < a / 10 for a, b in itertools.pairwise(errors)), errors
    assert all(e < 1e4 * r for e, r in zip(errors, RTOLS)), errors


@pytest.mark.parametrize("problem,bound", [("pleiades", 1e-10), ("brusselator", 1e-11)])
def test_dop853_reaches_the_reference_at_tight_tolerance(problem, bound):
    fun, y0, t_end, reference = PROBLEMS[problem]
    res = of.solve_ivp(fun, (0.0, t_end), y0, method="dop853", rtol=1e-13, atol=1e-13)
    assert np.max(np.abs(res.y[:, -1] - reference)) < bound
