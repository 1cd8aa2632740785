"""The chapter pairs: sync and staleness detection, and the Colab install cell of every chapter."""
import importlib.util
import re
import shutil
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

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
    notebook.metadata["dlcourse"] = {"profile": "quick", "source_hash": notebooks.source_hash(notebook)}
    nbformat.write(notebook, chapters / "01_demo.ipynb")
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "CHAPTERS", chapters)
    return chapters


def test_fresh_pair_has_no_problems(chapter_dir):
    assert notebooks.problems() == []


def test_edited_source_is_out_of_sync_and_stale(chapter_dir):
    (chapter_dir / "01_demo.md").write_text(MD.replace("1 + 1", "1 + 2"))
    found = notebooks.problems()
    assert any("differ in their cells" in p for p in found), found
    notebook = nbformat.read(chapter_dir / "01_demo.ipynb", as_version=4)
    notebook.cells[1].source = "x = 1 + 2"  # synced by hand, never re-executed
    nbformat.write(notebook, chapter_dir / "01_demo.ipynb")
    found = notebooks.problems()
    assert not any("differ in their cells" in p for p in found), found
    assert any("stale" in p for p in found), found


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
def test_first_code_cell_installs_this_version_in_colab_only(path):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in first.source
    assert f'"git+{url}@v{version}"' in first.source, first.source


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_chapter_prints_provenance_first(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert re.search(r"config\.banner\(", code[1].source), "the second code cell must print the banner"
