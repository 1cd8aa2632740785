"""Write the student edition of every chapter: the notebooks with all exercise solutions removed.

    python tools/student.py [OUTPUT_DIR]     (default _build/student)

A solution is everything from a ```{solution-start} fence to its ```{solution-end} fence, across
cells: the prose and the code cells inside it go; the exercise itself and the text around stay.
Outputs are cleared too, so the students' notebooks show nothing a solution would have printed.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
START = re.compile(r"^```+\{solution-start\}.*?$", re.M)
END = re.compile(r"^```+\{solution-end\}[^\n]*\n```+[ \t]*$", re.M)


def strip_solutions(notebook):
    """Return a copy of ``notebook`` without solutions; raises ValueError on an unclosed solution."""
    kept, inside = [], False
    for cell in notebook.cells:
        text = cell.source
        pieces = []
        while text:
            if not inside:
                start = START.search(text)
                if start is None:
                    pieces.append(text)
                    break
                pieces.append(text[:start.start()])
                text, inside = text[start.end():], True
            else:
                end = END.search(text)
                if end is None:
                    text = ""
                    break
                text, inside = text[end.end():], False
        source = "".join(pieces).strip()
        if source:
            cell = nbformat.from_dict(dict(cell))
            cell.source = source
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            kept.append(cell)
    if inside:
        raise ValueError("notebook has a solution-start without its solution-end")
    student = nbformat.from_dict(dict(notebook))
    student.cells = kept
    return student


def main(argv=None) -> int:
    out = Path((argv or sys.argv[1:] or [str(ROOT / "_build" / "student")])[0])
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        student = strip_solutions(nbformat.read(path, as_version=4))
        nbformat.write(student, out / path.name)
        print(f"{out / path.name}: {len(student.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
