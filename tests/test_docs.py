"""docs/: the pages cite only files that exist in the repository, and the Sphinx build (API reference
from the docstrings, architecture page) passes with warnings as errors."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# A file name as the pages write it: `csrc/src/capi.cpp`, `overflow/_options.py`, `tableau.cpp`.
FILE = re.compile(r"`([\w./-]+\.(?:py|hpp|cpp|h|c|txt|in|md|toml|cmake))`")


def repository_files() -> set[str]:
    """Every path under the repository's source folders, relative to its root."""
    folders = ("csrc", "overflow", "tests", "bench", "examples", "tools", "cmake", "docs")
    paths = {p.relative_to(ROOT).as_posix() for d in folders for p in (ROOT / d).rglob("*") if p.is_file()}
    return paths | {p.name for p in ROOT.iterdir() if p.is_file()}


def test_pages_cite_existing_files():
    files = repository_files()
    names = {Path(p).name for p in files}
    missing = []
    for page in sorted(DOCS.rglob("*.md")):
        for cited in FILE.findall(page.read_text(encoding="utf-8")):
            # a path names one file; a bare name (`tableau.cpp`, in a row that gave its folder) some file
            found = cited in files if "/" in cited else cited in names
            if not found:
                missing.append(f"{page.relative_to(ROOT)}: {cited}")
    assert not missing, "docs cite files the repository does not have:\n" + "\n".join(missing)


@pytest.mark.skipif(
    importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_parser") is None,
    reason="Sphinx and myst-parser are not installed (pip install '.[docs]'); .ci/run installs them",
)
def test_sphinx_build_has_no_warnings(tmp_path):
    out = tmp_path / "html"
    # From tmp_path, so that autodoc imports the installed package, not the checkout's overflow/
    # (which has no compiled core).
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    page = (out / "api" / "overflow.html").read_text(encoding="utf-8")
    assert "overflow.integrate" in page and "rtol" in page
    cli = (out / "cli.html").read_text(encoding="utf-8")
    assert "--rtol" in cli and "--gtol" in cli  # the parser's help, generated at build time


def test_examples_include_only_public_headers():
    # docs/architecture.md: embedders use the headers in csrc/include/overflow/, not detail/.
    public = {p.name for p in (ROOT / "csrc" / "include" / "overflow").iterdir() if p.is_file()}
    included = []
    for source in sorted((ROOT / "examples").glob("*.c*")):
        included += [(source.name, h) for h in re.findall(r'#include "overflow/([^"]+)"', source.read_text())]
    assert included, "the examples include no overflow header: the check would pass vacuously"
    wrong = [f"{src}: overflow/{h}" for src, h in included if h not in public]
    assert not wrong, "examples include headers that are not public:\n" + "\n".join(wrong)
