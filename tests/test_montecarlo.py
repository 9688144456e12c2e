"""`overflow.monte_carlo` on the threads backend: bit-identical results for any number of workers
and chunk size, each trajectory the same as `overflow.integrate` from the sampler's start, the
`MCResult` fields, the paper's predictions (theorem 4 for depth-2 matrix factorization; the
centre-stable manifold of Proposition 5 / Corollary 6 in the vector case), the invariant summaries
and clear errors on bad arguments."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import assert_mc_identical, mc_arrays

import overflow as of
from overflow.montecarlo import samplers as S
from overflow.montecarlo.chunks import STATUS_NAMES

TARGET = np.array([[1.0, 0.5], [0.0, -1.0]])
SAMPLER = S.gaussian(0.5)
# dopri5 with t_end 8, gtol 1e-3 and max_steps 40 gives a mix of "converged", "max_steps" and "t_end"
MIX = dict(t_span=(0.0, 8.0), gtol=1e-3, max_steps=40, method="dopri5")
T_EVAL = np.linspace(0.0, 8.0, 9)


@pytest.fixture(scope="module")
def net():
    return of.Network(of.costs.matrix_factorization(TARGET), depth=3, width=3)


def mc(net, n, **kw):
    kw.setdefault("progress", False)
    return of.monte_carlo(net, n, **kw)


@pytest.fixture(scope="module")
def mixed(net):
    """60 trajectories with three statuses, t_eval and the final states (workers=1, default chunk)."""
    return mc(net, 60, sampler=SAMPLER, seed=3, t_eval=T_EVAL, keep_final=True, workers=1, **MIX)


# -- determinism ---------------------------------------------------------------------------------


def test_mixed_run_has_several_statuses(mixed):
    assert {"converged", "max_steps", "t_end"} <= set(mixed.summary().fractions)


@pytest.mark.parametrize("workers", [1, 2, 3, 16])
@pytest.mark.parametrize("chunk", [1, 7, None])
def test_bit_identical_for_workers_and_chunks(net, mixed, workers, chunk):
    res = mc(net, 60, sampler=SAMPLER, seed=3, t_eval=T_EVAL, keep_final=True, workers=workers, chunk=chunk, **MIX)
    assert_mc_identical(res, mixed)


def test_chunk_larger_than_n(net, mixed):
    res = mc(net, 60, sampler=SAMPLER, seed=3, t_eval=T_EVAL, keep_final=True, workers=2, chunk=1000, **MIX)
    assert_mc_identical(res, mixed)
    assert res.params["chunk"] == 60


def test_prefix_of_a_larger_run(net, mixed):
    """Trajectory i depends on (seed, i) only: the first 60 of 300 are the 60 of a run of 60."""
    res = mc(net, 300, sampler=SAMPLER, seed=3, t_eval=T_EVAL, keep_final=True, workers=2, chunk=50, **MIX)
    for k, v in mc_arrays(mixed).items():
        assert np.array_equal(mc_arrays(res)[k][:60], v, equal_nan=True), k


def test_seed_changes_the_starts(net, mixed):
    other = mc(net, 60, sampler=SAMPLER, seed=4, t_eval=T_EVAL, keep_final=True, **MIX)
    assert not np.any(other.imbalance_fro[:, 0] == mixed.imbalance_fro[:, 0])
    same = mc(net, 60, sampler=SAMPLER, seed=np.int64(3), t_eval=T_EVAL, keep_final=True, **MIX)
    assert_mc_identical(same, mixed)


def test_from_array_of_the_same_states_gives_the_same_run(net, mixed):
    """Only the starts matter: from_array with the gaussian sampler's states (more rows than n)
    reproduces the gaussian run."""
    states = SAMPLER.states(net, 3, 0, 75)
    res = mc(net, 60, sampler=S.from_array(states), seed=0, t_eval=T_EVAL, keep_final=True, workers=2, chunk=16, **MIX)
    assert_mc_identical(res, mixed)


def test_default_sampler_is_gaussian_03(net):
    a = mc(net, 20, t_span=(0.0, 2.0))
    b = mc(net, 20, t_span=(0.0, 2.0), sampler=S.gaussian(0.3))
    assert_mc_identical(a, b)
    assert a.params["sampler"] == {"kind": "gaussian", "scale": 0.3}


@pytest.mark.parametrize("i", [0, 1, 17, 41, 59])
def test_each_trajectory_is_integrate_from_its_start(net, mixed, i):
    res = of.integrate(net, SAMPLER(net, 3, i), t_eval=T_EVAL, **MIX)
    assert mixed.status[i] == res.status
    assert mixed.final_loss[i] == res.final_loss
    assert mixed.t_final[i] == res.t_final
    assert mixed.final_grad_norm[i] == res.final_grad_norm
    assert mixed.naccept[i] == res.naccept
    assert mixed.nreject[i] == res.nreject
    np.testing.assert_array_equal(mixed.final[i], net.flatten(res.final_weights))
    # the loss at the t_eval points reached, NaN after an early stop
    T = len(res.t)
    np.testing.assert_array_equal(res.t, T_EVAL[:T])
    np.testing.assert_array_equal(mixed.loss_at[i, :T], res.loss)
    assert np.all(np.isnan(mixed.loss_at[i, T:]))


@pytest.mark.parametrize("method", sorted(of.METHODS) + ["auto"])
def test_nfev_matches_integrate_without_t_eval(net, method):
    kw = dict(MIX, method=method, rtol=1e-7, atol=1e-10)
    res = mc(net, 12, sampler=SAMPLER, seed=5, workers=2, **kw)
    for i in (0, 5, 11):
        one = of.integrate(net, SAMPLER(net, 5, i), **kw)
        assert (res.nfev[i], res.naccept[i], res.nreject[i]) == (one.nfev, one.naccept, one.nreject)
        assert res.final_loss[i] == one.final_loss and res.t_final[i] == one.t_final
        assert res.status[i] == one.status


def test_nfev_matches_integrate_with_t_eval(net, mixed):
    for i in (0, 17, 59):
        res = of.integrate(net, SAMPLER(net, 3, i), t_eval=T_EVAL, **MIX)
        assert mixed.nfev[i] == res.nfev


# -- MCResult ------------------------------------------------------------------------------------


def test_fields_shapes_and_dtypes(net, mixed):
    n = 60
    assert len(mixed) == n
    for k in ("t_final", "final_loss", "final_grad_norm", "t_converged", "invariant_drift"):
        assert getattr(mixed, k).shape == (n,) and getattr(mixed, k).dtype == np.float64, k
    for k in ("nfev", "naccept", "nreject"):
        assert getattr(mixed, k).shape == (n,) and getattr(mixed, k).dtype == np.int64, k
        assert np.all(getattr(mixed, k) >= 0)
    assert mixed.status_code.shape == (n,) and mixed.status_code.dtype.kind == "i"
    for k in ("imbalance_trace", "imbalance_fro", "imbalance"):
        assert getattr(mixed, k).shape == (n, net.depth - 1), k
    assert mixed.final.shape == (n, net.state_size)
    assert mixed.loss_at.shape == (n, len(T_EVAL))
    np.testing.assert_array_equal(mixed.t_eval, T_EVAL)
    assert mixed.states_at is None
    assert mixed.status.shape == (n,)
    assert set(mixed.status) <= set(STATUS_NAMES)
    np.testing.assert_array_equal(mixed.status, np.array(STATUS_NAMES)[mixed.status_code])
    assert mixed.global_minimum == 0.0
    json.dumps(mixed.params)  # JSON-able, as saved in params.json
    assert mixed.params["n"] == n and mixed.params["seed"] == 3 and mixed.params["chunks_done"] == 1
    assert "MCResult(n=60" in repr(mixed)


def test_without_options_the_optional_fields_are_none(net):
    res = mc(net, 5, t_span=(0.0, 1.0))
    assert res.final is None and res.loss_at is None and res.states_at is None and res.t_eval is None
    assert np.all(np.isnan(res.t_converged))  # no gtol: nothing "converges"
    assert set(res.status) == {"t_end"}


def test_status_and_t_converged(mixed):
    conv = mixed.status == "converged"
    assert conv.any() and (~conv).any()
    assert np.all(np.isnan(mixed.t_converged[~conv]))
    np.testing.assert_array_equal(mixed.t_converged[conv], mixed.t_final[conv])
    assert np.all(mixed.final_grad_norm[conv] <= MIX["gtol"])
    assert np.all(mixed.t_final[mixed.status == "t_end"] == MIX["t_span"][1])
    assert np.all(mixed.naccept[mixed.status == "max_steps"] == MIX["max_steps"])


def test_summary(mixed):
    s = mixed.summary()
    assert s.n == 60
    assert math.isclose(sum(s.fractions.values()), 1.0, rel_tol=0, abs_tol=1e-12)
    for name, frac in s.fractions.items():
        assert frac == np.count_nonzero(mixed.status == name) / 60
    tc = mixed.t_converged[np.isfinite(mixed.t_converged)]
    assert s.t_converged_quantiles[0.5] == pytest.approx(np.median(tc))
    assert s.t_converged_quantiles[0.1] <= s.t_converged_quantiles[0.5] <= s.t_converged_quantiles[0.9]
    assert s.mean_nfev == pytest.approx(mixed.nfev.mean())
    assert s.max_invariant_drift == np.max(mixed.invariant_drift)
    assert s.global_minimum == 0.0
    mask = mixed.reached_global_minimum()
    assert s.fraction_global_minimum == np.mean(mask)
    np.testing.assert_array_equal(mask, mixed.final_loss <= 1e-6)
    text = str(s)
    assert "trajectories" in text and "status converged" in text and "fraction at global min" in text


def test_to_dataframe(net, mixed):
    pd = pytest.importorskip("pandas")
    df = mixed.to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 60
    np.testing.assert_array_equal(df["status"].to_numpy(), mixed.status)
    np.testing.assert_array_equal(df["final_loss"].to_numpy(), mixed.final_loss)
    for j in range(net.depth - 1):
        np.testing.assert_array_equal(df[f"imbalance_{j + 1}"].to_numpy(), mixed.imbalance[:, j])
        assert f"imbalance_trace_{j + 1}" in df and f"imbalance_fro_{j + 1}" in df


def test_loss_at_nan_after_early_stop(net, mixed):
    y0 = SAMPLER.states(net, 3, 0, 60)
    # g at the start (numpy multiplies the layers in another order than the core: rounding only)
    np.testing.assert_allclose(mixed.loss_at[:, 0], [net.loss(net.unflatten(y)) for y in y0], rtol=1e-14)
    reached = T_EVAL[None, :] <= mixed.t_final[:, None]
    assert np.all(np.isfinite(mixed.loss_at[reached]))
    assert np.all(np.isnan(mixed.loss_at[~reached]))
    assert (~reached).any()  # some stopped early
    ended = mixed.status == "t_end"
    np.testing.assert_array_equal(mixed.loss_at[ended, -1], mixed.final_loss[ended])


def test_final_states(net, mixed):
    W = net.unflatten(mixed.final)
    assert [w.shape[1:] for w in W] == net.shapes
    P = W[2] @ W[1] @ W[0]
    loss = 0.5 * np.sum((P - TARGET) ** 2, axis=(1, 2))
    np.testing.assert_allclose(loss, mixed.final_loss, rtol=1e-12, atol=1e-15)


def test_keep_trajectories(net):
    te = np.linspace(0.0, 3.0, 4)
    res = mc(net, 25, t_span=(0.0, 3.0), sampler=SAMPLER, t_eval=te, gtol=1e-2, keep_trajectories=True, keep_final=True)
    assert res.states_at.shape == (25, 4, net.state_size)
    np.testing.assert_array_equal(res.states_at[:, 0], SAMPLER.states(net, 0, 0, 25))
    reached = te[None, :] <= res.t_final[:, None]
    assert np.all(np.isfinite(res.states_at[reached]))
    assert np.all(np.isnan(res.states_at[~reached]))
    ended = res.status == "t_end"
    np.testing.assert_array_equal(res.states_at[ended, -1], res.final[ended])
    # the saved states are those of integrate's t_eval output
    one = of.integrate(net, SAMPLER(net, 0, 3), (0.0, 3.0), t_eval=te, gtol=1e-2)
    T = len(one.t)
    np.testing.assert_array_equal(res.states_at[3, :T], np.concatenate([w.reshape(T, -1) for w in one.weights], axis=1))


def test_keep_trajectories_needs_t_eval(net):
    with pytest.raises(ValueError, match=r"keep_trajectories.*t_eval"):
        mc(net, 5, t_span=(0.0, 1.0), keep_trajectories=True)


def test_progress_bar(net, capsys):
    res = mc(net, 30, t_span=(0.0, 1.0), progress=True, chunk=10)
    err = capsys.readouterr().err
    assert "monte_carlo" in err and "30/30" in err
    assert_mc_identical(res, mc(net, 30, t_span=(0.0, 1.0)))


# -- the paper's predictions ---------------------------------------------------------------------


@pytest.mark.parametrize("width", [3, 5])
def test_theorem_4_depth_two_factorization_reaches_global_minimum(width):
    """Depth N = 2 matrix factorization (theorem 4): from almost every start the flow converges to
    a global minimum; with width >= min(m, n) that minimum is 0."""
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0, 0.5])), depth=2, width=width)
    # gtol 1e-8 is reachable only with tolerances well below it: an explicit RK method stalls at a
    # gradient of about rtol * |W| near the attracting minimum
    res = mc(net, 200, t_span=(0.0, 200.0), gtol=1e-8, rtol=1e-10, atol=1e-12)
    s = res.summary()
    assert s.fractions == {"converged": 1.0}
    assert res.global_minimum == 0.0 == s.global_minimum
    assert s.fraction_global_minimum == 1.0
    # ||grad g|| <= gtol near a minimum with W's of size ~1 means f = O(gtol^2)
    assert np.max(res.final_loss) <= 1e-14
    assert np.all(res.final_grad_norm <= 1e-8)


@pytest.mark.parametrize("depth,widths", [(2, [2]), (3, [3, 1])])
def test_no_known_global_minimum_with_a_bottleneck(depth, widths):
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0, 0.5])), depth=depth, widths=widths)
    assert of.montecarlo.global_minimum(net) is None
    res = mc(net, 10, t_span=(0.0, 5.0))
    assert res.global_minimum is None
    assert res.reached_global_minimum() is None
    s = res.summary()
    assert s.global_minimum is None and s.fraction_global_minimum is None
    assert "global min" not in str(s)


@pytest.fixture(scope="module")
def half_cost():
    """f(z) = (1 - z)^2 / 2: f'(0) = -1 != 0, PD-PLI, f(0) = 1/2 > f* = 0."""
    return of.costs.scalar(lambda z: 0.5 * (1.0 - z) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)


