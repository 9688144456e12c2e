"""Initial-state samplers of `overflow.monte_carlo` (`overflow.samplers`): each state depends on
``(seed, index)`` only, whatever range is asked for; the distributions have the documented
moments and structure (balanced invariants, orthonormal layers, the vector case's imbalance,
product and centre-stable distance); bad parameters are refused with a clear exception."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import overflow as of
from overflow.montecarlo import samplers as S

N = 3 * S.BLOCK + 17  # four random blocks, the last one partly used
PAIRS = [
    (0, 1),
    (0, S.BLOCK),
    (S.BLOCK - 1, S.BLOCK + 1),
    (250, 600),
    (S.BLOCK, 2 * S.BLOCK),
    (2 * S.BLOCK - 3, N),
    (300, 300),
    (N - 1, N),
    (5, 3 * S.BLOCK + 1),
]
SIGMAS = 5.0  # statistical tolerances: 5 standard errors of the estimate


# -- networks ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mf_net():
    """Depth 3 on a 2x3 target: layer shapes (5, 3), (4, 5), (2, 4) -- fan-ins 3, 5, 4."""
    target = np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -1.0]])
    return of.Network(of.costs.matrix_factorization(target), depth=3, widths=[5, 4])


@pytest.fixture(scope="module")
def half_cost():
    """f(z) = (1 - z)^2 / 2: f'(0) = -1, so s = sign f'(0) = -1."""
    return of.costs.scalar(lambda z: 0.5 * (1.0 - z) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)


@pytest.fixture(scope="module")
def plus_cost():
    """f(z) = (1 + z)^2 / 2: f'(0) = +1, s = +1."""
    return of.costs.scalar(lambda z: 0.5 * (1.0 + z) ** 2, lambda z: z + 1.0, lambda z: 1.0, f_star=0.0)


@pytest.fixture(scope="module")
def flat_cost():
    """f(z) = z^2 / 2: f'(0) = 0, the centre-stable manifold is undefined."""
    return of.costs.scalar(lambda z: 0.5 * z * z, lambda z: z, lambda z: 1.0)


@pytest.fixture(scope="module")
def vec_net(half_cost):
    return of.Network(half_cost, depth=2, width=3)


def _from_array_states(net, count=N, seed=123):
    return np.random.default_rng(seed).standard_normal((count, net.state_size))


# (name, factory(net) -> sampler, which network)
SAMPLERS = [
    ("gaussian", lambda net: S.gaussian(0.3), "mf_net"),
    ("uniform", lambda net: S.uniform(0.4), "mf_net"),
    ("orthogonal", lambda net: S.orthogonal(0.7), "mf_net"),
    ("balanced", lambda net: S.balanced(0.5), "mf_net"),
    ("imbalanced", lambda net: S.imbalanced((0.0, 2.0), (-1.0, 1.0)), "vec_net"),
    ("center_stable", lambda net: S.center_stable(0.2), "vec_net"),
    ("from_array", lambda net: S.from_array(_from_array_states(net)), "mf_net"),
]
IDS = [s[0] for s in SAMPLERS]


@pytest.fixture(params=SAMPLERS, ids=IDS)
def case(request):
    name, factory, net_name = request.param
    net = request.getfixturevalue(net_name)
    return name, factory(net), net


# -- reproducibility ---------------------------------------------------------------------------


def test_ranges_are_rows_of_the_whole(case):
    name, sampler, net = case
    whole = sampler.states(net, 7, 0, N)
    assert whole.shape == (N, net.state_size)
    assert whole.dtype == np.float64
    assert np.all(np.isfinite(whole))
    for start, stop in PAIRS:
        part = sampler.states(net, 7, start, stop)
        assert part.shape == (stop - start, net.state_size), (start, stop)
        np.testing.assert_array_equal(part, whole[start:stop], err_msg=f"{name} [{start}, {stop})")


def test_call_gives_one_row_as_layers(case):
    name, sampler, net = case
    whole = sampler.states(net, 7, 0, N)
    for i in (0, 1, S.BLOCK - 1, S.BLOCK, 2 * S.BLOCK + 5, N - 1):
        layers = sampler(net, 7, i)
        assert [W.shape for W in layers] == net.shapes
        np.testing.assert_array_equal(net.flatten(layers), whole[i], err_msg=f"{name} row {i}")


