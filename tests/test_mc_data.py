"""`overflow.monte_carlo` on networks on data (``Network(..., inputs=X, bias=...)``): each trajectory
is `overflow.integrate` from the sampler's start, bit for bit and for any workers or chunks; the
samplers on data (zero biases, the bias-free draw of the weights, balanced = every per-neuron
invariant 0 on the same function, the vector-case samplers refused); the invariant summaries; the
global minimum of linear networks on regression data against the normal equations; and a store
that refuses to resume with other data, targets, biases, activation or slope."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_mc_identical

import overflow as of
import overflow.montecarlo.run as mc_run
from overflow.montecarlo import samplers as S
from overflow.montecarlo.chunks import MCSpec, network_description

# the short spans end most runs at t_end before gtol: the warning says so, and is not what is tested here
pytestmark = pytest.mark.filterwarnings("ignore::overflow.ConvergenceWarning")


def teacher(activation="tanh", bias=False, samples=24, n_in=3, m=2, depth=2, seed=0, noise=0.0):
    return of.datasets.teacher_student(
        n_in=n_in, m=m, width=3, samples=samples, depth=depth, activation=activation, bias=bias, noise=noise, seed=seed
    )


def student(data, activation="tanh", bias=False, depth=2, width=4, cost=None):
    cost = of.costs.squared_loss(data.Y) if cost is None else cost
    return of.Network(cost, depth=depth, width=width, activation=activation, inputs=data.X, bias=bias)


def mc(net, n, **kw):
    kw.setdefault("progress", False)
    return of.monte_carlo(net, n, **kw)


# tanh: smooth and fast; leaky relu: kinks, so a short span
CASES = {
    "tanh": (dict(activation="tanh", bias=True), dict(t_span=(0.0, 4.0), gtol=1e-3, max_steps=60)),
    "leaky_relu": (
        dict(activation=of.activations.leaky_relu(0.1), bias=False),
        dict(t_span=(0.0, 0.5), rtol=1e-6, atol=1e-9),
    ),
    "linear": (dict(activation=None, bias=True), dict(t_span=(0.0, 3.0), gtol=1e-4, method="dop853")),
    "relu_depth3": (dict(activation="relu", bias=True, depth=3), dict(t_span=(0.0, 0.3), max_steps=3000)),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    net_kw, run_kw = CASES[request.param]
    act = net_kw["activation"]
    data = teacher(act if act is not None else "linear", bias=net_kw["bias"], depth=net_kw.get("depth", 2))
    net = student(data, **net_kw)
    sampler = S.gaussian(0.7)
    res = mc(net, 40, sampler=sampler, seed=4, keep_final=True, t_eval=[0.0, 0.1, 0.2], workers=1, chunk=40, **run_kw)
    return net, sampler, run_kw, res


def test_each_trajectory_is_integrate_from_its_start(case):
    net, sampler, run_kw, res = case
    for i in (0, 13, 39):
        one = of.integrate(net, sampler(net, 4, i), t_eval=[0.0, 0.1, 0.2], **run_kw)
        assert res.status[i] == one.status
        assert res.final_loss[i] == one.final_loss
        assert res.t_final[i] == one.t_final
        assert res.final_grad_norm[i] == one.final_grad_norm
        assert (res.nfev[i], res.naccept[i], res.nreject[i]) == (one.nfev, one.naccept, one.nreject)
        assert (res.nkink[i], res.nslide[i]) == (one.nkink, one.nslide)
        np.testing.assert_array_equal(res.final[i], net.flatten(one.final_weights))
        np.testing.assert_array_equal(res.loss_at[i, : len(one.t)], one.loss)
    assert np.all(res.final_loss < res.loss_at[:, 0])  # the flow lowers the loss from every start
    # kinks only where the activation has them (and the relu cases do cross some)
    has_kinks = getattr(net.activation, "name", net.activation) in ("relu", "leaky_relu")
    assert (res.nkink.sum() > 0) == has_kinks and (res.nslide.sum() == 0 or has_kinks)


def test_workers_and_chunks_do_not_change_the_numbers(case):
    net, sampler, run_kw, res = case
    other = mc(net, 40, sampler=sampler, seed=4, keep_final=True, t_eval=[0.0, 0.1, 0.2], workers=2, chunk=7, **run_kw)
    assert_mc_identical(res, other)


def test_invariant_summaries(case):
    """The per-neuron invariants of overflow.invariants at the start, their drift at the end; NaN
    where the activation conserves none (tanh) and for the linear network's c."""
    net, sampler, _, res = case
    y0 = sampler.states(net, 4, 0, 40)
    assert np.all(np.isnan(res.imbalance))
    if net.activation == "tanh":
        assert np.all(np.isnan(res.invariant_drift)) and np.all(np.isnan(res.imbalance_trace))
        return
    c0 = of.invariants(net, y0)
    c1 = of.invariants(net, res.final)
    assert res.imbalance_trace.shape == (40, net.depth - 1)
    np.testing.assert_allclose(res.imbalance_trace, np.stack([c.sum(axis=1) for c in c0], axis=1), rtol=1e-13)
    np.testing.assert_allclose(res.imbalance_fro, np.stack([np.linalg.norm(c, axis=1) for c in c0], axis=1), rtol=1e-13)
    drift = np.max([np.abs(b - a).max(axis=1) for a, b in zip(c0, c1)], axis=0)
    np.testing.assert_array_equal(res.invariant_drift, drift)
    assert np.max(drift) < 1e-4 * np.max([np.abs(c).max() for c in c0])


