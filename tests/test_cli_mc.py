"""`overflow mc`: a Monte Carlo study from the command line, its summary, figure and streaming; flags that do
not apply, an unreachable scheduler, and Ctrl-C (one line, exit 130, the same command resumes)."""

import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from helpers import wait_for_first_chunk

import overflow as of
import overflow.cli as cli
from overflow.cli import main


def test_mc_prints_the_summary_and_writes_the_figure(capsys, tmp_path):
    png = tmp_path / "mc.png"
    code = main(
        [
            "mc",
            "-n",
            "40",
            "--depth",
            "2",
            "--width",
            "4",
            "--t-end",
            "20",
            "--gtol",
            "1e-6",
            "--workers",
            "2",
            "--no-progress",
            "--plot",
            str(png),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for key in (
        "trajectories",
        "status converged",
        "t_converged q50",
        "global minimum",
        "fraction at global min",
        "trajectories/s",
    ):
        assert key in out, key
    assert png.stat().st_size > 10_000


def test_mc_vector_case_streams_and_resumes(capsys, tmp_path):
    args = [
        "mc",
        "--cost",
        "vector",
        "--width",
        "5",
        "--sampler",
        "imbalanced",
        "--c",
        "0.5,2",
        "--z0",
        "0.1",
        "-n",
        "30",
        "--t-end",
        "30",
        "--gtol",
        "1e-8",
        "--chunk",
        "10",
        "--out",
        str(tmp_path / "run"),
        "--no-progress",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "fraction at global min  1.0000" in first
    assert sorted(os.listdir(tmp_path / "run")) == [
        "chunk_000000.npz",
        "chunk_000001.npz",
        "chunk_000002.npz",
        "mc.png",
        "params.json",
    ]
    assert main(args) == 0  # a second call finds every chunk on disk and computes nothing
    res = of.montecarlo.load(tmp_path / "run")
    assert len(res) == 30 and np.all(res.status == "converged")
    assert np.all((res.imbalance[:, 0] > 0.5 - 1e-9) & (res.imbalance[:, 0] < 2 + 1e-9))


def test_mc_bad_arguments_exit_with_a_message(capsys, tmp_path):
    assert main(["mc", "--sampler", "imbalanced", "--cost", "vector", "-n", "5", "--no-plot"]) == 2
    assert "--c" in capsys.readouterr().err
    assert main(["mc", "--sampler", "center_stable", "--cost", "vector", "-n", "5", "--no-plot"]) == 2
    assert "--eps" in capsys.readouterr().err
    assert main(["mc", "-n", "0", "--no-plot"]) == 2
    assert "argument -n/--n: expected an integer >= 1, got '0'" in capsys.readouterr().err
    assert main(["mc", "--sampler", "imbalanced", "--c", "1", "-n", "5", "--no-plot"]) == 2  # not the vector case
    assert "vector case" in capsys.readouterr().err


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("overflow: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--c", "1"], "--c applies to --sampler imbalanced only, not to --sampler gaussian"),
        (["--z0", "-1,1"], "--z0 applies to --sampler imbalanced only"),
        (["--sampler", "uniform", "--eps", "0.1"], "--eps applies to --sampler center_stable only"),
        (
            ["--cost", "vector", "--sampler", "imbalanced", "--c", "1", "--scale", "0.5"],
            "--scale does not apply to --sampler imbalanced",
        ),
        (
            ["--cost", "vector", "--sampler", "center_stable", "--eps", "0.1", "--c", "1"],
            "--c applies to --sampler imbalanced",
        ),
        (["--cost", "vector", "--target-diag", "1,2"], "--target-diag applies to --cost factorization"),
        (["--cost", "vector", "--random-target", "2,2"], "--random-target applies to --cost factorization"),
        (["--target", "2"], "--target applies to --cost vector only"),
        (["--depth", "1", "--widths", "3"], "--widths needs --depth >= 2"),
        (["--plot", "a.png", "--no-plot"], "--plot and --no-plot exclude each other"),
        (["--out", ""], "argument --out: expected a path"),
        (["--c", "1,2,3", "--sampler", "imbalanced"], "argument --c: expected one number or a pair LO,HI"),
        (["--workers", "0"], "argument --workers: expected an integer >= 1"),
        (["--plot", "missing-folder/mc.png"], "folder 'missing-folder' does not exist"),
        (["--plot", "mc.nosuchformat"], "unknown figure format 'nosuchformat'"),
        (["--scheduler", "tcp://no-port"], "expected tcp://HOST:PORT"),
    ],
)
def test_mc_flags_that_do_not_apply_or_bad_values_are_usage_errors(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["mc", "-n", "4"] + argv) == 2
    assert expected in _one_error_line(capsys)
    assert os.listdir(tmp_path) == []  # refused before anything ran or was written


