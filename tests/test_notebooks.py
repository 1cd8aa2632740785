"""The chapter pairs: sync and staleness detection, and the profile switch at the top of every chapter."""
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import notebooks

ROOT = Path(__file__).resolve().parents[1]

MD = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
from dlcourse import data
x = 1 + 1
```
"""


def _code_of(*names) -> dict:
    """A recorded ``code`` entry: the current hash of each named definition."""
    return {name: notebooks.sources.current_hash(name) for name in names}


@pytest.fixture
def chapter_dir(tmp_path, monkeypatch):
    """A chapters/ folder with one executed, in-sync pair (it ran data.data_dir), and the tool
    pointed at it."""
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "01_demo.md").write_text(MD)
    notebook = notebooks.jupytext.read(chapters / "01_demo.md")
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    notebook.cells[1].execution_count = 1
    notebook.metadata["dlcourse"] = {"profile": "quick", "source_hash": notebooks.source_hash(notebook),
                                     "outputs_hash": notebooks.outputs_hash(notebook),
                                     "code": _code_of("data", "data.data_dir")}
    nbformat.write(notebook, chapters / "01_demo.ipynb")
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "CHAPTERS", chapters)
    monkeypatch.delenv("DLCOURSE_ALLOW_LIBRARY_DRIFT", raising=False)
    return chapters


def _check(*flags) -> tuple[int, str]:
    """``python -m tools.notebooks check`` in this process: its exit code and what it printed."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = notebooks.main(["check", *flags])
    return code, out.getvalue()


@pytest.fixture
def library_copy(tmp_path, monkeypatch):
    """A copy of the dlcourse sources that the stale check reads instead of the real ones."""
    copy = tmp_path / "library" / "dlcourse"
    shutil.copytree(ROOT / "dlcourse", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(notebooks.sources, "ROOT", copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_fresh_pair_has_no_problems(chapter_dir):
    assert notebooks.problems() == []
    assert notebooks.library_drift() == []
    code, out = _check()
    assert code == 0 and "outputs fresh" in out, out


def test_library_hash_is_sha256_of_every_file_by_name(tmp_path):
    """The wheel's version (Colab) comes from this hash, computed here independently."""
    folder = ROOT / "dlcourse"
    digest = hashlib.sha256()
    for name in sorted(p.stem for p in folder.glob("*.py")):
        digest.update(f"dlcourse/{name}.py".encode() + b"\0" + (folder / f"{name}.py").read_bytes())
        if name == "config":
            digest.update(b"dlcourse/full_profile.json\0" + (folder / "full_profile.json").read_bytes())
    assert notebooks.library_hash() == digest.hexdigest()


def test_body_edit_of_a_function_that_ran_is_stale_and_named(chapter_dir, library_copy):
    assert _check()[0] == 0
    _edit(library_copy / "data.py", 'expanduser()', 'expanduser().absolute()')
    assert notebooks.problems() == []  # cells and outputs are still fine ...
    code, out = _check()  # ... but they came from other library code
    assert code == 1, out
    assert "chapters/01_demo.ipynb" in out and "stale" in out
    assert "data.data_dir changed since execution" in out
    assert "make execute CHAPTER=01_demo" in out


def test_docstring_comment_and_unused_code_edits_stale_nothing(chapter_dir, library_copy):
    _edit(library_copy / "data.py", '"""The local data folder:', '"""The local folder of data:')
    _edit(library_copy / "data.py", "def data_dir() -> Path:\n",
          "def data_dir() -> Path:  # a comment\n")
    with open(library_copy / "data.py", "a") as fh:
        fh.write("\n# an edit after the chapter was executed\n")
    _edit(library_copy / "losses.py", "def ", "def _unused():\n    return 1\n\n\ndef ")
    assert _check() == (0, "1 chapter pair(s) in sync, outputs fresh\n")


def test_slider_edit_stales_only_the_chapter_that_draws_it(chapter_dir, library_copy):
    """Two chapters: one drew a widget, one did not; an edit inside the widget stales the first."""
    shutil.copy(chapter_dir / "01_demo.md", chapter_dir / "02_slider.md")
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.metadata["dlcourse"]["code"] = _code_of("data.data_dir", "explore.core.live_figure")
    nbformat.write(notebook, chapter_dir / "02_slider.ipynb")
    assert _check()[0] == 0
    _edit(library_copy / "explore" / "core.py", "def live_figure(",
          "def live_figure(*_a, **_k):\n    pass\n\n\ndef _old(")
    out = _check()[1]
    assert "02_slider.ipynb: outputs are stale: explore.core.live_figure" in out, out
    assert "01_demo.ipynb" not in out


def test_allow_library_drift_downgrades_to_a_note(chapter_dir, library_copy, monkeypatch):
    _edit(library_copy / "data.py", 'expanduser()', 'expanduser().absolute()')
    code, out = _check("--allow-library-drift")
    assert code == 0, out
    assert "note" in out and "make execute CHAPTER=01_demo" in out
    monkeypatch.setenv("DLCOURSE_ALLOW_LIBRARY_DRIFT", "1")
    assert _check()[0] == 0
    monkeypatch.setenv("DLCOURSE_ALLOW_LIBRARY_DRIFT", "0")
    assert _check()[0] == 1


def test_drift_note_does_not_hide_other_problems(chapter_dir, library_copy):
    _edit(library_copy / "data.py", 'expanduser()', 'expanduser().absolute()')
    (chapter_dir / "01_demo.md").write_text(MD.replace("1 + 1", "1 + 2"))
    code, out = _check("--allow-library-drift")
    assert code == 1 and "differ in their cells" in out, out


def test_hand_edited_output_fails_the_check(chapter_dir):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.cells[1].outputs[0].text = "3\n"
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    code, out = _check("--allow-library-drift")
    assert code == 1 and "differ from those recorded at execution" in out, out


def test_notebook_that_records_no_code_is_stale(chapter_dir):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    del notebook.metadata["dlcourse"]["code"]
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    code, out = _check()
    assert code == 1
    assert "records no dlcourse code" in out and "make execute CHAPTER=01_demo" in out
    assert _check("--allow-library-drift")[0] == 0


def test_execute_records_the_code_that_ran_in_the_kernel(tmp_path, monkeypatch):
    """A real execution in a fresh kernel: the functions its cells called are recorded (and the
    ones they did not call are not), with the outputs' hash and no cached run."""
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "01_demo.md").write_text(MD.replace(
        "from dlcourse import data\nx = 1 + 1",
        "import torch\nfrom dlcourse import info\nprint(float(info.entropy(torch.tensor([0.5, 0.5]))))"))
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "CHAPTERS", chapters)
    path = notebooks.execute(chapters / "01_demo.md", "smoke", timeout=120)
    notebook = nbformat.read(path, as_version=4)
    recorded = notebook.metadata["dlcourse"]
    assert "info.entropy" in recorded["code"] and "info.mutual_information" not in recorded["code"]
    assert recorded["code"]["info.entropy"] == notebooks.sources.current_hash("info.entropy")
    assert recorded["cached_runs"] == 0 and recorded["runs"]["smoke"]["cached_runs"] == 0
    assert recorded["outputs_hash"] == notebooks.outputs_hash(notebook)
    assert len(notebook.cells) == 2  # the recording cell is not kept
    assert "0.69" in notebook.cells[1].outputs[0]["text"]


def test_edited_source_is_out_of_sync_and_stale(chapter_dir):
    (chapter_dir / "01_demo.md").write_text(MD.replace("1 + 1", "1 + 2"))
    found = notebooks.problems()
    assert any("differ in their cells" in p for p in found), found
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.cells[1].source = "from dlcourse import data\nx = 1 + 2"  # synced by hand, never re-executed
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    found = notebooks.problems()
    assert not any("differ in their cells" in p for p in found), found
    assert any("stale" in p for p in found), found


def _glue_output(name):
    return nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "2"},
                                  metadata={"scrapbook": {"name": name,
                                                          "mime_prefix": "application/papermill.record/"}})


def test_sync_carries_prose_and_keeps_outputs(chapter_dir):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.cells[1].outputs = [_glue_output("x")]
    notebook.metadata["dlcourse"]["source_hash"] = notebooks.source_hash(notebook)
    notebook.metadata["dlcourse"]["outputs_hash"] = notebooks.outputs_hash(notebook)
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    (chapter_dir / "01_demo.md").write_text(MD.replace("# A chapter", "# A chapter\n\nNow x is {glue:text}`x:.1f`."))
    assert any("differ in their cells" in p for p in notebooks.problems())
    notebooks.main(["sync", str(chapter_dir / "01_demo.md")])
    synced = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    assert "Now x is" in synced.cells[0].source
    assert synced.cells[1].outputs[0].metadata["scrapbook"]["name"] == "x"
    assert synced.cells[1].execution_count == 1
    assert notebooks.problems() == []


def test_sync_refuses_a_code_change_and_an_unknown_glue_name(chapter_dir):
    before = (chapter_dir / "01_demo.ipynb").read_bytes()
    (chapter_dir / "01_demo.md").write_text(MD.replace("1 + 1", "1 + 2"))
    with pytest.raises(SystemExit, match=r"code cell\(s\) \[1\] changed.*make execute"):
        notebooks.sync_prose(chapter_dir / "01_demo.md")
    (chapter_dir / "01_demo.md").write_text(MD + "\nIt reads {glue:text}`nowhere`.\n")
    with pytest.raises(SystemExit, match="nowhere"):
        notebooks.sync_prose(chapter_dir / "01_demo.md")
    assert (chapter_dir / "01_demo.ipynb").read_bytes() == before


def test_sync_refuses_a_notebook_that_was_stale_already(chapter_dir):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.cells[1].source = "x = 3"  # edited in the notebook, never executed
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    with pytest.raises(SystemExit, match="stale already"):
        notebooks.sync_prose(chapter_dir / "01_demo.md")


def test_smoke_outputs_and_missing_notebook_are_reported(chapter_dir):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.metadata["dlcourse"]["profile"] = "smoke"
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    assert any("profile 'smoke'" in p for p in notebooks.problems())
    shutil.copy(chapter_dir / "01_demo.md", chapter_dir / "02_other.md")
    assert any("02_other.md: no paired notebook" in p for p in notebooks.problems())


def test_source_hash_ignores_outputs_but_not_sources():
    notebook = notebooks.jupytext.reads(MD, fmt="md:myst")
    before = notebooks.source_hash(notebook)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    assert notebooks.source_hash(notebook) == before
    notebook.cells[1].source = "x = 3"
    assert notebooks.source_hash(notebook) != before


def _chapters():
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_first_code_cell_offers_full_as_one_commented_line(path):
    """quick is the default everywhere; full is one visible, commented line at the top (the Colab
    install cell is added by tools/colab.py to the notebooks the launch button opens, not here)."""
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    lines = first.source.splitlines()
    assert lines[0] == "import os", first.source
    assert lines[1].startswith('# os.environ["DLCOURSE_PROFILE"] = "full"'), first.source
    assert "google.colab" not in first.source and "pip" not in first.source


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_chapter_prints_provenance_first(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert re.search(r"config\.banner\(", code[0].source), "the first code cell must print the banner"
