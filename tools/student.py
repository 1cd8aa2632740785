"""Write the student edition of every chapter: the notebooks with all exercise solutions removed.

    python -m tools.student [OUTPUT_DIR]            (default _build/student)
    python -m tools.student --html [OUTPUT_DIR]     (default _build/student-html)

A solution is everything from a ```{solution-start} fence to its ```{solution-end} fence, across
cells: the prose and the code cells inside it go; the exercise itself and the text around stay.
The notebooks' outputs are cleared too, so the students' notebooks show nothing a solution would
have printed. ``--html`` builds the whole book a second time from notebooks without solutions (their
other outputs kept, since the page shows them) into a separate HTML site for a class.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
START = re.compile(r"^```+\{solution-start\}.*?$", re.M)
END = re.compile(r"^```+\{solution-end\}[^\n]*\n```+[ \t]*$", re.M)


def strip_solutions(notebook, clear_outputs: bool = True):
    """Return a copy of ``notebook`` without solutions; raises ValueError on an unclosed solution.

    ``clear_outputs=False`` keeps the outputs of code cells left whole (the HTML edition shows
    them); a code cell that lost part of its source always loses its outputs.
    """
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
            changed = source != cell.source.strip()
            cell = nbformat.from_dict(dict(cell))
            cell.source = source
            if cell.cell_type == "code" and (clear_outputs or changed):
                cell.outputs, cell.execution_count = [], None
            kept.append(cell)
    if inside:
        raise ValueError("notebook has a solution-start without its solution-end")
    student = nbformat.from_dict(dict(notebook))
    student.cells = kept
    return student


BOOK_SOURCES = ("_config.yml", "_toc.yml", "book", "chapters")


def write_notebooks(out: Path, clear_outputs: bool = True) -> None:
    """Every chapter's notebook without solutions, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        student = strip_solutions(nbformat.read(path, as_version=4), clear_outputs=clear_outputs)
        nbformat.write(student, out / path.name)
        print(f"{out / path.name}: {len(student.cells)} cells")


def build_html(out: Path, jupyter_book: str = "jupyter-book") -> None:
    """The HTML book built from the student notebooks: a copy of the book's sources in
    ``_build/student-src`` whose chapter notebooks have no solutions, then jupyter-book, then the
    site moved to ``out``. The chapters' ``.md`` twins (which hold the solutions) are not rendered."""
    source = ROOT / "_build" / "student-src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for name in BOOK_SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name)
    write_notebooks(source / "chapters", clear_outputs=False)
    start = time.perf_counter()
    # the book's extensions import tools/ of this checkout (and find colab/ and dlcourse/ from it)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    subprocess.run([jupyter_book, "build", str(source), "--keep-going", "--quiet"], check=True, env=env)
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(source / "_build" / "html"), str(out))
    print(f"student edition of the book built in {time.perf_counter() - start:.0f} s: {out / 'index.html'}")


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    html = "--html" in args
    args = [a for a in args if a != "--html"]
    if html:
        jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or "jupyter-book"
        build_html(Path(args[0]) if args else ROOT / "_build" / "student-html", jupyter_book)
    else:
        write_notebooks(Path(args[0]) if args else ROOT / "_build" / "student")
    return 0


if __name__ == "__main__":
    sys.exit(main())