def test_repeated_draws_are_identical(case):
    name, sampler, net = case
    np.testing.assert_array_equal(sampler.states(net, 3, 100, 400), sampler.states(net, 3, 100, 400))


def test_seeds(case):
    name, sampler, net = case
    a = sampler.states(net, 0, 0, 2 * S.BLOCK)
    b = sampler.states(net, 1, 0, 2 * S.BLOCK)
    if name == "from_array":  # given states: the seed is ignored
        np.testing.assert_array_equal(a, b)
        return
    assert not np.any(np.all(a == b, axis=1)), "a row is the same under two seeds"
    # rows are distinct within a run too: block b is not block b + 1 again
    assert len(np.unique(a, axis=0)) == len(a)


def test_states_needs_ordered_range(mf_net):
    with pytest.raises(ValueError, match="start"):
        S.gaussian(0.3).states(mf_net, 0, 10, 5)
    with pytest.raises(ValueError, match="start"):
        S.gaussian(0.3).states(mf_net, 0, -1, 5)


# -- distributions -----------------------------------------------------------------------------


def _layers(net, sampler, count=2048, seed=11):
    return net.unflatten(sampler.states(net, seed, 0, count))


@pytest.mark.parametrize("scale", [0.3, 1.7])
def test_gaussian_moments(mf_net, scale):
    for W, (r, c) in zip(_layers(mf_net, S.gaussian(scale)), mf_net.shapes):
        x = W.ravel()
        M = x.size
        var = scale**2 / c
        assert abs(x.mean()) <= SIGMAS * math.sqrt(var / M)
        # the sample variance of a normal sample has standard error var * sqrt(2 / (M - 1))
        assert abs(x.var(ddof=1) - var) <= SIGMAS * var * math.sqrt(2.0 / (M - 1)), (r, c)
        # fourth moment of a normal: 3 var^2 (checks the shape, not just the scale); the
        # estimate's variance is (E x^8 - (E x^4)^2) / M = (105 - 9) var^4 / M
        assert abs(np.mean(x**4) - 3 * var**2) <= SIGMAS * var**2 * math.sqrt(96.0 / M)


@pytest.mark.parametrize("scale", [0.4, 2.0])
def test_uniform_bounds_and_variance(mf_net, scale):
    for W, (r, c) in zip(_layers(mf_net, S.uniform(scale)), mf_net.shapes):
        x = W.ravel()
        M = x.size
        a = scale * math.sqrt(3.0 / c)
        assert np.max(np.abs(x)) <= a
        # M >= 24000 draws: all of them inside 0.99 a has probability 0.99^M ~ 1e-105
        assert np.max(x) >= 0.99 * a and np.min(x) <= -0.99 * a
        var = a * a / 3.0  # = scale^2 / fan_in, as for gaussian
        assert var == pytest.approx(scale**2 / c)
        # Var(x^2) = E x^4 - var^2 = a^4 / 5 - a^4 / 9 = 4 a^4 / 45
        assert abs(x.var(ddof=1) - var) <= SIGMAS * math.sqrt(4.0 * a**4 / 45.0 / M), (r, c)
        assert abs(x.mean()) <= SIGMAS * math.sqrt(var / M)


@pytest.mark.parametrize("scale", [0.7, 3.0])
def test_orthogonal_layers(mf_net, scale):
    count = 512
    for W, (r, c) in zip(_layers(mf_net, S.orthogonal(scale), count), mf_net.shapes):
        k = min(r, c)
        G = W @ np.swapaxes(W, -1, -2) if r <= c else np.swapaxes(W, -1, -2) @ W
        np.testing.assert_allclose(
            G, np.broadcast_to(scale**2 * np.eye(k), (count, k, k)), rtol=0, atol=1e-13 * scale**2
        )
        # Haar directions: every entry has mean 0 and E W_ij^2 = scale^2 / max(r, c)
        sd = scale / math.sqrt(max(r, c))
        assert np.max(np.abs(W.mean(axis=0))) <= SIGMAS * sd / math.sqrt(count)