def test_mc_negative_values_after_a_flag(capsys):
    assert (
        main(
            [
                "mc",
                "--cost",
                "vector",
                "--target",
                "-2.5e-1",
                "--sampler",
                "imbalanced",
                "--c",
                "0.5",
                "--z0",
                "-1,1",
                "-n",
                "4",
                "--t-end",
                "1",
                "--workers",
                "1",
                "--no-progress",
                "--no-plot",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "f(z) = (z + 0.25)^2 / 2" in out and "z0=[-1.0, 1.0]" in out


def test_mc_interrupted_without_out_says_nothing_was_saved(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "monte_carlo", interrupted)
    assert main(["mc", "-n", "4", "--no-plot"]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted: nothing saved (run with --out DIR to keep finished chunks and resume)\n"


def test_mc_unreachable_scheduler_is_a_clean_error(capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    with socket.socket() as s:  # a port nobody listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["mc", "-n", "4", "--no-plot", "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    assert "cannot reach the Dask scheduler" in _one_error_line(capsys)
    # A peer that accepts but never speaks would hang dask's Client; refused after SCHEDULER_TIMEOUT
    monkeypatch.setattr(cli, "SCHEDULER_TIMEOUT", 0.5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        assert main(["mc", "-n", "4", "--no-plot", "--scheduler", f"tcp://127.0.0.1:{s.getsockname()[1]}"]) == 2
    assert "no Dask scheduler answered" in _one_error_line(capsys)


def test_mc_ctrl_c_prints_one_line_exits_130_and_the_same_command_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["mc", "-n", "1000", "--chunk", "10", "--workers", "1", "--out", str(out), "--no-plot", "--no-progress"]
    # cwd away from the checkout: there `import overflow` would find the sources, not the install
    proc = subprocess.Popen(
        [sys.executable, "-m", "overflow"] + args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_for_first_chunk(proc, out)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    saved = len(list(out.glob("chunk_*.npz")))
    assert 1 <= saved < 100
    assert stderr.splitlines()[-1] == f"interrupted: {saved} of 100 chunks saved; run the same command again to resume"
    assert main(args) == 0
    assert f"(resumed: {saved} of 100 chunks were on disk)" in capsys.readouterr().out
    assert len(of.montecarlo.load(out)) == 1000


def test_mc_out_in_use_by_another_run_is_a_usage_error(tmp_path, capsys):
    from overflow.montecarlo.lock import DirectoryLock

    out = tmp_path / "run"
    out.mkdir()
    with DirectoryLock(out):  # as another overflow mc writing there would hold it
        assert main(["mc", "-n", "4", "--out", str(out), "--no-plot", "--no-progress"]) == 2
    assert f"pid {os.getpid()}" in _one_error_line(capsys)


def test_mc_on_a_reachable_scheduler(capsys):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None, protocol="tcp"
    ) as cluster:  # the probe before Client needs a tcp address
        assert (
            main(
                [
                    "mc",
                    "-n",
                    "8",
                    "--chunk",
                    "4",
                    "--depth",
                    "2",
                    "--width",
                    "3",
                    "--t-end",
                    "2",
                    "--no-plot",
                    "--no-progress",
                    "--scheduler",
                    cluster.scheduler_address,
                ]
            )
            == 0
        )
    assert "trajectories         8" in capsys.readouterr().out


# -- networks on data ------------------------------------------------------------------------------

DATA_MC = "--samples 24 --inputs 3 --outputs 2 --activation tanh --bias --noise 0.1 --width 5 -n 12 --t-end 2 --gtol 0"


def _data_mc(tmp_path, extra=""):
    return ["mc", *DATA_MC.split(), *extra.split(), "--seed", "4", "--workers", "1", "--no-progress", "--no-plot"] + [
        "--out",
        str(tmp_path / "run"),
    ]


def test_mc_on_data_is_the_api_run(capsys, tmp_path):
    """`overflow mc --samples ...` streams the run monte_carlo makes of the same teacher-student network:
    the same parameters (the data's fingerprint included) and bit-identical arrays."""
    assert main(_data_mc(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "teacher-student, squared loss: 24 samples, teacher 3 -> 4 -> 2 with biases" in out
    assert "max invariant drift  nan" in out  # tanh conserves no per-neuron invariant
    ts = of.datasets.teacher_student(3, 2, 4, 24, 2, "tanh", True, 0.1, 4)
    net = of.Network(of.costs.squared_loss(ts.Y), depth=2, width=5, activation="tanh", inputs=ts.X, bias=True)
    api = of.monte_carlo(
        net, 12, (0.0, 2.0), "auto", rtol=1e-8, atol=1e-10, seed=4, sampler=of.samplers.gaussian(0.3), progress=False
    )
    stored = of.montecarlo.load(tmp_path / "run")
    assert stored.params == api.params
    assert "inputs" in stored.params["network"] and stored.params["network"]["bias"] is True
    np.testing.assert_array_equal(stored.final_loss, api.final_loss)
    np.testing.assert_array_equal(stored.nfev, api.nfev)


@pytest.mark.parametrize(
    "change, names",
    [
        ("--noise 0.2", "cost.sha256"),  # other targets
        ("--inputs 4", "network.dims"),  # other data (and so another network)
        ("--activation relu", "network.activation"),
    ],
)
def test_mc_on_data_resumes_only_the_same_data(capsys, tmp_path, change, names):
    assert main(_data_mc(tmp_path)) == 0
    assert main(_data_mc(tmp_path)) == 0
    assert "(resumed: 1 of 1 chunks were on disk)" in capsys.readouterr().out
    argv = _data_mc(tmp_path)
    for flag, value in zip(change.split()[::2], change.split()[1::2]):
        i = argv.index(flag) if flag in argv else None
        if i is None:
            argv += [flag, value]
        else:
            argv[i + 1] = value
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "holds a run with other parameters" in line and names in line


def test_mc_on_data_refuses_other_data_with_the_same_shapes(capsys, tmp_path):
    """--seed draws other inputs of the same shape: the inputs' hash tells them apart."""
    assert main(_data_mc(tmp_path)) == 0
    capsys.readouterr()
    argv = _data_mc(tmp_path)
    argv[argv.index("--seed") + 1] = "5"
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "network.inputs.sha256" in line and "cost.sha256" in line


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--samples", "8", "--cost", "vector"], "--samples trains on teacher-student data; --cost vector"),
        (["--bias"], "--bias needs --samples"),
        (["--loss", "huber"], "--loss needs --samples"),
        (["--samples", "8", "--loss", "logistic", "--outputs", "2"], "--loss logistic needs --outputs 1"),
        (["--samples", "8", "--loss", "softmax-cross-entropy"], "--loss softmax-cross-entropy needs --outputs >= 2"),
        (["--samples", "8", "--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
        (["--leaky-slope", "0.1"], "--leaky-slope applies to --activation leaky_relu only"),
        (["--samples", "8", "--sampler", "imbalanced", "--c", "1"], "the imbalanced sampler draws the vector case"),
        (["--samples", "8", "--sampler", "center_stable", "--eps", "0.1"], "network on data (inputs=)"),
        (
            ["--samples", "8", "--activation", "tanh", "--sampler", "balanced"],
            "the balanced sampler makes the flow's invariants zero",
        ),
    ],
)
def test_mc_data_flags_that_do_not_apply_are_usage_errors(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["mc", "-n", "4", "--no-progress"] + argv) == 2
    assert expected in _one_error_line(capsys)
    assert os.listdir(tmp_path) == []


def test_mc_balanced_relu_on_data_and_its_figure(capsys, tmp_path):
    """balanced starts of a leaky relu student: every per-neuron invariant 0 at the start (the summary's
    imbalance columns), and the figure drawn against the per-neuron imbalance."""
    png = tmp_path / "mc.png"
    argv = "mc --samples 16 --activation leaky_relu --leaky-slope 0.3 --width 4 --sampler balanced -n 6 --t-end 0.2"
    assert (
        main([*argv.split(), "--gtol", "0", "--out", str(tmp_path / "run"), "--plot", str(png), "--no-progress"]) == 0
    )
    assert "leaky_relu(0.3)" in capsys.readouterr().out
    res = of.montecarlo.load(tmp_path / "run")
    assert res.params["network"]["leaky_slope"] == 0.3
    assert np.all(np.abs(res.imbalance_trace) < 1e-12) and np.all(np.abs(res.imbalance_fro) < 1e-12)
    assert png.stat().st_size > 10_000


def test_mc_help_lists_the_data_flags(capsys):
    assert main(["mc", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--samples", "--activation", "--leaky-slope", "--inputs", "--outputs", "--teacher-width", "--bias"):
        assert flag in out
    assert "--loss" in out and "softmax-cross-entropy" in out and "teacher-student" in out
