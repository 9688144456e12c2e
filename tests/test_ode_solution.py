"""`overflow.DenseOutput` and `overflow.OdeSolution` (issue 17, item 3): the barycentric interpolant
on the Chebyshev-Lobatto nodes against the polynomials it must reproduce exactly, and the segment
choice of a whole run against scipy's own ``OdeSolution`` driving the same interpolants."""

import numpy as np
import pytest
import scipy.integrate

import overflow as of
from overflow.ode_solution import lobatto_nodes

RNG = np.random.default_rng(17)


def _poly_nodes(coef, t_old, t):
    """Nodes (d + 1, n) of the polynomials y_i(t) = sum_j coef[j, i] * s^j, s = (t - t_old) / (t - t_old),
    at the Lobatto points, and the polynomials themselves as a function of t (the oracle)."""
    degree = coef.shape[0] - 1
    theta, _ = lobatto_nodes(degree)
    powers = theta[:, None] ** np.arange(degree + 1)[None, :]

    def exact(tt):
        s = (np.asarray(tt, dtype=float) - t_old) / (t - t_old)
        return (np.atleast_1d(s)[:, None] ** np.arange(degree + 1)[None, :] @ coef).T

    return powers @ coef, exact


@pytest.mark.parametrize("degree", [0, 1, 3, 4, 5, 7])
def test_lobatto_nodes_are_the_chebyshev_points_with_exact_ends(degree):
    theta, w = lobatto_nodes(degree)
    assert theta.shape == w.shape == (degree + 1,)
    assert theta[0] == 0.0
    if degree:
        assert theta[-1] == 1.0
        k = np.arange(degree + 1)
        np.testing.assert_allclose(theta, (1 - np.cos(k * np.pi / degree)) / 2, atol=1e-16)
        np.testing.assert_array_equal(np.abs(w[1:-1]), 1.0)
        assert abs(w[0]) == abs(w[-1]) == 0.5


@pytest.mark.parametrize("degree", [1, 3, 4, 7])
@pytest.mark.parametrize("t_old, t", [(0.5, 2.0), (3.0, -1.0)])
def test_dense_output_reproduces_polynomials_of_its_degree(degree, t_old, t):
    coef = RNG.normal(size=(degree + 1, 3))
    nodes, exact = _poly_nodes(coef, t_old, t)
    d = of.DenseOutput(t_old, t, nodes)
    assert d.degree == degree and (d.t_min, d.t_max) == (min(t_old, t), max(t_old, t))
    inside = np.linspace(t_old, t, 23)
    np.testing.assert_allclose(d(inside), exact(inside), rtol=1e-12, atol=1e-12)
    # extrapolation (allowed, as scipy's) is still the same polynomial
    outside = np.array([t_old - 0.3 * (t - t_old), t + 0.2 * (t - t_old)])
    np.testing.assert_allclose(d(outside), exact(outside), rtol=1e-10, atol=1e-10)
    # a scalar gives (n,); the step's ends are the nodes exactly
    assert d(inside[5]).shape == (3,)
    np.testing.assert_array_equal(d(t_old), nodes[0])
    np.testing.assert_array_equal(d(t), nodes[-1])


def test_dense_output_constant_complex_and_bad_times():
    c = of.DenseOutput(1.0, 1.0, np.array([[2.0, -1.0]]))
    np.testing.assert_array_equal(c(5.0), [2.0, -1.0])
    assert c(np.array([0.0, 1.0, 7.0])).shape == (2, 3)
    assert c(np.zeros(0)).shape == (2, 0)
    coef = RNG.normal(size=(5, 2)) + 1j * RNG.normal(size=(5, 2))
    nodes, exact = _poly_nodes(coef, 0.0, 1.0)
    d = of.DenseOutput(0.0, 1.0, nodes)
    tt = np.linspace(0, 1, 9)
    assert d(tt).dtype == np.complex128
    np.testing.assert_allclose(d(tt), exact(tt), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="1-D"):
        d(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="t must be a real number"):
        d("a")
    with pytest.raises(ValueError, match="nodes must have shape"):
        of.DenseOutput(0.0, 1.0, np.zeros(3))
    assert isinstance(d, scipy.integrate.DenseOutput)


def _run(ts, degree=4, n=2, continuous=False):
    """A recorded 'run' on breakpoints ts: a random polynomial per segment (discontinuous at the
    breakpoints unless ``continuous``), as (nodes (S, d + 1, n), list of DenseOutput, exact pieces)."""
    nodes, pieces = [], []
    for i in range(len(ts) - 1):
        coef = RNG.normal(size=(degree + 1, n))
        if continuous and pieces:
            coef[0] = pieces[-1](ts[i])[:, 0]
        nd, exact = _poly_nodes(coef, ts[i], ts[i + 1])
        nodes.append(nd)
        pieces.append(exact)
    dense = [of.DenseOutput(ts[i], ts[i + 1], nodes[i]) for i in range(len(ts) - 1)]
    return np.array(nodes), dense, pieces