@pytest.mark.parametrize("widths", [[5, 4], [1, 3], [2, 2]])
def test_balanced_invariants_vanish(widths):
    target = np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -1.0]])
    net = of.Network(of.costs.matrix_factorization(target), depth=3, widths=widths)
    Ws = _layers(net, S.balanced(0.5), 512)
    scale = max(float(np.max(np.abs(W @ np.swapaxes(W, -1, -2)))) for W in Ws)
    for C in of.invariants(Ws):
        assert C.shape[0] == 512
        assert np.max(np.abs(C)) <= 1e-12 * max(1.0, scale)
    # the layers share their singular values (rank min(dims))
    r = min(net.dims)
    svs = [np.linalg.svd(W, compute_uv=False)[:, :r] for W in Ws]
    for sv in svs[1:]:
        np.testing.assert_allclose(sv, svs[0], rtol=1e-10, atol=1e-14)
    assert np.all(svs[0] > 0)


def test_balanced_single_state_matches_of_invariants(mf_net):
    Ws = S.balanced(0.9)(mf_net, 4, 300)
    for C in of.invariants(Ws):
        assert np.max(np.abs(C)) <= 1e-12


def _vector_layers(net, sampler, count=1024, seed=5):
    w1, w2 = net.unflatten(sampler.states(net, seed, 0, count))
    return w1[:, :, 0], w2[:, 0, :]  # (count, k) each


@pytest.mark.parametrize("width", [1, 3, 8])
@pytest.mark.parametrize("c,z0", [(1.0, 0.5), (0.0, 0.3), (0.0, -0.3), (2.0, -1.0), (0.25, 0.0)])
def test_imbalanced_fixed_values(half_cost, width, c, z0):
    net = of.Network(half_cost, depth=2, width=width)
    a, b = _vector_layers(net, S.imbalanced(c, z0), 300)
    scale = c + 4 * z0 * z0  # S^2, the size of both terms of c = S^2 - 4 z^2
    for w1, w2 in zip(a, b):
        assert of.vector.imbalance(w1, w2) == pytest.approx(c, rel=1e-12, abs=1e-13 * scale)
        assert float(w2 @ w1) == pytest.approx(z0, rel=1e-12, abs=1e-14)
    # and of.imbalance (2 tr C^2 - tr C^2) agrees, as the MC result's imbalance column will
    c_inv = of.imbalance([a[0][:, None], b[0][None, :]])
    assert c_inv == pytest.approx(c, rel=1e-10, abs=1e-12 * scale)


def test_imbalanced_ranges(half_cost):
    net = of.Network(half_cost, depth=2, width=4)
    (c_lo, c_hi), (z_lo, z_hi) = (0.5, 3.0), (-1.0, 2.0)
    count = 2048
    a, b = _vector_layers(net, S.imbalanced((c_lo, c_hi), (z_lo, z_hi)), count)
    cs = np.array([of.vector.imbalance(w1, w2) for w1, w2 in zip(a, b)])
    zs = np.einsum("ij,ij->i", a, b)
    tol = 1e-12 * (c_hi + 4 * max(z_lo**2, z_hi**2))
    assert np.all(cs >= c_lo - tol) and np.all(cs <= c_hi + tol)
    assert np.all(zs >= z_lo - 1e-13) and np.all(zs <= z_hi + 1e-13)
    # uniform on the ranges: mean (lo + hi) / 2 within 5 standard errors (hi - lo) / sqrt(12 count)
    for x, lo, hi in ((cs, c_lo, c_hi), (zs, z_lo, z_hi)):
        assert abs(x.mean() - 0.5 * (lo + hi)) <= SIGMAS * (hi - lo) / math.sqrt(12.0 * count)
        assert x.min() < lo + 0.01 * (hi - lo) and x.max() > hi - 0.01 * (hi - lo)
    # c and z0 are drawn independently
    assert abs(np.corrcoef(cs, zs)[0, 1]) <= SIGMAS / math.sqrt(count)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 2.0])