# -- samplers on data ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "orthogonal"])
def test_random_samplers_draw_the_weights_and_zero_biases(kind):
    """With biases the weights are the bias-free network's draw (same seed, same blocks) and every
    bias is 0, as Network.init."""
    data = teacher("relu", bias=True)
    with_bias = student(data, "relu", bias=True, depth=3)
    without = student(data, "relu", bias=False, depth=3)
    sampler = getattr(S, kind)(0.8)
    a = with_bias.unflatten(sampler.states(with_bias, 3, 250, 262))  # crosses a block boundary
    b = without.unflatten(sampler.states(without, 3, 250, 262))
    for La, Lb in zip(a, b):
        np.testing.assert_array_equal(La[..., :-1], Lb)
        assert np.all(La[..., -1] == 0.0)
    if kind == "gaussian":  # the scale: entries N(0, scale^2 / fan_in), fan_in without the bias
        W = with_bias.unflatten(sampler.states(with_bias, 0, 0, 4000))[1][..., :-1]
        assert np.std(W) * np.sqrt(with_bias.dims[1]) == pytest.approx(0.8, rel=0.02)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("bias", [False, True])
def test_balanced_zeroes_every_per_neuron_invariant_on_the_same_function(activation, depth, bias):
    """balanced = the gaussian draw (same seed) rescaled neuron by neuron: per-neuron invariants 0,
    and the network's output unchanged (positive homogeneity)."""
    data = teacher(activation, bias=bias, depth=depth)
    net = student(data, activation, bias=bias, depth=depth, width=5)
    ys = S.balanced(0.6).states(net, 2, 0, 30)
    gs = S.gaussian(0.6).states(net, 2, 0, 30)
    for c, L in zip(of.invariants(net, ys), net.unflatten(ys)):
        incoming = np.sum(L**2, axis=-1)
        assert np.max(np.abs(c) / incoming) < 1e-12
    np.testing.assert_allclose(net.output(net.unflatten(ys)), net.output(net.unflatten(gs)), rtol=1e-12, atol=1e-12)
    assert not np.allclose(ys, gs)
    if bias:
        assert all(np.all(L[..., -1] == 0.0) for L in net.unflatten(ys))


def test_balanced_states_depend_on_seed_and_index_only():
    """The rescaling runs on whole random blocks, so any slice of the starts is the same slice of a
    longer draw (what makes chunks and workers irrelevant)."""
    net = student(teacher("relu", bias=True, depth=3), "relu", bias=True, depth=3, width=5)
    sampler = S.balanced(0.6)
    whole = sampler.states(net, 7, 0, 520)
    np.testing.assert_array_equal(sampler.states(net, 7, 250, 262), whole[250:262])
    np.testing.assert_array_equal(sampler.states(net, 7, 519, 520), whole[519:])
    np.testing.assert_array_equal(net.flatten(sampler(net, 7, 300)), whole[300])


def test_balanced_on_linear_networks_on_data_zeroes_every_c_i():
    data = teacher("linear", bias=True)
    net = student(data, None, bias=True, depth=3, width=5)
    layers = net.unflatten(S.balanced(0.5).states(net, 0, 0, 10))
    weights = [L[..., :-1] for L in layers]
    for C in of.invariants(weights):
        assert np.max(np.abs(C)) < 1e-14
    assert all(np.all(L[..., -1] == 0.0) for L in layers)
    for c in of.invariants(net, layers):  # and so every per-neuron one
        assert np.max(np.abs(c)) < 1e-14