@pytest.mark.parametrize("ts", [[0.0, 0.5, 1.25, 3.0, 3.5], [3.5, 3.0, 1.25, 0.5, 0.0]])
@pytest.mark.parametrize("alt_segment", [False, True])
def test_ode_solution_picks_scipys_segments(ts, alt_segment):
    ts = np.array(ts)
    nodes, dense, _ = _run(ts)
    ours = of.OdeSolution.from_nodes(ts, ts, nodes, alt_segment=alt_segment)
    general = of.OdeSolution(ts, dense, alt_segment=alt_segment)
    ref = scipy.integrate.OdeSolution(ts, dense, alt_segment=alt_segment)  # scipy's selection as the oracle
    # breakpoints exactly (where the discontinuous pieces tell the segments apart), points
    # inside, and outside the range on both sides, in no particular order
    tt = np.concatenate([ts, RNG.uniform(-1.0, 4.5, 40)])
    RNG.shuffle(tt)
    for sol in (ours, general):
        np.testing.assert_allclose(sol(tt), ref(tt), rtol=1e-12, atol=1e-12)
        for x in tt[:12]:
            np.testing.assert_allclose(sol(x), ref(x), rtol=1e-12, atol=1e-12)
            assert sol(x).shape == (2,)
        assert sol.n_segments == 4 and sol.ascending == (ts[-1] > ts[0])
        assert (sol.t_min, sol.t_max) == (ts.min(), ts.max())
        np.testing.assert_array_equal(sol.ts, ts)


def test_ode_solution_values_against_the_pieces_and_a_cut_last_step():
    ts = np.array([0.0, 1.0, 2.5, 4.0])
    nodes, _, pieces = _run(ts, degree=7, n=3, continuous=True)
    # a terminal event at 3.2 ends the run inside the last step: ts ends there, the polynomial
    # keeps its step's bounds
    cut = ts.copy()
    cut[-1] = 3.2
    sol = of.OdeSolution.from_nodes(cut, ts, nodes)
    assert sol.t_max == 3.2
    tt = np.linspace(0.0, 3.2, 50)
    seg = np.clip(np.searchsorted(cut, tt, side="left") - 1, 0, 2)
    exact = np.stack([pieces[s](x)[:, 0] for s, x in zip(seg, tt)], axis=1)
    np.testing.assert_allclose(sol(tt), exact, rtol=1e-11, atol=1e-11)


def test_interpolants_are_built_on_demand_and_agree():
    ts = np.array([0.0, 0.3, 0.9])
    nodes, dense, _ = _run(ts)
    sol = of.OdeSolution.from_nodes(ts, ts, nodes)
    assert len(sol.interpolants) == 2
    first, last = sol.interpolants[0], sol.interpolants[-1]
    assert isinstance(first, of.DenseOutput) and (last.t_old, last.t) == (0.3, 0.9)
    tt = np.linspace(0.3, 0.9, 7)
    np.testing.assert_allclose(last(tt), dense[1](tt), rtol=1e-14)
    assert [d.t for d in sol.interpolants[:]] == [0.3, 0.9]
    with pytest.raises(IndexError):
        sol.interpolants[2]
    assert isinstance(sol, scipy.integrate.OdeSolution)
    assert sol(np.zeros(0)).shape == (2, 0)


def test_ode_solution_checks_its_breakpoints():
    with pytest.raises(ValueError, match="strictly increasing or decreasing"):
        of.OdeSolution([0.0, 1.0, 0.5], [None, None])
    with pytest.raises(ValueError, match="don't match"):
        of.OdeSolution([0.0, 1.0, 2.0], [None])
    with pytest.raises(ValueError, match="recorded steps"):
        of.OdeSolution.from_nodes(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.zeros((2, 3, 1)))
    # a zero-length run: one constant segment, as scipy's
    sol = of.OdeSolution([2.0, 2.0], [of.DenseOutput(2.0, 2.0, np.array([[1.0, 3.0]]))])
    np.testing.assert_array_equal(sol(np.array([0.0, 2.0, 9.0])), [[1.0] * 3, [3.0] * 3])


def test_large_evaluations_are_chunked(monkeypatch):
    from overflow import ode_solution

    ts = np.linspace(0.0, 1.0, 6)
    nodes, _, pieces = _run(ts, continuous=True)
    sol = of.OdeSolution.from_nodes(ts, ts, nodes)
    tt = np.linspace(0, 1, 101)
    whole = sol(tt)
    monkeypatch.setattr(ode_solution, "_CHUNK_ENTRIES", 7)  # a point or so per chunk
    np.testing.assert_array_equal(sol(tt), whole)
