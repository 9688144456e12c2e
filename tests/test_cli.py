"""`overflow run`: the default problem and flags, through the installed entry point."""

import shutil
import subprocess
import sys

import pytest

from overflow.cli import main


def test_default_run_prints_summary(capsys):
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    for key in ("status", "final time", "final loss", "||grad g||", "steps", "nfev", "invariant drift", "wall time"):
        assert key in out
    assert "t_end" in out or "converged" in out


def test_flags(capsys):
    code = main(["run", "--random-target", "3,2", "--depth", "3", "--widths", "4,5", "--method", "dop853",
                 "--rtol", "1e-6", "--atol", "1e-9", "--t-end", "5", "--seed", "2", "--init", "balanced"])
    out = capsys.readouterr().out
    assert code == 0 and "3x2" in out and "[4, 5]" in out and "dop853" in out


def test_gtol_stops_early(capsys):
    assert main(["run", "--gtol", "1e-3", "--t-end", "1000"]) == 0
    assert "converged" in capsys.readouterr().out


def test_bad_values_exit_with_message(capsys):
    assert main(["run", "--rtol", "-1"]) == 2
    assert "rtol" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--method", "rk4"])


@pytest.mark.skipif(shutil.which("overflow") is None, reason="console script not on PATH")
def test_console_script():
    out = subprocess.run(["overflow", "run", "--t-end", "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "final loss" in out.stdout


def test_module_entry(tmp_path):
    # cwd away from the source tree, whose overflow/ has no compiled core
    out = subprocess.run([sys.executable, "-m", "overflow.cli", "run", "--depth", "2", "--width", "3", "--t-end", "1"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_paper_command(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["paper", "--out", str(tmp_path / "report"), "--quick"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "lemma 17" in report.lower() and "fail" not in report.lower()
