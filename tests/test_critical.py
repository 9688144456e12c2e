"""Hessian of g, critical-point classification (theorem 4, lemma 17) and linearization."""

from __future__ import annotations

import numpy as np
import pytest

import overflow as of
from overflow.analysis import critical_point, linearization
from overflow.analysis.hessian import dense_hessian, hessian_operator, hessian_vector_product


def _flat(Ds):
    return np.concatenate([np.asarray(D).ravel() for D in Ds])


def _target(m, n, seed=0):
    return np.random.default_rng(seed).standard_normal((m, n))


def _log_cosh(m, n, seed=1):
    rng = np.random.default_rng(seed)
    return of.costs.log_cosh(rng.standard_normal((n, 7)), rng.standard_normal((m, 7)))


def _balanced_minimiser(net, T, seed=3):
    """A balanced exact factorization of T (needs every width >= rank T)."""
    rng = np.random.default_rng(seed)
    U, s, Vt = np.linalg.svd(T, full_matrices=False)
    r = s.size
    N = net.depth
    D = np.diag(s ** (1.0 / N))
    Q = [np.linalg.qr(rng.standard_normal((k, r)))[0] for k in net.widths]
    left = Q + [U]
    right = [Vt.T] + Q
    return [left[i] @ D @ right[i].T for i in range(N)]


CASES = [
    ("mf", (3, 3), 1, None),
    ("mf", (2, 4), 2, [3]),
    ("mf", (4, 2), 3, [5, 1]),
    ("lc", (3, 2), 2, [4]),
    ("lc", (2, 3), 3, [2, 5]),
    ("lc", (1, 3), 4, [3, 2, 4]),
    ("mf", (1, 1), 4, [2, 3, 1]),
]


@pytest.mark.parametrize("kind,shape,depth,widths", CASES)
def test_hvp_matches_finite_differences_of_gradient(kind, shape, depth, widths):
    cost = of.costs.matrix_factorization(_target(*shape)) if kind == "mf" else _log_cosh(*shape)
    net = of.Network(cost, depth=depth, widths=widths)
    rng = np.random.default_rng(7)
    Ws = net.init(seed=5, scale=0.9)
    D = [rng.standard_normal(s) for s in net.shapes]
    y, d = net.flatten(Ws), _flat(D)
    h = 1e-5  # central differences: error O(h^2) ~ 1e-10 relative
    fd = (_flat(net.gradient(y + h * d)) - _flat(net.gradient(y - h * d))) / (2 * h)
    hv = _flat(hessian_vector_product(net, Ws, D))
    assert np.linalg.norm(hv - fd) <= 1e-6 * np.linalg.norm(fd)
    # the dense Hessian is symmetric and reproduces the HVP; the operator too
    H = dense_hessian(net, Ws)
    assert np.allclose(H, H.T, rtol=0, atol=1e-12 * max(1.0, np.abs(H).max()))
    assert np.allclose(H @ d, hv, rtol=1e-10, atol=1e-10)
    assert np.allclose(hessian_operator(net, Ws).matvec(d), hv, rtol=1e-12, atol=1e-12)


def test_dense_hessian_unsymmetrised_part_is_roundoff():
    net = of.Network(_log_cosh(2, 3), depth=3, widths=[4, 2])
    Ws = net.init(seed=2, scale=1.2)
    op = hessian_operator(net, Ws)
    H = np.column_stack([op.matvec(e) for e in np.eye(net.state_size)])
    assert np.abs(H - H.T).max() <= 1e-12 * np.abs(H).max()


def test_global_minimiser_is_critical_of_f():
    T = _target(3, 4)
    net = of.Network(of.costs.matrix_factorization(T), depth=3, widths=[5, 3])
    Ws = _balanced_minimiser(net, T)
    assert np.allclose(net.product(Ws), T, atol=1e-12)
    res = critical_point(net, Ws)
    assert res.kind == "critical_of_f"
    assert res.min_eigenvalue > -1e-8
    assert res.direction is None and res.lemma17_direction is None
    lin = linearization(net, Ws)
    assert lin.unstable == 0 and lin.stable > 0 and lin.centre > 0
    assert lin.stable + lin.centre == net.state_size