@pytest.mark.parametrize("width", [1, 4])
def test_center_stable_starts_go_to_the_saddle(half_cost, width):
    """On the centre-stable manifold w1 = s w2^T (s = -1) the product z = w2 w1 = -|w1|^2 <= 0 and
    the imbalance c = 0, so eq. 19 reads z' = -f'(z) |2 z| = -2 z (1 - z): the logistic solution
    z(t) = z0 / (z0 + (1 - z0) e^{2t}), which decays like z0 e^{-2t} / (1 - z0) to the saddle.
    Off the manifold, rounding errors grow like e^t, so t_end stays moderate."""
    net = of.Network(half_cost, depth=2, width=width)
    T, n = 8.0, 200
    sampler = S.center_stable(0.0)
    res = mc(net, n, t_span=(0.0, T), sampler=sampler, rtol=1e-8, atol=1e-12, keep_final=True)
    w1, w2 = net.unflatten(sampler.states(net, 0, 0, n))
    z0 = (w2 @ w1)[:, 0, 0]
    assert np.all(z0 < 0)
    W1, W2 = net.unflatten(res.final)
    z = (W2 @ W1)[:, 0, 0]
    exact = z0 / (z0 + (1.0 - z0) * np.exp(2.0 * T))
    assert np.all(np.abs(z) <= np.abs(z0) * np.exp(-2.0 * T) * (1 + 1e-4))  # |z0| e^{-16} <~ 1e-7
    np.testing.assert_allclose(z, exact, rtol=1e-4)
    # still on the manifold: w1 = -w2^T (the flow keeps u = w1 - s w2^T = 0)
    np.testing.assert_allclose(W1[:, :, 0], -W2[:, 0, :], rtol=0, atol=1e-12)
    # the loss tends to f(0) = 1/2, not to f* = 0
    assert res.summary().fraction_global_minimum == 0.0
    np.testing.assert_allclose(res.final_loss, 0.5, rtol=0, atol=1e-6)


