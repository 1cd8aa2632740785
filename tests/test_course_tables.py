"""The teaching table shows a chapter's recorded full run, else its estimated full-profile GPU time."""
import json
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
from book._ext import course_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _chapter(folder, stem, runs):
    (folder / f"{stem}.md").write_text("Some words here.\n\n```{exercise}\nDo it.\n```\n", encoding="utf-8")
    notebook = {"cells": [], "metadata": {"dlcourse": {"runs": runs}}, "nbformat": 4, "nbformat_minor": 5}
    (folder / f"{stem}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")


def test_full_cell_shows_estimate_until_a_full_run_is_recorded(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    _chapter(chapters, "01_a", {})
    _chapter(chapters, "02_b", {"full": {"seconds": 600, "device": "cuda (T4)"}})
    _chapter(chapters, "03_c", {})
    estimates = tmp_path / "full_profile.json"
    estimates.write_text(json.dumps({"chapters": {
        "01_a": {"t4_minutes": 150.0, "a100_minutes": 31.0},
        "02_b": {"t4_minutes": 1.0, "a100_minutes": 0.2}}}), encoding="utf-8")
    seen = []
    table = course_tables.rows(chapters, seen.append, estimates_file=estimates)
    full = [row[4] for row in table]
    assert full[0] == "≈ 2.5 h on a T4, 31 min on an A100 (estimate)"
    assert full[1] == "10.0 min (cuda (T4))"  # a recorded run wins over the estimate
    assert full[2] == "not measured yet"  # neither
    assert str(estimates) in seen  # the page is rebuilt when the estimates change