@pytest.mark.parametrize("shape,width", [((3, 3), 3), ((2, 4), 3), ((4, 2), 1), ((3, 2), 5)])
def test_origin_depth2_is_strict_saddle(shape, width):
    T = _target(*shape, seed=11)
    net = of.Network(of.costs.matrix_factorization(T), depth=2, width=width)
    zeros = [np.zeros(s) for s in net.shapes]
    res = critical_point(net, zeros)
    smax = np.linalg.svd(T, compute_uv=False)[0]
    assert res.kind == "strict_saddle"
    assert res.grad_norm == 0.0
    assert abs(res.f_grad_norm - np.linalg.norm(T)) < 1e-12
    assert abs(res.min_eigenvalue - (-smax)) < 1e-10
    # the eigenvector really has curvature min_eigenvalue
    v = _flat(res.direction)
    assert abs(np.linalg.norm(v) - 1) < 1e-12
    assert abs(v @ _flat(hessian_vector_product(net, zeros, res.direction)) + smax) < 1e-10
    # lemma 17: W_2 gamma = 0 at the origin, so b = 0 and the curvature is exactly -sigma_max
    D = res.lemma17_direction
    assert D is not None
    assert abs(np.linalg.norm(_flat(D)) - 1) < 1e-12
    assert abs(res.lemma17_sigma - smax) < 1e-12
    assert abs(res.lemma17_curvature + smax) < 1e-10
    assert abs(_flat(D) @ _flat(hessian_vector_product(net, zeros, D)) - res.lemma17_curvature) < 1e-12
    # the spectrum at the origin is {+-sigma_i(T)} with multiplicity k each, plus zeros
    lin = linearization(net, zeros)
    H_eigs = np.linalg.eigh(dense_hessian(net, zeros))[0]
    n_neg = int(np.sum(H_eigs < -1e-9))
    assert lin.unstable == n_neg == width * np.linalg.matrix_rank(T)
    assert lin.stable == n_neg
    assert np.allclose(np.sort(-lin.eigenvalues), H_eigs, atol=1e-12)


def test_lemma17_at_a_nonzero_saddle_depth2():
    """A critical point of g away from the origin, not critical for f: P = 3 e1 e1^T (the best
    rank-1 approximation of T = diag(3, 2, 0.5)) in width 2, with W_2 gamma = c e1 != 0 for the only
    gamma in ker W_1^T, so lemma 17's b = c^2 > 0 and the optimal curvature is
    (c^2 - sqrt(c^4 + 4 sigma^2)) / 2 with sigma = 2."""
    T = np.diag([3.0, 2.0, 0.5])
    net = of.Network(of.costs.matrix_factorization(T), depth=2, width=2)
    a, c = np.sqrt(3.0), 1.5
    W1 = np.zeros((2, 3))
    W1[0, 0] = a
    W2 = np.zeros((3, 2))
    W2[0, 0] = a
    W2[0, 1] = c
    Ws = [W1, W2]
    assert np.allclose(net.product(Ws), np.diag([3.0, 0, 0]))
    res = critical_point(net, Ws)
    assert res.grad_norm < 1e-14
    assert res.kind == "strict_saddle"
    assert abs(res.lemma17_sigma - 2.0) < 1e-12
    expected = (c**2 - np.sqrt(c**4 + 16.0)) / 2
    assert abs(res.lemma17_curvature - expected) < 1e-12
    assert res.lemma17_curvature < 0
    assert res.min_eigenvalue <= res.lemma17_curvature + 1e-12
    # the paper's own scaling p = q^2: <D, H D> = 2 p q (-sigma) + p^2 b' = -2 sigma q^3 + c^2 q^4 (b' = c^2)
    gamma = np.array([0.0, 1.0])
    M1, M2 = -np.outer(gamma, [0, 1.0, 0]), np.outer([0, 1.0, 0], gamma)
    for q in (0.5, 0.1):
        D = [q**2 * M1, q * M2]
        quad = _flat(D) @ _flat(hessian_vector_product(net, Ws, D))
        # G = diag(0, -2, -0.5): the singular pair is (psi, phi) = (-e2, e2) or (e2, -e2), so try both signs
        D2 = [-(q**2) * M1, q * M2]
        quad2 = _flat(D2) @ _flat(hessian_vector_product(net, Ws, D2))
        assert min(quad, quad2) < 0
        assert abs(min(quad, quad2) - (-2 * 2.0 * q**3 + c**2 * q**4)) < 1e-12
    lin = linearization(net, Ws)
    assert lin.unstable >= 1
    assert lin.eigenvalues[-1] == pytest.approx(-res.min_eigenvalue, abs=1e-10)


