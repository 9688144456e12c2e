"""Make every test import the INSTALLED overflow (the one with the compiled ``overflow._core``),
never the source tree, which has no compiled module (build with ``pip install .``)."""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _ROOT]

import overflow  # noqa: E402
import overflow._core  # noqa: E402,F401  (fails loudly if the package is not built and installed)

assert os.path.dirname(os.path.abspath(overflow.__file__)) != os.path.join(_ROOT, "overflow"), (
    f"tests must run against the installed overflow, got {overflow.__file__}")