@pytest.mark.parametrize("cost_name", ["half_cost", "plus_cost"])
@pytest.mark.parametrize("width", [1, 4])
def test_center_stable_distance(request, cost_name, eps, width):
    cost = request.getfixturevalue(cost_name)
    net = of.Network(cost, depth=2, width=width)
    a, b = _vector_layers(net, S.center_stable(eps, scale=0.6), 300)
    d = np.array([of.vector.center_stable_distance(w1, w2, cost) for w1, w2 in zip(a, b)])
    if eps == 0.0:
        assert np.all(d == 0.0)  # exactly on the manifold w1 = s w2^T
        s = of.vector.sign(cost)
        np.testing.assert_array_equal(a, s * b)
    else:
        np.testing.assert_allclose(d, eps, rtol=1e-13)
    # the other coordinate v = w1 + s w2^T is not degenerate
    s = of.vector.sign(cost)
    assert np.min(np.linalg.norm(a + s * b, axis=1)) > 0


def test_from_array_rows_and_layers(mf_net):
    states = _from_array_states(mf_net, 40)
    flat = S.from_array(states)
    np.testing.assert_array_equal(flat.states(mf_net, 0, 0, 40), states)
    np.testing.assert_array_equal(flat.states(mf_net, 9, 10, 20), states[10:20])
    layers = S.from_array(mf_net.unflatten(states))  # a list of (n, rows, cols) arrays
    np.testing.assert_array_equal(layers.states(mf_net, 0, 0, 40), states)
    assert layers == flat


def test_from_array_keeps_its_own_copy(mf_net):
    states = _from_array_states(mf_net, 40)
    sampler = S.from_array(states)
    before = sampler.describe()
    states[0, 0] = 99.0
    # "equal descriptions draw equal states": the description did not change, so neither may the states
    assert sampler.describe() == before
    assert sampler.states(mf_net, 0, 0, 1)[0, 0] != 99.0


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [S.gaussian, S.uniform, S.orthogonal, S.balanced])
@pytest.mark.parametrize(
    "scale,exc",
    [
        (-0.3, ValueError),
        (0.0, ValueError),
        (math.nan, (TypeError, ValueError)),
        (math.inf, (TypeError, ValueError)),
        ("0.3", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_scale(kind, scale, exc):
    with pytest.raises(exc, match="scale"):
        kind(scale)


@pytest.mark.parametrize("eps,exc", [(-0.1, ValueError), (math.nan, (TypeError, ValueError)), ("1", TypeError)])
def test_center_stable_bad_eps(eps, exc):
    with pytest.raises(exc, match="eps"):
        S.center_stable(eps)


def test_center_stable_bad_scale():
    with pytest.raises(ValueError, match="scale"):
        S.center_stable(0.1, scale=0.0)


@pytest.mark.parametrize(
    "kwargs,exc,name",
    [
        (dict(c=-1.0), ValueError, "c"),
        (dict(c=(-1.0, 1.0)), ValueError, "c"),
        (dict(c=(2.0, 1.0)), ValueError, "c"),
        (dict(c=(1.0, math.nan)), ValueError, "c"),
        (dict(c=(1.0, math.inf)), ValueError, "c"),
        (dict(c=(1.0,)), TypeError, "c"),
        (dict(c=(1.0, 2.0, 3.0)), TypeError, "c"),
        (dict(c="1"), TypeError, "c"),
        (dict(c=1.0, z0=(1.0, -1.0)), ValueError, "z0"),
        (dict(c=1.0, z0=math.nan), ValueError, "z0"),
        (dict(c=1.0, z0=("a", 1.0)), ValueError, "z0"),
        (dict(c=1.0, z0=None), TypeError, "z0"),
    ],
)
def test_imbalanced_bad_ranges(kwargs, exc, name):
    with pytest.raises(exc, match=rf"\b{name} must"):
        S.imbalanced(**kwargs)


@pytest.mark.parametrize("sampler", [S.imbalanced(1.0, 0.5), S.center_stable(0.1)], ids=["imbalanced", "center_stable"])
def test_vector_samplers_refuse_other_networks(mf_net, half_cost, sampler):
    deep = of.Network(half_cost, depth=3, width=2)
    for net in (mf_net, deep):
        with pytest.raises(ValueError, match="vector case"):
            sampler.check(net, 10)
        with pytest.raises(ValueError, match="vector case"):
            of.monte_carlo(net, 10, (0.0, 1.0), sampler=sampler, progress=False)


def test_vector_samplers_refuse_activation():
    net = of.Network(of.costs.matrix_factorization(np.array([[0.5]])), depth=2, width=3, activation="isru")
    with pytest.raises(ValueError, match="vector case"):
        of.monte_carlo(net, 10, (0.0, 1.0), sampler=S.imbalanced(1.0), progress=False)


def test_balanced_refuses_activation():
    net = of.Network(of.costs.matrix_factorization(np.array([[0.5]])), depth=2, width=3, activation="tanh")
    with pytest.raises(ValueError, match="linear"):
        of.monte_carlo(net, 10, (0.0, 1.0), sampler=S.balanced(0.3), progress=False)


def test_center_stable_needs_nonzero_slope_at_zero(flat_cost):
    net = of.Network(flat_cost, depth=2, width=2)
    with pytest.raises(ValueError, match=r"f'\(0\)"):
        of.monte_carlo(net, 10, (0.0, 1.0), sampler=S.center_stable(0.1), progress=False)


def test_from_array_wrong_width(mf_net):
    sampler = S.from_array(np.zeros((20, mf_net.state_size + 1)))
    with pytest.raises(ValueError, match=f"{mf_net.state_size + 1} entries per row.*{mf_net.state_size}"):
        of.monte_carlo(mf_net, 10, (0.0, 1.0), sampler=sampler, progress=False)


def test_from_array_too_few_rows(mf_net):
    sampler = S.from_array(np.zeros((5, mf_net.state_size)))
    with pytest.raises(ValueError, match=r"n = 6.*only 5"):
        of.monte_carlo(mf_net, 6, (0.0, 1.0), sampler=sampler, progress=False)
    # exactly as many rows as trajectories is fine
    res = of.monte_carlo(mf_net, 5, (0.0, 1.0), sampler=sampler, progress=False)
    assert len(res) == 5


@pytest.mark.parametrize(
    "states,match",
    [
        (np.zeros(10), "shape"),
        (np.zeros((2, 3, 4)), "shape"),
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0.0, np.inf]]), "NaN or infinite"),
        ([np.zeros((3, 2, 2)), np.zeros((4, 2, 2))], "same n"),
        ([np.zeros((3, 2))], "rows, cols"),
        ([], "one"),
    ],
)
def test_from_array_bad_states(states, match):
    with pytest.raises(ValueError, match=match):
        S.from_array(states)


