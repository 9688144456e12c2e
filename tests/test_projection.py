"""project=True: after each accepted step the explicit methods move the weights back onto the
invariant set {C_i = C_i(0)} (definition 1), so the invariants stay at rounding level while the
trajectory stays within the method's tolerance of the exact flow."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import factorization_problem, reference, regression_problem, rel_err, states

import overflow as of


def _drift(Ws0, Ws1):
    C0, C1 = of.invariants(Ws0), of.invariants(Ws1)
    return max(np.max(np.abs(a - b)) for a, b in zip(C0, C1)) / max(np.linalg.norm(c) for c in C0)


@pytest.mark.parametrize("method", sorted(of.METHODS))
def test_projection_keeps_the_invariants_at_rounding_level(method):
    net, Ws, _ = factorization_problem(3, 3, widths=(4, 4), seed=7, scale=0.8)
    free = of.integrate(net, Ws, (0, 1000), method=method, rtol=1e-4, atol=1e-6)
    kept = of.integrate(net, Ws, (0, 1000), method=method, rtol=1e-4, atol=1e-6, project=True)
    assert kept.status == "t_end"
    assert _drift(Ws, free.final_weights) > 1e-7  # ~rtol without projection
    assert _drift(Ws, kept.final_weights) < 1e-13  # rounding with it
    # The corrections are of the size of the drift each step makes: a small multiple of the tolerance.
    assert 0 < kept.projection < 1e-3
    assert free.projection == 0.0


def test_projected_trajectory_still_follows_the_flow():
    net, Ws, grad_f = regression_problem(2, 3, widths=(4,), seed=3)
    t_eval = np.linspace(0, 5, 6)
    res = of.integrate(net, Ws, (0, 5), method="dopri5", rtol=1e-10, atol=1e-12, t_eval=t_eval, project=True)
    ref = reference(net.dims, grad_f, Ws, t_eval)
    assert rel_err(states(res), ref) < 1e-7  # the exact flow is on the invariant set too
    assert res.projection < 1e-8


def test_projection_in_monte_carlo():
    net, _, _ = factorization_problem(2, 2, widths=(3,), seed=1)
    res = of.monte_carlo(net, 20, (0, 200), method="bs3", rtol=1e-4, atol=1e-6, project=True, progress=False)
    free = of.monte_carlo(net, 20, (0, 200), method="bs3", rtol=1e-4, atol=1e-6, progress=False)
    assert np.max(res.invariant_drift) < 1e-13 < np.min(free.invariant_drift)


def test_projection_refuses_what_it_cannot_do():
    f = of.costs.matrix_factorization(np.eye(2))
    sig = of.Network(f, depth=2, width=3, activation="tanh")
    with pytest.raises(ValueError, match="linear network"):
        of.integrate(sig, sig.init(seed=0), (0, 1), project=True)
    with pytest.raises(TypeError, match="project"):
        of.integrate(
            of.Network(f, depth=2, width=3), of.Network(f, depth=2, width=3).init(seed=0), (0, 1), project="yes"
        )


def test_projection_with_dependent_constraints_in_the_vector_case():
    # C_1 = w1 w1^T - w2^T w2 is k x k of rank 2: k(k+1)/2 constraints on 2k weights, most of them
    # dependent; the minimal-norm least-squares correction must still converge (a Newton step on
    # the normal equations alone diverged here).
    f = of.costs.scalar(lambda z: (1.0 - z) ** 2, lambda z: -2.0 * (1.0 - z), lambda z: 2.0, f_star=0.0)
    net = of.Network(f, depth=2, width=30)
    Ws = net.init(seed=0, scale=0.3)
    ref = of.integrate(net, Ws, (0, 20), method="dop853", rtol=1e-12, atol=1e-14)
    res = of.integrate(net, Ws, (0, 20), method="dopri5", rtol=1e-8, atol=1e-10, project=True)
    assert res.status == "t_end"
    assert _drift(Ws, res.final_weights) < 1e-13
    assert np.max(np.abs(net.flatten(res.final_weights) - net.flatten(ref.final_weights))) < 1e-7