def test_balanced_relu_on_the_identity_input():
    net = of.Network(of.costs.matrix_factorization(np.diag([1.0, -0.5])), depth=3, width=4, activation="relu")
    ys = S.balanced(0.5).states(net, 0, 0, 10)
    for c, L in zip(of.invariants(net, ys), net.unflatten(ys)):
        assert np.max(np.abs(c) / np.sum(L**2, axis=-1)) < 1e-12
    np.testing.assert_allclose(
        net.output(net.unflatten(ys)), net.output(net.unflatten(S.gaussian(0.5).states(net, 0, 0, 10))), rtol=1e-12
    )


def test_balanced_refuses_activations_without_invariants():
    net = student(teacher("tanh"), "tanh")
    with pytest.raises(ValueError, match=r"balanced sampler.*relu, leaky_relu.*'tanh' conserves none"):
        mc(net, 4, t_span=(0.0, 1.0), sampler=S.balanced(0.3))


@pytest.mark.parametrize("sampler", [S.imbalanced(1.0, 0.5), S.center_stable(0.1)], ids=["imbalanced", "center_stable"])
def test_vector_samplers_refuse_data(sampler):
    X = np.ones((1, 1))
    net = of.Network(of.costs.squared_loss(np.array([[0.5]])), depth=2, width=3, inputs=X)
    with pytest.raises(ValueError, match=r"identity input.*network on data.*balanced, gaussian"):
        mc(net, 4, t_span=(0.0, 1.0), sampler=sampler)


def test_from_array_on_data():
    data = teacher("tanh", bias=True)
    net = student(data, "tanh", bias=True)
    states = np.random.default_rng(5).normal(0.0, 0.5, (12, net.state_size))
    res = mc(net, 12, t_span=(0.0, 1.0), sampler=S.from_array(states), keep_final=True)
    one = of.integrate(net, states[11], (0.0, 1.0))
    assert res.final_loss[11] == one.final_loss
    with pytest.raises(ValueError, match=f"{net.state_size - 4} entries per row.*{net.state_size}"):
        mc(net, 5, t_span=(0.0, 1.0), sampler=S.from_array(states[:, :-4]))


def test_project_keeps_relu_invariants_on_data_and_refuses_tanh():
    """project=True on data: a relu network's per-neuron invariants (overflow.invariants) stay at rounding
    through its kinks, where the same runs without it drift at their tolerance; tanh conserves none."""
    data = teacher("relu", bias=True)
    net = student(data, "relu", bias=True)
    sampler = S.gaussian(0.7)
    kw = dict(t_span=(0.0, 1.0), sampler=sampler, seed=4, keep_final=True, method="dopri5", rtol=1e-6, atol=1e-9)
    free, projected = mc(net, 8, **kw), mc(net, 8, project=True, **kw)
    y0 = sampler.states(net, 4, 0, 8)
    c0 = of.invariants(net, y0)
    size = np.max(np.sum(y0**2, axis=1))

    def drift(res):
        return np.max([np.abs(b - a).max(axis=1) for a, b in zip(c0, of.invariants(net, res.final))], axis=0)

    assert np.max(drift(projected)) < 1e-13 * size
    assert np.min(drift(free)) > 1e-10 * size
    np.testing.assert_allclose(projected.invariant_drift, drift(projected), rtol=0, atol=1e-14 * size)
    # still the flow: each trajectory within the tolerance of the unprojected one, which crossed kinks
    np.testing.assert_allclose(projected.final, free.final, rtol=0, atol=10 * kw["rtol"] * np.max(np.abs(free.final)))
    assert of.integrate(net, y0[0], (0.0, 1.0), method="dopri5", rtol=1e-6, atol=1e-9).nkink > 0
    tanh = student(teacher("tanh"), "tanh")
    match = r"project=True needs a linear network or a positively homogeneous activation \(linear, relu, leaky_relu"
    with pytest.raises(ValueError, match=match):
        mc(tanh, 4, t_span=(0.0, 1.0), project=True)


# -- the global minimum ----------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [False, True])
def test_global_minimum_of_linear_networks_on_regression_data(bias):
    """min_P 1/2 ||P A - Y||^2 / s with A = X (or [X; 1]) from the normal equations; every start of a
    depth-2 linear network wide enough reaches it."""
    data = teacher("tanh", bias=bias, noise=0.3, samples=30)  # targets no linear map fits
    net = student(data, None, bias=bias, depth=2, width=3)
    A = np.vstack([data.X, np.ones((1, 30))]) if bias else data.X
    P = np.linalg.solve(A @ A.T, A @ data.Y.T).T
    expected = 0.5 * np.sum((P @ A - data.Y) ** 2) / 30
    assert expected > 1e-3
    assert of.montecarlo.global_minimum(net) == pytest.approx(expected, rel=1e-12)
    res = mc(net, 16, t_span=(0.0, np.inf), gtol=1e-10, method="dop853", rtol=1e-10, atol=1e-12)
    assert res.global_minimum == of.montecarlo.global_minimum(net)
    assert res.summary().fraction_global_minimum == 1.0
    np.testing.assert_allclose(res.final_loss, expected, rtol=1e-9)


