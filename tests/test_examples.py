"""The embedding examples (examples/embed.c, examples/embed_data.c, examples/embed.cpp) check their numbers against
examples/expected.txt under CTest; this test checks that file against the Python API, so the C and
C++ programs are compared with what overflow computes in Python.

    python tests/test_examples.py   # prints the file's content from the Python API
"""

from pathlib import Path

import numpy as np
import pytest

import overflow as of

EXPECTED = Path(__file__).resolve().parent.parent / "examples" / "expected.txt"
# The tolerances the examples use (relative, absolute): see their report() calls.
TOLERANCES = {"embed_c": (1e-8, 1e-12), "embed_data": (1e-6, 1e-9), "embed_cpp": (1e-6, 1e-9)}


def embed_c_values():
    """examples/embed.c: depth 3, width 3 on 1/2 ||P - diag(2, 1)||^2, W_i[r][c] = 0.3 sin(1 + r + 2c + 7i)."""
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=3, width=3)
    Ws = [
        np.array([[0.3 * np.sin(1 + r + 2 * c + 7 * i) for c in range(cols)] for r in range(rows)])
        for i, (rows, cols) in enumerate(net.shapes)
    ]
    res = of.integrate(net, Ws, (0, 10), method="dopri5", rtol=1e-10, atol=1e-12, t_eval=[10.0])
    P = res.product[-1]
    return {
        "embed_c.loss": res.loss[-1],
        "embed_c.P00": P[0, 0],
        "embed_c.P01": P[0, 1],
        "embed_c.P10": P[1, 0],
        "embed_c.P11": P[1, 1],
    }


def _relu(z):
    return np.maximum(z, 0.0)


def _teacher(x0, x1):
    """examples/embed_data.c's teacher: relu(x0 - x1 / 2) - 0.7 relu(0.8 x1 - x0 + 0.2)."""
    return _relu(x0 - 0.5 * x1) - 0.7 * _relu(0.8 * x1 - x0 + 0.2)


def embed_data_values():
    """examples/embed_data.c: a width-5 ReLU student with biases on 16 samples of a ReLU teacher,
    W_i[r][c] = 0.5 sin(1 + r + 2c + 7i) over the stored layers [W_i | b_i]."""
    a = np.arange(16)
    X = np.array([np.sin(1.7 * a + 0.4), np.cos(1.1 * a + 0.9)])
    Y = _teacher(X[0], X[1])[None, :]
    net = of.Network(of.costs.squared_loss(Y), depth=2, width=5, activation="relu", inputs=X, bias=True)
    Ws = [
        np.array([[0.5 * np.sin(1 + r + 2 * c + 7 * i) for c in range(cols)] for r in range(rows)])
        for i, (rows, cols) in enumerate(net.shapes)
    ]
    res = of.integrate(net, Ws, (0, 50), method="dopri5", rtol=1e-10, atol=1e-12, t_eval=[0.0, 50.0])
    assert res.status == "t_end", res.message
    L1, L2 = res.final_weights
    x = np.array([0.3, -0.2])
    predict = L2[0, :-1] @ _relu(L1[:, :-1] @ x + L1[:, -1]) + L2[0, -1]
    return {"embed_data.loss0": res.loss[0], "embed_data.loss": res.loss[-1], "embed_data.predict": predict}


def embed_cpp_values():
    """examples/embed.cpp: the policy K = W2 W1 on the discrete LQR cost of a sampled double
    integrator, the plant x+ = A x - B K(t_k) x run with K at t_k = 0.1 k."""
    A = np.array([[1.0, 0.1], [0.0, 1.0]])
    B = np.array([[0.005], [0.1]])
    Q, R = np.eye(2), np.array([[0.1]])
    net = of.Network(of.costs.dlqr(A, B, Q, R, np.eye(2)), depth=2, width=3)
    Ws = [np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), np.array([[0.6, 1.1, 0.8]])]
    t_plant = 0.1 * np.arange(201)
    res = of.integrate(net, Ws, (0, 20), method="dopri5", rtol=1e-10, atol=1e-12, t_eval=t_plant)
    K = res.product[:, 0, :]
    x, plant_cost = np.array([1.0, 0.0]), 0.0
    for k in range(200):
        u = -K[k] @ x
        plant_cost += x @ Q @ x + R[0, 0] * u * u
        x = A @ x + B[:, 0] * u
    return {
        "embed_cpp.K0": K[-1, 0],
        "embed_cpp.K1": K[-1, 1],
        "embed_cpp.cost": res.loss[-1],
        "embed_cpp.plant_cost": plant_cost,
    }


def _read():
    values = {}
    for line in EXPECTED.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split()
            values[name] = float(value)
    return values


@pytest.mark.parametrize("compute", [embed_c_values, embed_data_values, embed_cpp_values])
def test_expected_file_matches_the_python_api(compute):
    expected = _read()
    for name, value in compute().items():
        rtol, atol = TOLERANCES[name.split(".")[0]]
        assert abs(expected[name] - value) <= rtol * abs(value) + atol, (name, expected[name], value)


def test_lqr_example_reaches_the_riccati_gain():
    # The policy flow converges to the optimal gain K* of the DARE (theorem 4's global minimum).
    A = np.array([[1.0, 0.1], [0.0, 1.0]])
    B = np.array([[0.005], [0.1]])
    K_star = of.costs.dlqr_optimal(A, B, np.eye(2), np.array([[0.1]]))
    expected = _read()
    np.testing.assert_allclose([expected["embed_cpp.K0"], expected["embed_cpp.K1"]], K_star[0], rtol=1e-6)


if __name__ == "__main__":
    print("# name value: computed by overflow's Python API (tests/test_examples.py); the examples")
    print("# compare their output with these under CTest.")
    for compute in (embed_c_values, embed_data_values, embed_cpp_values):
        for name, value in compute().items():
            print(f"{name} {value:.17g}")
