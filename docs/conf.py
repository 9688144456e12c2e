"""Sphinx configuration: the API reference from the package's numpy-style docstrings (autodoc +
napoleon) and the architecture page, written in Markdown (myst-parser).

Build (the `docs` extra; warnings are errors), with overflow installed:
    pip install ".[docs]" && sphinx-build -W --keep-going -b html docs build/docs

autodoc imports the *installed* package: the checkout's overflow/ has no compiled ``_core``, so
run sphinx-build (not ``python -m sphinx`` from the repository root, which would import the
checkout's folder first).
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import Directive

import overflow

try:
    import overflow._core
except ImportError as exc:  # the checkout's overflow/ shadows the installed package
    raise RuntimeError(
        f"docs/conf.py imported overflow from {os.path.dirname(overflow.__file__)}, which has no compiled "
        "_core: install the package (pip install .) and run sphinx-build outside the repository root's "
        "sys.path (see docs/conf.py)"
    ) from exc

project = "overflow"
author = "overflow contributors"
release = version = overflow.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3

# Single backticks in the docstrings (`Result`, `monte_carlo`) are cross-references where a target
# exists and plain code where none does (not nitpicky: a missing target is not a warning).
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # a documented property and its Attributes line are one entry

try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # the default theme, when the docs extra's furo is missing
    html_theme = "alabaster"
html_title = f"overflow {release}"


class CliHelp(Directive):
    """``.. cli-help:: run`` writes ``overflow run --help`` (no argument: ``overflow --help``) as a
    literal block, from the parser in overflow/cli.py, so the page shows the command line's real
    flags and defaults."""

    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        from overflow import cli

        os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width
        parser = cli._parser()
        if self.arguments:
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[self.arguments[0]]
        text = parser.format_help()
        block = nodes.literal_block(text, text)
        block["language"] = "text"  # not highlighted as Python
        return [block]


def setup(app):  # Sphinx calls it: this file is also an extension (the cli-help directive)
    app.add_directive("cli-help", CliHelp)
