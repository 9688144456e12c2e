"""Tests of ``overflow.paper``: the numerical checks of the paper's claims and their report."""

from __future__ import annotations

import pytest

from overflow import paper

FIGURES = ("phase_portrait.png", "loss_vs_imbalance.png", "invariant_drift.png", "foliation.png")


def _rows(report: str) -> list[list[str]]:
    lines = [ln for ln in report.splitlines() if ln.startswith("| ") and not ln.startswith("| claim")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    code = paper.main(out, quick=True)
    return code, out


def test_quick_main_passes(quick_run, capsys):
    code, out = quick_run
    assert code == 0
    report = (out / "report.md").read_text()
    rows = _rows(report)
    assert len(rows) == len(paper.CHECKS)
    claims = " ".join(r[0] for r in rows)
    for tag in ("Prop. 2", "Thm. 3", "Thm. 4", "Prop. 5", "Cor. 6", "Prop. 7", "Prop. 8", "Lemma 17"):
        assert tag in claims
    for r in rows:
        assert len(r) == 5
        assert r[-1] == "pass", r


def test_quick_main_figures(quick_run):
    _, out = quick_run
    for name in FIGURES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_impossible_tolerance_fails(monkeypatch):
    monkeypatch.setitem(paper.TOL, "lemma17_eig", -1.0)
    row = paper.check_lemma17(quick=True)
    assert not row.passed


def test_failing_check_makes_main_return_1(tmp_path, monkeypatch):
    monkeypatch.setitem(paper.TOL, "prop2_factor", 0.0)  # drift can never be <= 0 * rtol
    monkeypatch.setattr(paper, "CHECKS", [paper.check_prop2, paper.check_lemma17])
    monkeypatch.setattr(paper, "_figures", lambda out, quick: [])
    assert paper.main(tmp_path, quick=True) == 1
    rows = _rows((tmp_path / "report.md").read_text())
    assert [r[-1] for r in rows] == ["FAIL", "pass"]


def test_exception_becomes_failing_row(tmp_path, monkeypatch):
    def boom(quick):
        raise RuntimeError("boom")

    monkeypatch.setattr(paper, "CHECKS", [boom])
    monkeypatch.setattr(paper, "_figures", lambda out, quick: [])
    assert paper.main(tmp_path, quick=True) == 1
    rows = _rows((tmp_path / "report.md").read_text())
    assert rows[0][-1] == "FAIL" and "boom" in rows[0][2]
