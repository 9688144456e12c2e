"""The README's Python blocks run verbatim, in order and in one namespace (as a reader pastes them
one after the other), and print what the README says they print."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import textwrap
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    """Every fenced ```python block of the README (list items' blocks are indented), dedented."""
    text = README.read_text(encoding="utf-8")
    return [textwrap.dedent(m.group(2)) for m in re.finditer(r"^( *)```python\n(.*?)^\1```", text, re.M | re.S)]


def test_readme_python_blocks_run_verbatim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the Monte Carlo block writes runs/a and mc.png
    blocks = python_blocks()
    assert len(blocks) >= 4
    ns: dict = {}
    printed = []
    for i, code in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            exec(compile(code, f"README.md, python block {i + 1}", "exec"), ns)
        printed.append(out.getvalue())
    # The first example's comment: "converged 22.56... 4.1e-19 {'dop853': 57, 'rodas4': 5} [17.557...]"
    # (step counts to within a few: another processor's rounding may move a step)
    first = printed[0].split()
    assert first[0] == "converged" and first[1].startswith("22.56"), printed[0]
    steps = ast.literal_eval(re.search(r"\{.*\}", printed[0]).group(0))
    assert abs(steps["dop853"] - 57) <= 3 and abs(steps["rodas4"] - 5) <= 2, printed[0]
    assert "[17.5" in printed[0], printed[0]
    # The Monte Carlo block: every start converges, median t_converged about 21.7 (its comment)
    assert (tmp_path / "mc.png").stat().st_size > 0
    summary = ns["res"].summary()
    assert summary.fractions == {"converged": 1.0}, summary.fractions
    assert abs(summary.t_converged_quantiles[0.5] - 21.7) < 0.1, summary.t_converged_quantiles
