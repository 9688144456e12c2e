"""Costs travel between processes by their description (kind + parameters), as Dask workers need:
a cost rebuilt in a fresh process gives bit-identical values and gradients."""

import pickle
import subprocess
import sys

import numpy as np

import overflow as of

_CHILD = """
import pickle, sys
import numpy as np
with open(sys.argv[1], "rb") as fh:
    costs, points = pickle.load(fh)
out = {}
for name, c in costs.items():
    v, g = c.value_and_grad(points[name])
    out[name] = (v, g, c.hvp(points[name], np.ones(c.shape)), repr(c))
with open(sys.argv[2], "wb") as fh:
    pickle.dump(out, fh)
"""


_SYSTEM = (np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0], [1.0]]), np.eye(2), np.eye(1))


def _costs():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 12)), rng.standard_normal((2, 12))
    y = np.where(rng.standard_normal(12) > 0, 1.0, -1.0)
    A, Bm = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0], [1.0]])  # open-loop unstable
    return {
        "matrix_factorization": of.costs.matrix_factorization(rng.standard_normal((2, 3))),
        "linear_regression": of.costs.linear_regression(X, Y),
        "ridge": of.costs.ridge(X, Y, 0.1),
        "logistic": of.costs.logistic(X, y),
        "softmax_cross_entropy": of.costs.softmax_cross_entropy(X, rng.integers(0, 4, 12)),
        "matrix_sensing": of.costs.matrix_sensing(rng.standard_normal((5, 2, 3)), rng.standard_normal(5)),
        "log_cosh": of.costs.log_cosh(X, Y),
        "lqr": of.costs.lqr(A, Bm, np.eye(2), np.eye(1), np.eye(2)),
        "dlqr": of.costs.dlqr(0.5 * A, Bm, np.eye(2), np.eye(1), np.eye(2)),
    }


def test_round_trip_in_a_fresh_process(tmp_path):
    costs = _costs()
    rng = np.random.default_rng(1)
    points = {name: rng.standard_normal(c.shape) for name, c in costs.items()}
    # gains near the optimum, inside the stabilizing set
    points["lqr"] = of.costs.lqr_optimal(*_SYSTEM) + 0.05
    points["dlqr"] = of.costs.dlqr_optimal(0.5 * _SYSTEM[0], *_SYSTEM[1:]) + 0.05
    src, dst = tmp_path / "in.pkl", tmp_path / "out.pkl"
    with open(src, "wb") as fh:
        pickle.dump((costs, points), fh)
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(src), str(dst)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    with open(dst, "rb") as fh:
        there = pickle.load(fh)
    for name, c in costs.items():
        v, g = c.value_and_grad(points[name])
        v2, g2, h2, r2 = there[name]
        assert v2 == v, name  # bit-identical: same kernel, same parameters
        np.testing.assert_array_equal(g2, g, err_msg=name)
        np.testing.assert_array_equal(h2, c.hvp(points[name], np.ones(c.shape)), err_msg=name)
        assert r2 == repr(c)
