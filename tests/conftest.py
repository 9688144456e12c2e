"""Make every test import the INSTALLED overflow (the one with the compiled ``overflow._core``),
never the bare source tree, which has no compiled module (build with ``pip install .``). An
editable install (README, "Development") counts as installed: its finder serves the source tree's
Python files with the module built in ``build/``."""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _ROOT]

import overflow  # noqa: E402
import overflow._core  # noqa: E402,F401  (fails loudly if the package is not built and installed)