# -- description, equality, pickling -----------------------------------------------------------


def _all_samplers(net):
    return [factory(net) for _, factory, _ in SAMPLERS]


def test_describe_is_json_and_round_trips(mf_net):
    for sampler in _all_samplers(mf_net):
        d = sampler.describe()
        assert d["kind"] == sampler.kind
        text = json.dumps(d)
        assert json.loads(text) == d, sampler  # survives params.json unchanged
        assert isinstance(repr(sampler), str)


def test_equality(mf_net):
    assert S.gaussian(0.3) == S.gaussian(0.3)
    assert S.gaussian(1) == S.gaussian(1.0)
    assert S.gaussian(0.3) != S.gaussian(0.4)
    assert S.gaussian(0.3) != S.uniform(0.3)
    assert S.gaussian(0.3) != S.orthogonal(0.3)
    assert S.balanced(0.3) != S.orthogonal(0.3)
    assert S.imbalanced(1.0, 0.5) == S.imbalanced((1.0, 1.0), (0.5, 0.5))
    assert S.imbalanced(1.0, 0.5) != S.imbalanced(1.0, 0.6)
    assert S.center_stable(0.1) == S.center_stable(0.1, scale=0.3)
    assert S.center_stable(0.1) != S.center_stable(0.1, scale=0.4)
    assert S.center_stable(0.1) != S.center_stable(0.2)
    x = _from_array_states(mf_net, 10)
    assert S.from_array(x) == S.from_array(x.copy())
    y = x.copy()
    y[3, 4] += 1e-12
    assert S.from_array(x) != S.from_array(y)
    assert S.gaussian(0.3) != "gaussian"


def test_pickle_round_trip(case):
    name, sampler, net = case
    back = pickle.loads(pickle.dumps(sampler))
    assert back == sampler
    np.testing.assert_array_equal(back.states(net, 2, 250, 270), sampler.states(net, 2, 250, 270))


def test_describe_returns_a_copy():
    sampler = S.imbalanced((0.5, 1.0), 0.2)
    d = sampler.describe()
    d["c"][0] = 7.0
    assert sampler.describe()["c"] == [0.5, 1.0]
