"""The chapter pairs: sync and staleness detection, and the profile switch at the top of every chapter."""
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("notebooks_tool", ROOT / "tools" / "notebooks.py")
notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebooks)

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


@pytest.fixture
def chapter_dir(tmp_path, monkeypatch):
    """A chapters/ folder with one executed, in-sync pair, and the tool pointed at it."""
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "01_demo.md").write_text(MD)
    notebook = notebooks.jupytext.read(chapters / "01_demo.md")
    notebook.cells[1].outputs = []
    notebook.cells[1].execution_count = 1
    notebook.metadata["dlcourse"] = {"profile": "quick", "source_hash": notebooks.source_hash(notebook),
                                     **notebooks.code_record(notebook)}
    nbformat.write(notebook, chapters / "01_demo.ipynb")
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "CHAPTERS", chapters)
    monkeypatch.delenv("DLCOURSE_ALLOW_LIBRARY_DRIFT", raising=False)
    return chapters


def _check(*flags) -> tuple[int, str]:
    """``tools/notebooks.py check`` in this process: its exit code and what it printed."""
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


def test_fresh_pair_has_no_problems(chapter_dir):
    assert notebooks.problems() == []
    assert notebooks.library_drift() == []
    code, out = _check()
    assert code == 0 and "outputs fresh" in out, out


def _hash_files(folder, names) -> str:
    """The recorded hash computed by hand: SHA-256 over 'dlcourse/<name>.py', NUL, file bytes;
    config's estimate file follows config's source (the banner prints from it)."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"dlcourse/{name}.py".encode() + b"\0" + (folder / f"{name}.py").read_bytes())
        if name == "config" and (folder / "full_profile.json").exists():
            digest.update(b"dlcourse/full_profile.json\0" + (folder / "full_profile.json").read_bytes())
    return digest.hexdigest()


def test_code_record_names_imported_modules_and_hashes_their_files():
    notebook = notebooks.jupytext.reads(MD, fmt="md:myst")
    record = notebooks.code_record(notebook)
    # data.py imports nothing from dlcourse; __init__ is imported with any dlcourse module
    assert record["modules"] == ["__init__", "data"]
    assert record["modules_hash"] == _hash_files(ROOT / "dlcourse", ["__init__", "data"])
    assert record["module_hashes"]["__init__"] == _hash_files(ROOT / "dlcourse", ["__init__"])
    assert record["module_hashes"]["data"] == record["modules_hash"]
    assert notebooks.library_hash() == _hash_files(
        ROOT / "dlcourse", sorted(p.stem for p in (ROOT / "dlcourse").glob("*.py")))


def test_recorded_hash_is_reproducible_from_a_copy_of_the_files(tmp_path):
    """Another checkout (another folder, another process) of the same files records the same hash."""
    copy = tmp_path / "elsewhere"
    for part in ("dlcourse", "tools"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    notebook_file = tmp_path / "demo.ipynb"
    nbformat.write(notebooks.jupytext.reads(MD, fmt="md:myst"), notebook_file)
    script = ("import json, sys, nbformat; sys.path.insert(0, 'tools'); import notebooks; "
              f"print(json.dumps(notebooks.code_record(nbformat.read({str(notebook_file)!r}, 4))))")
    run = subprocess.run([sys.executable, "-c", script], cwd=copy, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}, check=True)
    record = json.loads(run.stdout)
    assert record["modules_hash"] == _hash_files(ROOT / "dlcourse", ["__init__", "data"])
    assert record == notebooks.code_record(notebooks.jupytext.reads(MD, fmt="md:myst"))


def test_magics_do_not_hide_imports():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "%matplotlib inline\n!echo hi\nimport dlcourse.config as cfg")])
    assert notebooks.chapter_modules(notebook) == ["__init__", "config", "data"]


def test_library_edit_fails_strictly_and_names_chapter_and_module(chapter_dir, library_copy):
    assert _check()[0] == 0
    with open(library_copy / "data.py", "a") as fh:
        fh.write("\n# an edit after the chapter was executed\n")
    assert notebooks.problems() == []  # cells and sources are still fine ...
    code, out = _check()  # ... but the outputs came from other library code
    assert code == 1, out
    assert "chapters/01_demo.ipynb" in out and "stale" in out
    assert "data.py changed since execution" in out
    assert "make execute CHAPTER=01_demo" in out


def test_allow_library_drift_downgrades_to_a_note(chapter_dir, library_copy, monkeypatch):
    (library_copy / "data.py").write_text("# replaced\n")
    code, out = _check("--allow-library-drift")
    assert code == 0, out
    assert "note" in out and "make execute CHAPTER=01_demo" in out
    monkeypatch.setenv("DLCOURSE_ALLOW_LIBRARY_DRIFT", "1")
    assert _check()[0] == 0
    monkeypatch.setenv("DLCOURSE_ALLOW_LIBRARY_DRIFT", "0")
    assert _check()[0] == 1


def test_drift_note_does_not_hide_other_problems(chapter_dir, library_copy):
    (library_copy / "data.py").write_text("# replaced\n")
    (chapter_dir / "01_demo.md").write_text(MD.replace("1 + 1", "1 + 2"))
    code, out = _check("--allow-library-drift")
    assert code == 1 and "differ in their cells" in out, out


def test_change_in_an_imported_dependency_is_named_with_the_importer(chapter_dir, library_copy):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.cells[1].source = "from dlcourse import config"  # config imports data
    notebook.metadata["dlcourse"].update(source_hash=notebooks.source_hash(notebook),
                                         **notebooks.code_record(notebook))
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    (chapter_dir / "01_demo.md").write_text(MD.replace("from dlcourse import data\nx = 1 + 1",
                                                       "from dlcourse import config"))
    assert _check()[0] == 0
    with open(library_copy / "data.py", "a") as fh:
        fh.write("\n# edited\n")
    code, out = _check()
    assert code == 1
    assert "data.py changed since execution (and with them config.py, which import them)" in out, out
    with open(library_copy / "train.py", "a") as fh:  # a module the chapter does not use
        fh.write("\n# edited\n")
    assert "train.py" not in _check()[1]


def test_notebook_executed_before_module_records_is_stale(chapter_dir):
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    for key in ("modules", "modules_hash", "module_hashes"):
        del notebook.metadata["dlcourse"][key]
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    code, out = _check()
    assert code == 1
    assert "chapters/01_demo.ipynb" in out and "make execute CHAPTER=01_demo" in out
    assert _check("--allow-library-drift")[0] == 0


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
