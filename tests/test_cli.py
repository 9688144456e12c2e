"""`overflow run` and `overflow paper`: the default problem and flags, exit codes (0 ok, 1 a check
failed, 2 usage error, 130 interrupted), one-line errors, --help and --version."""

import re
import shutil
import subprocess
import sys

import pytest

import overflow
import overflow.cli as cli
from overflow.cli import main


def _one_error_line(capsys) -> str:
    """The single stderr line of a failed command (no traceback, no usage block)."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("overflow: error: "), err
    return lines[0]


def test_default_run_prints_summary(capsys):
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    for key in ("status", "final time", "final loss", "||grad g||", "steps", "nfev", "invariant drift", "wall time"):
        assert key in out
    assert "t_end" in out or "converged" in out


def test_flags(capsys):
    code = main(
        [
            "run",
            "--random-target",
            "3,2",
            "--depth",
            "3",
            "--widths",
            "4,5",
            "--method",
            "dop853",
            "--rtol",
            "1e-6",
            "--atol",
            "1e-9",
            "--t-end",
            "5",
            "--seed",
            "2",
            "--init",
            "balanced",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "3x2" in out and "[4, 5]" in out and "dop853" in out


def test_gtol_stops_early(capsys):
    assert main(["run", "--gtol", "1e-3", "--t-end", "1000"]) == 0
    assert "converged" in capsys.readouterr().out


def test_bad_values_exit_with_message(capsys):
    assert main(["run", "--rtol", "-1"]) == 2
    assert "--rtol" in _one_error_line(capsys)
    assert main(["run", "--method", "rk4"]) == 2
    assert "invalid choice: 'rk4'" in _one_error_line(capsys)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "--depth", "0"], "argument --depth: expected an integer >= 1, got '0'"),
        (["run", "--depth", "-2"], "argument --depth: expected an integer >= 1, got '-2'"),
        (["run", "--target-diag", ""], "argument --target-diag: expected comma-separated numbers, got an empty list"),
        (["run", "--seed", "-1"], "argument --seed: expected an integer >= 0"),
        (["run", "--widths", "4,0"], "argument --widths: expected integers >= 1"),
        (["run", "--random-target", "3"], "argument --random-target: expected two integers M,N"),
        (["run", "--t-end", "nan"], "argument --t-end"),
        (["run", "--gtol", "-1e-3"], "argument --gtol: expected a number >= 0, got '-1e-3'"),
        (["run", "--depth", "1", "--width", "4"], "--width needs --depth >= 2"),
        (["run", "--gtol", "0"], "--gtol 0 needs a finite --t-end"),
        (["run", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["fly"], "invalid choice: 'fly'"),
        ([], "the following arguments are required: {run,mc,paper}"),
        (["paper", "--out", ""], "argument --out: expected a path"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in _one_error_line(capsys)


def test_version_and_help_show_defaults(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"overflow {overflow.__version__}"
    for command, flag, default in (
        ("run", "--rtol", "1e-08"),
        ("mc", "--sampler", "gaussian"),
        ("mc", "--target", "1"),
        ("run", "--max-steps", "100000"),
    ):
        assert main([command, "--help"]) == 0
        options = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())  # argparse wraps the lines
        assert re.search(rf"{flag} \S+ [^(]*\(default: {re.escape(default)}\)", options), (command, flag)
    assert main(["paper", "--help"]) == 0
    assert "--quick" in capsys.readouterr().out


def test_a_value_starting_with_minus_is_kept_after_its_flag():
    parser = cli._parser()
    argv = ["mc", "--z0", "-1,1", "--target", "-2.5e-1", "--c=0.5", "-n", "-3", "--no-plot", "--out", "--no-plot"]
    assert cli._keep_negative_values(parser, argv) == [
        "mc",
        "--z0=-1,1",
        "--target=-2.5e-1",
        "--c=0.5",
        "-n=-3",
        "--no-plot",
        "--out",
        "--no-plot",
    ]
    # abbreviations resolve as argparse resolves them; after "--" nothing is touched
    assert cli._keep_negative_values(parser, ["run", "--target-d", "-1,2", "--", "--depth", "-1"]) == [
        "run",
        "--target-d=-1,2",
        "--",
        "--depth",
        "-1",
    ]


def test_rtol_below_the_floor_reports_the_tolerance_used(capsys, recwarn):
    assert main(["run", "--rtol", "1e-20", "--t-end", "1"]) == 0
    out = capsys.readouterr().out
    assert "rtol 2.22045e-14" in out and "1e-20," not in out
    assert "warning" in out and "below 100 * machine epsilon" in out
    assert not [w for w in recwarn if "machine epsilon" in str(w.message)]  # a report line, not a raw warning


def test_failures_inside_a_command_are_one_line(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("could not start worker 3 of 8: Resource temporarily unavailable")

    monkeypatch.setattr(cli, "integrate", boom)
    assert main(["run"]) == 1
    assert _one_error_line(capsys) == "overflow: error: could not start worker 3 of 8: Resource temporarily unavailable"
    monkeypatch.setenv("OVERFLOW_TRACEBACK", "1")  # for bug reports: the traceback instead of the line
    with pytest.raises(RuntimeError, match="could not start worker"):
        main(["run"])
    monkeypatch.delenv("OVERFLOW_TRACEBACK")

    def too_big(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(cli, "integrate", too_big)
    assert main(["run"]) == 2
    assert "out of memory" in _one_error_line(capsys)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "integrate", interrupted)
    assert main(["run"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_paper_bad_out_is_a_usage_error(tmp_path, capsys):
    afile = tmp_path / "file"
    afile.write_text("")
    for out in (afile, afile / "sub"):
        assert main(["paper", "--out", str(out), "--quick"]) == 2
        assert f"--out '{out}': cannot write there" in _one_error_line(capsys)


@pytest.mark.skipif(shutil.which("overflow") is None, reason="console script not on PATH")
def test_console_script():
    out = subprocess.run(["overflow", "run", "--t-end", "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "final loss" in out.stdout


def test_module_entry(tmp_path):
    # cwd away from the source tree, whose overflow/ has no compiled core
    out = subprocess.run(
        [sys.executable, "-m", "overflow.cli", "run", "--depth", "2", "--width", "3", "--t-end", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr


def test_paper_command(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["paper", "--out", str(tmp_path / "report"), "--quick"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "lemma 17" in report.lower() and "fail" not in report.lower()
