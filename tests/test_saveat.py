"""Saving: t_eval served by dense output (end points included), agreement with runs that stop at
the output time, the loss at saved points, save_weights=False and t_eval=None."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import METHOD_NAMES, factorization_problem, final_state, flat, rel_err, states

import overflow as of

T_END = 2.0
RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture(scope="module")
def problem():
    net, Ws, _ = factorization_problem(m=3, n=2, widths=(3, 4), seed=6, scale=0.7)
    return net, Ws


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_t_eval_includes_end_points(problem, method):
    net, Ws = problem
    t_eval = np.array([0.0, 0.3, 1.1, 1.7, T_END])
    res = of.integrate(net, Ws, (0.0, T_END), method=method, rtol=RTOL, atol=ATOL, t_eval=t_eval)
    assert res.status == "t_end"
    np.testing.assert_array_equal(res.t, t_eval)
    for W, W0 in zip(res.weights, Ws):
        assert W.shape == (len(t_eval), *W0.shape)
        np.testing.assert_array_equal(W[0], W0)  # t0 is the initial state itself
    # t1 is the last step's end, not an interpolation: identical to the final state
    np.testing.assert_array_equal(states(res)[-1], final_state(res))
    assert res.t_final == T_END


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_interpolant_matches_runs_stopping_there(problem, method):
    # Each run is within ~10 rtol |W| of the exact flow (tolerance proportionality on a contracting
    # flow), and the interpolant's error is of the same size (dense order >= error order), so the
    # two agree to 1e3 * rtol with a margin of ~10x.
    net, Ws = problem
    t_eval = np.array([0.15, 0.55, 1.0, 1.45, 1.9])
    res = of.integrate(net, Ws, (0.0, T_END), method=method, rtol=RTOL, atol=ATOL, t_eval=t_eval)
    for j, tk in enumerate(t_eval):
        stop = of.integrate(net, Ws, (0.0, tk), method=method, rtol=RTOL, atol=ATOL)
        assert stop.t_final == tk
        assert rel_err(states(res)[j], final_state(stop)) < 1e3 * RTOL
        assert res.loss[j] == pytest.approx(stop.final_loss, rel=1e3 * RTOL, abs=1e3 * RTOL)


@pytest.mark.parametrize("method", ["bs3", "dop853"])
def test_loss_and_grad_norm_at_saved_points(problem, method):
    net, Ws = problem
    t_eval = np.linspace(0.0, T_END, 7)[1:-1]
    res = of.integrate(net, Ws, (0.0, T_END), method=method, rtol=1e-6, atol=1e-9, t_eval=t_eval)
    for j in range(len(res.t)):
        Wj = [W[j] for W in res.weights]
        # computed from the same saved state, so equal to rounding
        assert res.loss[j] == pytest.approx(net.loss(Wj), rel=1e-13, abs=1e-15)
        gnorm = np.sqrt(sum(np.sum(G**2) for G in net.gradient(Wj)))
        assert res.grad_norm[j] == pytest.approx(gnorm, rel=1e-12, abs=1e-15)
        P = np.eye(net.dims[0])
        for W in Wj:
            P = W @ P
        np.testing.assert_allclose(res.product[j], P, rtol=1e-14, atol=1e-15)


def test_save_weights_false(problem):
    net, Ws = problem
    t_eval = np.linspace(0.0, T_END, 5)
    full = of.integrate(net, Ws, (0.0, T_END), rtol=1e-8, atol=1e-10, t_eval=t_eval)
    lean = of.integrate(net, Ws, (0.0, T_END), rtol=1e-8, atol=1e-10, t_eval=t_eval, save_weights=False)
    assert len(lean.weights) == net.depth
    for W, shape in zip(lean.weights, net.shapes):
        assert W.shape == (0, *shape)
    assert lean.product.shape == (0, *net.cost.shape)
    np.testing.assert_array_equal(lean.t, full.t)
    np.testing.assert_array_equal(lean.loss, full.loss)
    np.testing.assert_array_equal(lean.grad_norm, full.grad_norm)
    # the final state is always kept, and is the same run's
    assert [W.shape for W in lean.final_weights] == net.shapes
    np.testing.assert_array_equal(flat(lean.final_weights), flat(full.final_weights))
    # ... also as one flat, read-only vector in Network.flatten's layout, which restarts the flow
    np.testing.assert_array_equal(lean.final_state, net.flatten(lean.final_weights))
    with pytest.raises(ValueError):
        lean.final_state[0] = 1.0
    again = of.integrate(net, full.final_state, (T_END, T_END + 1.0), rtol=1e-8, atol=1e-10)
    assert again.status == "t_end" and again.loss[0] == full.final_loss
    assert lean.final_loss == full.final_loss
    assert (lean.naccept, lean.nreject) == (full.naccept, full.nreject)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_t_eval_none_saves_every_step(problem, method):
    net, Ws = problem
    res = of.integrate(net, Ws, (0.0, T_END), method=method, rtol=1e-6, atol=1e-9)
    assert res.status == "t_end"
    assert len(res.t) == res.naccept + 1
    assert res.t[0] == 0.0 and res.t[-1] == T_END
    assert np.all(np.diff(res.t) > 0)
    assert len(res.loss) == len(res.grad_norm) == res.weights[0].shape[0] == len(res.t)
    np.testing.assert_array_equal(states(res)[-1], final_state(res))
    np.testing.assert_array_equal(states(res)[0], flat(Ws))
    assert res.loss[-1] < res.loss[0]


def test_t_eval_only_end_point(problem):
    net, Ws = problem
    res = of.integrate(net, Ws, (0.0, T_END), rtol=1e-8, atol=1e-10, t_eval=[T_END])
    np.testing.assert_array_equal(res.t, [T_END])
    np.testing.assert_array_equal(states(res)[0], final_state(res))
