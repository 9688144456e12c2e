"""overflow.montecarlo.plot: `plot_sweep` (runs over a parameter: final loss and time to converge
against it, medians and bands from the runs' own arrays, the fraction reached, the loss target) and
`sweep_times`; `plot_mc`'s imbalance axis on networks with per-neuron invariants or none."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import overflow as of  # noqa: E402
from overflow.montecarlo.plot import _imbalance_axis, plot_mc, plot_sweep, sweep_times  # noqa: E402

TARGET = np.array([[1.0, 0.5], [0.0, -1.0]])


@pytest.fixture(scope="module")
def net():
    return of.Network(of.costs.matrix_factorization(TARGET), depth=3, width=3)


@pytest.fixture(scope="module")
def sweep(net):
    """Three scales, a loss_below event that some starts reach by t = 3 and some do not."""
    return {
        scale: of.monte_carlo(
            net,
            20,
            (0.0, 3.0),
            sampler=of.samplers.gaussian(scale),
            events=[of.events.loss_below(0.05, terminal=False)],
            progress=False,
        )
        for scale in (0.05, 0.3, 1.5)
    }


def test_sweep_times_reads_the_event_or_gtol(net, sweep):
    res = sweep[0.3]
    t, label = sweep_times(res)
    np.testing.assert_array_equal(t, res.t_event[:, 0])
    assert label == r"time to loss $\leq$ 0.05"
    plain = of.monte_carlo(net, 5, (0.0, 20.0), gtol=1e-3, progress=False)
    t, label = sweep_times(plain)
    np.testing.assert_array_equal(t, plain.t_converged)
    assert "gtol" in label
    np.testing.assert_array_equal(sweep_times(res, None)[0], res.t_converged)
    for bad in (1, -2, 0.5, True):
        with pytest.raises(ValueError, match="event must index one of the run's 1 events"):
            sweep_times(res, bad)


def test_plot_sweep_draws_the_runs_arrays(sweep, tmp_path):
    png = tmp_path / "sweep.png"
    fig = plot_sweep(sweep, path=png)
    assert png.stat().st_size > 10_000
    ax_loss, ax_time = fig.axes
    scales = sorted(sweep)
    # the median lines are the medians of each run's finite values
    (loss_line,) = [ln for ln in ax_loss.get_lines() if ln.get_label() == "median"]
    np.testing.assert_array_equal(loss_line.get_xdata(), scales)
    np.testing.assert_allclose(loss_line.get_ydata(), [np.median(sweep[s].final_loss) for s in scales])
    (time_line,) = [ln for ln in ax_time.get_lines() if ln.get_label() == "median"]
    reached = [sweep[s].t_event[:, 0][np.isfinite(sweep[s].t_event[:, 0])] for s in scales]
    expected = [np.median(r) if r.size else np.nan for r in reached]
    np.testing.assert_allclose(time_line.get_ydata(), expected)
    fractions = [np.mean(np.isfinite(sweep[s].t_event[:, 0])) for s in scales]
    assert 0.0 < max(fractions) and min(fractions) < 1.0  # the test sees both kinds of start
    assert [a.get_text() for a in ax_time.texts] == [f"{f:.0%}" for f in fractions]
    # every finite point is drawn: 20 final losses per scale, the reached times
    assert sum(len(c.get_offsets()) for c in ax_loss.collections if c.get_offsets().ndim == 2) >= 60
    target = [ln for ln in ax_loss.get_lines() if ln.get_label() == "target"]
    assert len(target) == 1 and target[0].get_ydata()[0] == 0.05
    assert ax_time.get_xscale() == "log" and ax_loss.get_yscale() == "log"


def test_plot_sweep_keys_in_any_order_and_linear_axis(sweep):
    two = {0.3: sweep[0.3], 0.05: sweep[0.05]}  # unsorted, within a factor 10: linear axis
    fig = plot_sweep(two, xlabel="scale")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "median"]
    np.testing.assert_array_equal(line.get_xdata(), [0.05, 0.3])
    assert fig.axes[1].get_xscale() == "linear" and fig.axes[1].get_xlabel() == "scale"


@pytest.mark.parametrize(
    "results, match",
    [
        ({}, "non-empty mapping"),
        ([1, 2], "non-empty mapping"),
        ({0.1: "not a result"}, "to an MCResult"),
    ],
)
def test_plot_sweep_bad_input(results, match):
    with pytest.raises(TypeError, match=match):
        plot_sweep(results)


def test_plot_sweep_keys_must_be_numbers(sweep):
    with pytest.raises(TypeError, match="keys must be numbers"):
        plot_sweep({"small": sweep[0.05]})


def test_plot_mc_axis_on_data():
    """relu on data: the per-neuron imbalance; tanh on data (no invariant): the trajectory index."""
    data = of.datasets.teacher_student(n_in=3, m=1, width=3, samples=16, activation="relu", seed=0)
    for act, label in (("relu", "per-neuron imbalance"), ("tanh", "trajectory")):
        net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=4, activation=act, inputs=data.X)
        res = of.monte_carlo(net, 6, (0.0, 0.3), progress=False)
        x, xlabel = _imbalance_axis(res)
        assert xlabel.startswith(label)
        expected = res.imbalance_fro.sum(axis=1) if act == "relu" else np.arange(6.0)
        np.testing.assert_array_equal(x, expected)
        fig = plot_mc(res)
        assert fig.axes[0].get_xlabel() == xlabel
        assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == 6
