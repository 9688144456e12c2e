"""An independent numpy oracle of the gradient flow of a network on data under the squared loss.

The network of issue 18: ``H_0 = X``, ``A_i = W_i H_{i-1} + b_i 1^T``, ``H_i = sigma(A_i)`` for ``i < N``,
``Yhat = A_N``; layer ``i`` is stored as ``[W_i | b_i]`` (``bias=True``) or ``W_i``. The loss is
``f = 1/2 ||Yhat - Y||_F^2 / s`` (`overflow.costs.squared_loss`) and the flow ``dL_i/dt = -df/dL_i``.
`rhs` is a hand-written backward pass; `complex_step_gradient` differentiates `loss` entry by entry
with the complex step, which has no cancellation, so the two agree to rounding and check each other.
Only numpy and the activation registry's numpy sigma and sigma' are used, not the core.
"""

from __future__ import annotations

import numpy as np

from overflow.activations import as_activation


def forward_pass(layers, X, activation, bias):
    """``([A_1, ..., A_N], [H_0, ..., H_{N-1}])``: pre-activations and each layer's inputs."""
    act = as_activation(activation)
    pre, inputs = [], []
    H = np.asarray(X)
    for i, L in enumerate(layers):
        inputs.append(H)
        A = L[:, :-1] @ H + L[:, -1:] if bias else L @ H
        pre.append(A)
        if i < len(layers) - 1:
            H = act.sigma(A)
    return pre, inputs


def loss(layers, X, Y, activation, bias):
    """``1/2 ||Yhat - Y||_F^2 / s`` (``r * r``, not ``|r|^2``: analytic, so complex steps go through)."""
    r = forward_pass(layers, X, activation, bias)[0][-1] - Y
    return 0.5 * np.sum(r * r) / X.shape[1]


def rhs(layers, X, Y, activation, bias):
    """``[-df/dL_1, ..., -df/dL_N]`` by the backward pass ``Z_N = (Yhat - Y) / s``,
    ``df/dW_i = Z_i H_{i-1}^T``, ``df/db_i = Z_i 1``, ``Z_{i-1} = (W_i^T Z_i) * sigma'(A_{i-1})``."""
    act = as_activation(activation)
    pre, inputs = forward_pass(layers, X, activation, bias)
    Z = (pre[-1] - Y) / X.shape[1]
    out = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        dW = Z @ inputs[i].T
        out[i] = -(np.hstack([dW, Z.sum(axis=1, keepdims=True)]) if bias else dW)
        if i > 0:
            W = layers[i][:, :-1] if bias else layers[i]
            Z = (W.T @ Z) * act.derivative(pre[i - 1])
    return out


def complex_step_gradient(layers, X, Y, activation, bias, h=1e-30):
    """``df/dL_i`` entry by entry: ``Im f(L + i h E_jk) / h``."""
    grads = []
    for i, L in enumerate(layers):
        G = np.empty(L.shape)
        for idx in np.ndindex(L.shape):
            stepped = [M.astype(complex) for M in layers]
            stepped[i][idx] += 1j * h
            G[idx] = loss(stepped, X, Y, activation, bias).imag / h
        grads.append(G)
    return grads


def flatten(layers):
    """The layers concatenated row-major into one state vector."""
    return np.concatenate([np.ravel(L) for L in layers])


def unflatten(theta, shapes):
    """The inverse of `flatten` for layers of the given shapes."""
    out, start = [], 0
    for rows, cols in shapes:
        out.append(theta[start : start + rows * cols].reshape(rows, cols))
        start += rows * cols
    return out


def flat_rhs(X, Y, activation, bias, shapes):
    """``fun(t, theta)`` for `scipy.integrate.solve_ivp`: the flow on the flattened state."""

    def fun(t, theta):
        return flatten(rhs(unflatten(theta, shapes), X, Y, activation, bias))

    return fun


#: Teacher-student students (activation, depth, bias, width, seed) whose pre-activations cross their
#: kinks but do not slide along one before t = 2 (found by trying: nearby sizes and seeds do slide,
#: which explicit steppers cannot integrate): the flows on which invariant conservation is checked.
NON_SLIDING_STUDENTS = [
    ("relu", 2, False, 4, 0),
    ("relu", 2, True, 4, 1),
    ("relu", 3, False, 5, 0),
    ("relu", 3, True, 5, 0),
    ("leaky_relu", 2, False, 4, 0),
    ("leaky_relu", 2, True, 5, 0),
    ("leaky_relu", 3, False, 5, 0),
    ("leaky_relu", 3, True, 5, 0),
]
