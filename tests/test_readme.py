"""The README's Python blocks run verbatim, in order and in one namespace (as a reader pastes them
one after the other), and print what the README says they print; its table of signatures and the
command line's defaults it states match the code."""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np

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
    # The example study: 32 starts per scale, the figure written, and the text's numbers: the share of
    # starts reaching the target at scales 0.1 and 3, and the final loss at scale 3 ten times scale 0.1's
    runs = ns["runs"]
    assert sorted(runs) == [0.03, 0.1, 0.3, 1.0, 3.0] and {len(r) for r in runs.values()} == {32}
    reached = {scale: np.mean(np.isfinite(r.t_event[:, 0])) for scale, r in runs.items()}
    assert round(100 * reached[0.1]) == 84 and reached[3.0] == 0.0, reached
    assert np.median(runs[3.0].final_loss) > 10 * np.median(runs[0.1].final_loss)
    assert (tmp_path / "scales.png").stat().st_size > 0


def plain_signature(fn) -> str:
    """``fn``'s signature as the README writes it: no annotations, no ``self``, no private
    (underscore) parameters."""
    sig = inspect.signature(fn)
    params = [
        p.replace(annotation=inspect.Parameter.empty)
        for p in sig.parameters.values()
        if p.name != "self" and not p.name.startswith("_")
    ]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def resolve(dotted: str):
    """``overflow.a.b`` as an object: attributes first, submodules where there is no attribute."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, name in enumerate(parts[1:], 2):
        obj = getattr(obj, name) if hasattr(obj, name) else importlib.import_module(".".join(parts[:i]))
    return obj


def test_readme_signatures_match_the_code():
    # The table of analysis and plot functions: each row starts with `overflow.name(signature)`.
    rows = re.findall(r"^\| `(overflow\.[\w.]+)(\(.*?\))` \|", README.read_text(encoding="utf-8"), re.M)
    assert len(rows) >= 20, rows
    wrong = [
        f"{name}{sig} (the code: {name}{plain_signature(resolve(name))})"
        for name, sig in rows
        if plain_signature(resolve(name)) != sig
    ]
    assert not wrong, "README signatures differ from the code:\n" + "\n".join(wrong)
    listed = {name for name, _ in rows}
    for module in ("overflow.plot", "overflow.analysis"):  # every public function of these is listed
        functions = {f"{module}.{n}" for n in resolve(module).__all__ if inspect.isfunction(resolve(f"{module}.{n}"))}
        assert functions <= listed, f"not in the README's table: {sorted(functions - listed)}"


def test_readme_states_the_command_lines_defaults():
    """The command line's defaults that differ from the API's (overflow/_options.py, DIFFERENCES)
    are stated, with the API's beside them."""
    from overflow import _options

    def number(x) -> str:  # 1e-08 -> 1e-8, as the README writes it
        return "None" if x is None else format(x, "g").replace("e-0", "e-")

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Command line") :]
    for name, (value, _reason) in _options.DIFFERENCES["cli"].items():
        assert f"`--{name} {number(value)}`" in section, name
        assert f"`{name}={number(_options.DEFAULTS[name])}`" in section, name
