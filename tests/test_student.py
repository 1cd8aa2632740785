"""The student edition keeps every exercise and drops every solution."""
from pathlib import Path

import nbformat
import pytest

from tools import student

ROOT = Path(__file__).resolve().parents[1]


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, text in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(text))
    return nb


def test_solution_spanning_cells_is_removed_and_exercise_kept():
    nb = _notebook(
        ("md", "Intro.\n\n```{exercise} E\n:label: e1\n\nDo it.\n```\n\n```{solution-start} e1\n"
               ":class: dropdown\n```\n\nThe secret answer."),
        ("code", "secret_code = 42"),
        ("md", "More secret.\n\n```{solution-end}\n```\n\nAfter the solution."),
        ("code", "kept = 1"),
    )
    out = student.strip_solutions(nb)
    text = "\n".join(c.source for c in out.cells)
    assert "secret" not in text
    assert "{exercise} E" in text and "Do it." in text
    assert "After the solution." in text and "kept = 1" in text


def test_unclosed_solution_is_an_error():
    nb = _notebook(("md", "```{solution-start} e1\n```\nanswer"), ("code", "x = 1"))
    with pytest.raises(ValueError, match="solution-end"):
        student.strip_solutions(nb)


def _solution_code(nb):
    """Code cells between solution markers, found by a plain scan (independent of the tool)."""
    inside, found = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if "{solution-start}" in cell.source:
                inside = True
            if "{solution-end}" in cell.source:
                inside = False
        elif inside:
            found.append(cell.source)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: p.stem)
def test_no_solution_survives_in_a_chapter(path):
    nb = nbformat.read(path, as_version=4)
    out = student.strip_solutions(nb)
    text = "\n".join(c.source for c in out.cells)
    assert "{solution" not in text
    least = 0 if path.stem.endswith("_lab") else 3  # a lab page holds evidence, the class exercises
    assert text.count("{exercise}") == "\n".join(c.source for c in nb.cells).count("{exercise}") >= least
    for code in _solution_code(nb):
        assert code.strip() not in text
    assert all(not c.get("outputs") for c in out.cells if c.cell_type == "code")


def test_html_edition_keeps_outputs_of_whole_cells_only():
    """clear_outputs=False (the HTML edition) keeps a whole code cell's outputs; solution cells go."""
    nb = _notebook(("code", "shown = 1"),
                   ("md", "```{solution-start} e1\n```\nanswer"), ("code", "secret = 2"),
                   ("md", "```{solution-end}\n```\nafter"))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text=f"out of {cell.source}")]
    kept = student.strip_solutions(nb, clear_outputs=False)
    code = [c for c in kept.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["shown = 1"]
    assert code[0].outputs[0]["text"] == "out of shown = 1"
    cleared = student.strip_solutions(nb)
    assert [c.outputs for c in cleared.cells if c.cell_type == "code"] == [[]]
