"""method="reduced": the vector case integrated exactly through eq. 19 and the u, v coordinates of
section 3 agrees with the full flow at every width, and keeps the invariants to rounding."""

import numpy as np
import pytest

import overflow as of


def logcosh():
    return of.costs.scalar(
        lambda z: np.log(np.cosh(z - 1.0)), lambda z: np.tanh(z - 1.0), lambda z: 1.0 / np.cosh(z - 1.0) ** 2
    )


@pytest.mark.parametrize("width", [1, 10, 100, 1000, 10000])
def test_matches_the_full_flow(width):
    net = of.Network(logcosh(), depth=2, width=width)
    Ws = net.init(seed=width, scale=1.0 / np.sqrt(width))  # ||w_1|| ~ 1: not stiff at any width
    te = np.linspace(0.0, 8.0, 9)
    full = of.integrate(net, Ws, (0, 8), method="dop853", rtol=1e-12, atol=1e-14, t_eval=te)
    red = of.integrate(net, Ws, (0, 8), method="reduced", rtol=1e-12, atol=1e-14, t_eval=te)
    assert full.status == red.status == "t_end"
    np.testing.assert_array_equal(red.t, te)
    # both solve the same flow at rtol 1e-12: global errors ~1e-11, far inside the 1e-8 asked for
    for Wf, Wr in zip(full.weights, red.weights):
        np.testing.assert_allclose(Wr, Wf, rtol=0, atol=1e-8)
    np.testing.assert_allclose(red.loss, full.loss, rtol=0, atol=1e-10)
    np.testing.assert_allclose(red.grad_norm, full.grad_norm, rtol=1e-7, atol=1e-12)
    assert red.invariant_drift < 1e-12  # the rebuild conserves C exactly, up to rounding


def test_quadratic_cost_against_the_logistic_closed_form():
    # f = (z - a)^2 / 2, balanced start (c = 0): z(t) = a / (1 + (a / z0 - 1) e^{-2 a t})
    a, z0 = 2.0, 0.05
    net = of.Network(of.costs.scalar(lambda z: 0.5 * (z - a) ** 2, lambda z: z - a, lambda z: 1.0), depth=2, width=7)
    v = np.random.default_rng(0).standard_normal(7)
    v *= np.sqrt(z0) / np.linalg.norm(v)
    res = of.integrate(
        net, [v[:, None], v[None, :]], (0, 4), method="reduced", rtol=1e-12, atol=1e-14, t_eval=np.linspace(0, 4, 9)
    )
    z = res.product[:, 0, 0]
    np.testing.assert_allclose(z, a / (1 + (a / z0 - 1) * np.exp(-2 * a * res.t)), rtol=1e-9)


def test_gtol_and_statuses():
    net = of.Network(logcosh(), depth=2, width=50)
    Ws = net.init(seed=3, scale=0.2)
    res = of.integrate(net, Ws, (0, 1e4), method="reduced", rtol=1e-12, atol=1e-14, gtol=1e-8)
    assert res.status == "converged" and res.final_grad_norm <= 1e-8
    # ||grad g|| = |f'(z)| (c + 4 z^2)^(1/4) against the network's own gradient at the rebuilt weights;
    # near the minimum f' ~ 1e-8 carries the state's ~1e-13 error, hence the loose relative check
    full_gnorm = np.linalg.norm(np.concatenate([g.ravel() for g in net.gradient(res.final_weights)]))
    assert res.final_grad_norm == pytest.approx(full_gnorm, rel=1e-3)
    early = of.integrate(net, Ws, (0, 1.0), method="reduced", rtol=1e-12, atol=1e-14, t_eval=[1.0])
    g1 = np.linalg.norm(np.concatenate([g.ravel() for g in net.gradient(early.final_weights)]))
    assert early.final_grad_norm == pytest.approx(g1, rel=1e-9)
    every = of.integrate(net, Ws, (0, 5), method="reduced")
    assert len(every.t) == every.naccept + 1 and every.weights[0].shape == (len(every.t), 50, 1)
    light = of.integrate(net, Ws, (0, 5), method="reduced", save_weights=False)
    assert light.weights[0].shape[0] == 0
    np.testing.assert_allclose(light.final_weights[0], every.final_weights[0], rtol=1e-14)


def test_reduced_needs_the_vector_case():
    f = of.costs.matrix_factorization(np.eye(2))
    with pytest.raises(ValueError, match="vector case"):
        net = of.Network(f, depth=2, width=3)
        of.integrate(net, net.init(), (0, 1), method="reduced")
    with pytest.raises(ValueError, match="vector case"):
        net = of.Network(logcosh(), depth=3, width=3)
        of.integrate(net, net.init(), (0, 1), method="reduced")