def test_lemma17_with_nonquadratic_cost():
    """log-cosh: the origin is critical for g (depth 2) and not for f when grad f(0) != 0."""
    cost = _log_cosh(2, 3, seed=4)
    net = of.Network(cost, depth=2, width=2)
    zeros = [np.zeros(s) for s in net.shapes]
    G = cost.gradient(np.zeros(cost.shape))
    res = critical_point(net, zeros)
    smax = np.linalg.svd(G, compute_uv=False)[0]
    assert res.kind == "strict_saddle"
    assert abs(res.min_eigenvalue + smax) < 1e-10
    assert abs(res.lemma17_curvature + smax) < 1e-10


@pytest.mark.parametrize("depth,widths", [(3, [2, 3]), (4, [3, 3, 2])])
def test_origin_deep_is_degenerate(depth, widths):
    T = _target(2, 3, seed=5)
    net = of.Network(of.costs.matrix_factorization(T), depth=depth, widths=widths)
    zeros = [np.zeros(s) for s in net.shapes]
    assert np.abs(dense_hessian(net, zeros)).max() == 0.0
    res = critical_point(net, zeros)
    assert res.kind == "degenerate"
    assert res.min_eigenvalue == 0.0 and res.direction is None
    lin = linearization(net, zeros)
    assert lin.centre == net.state_size and lin.unstable == 0


def test_random_point_is_not_critical():
    net = of.Network(of.costs.matrix_factorization(_target(3, 2)), depth=3, width=4)
    res = critical_point(net, net.init(seed=1))
    assert res.kind == "not_critical" and res.grad_norm > 1e-3
    with pytest.raises(ValueError, match="not an equilibrium"):
        linearization(net, net.init(seed=1))


def test_eigsh_path_matches_dense():
    T = _target(4, 5, seed=8)
    net = of.Network(of.costs.matrix_factorization(T), depth=2, width=6)
    zeros = [np.zeros(s) for s in net.shapes]
    dense = critical_point(net, zeros)
    sparse = critical_point(net, zeros, dense_limit=0)
    assert sparse.kind == dense.kind == "strict_saddle"
    assert abs(sparse.min_eigenvalue - dense.min_eigenvalue) < 1e-8
    Ws = net.init(seed=3, scale=1.0)
    a, b = critical_point(net, Ws), critical_point(net, Ws, dense_limit=0)
    assert abs(a.min_eigenvalue - b.min_eigenvalue) < 1e-8 * max(1.0, abs(a.min_eigenvalue))


def test_narrow_network_minimum_has_no_lemma17_kernel():
    """Width below min(m, n): a rank-1 global minimiser of g with grad f != 0 and neither
    ker W_1^T nor ker W_2 non-trivial -- lemma 17's gamma does not exist (it is not a saddle)."""
    T = np.diag([2.0, 1.0])
    net = of.Network(of.costs.matrix_factorization(T), depth=2, width=1)
    a = np.sqrt(2.0)
    Ws = [np.array([[a, 0.0]]), np.array([[a], [0.0]])]
    res = critical_point(net, Ws)
    assert res.grad_norm < 1e-14 and res.f_grad_norm > 0.5
    assert res.kind == "degenerate"
    assert res.lemma17_direction is None and res.lemma17_curvature is None
    assert res.min_eigenvalue > -1e-10


def test_bad_input():
    net = of.Network(of.costs.matrix_factorization(_target(2, 3)), depth=2, width=2)
    good = net.init(seed=0)
    with pytest.raises(ValueError):
        critical_point(net, [np.zeros((3, 3)), good[1]])
    with pytest.raises(ValueError):
        linearization(net, [good[0]])
    with pytest.raises(ValueError):
        hessian_vector_product(net, good, [np.zeros((2, 2)), good[1]])
    with pytest.raises(ValueError):
        critical_point(net, good, tol=-1.0)
    deep = of.Network(net.cost, depth=3, width=2)
    from overflow.analysis import lemma17_direction

    with pytest.raises(ValueError, match="depth 2"):
        lemma17_direction(deep, deep.init(seed=0))
