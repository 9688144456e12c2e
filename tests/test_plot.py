"""overflow.plot: Figure 2 (foliation), Figure 3 (phase portraits, eq. 9-11), Prop. 7, invariant drift."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import overflow as of  # noqa: E402
from overflow import plot  # noqa: E402
from overflow.vector import init_with  # noqa: E402


def _sq(z):
    return (1.0 - z) ** 2


def _dsq(z):
    return -2.0 * (1.0 - z)


def _d2sq(z):
    return 2.0


@pytest.fixture(scope="module")
def sq_cost():
    return of.costs.scalar(_sq, _dsq, _d2sq, f_star=0.0)


@pytest.fixture(scope="module")
def portrait():
    return plot.phase_portrait()


def _png_ok(path):
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def _lines(ax, color):
    return [ln for ln in ax.lines if ln.get_color() == color and ln.get_marker() in ("None", None, "")]


def _field(kind, w1, w2, df=_dsq):
    """The flow of eq. 9 (isru) / eq. 7 (linear) written out by hand, independently of overflow.plot."""
    if kind == "linear":
        d = df(w1 * w2)
        return -d * w2, -d * w1
    s = w1 / np.sqrt(1 + w1**2)
    d = df(w2 * s)
    return -d * w2 * (1 + w1**2) ** -1.5, -d * s


# -- phase_portrait (Figure 3) ------------------------------------------------------------------


def test_phase_portrait_axes_and_png(tmp_path):
    out = tmp_path / "fig3.png"
    fig = plot.phase_portrait(path=out)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2
    _png_ok(out)


def test_phase_portrait_isru_manifolds_eq11(portrait):
    ax = portrait.axes[1]
    red, blue = _lines(ax, "red"), _lines(ax, "blue")
    assert len(red) == 1 and len(blue) == 1
    signs = []
    for ln in red + blue:
        x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        root = x * np.sqrt((2 + x**2) / 2)
        if np.max(np.abs(y - root)) <= 1e-12:
            signs.append(+1)
        else:
            assert np.max(np.abs(y + root)) <= 1e-12
            signs.append(-1)
        # on the level set C = -1/2 of Prop. 8's invariant C = w2^2 - (1 + w1^2)^2 / 2 (eq. 10)
        assert np.max(np.abs(y**2 - (1 + x**2) ** 2 / 2 + 0.5)) < 1e-10
    # s = sign f'(0) = -1 for (1 - z)^2: centre-stable w2 = -w1 sqrt(...), unstable w2 = +w1 sqrt(...)
    assert signs == [-1, +1]


def test_phase_portrait_linear_manifolds(portrait):
    ax = portrait.axes[0]
    (red,), (blue,) = _lines(ax, "red"), _lines(ax, "blue")
    # s = -1: centre-stable {w1 = s w2}, unstable {w1 = -s w2}
    np.testing.assert_allclose(red.get_xdata(), -np.asarray(red.get_ydata()), atol=1e-12, rtol=0)
    np.testing.assert_allclose(blue.get_xdata(), np.asarray(blue.get_ydata()), atol=1e-12, rtol=0)


@pytest.mark.parametrize("panel,kind", [(0, "linear"), (1, "isru")])
def test_phase_portrait_flow_tangent_and_stability(portrait, panel, kind):
    ax = portrait.axes[panel]
    (red,), (blue,) = _lines(ax, "red"), _lines(ax, "blue")
    for ln, stable in ((red, True), (blue, False)):
        x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        idx = np.linspace(0, x.size - 1, 25).astype(int)
        x, y = x[idx], y[idx]
        keep = np.abs(x) > 1e-3
        x, y = x[keep], y[keep]
        U, V = _field(kind, x, y)
        # tangent of the curve by central differences of the same closed form
        h = 1e-6
        if kind == "linear":
            k = y / x
            tx, ty = np.ones_like(x), k
        else:
            sgn = np.sign(y[np.argmax(np.abs(x))] * x[np.argmax(np.abs(x))])
            fy = lambda t: sgn * t * np.sqrt((2 + t**2) / 2)  # noqa: E731
            tx, ty = np.ones_like(x), (fy(x + h) - fy(x - h)) / (2 * h)
        cross = (tx * V - ty * U) / (np.hypot(tx, ty) * np.maximum(np.hypot(U, V), 1e-300))
        assert np.max(np.abs(cross)) < 1e-6
        radial = x * U + y * V  # < 0: flow towards the saddle
        if stable:  # the whole red curve flows into the saddle (z <= 0 there, f' < 0)
            assert np.all(radial < 0)
        else:  # the blue curve leaves the saddle, up to the target set z = 1 where it ends
            z = x * y if kind == "linear" else y * x / np.sqrt(1 + x**2)
            inside = (z > 0) & (z < 1)
            assert inside.sum() >= 4
            assert np.all(radial[inside] > 0)
            assert np.all(radial[z > 1] < 0)


def test_phase_portrait_target_set(portrait):
    lin, isru = portrait.axes
    for ax, kind in ((lin, "linear"), (isru, "isru")):
        blacks = _lines(ax, "black")
        assert blacks
        for ln in blacks:
            x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
            ok = np.isfinite(y)
            z = x[ok] * y[ok] if kind == "linear" else y[ok] * x[ok] / np.sqrt(1 + x[ok] ** 2)
            np.testing.assert_allclose(z, 1.0, rtol=1e-12)


def test_phase_portrait_other_cost_sign():
    # f(z) = (z + 1)^2: f'(0) = 2 > 0, so s = +1 and the centre-stable line is w1 = w2; target z = -1
    fig = plot.phase_portrait(lambda z: (z + 1.0) ** 2, lambda z: 2.0 * (z + 1.0), lim=2.0)
    (red,) = _lines(fig.axes[0], "red")
    np.testing.assert_allclose(red.get_xdata(), red.get_ydata(), atol=1e-12, rtol=0)
    (red,) = _lines(fig.axes[1], "red")
    x, y = np.asarray(red.get_xdata()), np.asarray(red.get_ydata())
    np.testing.assert_allclose(y, x * np.sqrt((2 + x**2) / 2), atol=1e-12, rtol=0)
    for ln in _lines(fig.axes[0], "black"):
        x, y = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
        ok = np.isfinite(y)
        np.testing.assert_allclose(x[ok] * y[ok], -1.0, rtol=1e-6)


def test_phase_portrait_rejects_flat_origin():
    with pytest.raises(ValueError, match="f'\\(0\\)"):
        plot.phase_portrait(lambda z: z**2, lambda z: 2 * z)


# -- foliation (Figure 2) -----------------------------------------------------------------------


def test_foliation_trajectories_stay_on_level_sets(tmp_path):
    out = tmp_path / "fig2.png"
    fig = plot.foliation(path=out)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 1
    _png_ok(out)
    trajs = [ln for ln in fig.axes[0].lines if ln.get_gid() == "trajectory"]
    assert len(trajs) == 24
    moved = 0
    for ln in trajs:
        x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        C = x**2 - y**2
        assert np.max(np.abs(C - C[0])) < 1e-6
        moved += np.hypot(x[-1] - x[0], y[-1] - y[0]) > 1e-2
    assert moved > 12  # the trajectories really move
    target = [ln for ln in fig.axes[0].lines if ln.get_gid() == "target"]
    assert target


# -- loss_vs_imbalance (Prop. 7) ----------------------------------------------------------------


def test_loss_vs_imbalance_ordered(tmp_path, sq_cost):
    out = tmp_path / "prop7.png"
    cs = [0.0, 1.0, 4.0, 16.0]
    fig = plot.loss_vs_imbalance(sq_cost, 0.5, cs, (0.0, 2.0), path=out)
    assert len(fig.axes) == 1
    _png_ok(out)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lines = ax.lines
    assert [ln.get_label() for ln in lines] == [f"c = {c:g}" for c in cs]
    ys = [np.asarray(ln.get_ydata(), float) for ln in lines]
    t = np.asarray(lines[0].get_xdata(), float)
    assert np.all(ys[0][0] == np.array([y[0] for y in ys]))  # same z0, same loss at t = 0
    for lo, hi in zip(ys[1:], ys[:-1]):
        assert np.all(lo[t > 0] < hi[t > 0])


def test_loss_vs_imbalance_matches_full_flow(sq_cost):
    # the reduced curve agrees with the full flow of weights with that (z0, c)
    fig = plot.loss_vs_imbalance(sq_cost, 0.5, [3.0], (0.0, 1.0), num=11)
    ln = fig.axes[0].lines[0]
    w1, w2 = init_with(0.5, 3.0, width=3, seed=1)
    net = of.Network(sq_cost, depth=2, width=3)
    res = of.integrate(
        net, [w1, w2], (0.0, 1.0), method="dop853", rtol=1e-10, atol=1e-12, t_eval=np.asarray(ln.get_xdata())
    )
    np.testing.assert_allclose(res.loss, ln.get_ydata(), rtol=1e-6, atol=1e-12)


# -- invariant_drift ----------------------------------------------------------------------------


def test_invariant_drift(tmp_path):
    cost = of.costs.matrix_factorization(np.array([[1.0, 0.5], [-0.3, 2.0]]))
    net = of.Network(cost, depth=3, width=3)
    Ws = net.init(seed=0, scale=0.5)
    out = tmp_path / "drift.png"
    fig = plot.invariant_drift(net, Ws, (0.0, 10.0), methods=["bs3", "dop853"], rtol=1e-6, atol=1e-9, path=out)
    assert len(fig.axes) == 1
    _png_ok(out)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    curves = {ln.get_label(): np.asarray(ln.get_ydata(), float) for ln in ax.lines}
    assert set(curves) == {"bs3", "dop853"}
    for y in curves.values():
        assert y[0] == 0.0
        assert np.all(np.diff(y) >= 0)
        assert y[-1] > 0
    assert curves["dop853"][-1] < curves["bs3"][-1]


def test_invariant_drift_default_methods():
    cost = of.costs.matrix_factorization(np.array([[1.0]]))
    net = of.Network(cost, depth=2, width=2)
    fig = plot.invariant_drift(net, net.init(seed=3), (0.0, 2.0))
    assert sorted(ln.get_label() for ln in fig.axes[0].lines) == sorted(of.METHODS)


def test_invariant_drift_rejects_depth1():
    cost = of.costs.matrix_factorization(np.array([[1.0]]))
    net = of.Network(cost, depth=1)
    with pytest.raises(ValueError):
        plot.invariant_drift(net, net.init(seed=0), (0.0, 1.0))
