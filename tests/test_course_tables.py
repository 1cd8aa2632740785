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
    _chapter(chapters, "02_b", {"full": {"seconds": 600, "device": "cuda (T4)", "cached_runs": 0}})
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


def test_a_time_is_shown_only_for_an_execution_that_reused_no_cached_run(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    _chapter(chapters, "01_a", {"quick": {"seconds": 90, "device": "cpu", "cached_runs": 0}})
    _chapter(chapters, "02_b", {"quick": {"seconds": 70, "device": "cpu", "cached_runs": 3}})
    _chapter(chapters, "03_c", {"quick": {"seconds": 70, "device": "cpu"}})  # not recorded
    _chapter(chapters, "03_c_lab", {"quick": {"seconds": 600, "device": "cpu", "cached_runs": 0}})
    quick = {row[0]: row[3] for row in course_tables.rows(chapters, lambda path: None,
                                                          estimates_file=tmp_path / "none.json")}
    assert quick["{doc}`/chapters/01_a`"] == "1.5 min (cpu)"
    assert quick["{doc}`/chapters/02_b`"] == "not measured from an empty run cache (3 cached runs reused)"
    assert quick["{doc}`/chapters/03_c`"] == "not measured from an empty run cache"
    assert quick["{doc}`/chapters/03_c_lab`"] == "10.0 min (cpu)"


def test_a_lab_page_shows_its_time_with_the_runs_it_reused(tmp_path):
    """A lab reuses its class page's runs by design: its time is shown, with how many it reused;
    its full-profile GPU time is counted in its chapter's estimate."""
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    _chapter(chapters, "03_c", {"quick": {"seconds": 90, "device": "cpu", "cached_runs": 0}})
    _chapter(chapters, "03_c_lab", {"quick": {"seconds": 300, "device": "cpu", "cached_runs": 9}})
    estimates = tmp_path / "full_profile.json"
    estimates.write_text(json.dumps({"chapters": {"03_c": {"t4_minutes": 60.0, "a100_minutes": 12.0}}}),
                         encoding="utf-8")
    table = {row[0]: row for row in course_tables.rows(chapters, lambda path: None, estimates_file=estimates)}
    lab = table["{doc}`/chapters/03_c_lab`"]
    assert lab[3] == "5.0 min after the class page, reusing 9 cached runs (cpu)"
    assert lab[4] == "in its chapter's estimate"
    assert table["{doc}`/chapters/03_c`"][4] == "≈ 60 min on a T4, 12 min on an A100 (estimate)"
