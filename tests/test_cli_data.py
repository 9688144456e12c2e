"""`overflow run --activation NAME --samples S ...`: a network on teacher-student data from the command
line. Each run's reported losses are checked against the same network built here through the API
(`teacher_student`, `Network(squared_loss(Y), ..., inputs=X)`, `integrate`) from the same seed, and the
initial loss against a numpy forward pass (`overflow.datasets.forward`); bad flag combinations are one
line on stderr with exit code 2."""

import numpy as np
import pytest

import overflow as of
from overflow.activations import ACTIVATIONS, leaky_relu
from overflow.cli import EXIT_OK, EXIT_USAGE, main
from overflow.costs import matrix_factorization, squared_loss
from overflow.datasets import forward, teacher_student


def _report(capsys) -> dict[str, str]:
    """The summary table of ``overflow run`` as {row name: value}."""
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    return rows


def _one_error_line(capsys) -> str:
    """The single stderr line of a failed command (no traceback, no usage block)."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("overflow: error: "), err
    return lines[0]


# (flags, the same problem through the API): sizes small and times short
CASES = {
    "relu": (
        "--activation relu --samples 32 --inputs 3 --teacher-width 2 --width 8 --t-end 2 --seed 3",
        dict(n_in=3, m=1, teacher_width=2, samples=32, depth=2, widths=[8], act="relu", bias=False, noise=0.0),
        dict(seed=3, method="auto", t_end=2.0),
    ),
    "tanh": (
        "--activation tanh --samples 40 --inputs 5 --outputs 2 --bias --noise 0.1 --widths 6 --method dop853 "
        "--t-end 3 --seed 1 --scale 0.5",
        dict(n_in=5, m=2, teacher_width=4, samples=40, depth=2, widths=[6], act="tanh", bias=True, noise=0.1),
        dict(seed=1, method="dop853", t_end=3.0, scale=0.5),
    ),
    "leaky_relu": (
        "--activation leaky_relu --leaky-slope 0.2 --samples 24 --depth 3 --widths 5,4 --teacher-width 3 "
        "--t-end 1 --init orthogonal",
        dict(
            n_in=4, m=1, teacher_width=3, samples=24, depth=3, widths=[5, 4], act=leaky_relu(0.2), bias=False, noise=0.0
        ),
        dict(seed=0, method="auto", t_end=1.0, kind="orthogonal"),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_run_on_data_matches_the_api(case, capsys):
    flags, problem, run = CASES[case]
    assert main(["run", *flags.split(), "--gtol", "0", "--max-steps", "20000"]) == EXIT_OK
    rows = _report(capsys)
    assert rows["status"].startswith("t_end"), rows
    assert "teacher-student" in rows["problem"] and f"{problem['samples']} samples" in rows["problem"]

    p = problem
    ts = teacher_student(
        p["n_in"], p["m"], p["teacher_width"], p["samples"], p["depth"], p["act"], p["bias"], p["noise"], run["seed"]
    )
    net = of.Network(
        squared_loss(ts.Y), depth=p["depth"], widths=p["widths"], activation=p["act"], inputs=ts.X, bias=p["bias"]
    )
    Ws = net.init(seed=run["seed"], scale=run.get("scale", 0.3), kind=run.get("kind", "gaussian"))
    # the initial loss from numpy: 1/2 ||Yhat - Y||_F^2 / s
    initial = 0.5 * np.sum((forward(Ws, ts.X, p["act"], p["bias"]) - ts.Y) ** 2) / p["samples"]
    res = of.integrate(net, Ws, (0.0, run["t_end"]), run["method"], rtol=1e-8, atol=1e-10, max_steps=20000)
    assert res.status == "t_end"
    # the table prints 7 significant digits
    assert float(rows["initial loss"]) == pytest.approx(initial, rel=1e-6)
    assert float(rows["final loss"]) == pytest.approx(res.final_loss, rel=1e-6)
    assert float(rows["final loss"]) < float(rows["initial loss"])


def test_activation_on_matrix_factorization(capsys):
    """Without --samples, --activation acts between the layers of the matrix factorization network."""
    assert main(["run", "--activation", "tanh", "--t-end", "1", "--gtol", "0", "--seed", "2"]) == EXIT_OK
    rows = _report(capsys)
    assert rows["problem"].endswith("tanh") and "matrix factorization 4x4" in rows["problem"]
    net = of.Network(matrix_factorization(np.diag([3.0, 2.0, 1.0, 0.5])), depth=3, width=16, activation="tanh")
    res = of.integrate(net, net.init(seed=2, scale=0.3), (0.0, 1.0), "auto", rtol=1e-8, atol=1e-10)
    assert float(rows["final loss"]) == pytest.approx(res.final_loss, rel=1e-6)


def test_seed_draws_new_data(capsys):
    """--seed seeds the teacher-student data as well as the initial layers."""
    losses = []
    for seed in ("0", "1"):
        assert main(["run", "--samples", "16", "--t-end", "0.1", "--gtol", "0", "--seed", seed]) == EXIT_OK
        losses.append(_report(capsys)["initial loss"])
    assert losses[0] != losses[1]


def test_help_lists_the_data_flags(capsys):
    assert main(["run", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for flag in ("--activation", "--leaky-slope", "--samples", "--inputs", "--outputs", "--teacher-width", "--noise"):
        assert flag in out
    assert "teacher-student" in out and "gelu" in out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--bias"], "--bias needs --samples"),
        (["--inputs", "3"], "--inputs needs --samples"),
        (["--outputs", "2"], "--outputs needs --samples"),
        (["--teacher-width", "3"], "--teacher-width needs --samples"),
        (["--noise", "0.1"], "--noise needs --samples"),
        (
            ["--samples", "8", "--target-diag", "1,2"],
            "--target-diag sets the matrix factorization cost; with --samples",
        ),
        (["--samples", "8", "--random-target", "2,3"], "--random-target sets the matrix factorization cost"),
        (["--leaky-slope", "0.1"], "--leaky-slope applies to --activation leaky_relu only, not to --activation linear"),
        (["--activation", "leaky_relu", "--leaky-slope", "-1"], "argument --leaky-slope: expected a number >= 0"),
        (["--samples", "0"], "argument --samples: expected an integer >= 1, got '0'"),
        (["--samples", "8", "--noise", "nan"], "argument --noise: expected a finite number"),
        (["--samples", "8", "--depth", "1", "--teacher-width", "3"], "--teacher-width needs --depth >= 2"),
        (["--samples", str(10**15)], "samples must fit in memory"),
    ],
)
def test_inconsistent_data_flags_are_usage_errors(argv, expected, capsys):
    assert main(["run", *argv]) == EXIT_USAGE
    assert expected in _one_error_line(capsys)


def test_unknown_activation_lists_the_names(capsys):
    assert main(["run", "--activation", "swish", "--samples", "8"]) == EXIT_USAGE
    line = _one_error_line(capsys)
    assert "argument --activation: invalid choice: 'swish'" in line
    assert all(repr(name) in line for name in ACTIVATIONS)


@pytest.mark.parametrize("loss", ["squared", "huber", "log-cosh", "logistic", "softmax-cross-entropy"])
def test_loss_on_data_matches_the_api(loss, capsys):
    """--loss: regression losses on the teacher's outputs, logistic on their signs, softmax
    cross-entropy on the index of the largest; the reported losses are the API's."""
    m = 3 if loss == "softmax-cross-entropy" else 1
    flags = f"--samples 20 --activation tanh --outputs {m} --noise 0.3 --width 6 --t-end 2 --gtol 0 --seed 2"
    assert main(["run", *flags.split(), "--loss", loss]) == EXIT_OK
    rows = _report(capsys)
    assert f"teacher-student, {loss} loss" in rows["problem"]
    ts = teacher_student(4, m, 4, 20, 2, "tanh", False, 0.3, 2)
    if loss == "logistic":
        labels = np.where(ts.Y >= 0.0, 1.0, -1.0)
        assert set(np.unique(labels)) == {-1.0, 1.0}
        cost = of.costs.logistic_loss(labels)
    elif loss == "softmax-cross-entropy":
        labels = np.argmax(ts.Y, axis=0)
        cost = of.costs.softmax_cross_entropy_loss(labels, classes=3)
    else:
        cost = {"squared": squared_loss, "huber": of.costs.huber_loss, "log-cosh": of.costs.log_cosh_loss}[loss](ts.Y)
    net = of.Network(cost, depth=2, width=6, activation="tanh", inputs=ts.X)
    Ws = net.init(seed=2, scale=0.3)
    res = of.integrate(net, Ws, (0.0, 2.0), "auto", rtol=1e-8, atol=1e-10)
    assert float(rows["initial loss"]) == pytest.approx(net.loss(Ws), rel=1e-6)
    assert float(rows["final loss"]) == pytest.approx(res.final_loss, rel=1e-6)
    assert float(rows["final loss"]) < float(rows["initial loss"])


