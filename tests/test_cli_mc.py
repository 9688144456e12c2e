"""`overflow mc`: a Monte Carlo study from the command line, its summary, figure and streaming."""

import os

import numpy as np

import overflow as of
from overflow.cli import main


def test_mc_prints_the_summary_and_writes_the_figure(capsys, tmp_path):
    png = tmp_path / "mc.png"
    code = main(["mc", "-n", "40", "--depth", "2", "--width", "4", "--t-end", "20", "--gtol", "1e-6", "--workers", "2",
                 "--no-progress", "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0
    for key in ("trajectories", "status converged", "t_converged q50", "global minimum", "fraction at global min",
                "trajectories/s"):
        assert key in out, key
    assert png.stat().st_size > 10_000


def test_mc_vector_case_streams_and_resumes(capsys, tmp_path):
    args = ["mc", "--cost", "vector", "--width", "5", "--sampler", "imbalanced", "--c", "0.5,2", "--z0", "0.1",
            "-n", "30", "--t-end", "30", "--gtol", "1e-8", "--chunk", "10", "--out", str(tmp_path / "run"),
            "--no-progress"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "fraction at global min  1.0000" in first
    assert sorted(os.listdir(tmp_path / "run")) == ["chunk_000000.npz", "chunk_000001.npz", "chunk_000002.npz",
                                                    "mc.png", "params.json"]
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
    assert "n must be >= 1" in capsys.readouterr().err
    assert main(["mc", "--sampler", "imbalanced", "--c", "1", "-n", "5", "--no-plot"]) == 2  # not the vector case
    assert "vector case" in capsys.readouterr().err
