"""Sphinx directive ``chapter-table``: the teaching table, computed from the chapters at build time.

Reading time comes from each page's words of prose, the exercise count from its exercise directives,
and run times from the provenance that ``make execute`` stores in each notebook's metadata, so the
teaching page can never disagree with the notebooks; a time is shown only for an execution that
reused no cached run, except on a lab page (``NN_slug_lab``, its own row), which reuses its class
page's runs by design and says how many. Until a chapter's ``full`` run is recorded, its
``full`` cell shows the estimate in ``dlcourse/full_profile.json`` (FLOPs per step x steps at a
stated share of a T4's peak; see ``benchmarks/full_profile_estimate.py``), marked as an estimate.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from tools import executed

WORDS_PER_MINUTE = 200


def _prose_words(markdown: str) -> int:
    """Words outside code cells and front matter."""
    text = re.sub(r"^---\n.*?\n---\n", "", markdown, flags=re.S)
    text = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.S)
    return len(re.findall(r"\w+", text))


def _run(record: dict | None, lab: bool = False) -> str:
    """An execution's time, shown only when it trained every run it shows (``cached_runs`` 0):
    an execution that reused cached runs took less time than a reader's will. A lab page reuses
    its class page's runs by design, so its time is shown with the number of runs it reused."""
    if not record:
        return "not measured yet"
    if lab and record.get("cached_runs"):
        return (f"{record['seconds'] / 60:.1f} min after the class page, reusing "
                f"{record['cached_runs']} cached runs ({record.get('device', '?')})")
    if record.get("cached_runs") != 0:
        reused = record.get("cached_runs")
        return ("not measured from an empty run cache" if reused is None
                else f"not measured from an empty run cache ({reused} cached runs reused)")
    minutes = record["seconds"] / 60
    return f"{minutes:.1f} min ({record.get('device', '?')})"


def _hours_or_minutes(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{max(minutes, 0.1):.1f} min" if minutes < 10 \
        else f"{minutes:.0f} min"


def _estimate(record: dict | None) -> str:
    if not record:
        return "not measured yet"
    return (f"≈ {_hours_or_minutes(record['t4_minutes'])} on a T4, "
            f"{_hours_or_minutes(record['a100_minutes'])} on an A100 (estimate)")


def _estimates(path: Path) -> dict:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("chapters", {})


def rows(chapters_dir: Path, note_dependency=lambda path: None, estimates_file: Path | None = None) -> list[list[str]]:
    estimates_file = estimates_file or chapters_dir.parent / "dlcourse" / "full_profile.json"
    note_dependency(str(estimates_file))
    estimates = _estimates(estimates_file)
    table = []
    for md in sorted(chapters_dir.glob("[0-9][0-9]_*.md")):
        note_dependency(str(md))
        note_dependency(str(md.with_suffix(".ipynb")))
        markdown = md.read_text(encoding="utf-8")
        lab = md.stem.endswith("_lab")
        chapter = md.stem.removesuffix("_lab")
        nb_path = md.with_suffix(".ipynb")
        runs = {}
        if nb_path.exists():
            runs = executed.record(json.loads(nb_path.read_text(encoding="utf-8"))).get("runs", {})
        table.append([
            f"{{doc}}`/chapters/{md.stem}`",
            f"{max(1, round(_prose_words(markdown) / WORDS_PER_MINUTE))} min",
            str(markdown.count("{exercise}")),
            _run(runs.get("quick"), lab),
            _run(runs.get("full"), lab) if runs.get("full")
            else "in its chapter's estimate" if lab and estimates.get(chapter)
            else _estimate(estimates.get(md.stem)),
        ])
    return table


class ChapterTable(SphinxDirective):
    """Renders the per-chapter teaching table."""

    def run(self):
        chapters_dir = Path(self.env.srcdir) / "chapters"
        lines = ["| chapter | reading | exercises | `quick` run (CPU) | `full` run (GPU) |",
                 "| --- | --- | --- | --- | --- |"]
        # the page is rebuilt whenever a chapter or its notebook changes
        lines += ["| " + " | ".join(row) + " |" for row in rows(chapters_dir, self.env.note_dependency)]
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("chapter-table", ChapterTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
