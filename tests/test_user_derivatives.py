"""Complex-step derivatives of user kernels (issue 3): a value-only kernel gets an exact gradient,
a gradient kernel an exact Hessian-vector product, and kernels that cannot run on complex input
are refused with a clear error where complex step is required."""

import numpy as np
import pytest

import overflow as of

T = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 2.0]])


def logcosh_value(P):
    return np.sum(np.log(np.cosh(P - T)))


def logcosh_grad(P, grad):
    grad[:] = np.tanh(P - T)
    return np.sum(np.log(np.cosh(P - T)))


def exact_grad(P):
    return np.tanh(P - T)


def exact_hvp(P, V):
    return V / np.cosh(P - T) ** 2


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(4)
    return [(rng.standard_normal(T.shape), rng.standard_normal(T.shape)) for _ in range(3)]


def test_value_only_kernel_gets_exact_gradient(points):
    f = of.cost(shape=T.shape)(logcosh_value)
    assert not f.hvp_exact  # hvp: central difference of the (exact) complex-step gradient
    for P, V in points:
        value, grad = f.value_and_grad(P)
        assert value == pytest.approx(logcosh_value(P), rel=1e-14)
        # complex step has no cancellation: agreement to rounding, not to a difference quotient
        np.testing.assert_allclose(grad, exact_grad(P), rtol=1e-14, atol=1e-15)
        # central difference with h ~ eps^(1/3): error ~ eps^(2/3) ~ 4e-11 relative, times curvature
        np.testing.assert_allclose(f.hvp(P, V), exact_hvp(P, V), rtol=1e-7, atol=1e-8)


def test_gradient_kernel_gets_exact_hvp(points):
    f = of.cost(shape=T.shape)(logcosh_grad)
    assert f.hvp_exact
    for P, V in points:
        np.testing.assert_allclose(f.hvp(P, V), exact_hvp(P, V), rtol=1e-13, atol=1e-14)
    assert np.all(f.hvp(points[0][0], np.zeros(T.shape)) == 0.0)


def test_modes(points):
    P, V = points[0]
    cs = of.cost(shape=T.shape, hvp="complex-step")(logcosh_grad)
    fd = of.cost(shape=T.shape, hvp="central-difference")(logcosh_grad)
    assert cs.hvp_exact and not fd.hvp_exact
    np.testing.assert_allclose(fd.hvp(P, V), cs.hvp(P, V), rtol=1e-7, atol=1e-8)
    with pytest.raises(ValueError, match="hvp must be"):
        of.cost(shape=T.shape, hvp="forward")


def test_kernels_that_cannot_run_on_complex_input():
    def branches(P, grad):  # comparisons of complex numbers do not compile
        grad[:] = 0.0
        return 1.0 if P[0, 0] > 0 else 0.0

    with pytest.raises(TypeError, match="cannot run on complex input"):
        of.cost(shape=(1, 1), hvp="complex-step")(branches)
    auto = of.cost(shape=(1, 1))(branches)  # "auto" falls back to the central difference
    assert not auto.hvp_exact

    def value_with_branch(P):
        return P[0, 0] if P[0, 0] > 0 else -P[0, 0]

    with pytest.raises(TypeError, match=r"(?s)cannot run on complex input.*write it as fn\(P, grad\)"):
        of.cost(shape=(1, 1))(value_with_branch)

    def value_with_abs(P):  # abs of a complex value is real: the imaginary part is lost
        return np.sum(np.abs(P))

    with pytest.raises(TypeError, match="returns float64 on complex input"):
        of.cost(shape=(2, 2))(value_with_abs)


def test_value_outside_domain_is_nan():
    def log_barrier(P):
        return -np.sum(np.log(1.0 - P))

    f = of.cost(shape=(1, 2))(log_barrier)
    value, grad = f.value_and_grad(np.array([[2.0, 0.0]]))
    assert np.isnan(value)
    value, grad = f.value_and_grad(np.array([[0.5, 0.0]]))
    np.testing.assert_allclose(grad, [[2.0, 1.0]], rtol=1e-14)


def test_value_only_kernel_drives_the_same_flow():
    # The flow with complex-step gradients equals the flow with the built-in cost to the tolerance.
    def half_sq(P):
        return 0.5 * np.sum((P - T) ** 2)

    user = of.cost(shape=T.shape)(half_sq)
    builtin = of.costs.matrix_factorization(T)
    Ws = of.Network(builtin, depth=3, width=4).init(seed=2)
    a = of.integrate(of.Network(user, depth=3, width=4), Ws, (0, 5), method="dop853", rtol=1e-10, atol=1e-12)
    b = of.integrate(of.Network(builtin, depth=3, width=4), Ws, (0, 5), method="dop853", rtol=1e-10, atol=1e-12)
    assert a.naccept == b.naccept
    for Wa, Wb in zip(a.final_weights, b.final_weights):
        np.testing.assert_allclose(Wa, Wb, rtol=1e-12, atol=1e-13)


def test_scalar_costs_derive_what_is_missing():
    def f(z):
        return np.log(np.cosh(z - 1.0)) + 0.1 * z * z * z

    def df(z):
        return np.tanh(z - 1.0) + 0.3 * z * z

    def d2f(z):
        return 1.0 / np.cosh(z - 1.0) ** 2 + 0.6 * z

    value_only = of.costs.scalar(f)  # f' by complex step, f'' by a central difference of it
    with_derivative = of.costs.scalar(f, df)  # f'' by complex step of f'
    assert not value_only.hvp_exact and with_derivative.hvp_exact
    for z in (-1.3, 0.2, 2.5):
        v, g = value_only.value_and_grad(z)
        assert v == f(z) and g[0, 0] == pytest.approx(df(z), rel=1e-15, abs=1e-15)
        assert with_derivative.hvp(z, 1.0)[0, 0] == pytest.approx(d2f(z), rel=1e-14)
        assert value_only.hvp(z, 1.0)[0, 0] == pytest.approx(d2f(z), rel=1e-8)

    with pytest.raises(TypeError, match=r"without dfn.*cannot run on complex input"):
        of.costs.scalar(lambda z: z if z > 0 else -z)


def test_faithless_complex_arithmetic_is_caught():
    # Numba's complex z**3 goes through polar form: it compiles, but its imaginary part at
    # -1.3 + 1e-20i is rounding noise, so a complex step through it would be wrong.
    with pytest.raises(TypeError, match=r"disagrees with a central difference.*z\*z\*z"):
        of.costs.scalar(lambda z: z**3)

    def cube_sum(P):
        return np.sum(P**3)

    with pytest.raises(TypeError, match="disagrees with a central difference"):
        of.cost(shape=(2, 2))(cube_sum)

    def cube_grad(P, grad):
        grad[:] = 3.0 * P**2
        return np.sum(P**3)

    # ** 2 is exact in complex arithmetic, ** 3 in the value does not matter for the hvp
    assert of.cost(shape=(2, 2))(cube_grad).hvp_exact

    def cube_grad_bad(P, grad):
        grad[:] = P**3
        return 0.25 * np.sum(P * P * P * P)

    assert not of.cost(shape=(2, 2))(cube_grad_bad).hvp_exact  # "auto" fell back to differences
    with pytest.raises(TypeError, match="disagrees"):
        of.cost(shape=(2, 2), hvp="complex-step")(cube_grad_bad)