def test_no_global_minimum_where_it_is_not_known():
    data = teacher("relu")
    assert of.montecarlo.global_minimum(student(data, "relu")) is None  # an activation
    assert of.montecarlo.global_minimum(student(data, None, width=1)) is None  # a bottleneck below min(m, n)
    huber = of.costs.huber_loss(data.Y)
    assert of.montecarlo.global_minimum(student(data, None, cost=huber)) is None  # not the squared loss


# -- the store -------------------------------------------------------------------------------------

STORE = dict(t_span=(0.0, 1.0), sampler=S.gaussian(0.5), seed=1, chunk=5, keep_final=True, progress=False)


LEAKY = of.activations.leaky_relu(0.1)


def store_net(X=None, Y=None, activation=LEAKY, bias=True):
    data = teacher("relu", bias=True, samples=10, m=1)
    X = data.X if X is None else X
    Y = data.Y if Y is None else Y
    return of.Network(of.costs.squared_loss(Y), depth=2, width=3, activation=activation, inputs=X, bias=bias)


def test_the_description_holds_the_data():
    net = store_net()
    d = network_description(net)
    assert d["leaky_slope"] == 0.1 and d["bias"] is True and d["inputs"]["shape"] == [3, 10]
    # runs on the identity input keep the description their stores were written with
    identity = of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=3, activation="tanh")
    assert network_description(identity) == {"dims": [2, 3, 2], "activation": "tanh"}


def test_resume_with_the_same_data_continues(tmp_path, monkeypatch):
    out = tmp_path / "run"
    full = of.monte_carlo(store_net(), 15, out=out, **STORE)
    (out / "chunk_000001.npz").unlink()
    calls = []
    original = mc_run.run_chunk

    def counting(spec, i, workers=1):
        calls.append(i)
        return original(spec, i, workers)

    monkeypatch.setattr(mc_run, "run_chunk", counting)
    again = of.monte_carlo(store_net(), 15, out=out, **STORE)  # the same data, built again
    assert calls == [1]
    assert_mc_identical(again, full)
    assert_mc_identical(of.montecarlo.load(out), full)


def _changed(name):
    data = teacher("relu", bias=True, samples=10, m=1)
    if name == "inputs":
        X = data.X.copy()
        X[2, 7] = np.nextafter(X[2, 7], np.inf)  # one ulp
        return store_net(X=X)
    if name == "targets":
        return store_net(Y=data.Y + 1e-9)
    if name == "slope":
        return store_net(activation=of.activations.leaky_relu(0.2))
    if name == "activation":
        return store_net(activation="relu")
    return store_net(bias=False)


@pytest.mark.parametrize(
    "name,where",
    [
        ("inputs", r"network\.inputs\.sha256"),
        ("targets", r"cost\.sha256"),
        ("slope", r"network\.leaky_slope: 0\.2 here, 0\.1 on disk"),
        ("activation", r"network\.activation"),
        ("bias", r"network\.bias: false here, true on disk"),
    ],
)
def test_resume_with_other_data_is_refused(tmp_path, name, where):
    out = tmp_path / "run"
    of.monte_carlo(store_net(), 15, out=out, **STORE)
    before = {f.name: f.stat().st_mtime_ns for f in out.iterdir()}
    with pytest.raises(of.montecarlo.ResumeMismatch, match=rf"other parameters \(.*{where}"):
        of.monte_carlo(_changed(name), 15, out=out, **STORE)
    assert {f.name: f.stat().st_mtime_ns for f in out.iterdir()} == before


def test_fingerprints_of_two_data_sets_differ():
    spec = dict(
        sampler=S.gaussian(0.5),
        n=4,
        seed=0,
        chunk=4,
        t_span=(0.0, 1.0),
        method="dopri5",
        rtol=1e-6,
        atol=1e-9,
        gtol=0.0,
        first_step=0.0,
        max_step=np.inf,
        max_steps=100,
        max_norm=1e10,
        t_eval=np.zeros(0),
        keep_final=False,
        keep_trajectories=False,
    )
    prints = {MCSpec(net=_changed(name), **spec).fingerprint() for name in ("inputs", "targets", "slope", "bias")}
    prints.add(MCSpec(net=store_net(), **spec).fingerprint())
    assert len(prints) == 5