def test_loss_values_against_numpy(capsys):
    """The initial logistic and softmax losses of the run against numpy formulas on the forward pass."""
    for loss, m in (("logistic", 1), ("softmax-cross-entropy", 2)):
        assert (
            main(["run", "--samples", "16", "--outputs", str(m), "--loss", loss, "--t-end", "0.1", "--gtol", "0"]) == 0
        )
        initial = float(_report(capsys)["initial loss"])
        ts = teacher_student(4, m, 4, 16, 2, None, False, 0.0, 0)
        net = of.Network(squared_loss(ts.Y), depth=2, width=16, inputs=ts.X)
        Yhat = forward(net.init(seed=0, scale=0.3), ts.X, None, False)
        if loss == "logistic":
            y = np.where(ts.Y >= 0, 1.0, -1.0)
            expected = np.mean(np.log1p(np.exp(-y * Yhat)))
        else:
            z = Yhat - Yhat.max(axis=0)
            logp = z - np.log(np.sum(np.exp(z), axis=0))
            expected = -np.mean(logp[np.argmax(ts.Y, axis=0), np.arange(16)])
        assert initial == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--loss", "huber"], "--loss needs --samples"),
        (["--samples", "8", "--loss", "logistic", "--outputs", "3"], "--loss logistic needs --outputs 1"),
        (["--samples", "8", "--loss", "softmax-cross-entropy"], "--loss softmax-cross-entropy needs --outputs >= 2"),
        (["--samples", "8", "--loss", "mse"], "argument --loss: invalid choice: 'mse'"),
    ],
)
def test_bad_loss_flags_are_usage_errors(argv, expected, capsys):
    assert main(["run", *argv]) == EXIT_USAGE
    assert expected in _one_error_line(capsys)


def test_issue_relu_example_steps_through_its_kinks(capsys):
    """The issue's `overflow run --activation relu --samples 256` (its 16-wide student on a 4 -> 4 -> 1
    teacher): before the kinks were located it spent its 100,000 steps grinding at them; now t = 100 takes
    about a thousand steps, each ending at a located kink."""
    argv = ["run", "--activation", "relu", "--samples", "256", "--t-end", "100", "--gtol", "0", "--max-steps", "5000"]
    assert main(argv) == EXIT_OK
    rows = _report(capsys)
    assert rows["status"].startswith("t_end"), rows
    assert float(rows["final loss"]) < 0.01 * float(rows["initial loss"])
    # every located kink ends an accepted step
    located = int(rows["kinks"].split()[0])
    assert 0 < located <= int(rows["steps"].split()[0]), rows