@pytest.mark.parametrize("width", [1, 4])
def test_off_the_manifold_starts_reach_the_global_minimum(half_cost, width):
    """At distance eps = 0.5 > 0 (Proposition 5) the flow converges to a critical point of f: z = 1."""
    net = of.Network(half_cost, depth=2, width=width)
    res = mc(net, 200, t_span=(0.0, 20.0), sampler=S.center_stable(0.5), rtol=1e-8, atol=1e-12, keep_final=True)
    W1, W2 = net.unflatten(res.final)
    z = (W2 @ W1)[:, 0, 0]
    np.testing.assert_allclose(z, 1.0, rtol=0, atol=1e-6)
    assert res.global_minimum == 0.0
    assert res.summary().fraction_global_minimum == 1.0


def test_imbalanced_sampler_sets_the_result_imbalance(half_cost):
    net = of.Network(half_cost, depth=2, width=3)
    res = mc(net, 50, t_span=(0.0, 2.0), sampler=S.imbalanced(1.5, 0.25))
    np.testing.assert_allclose(res.imbalance[:, 0], 1.5, rtol=1e-12)


# -- invariants ----------------------------------------------------------------------------------


def test_invariant_drift_is_small(net):
    rtol = 1e-8
    res = mc(net, 100, t_span=(0.0, 20.0), sampler=SAMPLER, rtol=rtol, atol=1e-12, keep_final=True)
    assert np.all(np.isfinite(res.invariant_drift)) and np.all(res.invariant_drift >= 0)
    y0 = SAMPLER.states(net, 0, 0, 100)
    size = max(1.0, float(np.max(np.abs(y0))) ** 2, float(np.max(np.abs(res.final))) ** 2)
    assert np.max(res.invariant_drift) <= 100 * rtol * size
    # it is max |C_i(end) - C_i(0)| over all entries
    C0 = of.invariants(net.unflatten(y0))
    C1 = of.invariants(net.unflatten(res.final))
    drift = np.max([np.abs(b - a).reshape(100, -1).max(axis=1) for a, b in zip(C0, C1)], axis=0)
    np.testing.assert_allclose(res.invariant_drift, drift, rtol=1e-12, atol=0)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_imbalance_is_that_of_the_start(depth):
    net = of.Network(of.costs.matrix_factorization(TARGET), depth=depth, widths=[3, 4, 2][: depth - 1])
    n = 40
    res = mc(net, n, t_span=(0.0, 1.0), sampler=S.gaussian(0.8), seed=9)
    y0 = S.gaussian(0.8).states(net, 9, 0, n)
    for i in range(n):
        Ws = net.unflatten(y0[i])
        c = np.atleast_1d(of.imbalance(Ws))
        Cs = of.invariants(Ws)
        scale = max(1.0, max(float(np.sum(C * C)) for C in Cs))
        np.testing.assert_allclose(res.imbalance[i], c, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(res.imbalance_trace[i], [np.trace(C) for C in Cs], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(res.imbalance_fro[i], [np.linalg.norm(C) for C in Cs], rtol=1e-13)


def test_depth_one_has_no_invariants():
    net = of.Network(of.costs.matrix_factorization(TARGET), depth=1)
    res = mc(net, 10, t_span=(0.0, 1.0))
    assert res.imbalance.shape == res.imbalance_trace.shape == res.imbalance_fro.shape == (10, 0)
    np.testing.assert_array_equal(res.invariant_drift, np.zeros(10))
    assert res.global_minimum == 0.0
    assert len(res.to_dataframe()) == 10


def test_activation_network():
    net = of.Network(of.costs.matrix_factorization(np.array([[0.7], [-0.2]])), depth=2, width=3, activation="isru")
    res = mc(net, 30, t_span=(0.0, 3.0), sampler=S.gaussian(0.6), keep_final=True)
    assert res.global_minimum is None
    assert np.all(np.isnan(res.imbalance))
    y0 = S.gaussian(0.6).states(net, 0, 0, 30)
    c = of.invariants(net.unflatten(y0), "isru")[0]  # per-neuron invariants, (30, 3)
    np.testing.assert_allclose(res.imbalance_trace[:, 0], c.sum(axis=1), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(res.imbalance_fro[:, 0], np.linalg.norm(c, axis=1), rtol=1e-13)
    assert np.max(res.invariant_drift) <= 1e-3
    one = of.integrate(net, S.gaussian(0.6)(net, 0, 7), (0.0, 3.0))
    assert one.final_loss == res.final_loss[7]
    np.testing.assert_array_equal(net.flatten(one.final_weights), res.final[7])


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(n=0), ValueError, r"\bn must be >= 1"),
        (dict(n=-3), ValueError, r"\bn must be >= 1"),
        (dict(n=2.0), TypeError, r"\bn must be an integer"),
        (dict(n=True), TypeError, r"\bn must be an integer"),
        (dict(seed=-1), ValueError, r"seed must be >= 0"),
        (dict(seed=1.5), TypeError, r"seed must be an integer"),
        (dict(backend="processes"), ValueError, r"backend must be one of"),
        (dict(client=object()), ValueError, r"client is only used with backend='dask'"),
        (dict(sampler="gaussian"), TypeError, r"sampler must be one of overflow.samplers"),
        (dict(sampler=lambda net, seed, i: None), TypeError, r"sampler must be"),
        (dict(chunk=0), ValueError, r"chunk must be >= 1"),
        (dict(chunk=2.5), TypeError, r"chunk must be an integer"),
        (dict(workers=0), ValueError, r"workers must be >= 1"),
        (dict(workers=-2), ValueError, r"workers must be >= 1"),
        (dict(workers="2"), TypeError, r"workers must be an integer"),
        (dict(workers=2**40), ValueError, r"workers must be <= 2147483647"),
        (dict(n=10**13), ValueError, r"n must fit in memory: the result of 10000000000000 trajectories"),
        (dict(n=10**11, keep_final=True), ValueError, r"n must fit in memory"),
        (dict(keep_trajectories=True), ValueError, r"keep_trajectories"),
        (dict(rtol=0.0), ValueError, r"rtol"),
        (dict(rtol=-1e-6), ValueError, r"rtol"),
        (dict(rtol=math.nan), ValueError, r"rtol"),
        (dict(rtol="1e-6"), TypeError, r"rtol"),
        (dict(atol=0.0), ValueError, r"atol"),
        (dict(gtol=-1.0), ValueError, r"gtol"),
        (dict(method="euler"), ValueError, r"method"),
        (dict(method="reduced"), ValueError, r"method"),
        (dict(t_span=(1.0, 0.0)), ValueError, r"t_span"),
        (dict(t_span=(0.0, math.inf)), ValueError, r"t_span"),
        (dict(t_eval=[0.5, 0.2]), ValueError, r"t_eval"),
        (dict(t_eval=[2.0]), ValueError, r"t_eval"),
        (dict(max_steps=0), ValueError, r"max_steps"),
        (dict(out=""), ValueError, r"out must be a non-empty path"),
        (dict(out=3), TypeError, r"out must be a directory path"),
        (dict(out=b"run"), TypeError, r"out must be a directory path"),
        (dict(keep_final="no"), TypeError, r"keep_final must be a bool, got 'no'"),
        (dict(keep_final=1), TypeError, r"keep_final must be a bool"),
        (dict(keep_trajectories="yes", t_eval=[0.5]), TypeError, r"keep_trajectories must be a bool"),
        (dict(project="no"), TypeError, r"project must be a bool"),
        (dict(progress="no"), TypeError, r"progress must be a bool"),
        (dict(backend="dask", client="tcp://127.0.0.1:8786"), TypeError, r"client must be a dask.distributed.Client"),
        (dict(backend=["threads"]), ValueError, r"backend must be one of"),
    ],
)
def test_bad_arguments(net, kwargs, exc, match):
    args = dict(n=5, t_span=(0.0, 1.0), progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        of.monte_carlo(net, **args)


def test_net_must_be_a_network(net):
    with pytest.raises(TypeError, match=r"net must be an overflow.Network"):
        of.monte_carlo(net.cost, 5, (0.0, 1.0), progress=False)


def test_nothing_is_written_on_bad_input(net, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError):
        of.monte_carlo(net, 5, (0.0, 1.0), workers=0, out=out, progress=False)
    assert not out.exists()


def test_default_workers_without_sched_getaffinity(monkeypatch):
    # macOS and Windows have no os.sched_getaffinity: workers=None falls back to os.cpu_count().
    import os

    from overflow.montecarlo import run

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert run._default_workers() == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert run._default_workers() == 1
