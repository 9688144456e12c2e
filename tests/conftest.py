"""Make every test import the INSTALLED overflow (the one with the compiled ``overflow._core``),
never the bare source tree, which has no compiled module (build with ``pip install .``). An
editable install (README, "Development") counts as installed: its finder serves the source tree's
Python files with the module built in ``build/``."""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _ROOT]

import pytest  # noqa: E402

import overflow  # noqa: E402
import overflow._core  # noqa: E402,F401  (fails loudly if the package is not built and installed)


@pytest.fixture
def computed_chunks(monkeypatch):
    """The indices of the Monte Carlo chunks computed (not loaded from a store) from here on."""
    import overflow.montecarlo.run as mc_run

    calls = []
    real = mc_run.run_chunk

    def counting(spec, index, workers=1):
        calls.append(index)
        return real(spec, index, workers)

    monkeypatch.setattr(mc_run, "run_chunk", counting)
    return calls
