"""Keep the chapter pairs honest: execute them with provenance, and check sync and staleness.

    python -m tools.notebooks execute chapters/01_mutual_information.md --profile quick
    python -m tools.notebooks check

    python -m tools.notebooks check --allow-library-drift   # library drift is a note, not a failure
    python -m tools.notebooks sync chapters/03_imbalanced_losses.md   # prose-only edit, no re-run

``execute`` copies the cells of the ``.md`` (the source people edit) into the ``.ipynb``, runs it
top to bottom in a fresh kernel, and records in the notebook metadata the provenance (profile,
device, dataset, time), a hash of the source cells, a hash of the outputs, and the dlcourse code
that executed: every function and method that ran, in the kernel or in a cached run it reused,
with the hash of its definition (:class:`dlcourse.sources.CodeRecord`), and how many cached runs
it reused (``cached_runs``). ``check`` fails when a pair's cells differ, when a notebook's outputs
were produced from other source cells than it now holds or were edited after execution, or when
a definition that ran has changed since (stale: it names them). An edit to code the chapter never
ran (a slider it does not draw, a docstring, a comment) stales nothing. The last failure becomes
a note with ``--allow-library-drift`` (or ``DLCOURSE_ALLOW_LIBRARY_DRIFT=1``), so that a library
change can land before the CPU-hours of re-executing every chapter.

``sync`` carries an edit of the prose (markdown cells) into an executed notebook without running it
again, which is honest because outputs depend on the code cells only: it refuses when any code cell
differs from the executed one (then ``execute``), when the notebook was stale already, or when the
new prose cites a glued value the outputs do not hold.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

# run from the repository root (python -m tools.notebooks), this is the checkout's dlcourse
from dlcourse import sources

from . import executed

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def cells_of(notebook) -> list[tuple[str, str]]:
    """The (type, source) of every cell: what the outputs depend on."""
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def source_hash(notebook) -> str:
    """SHA-256 of the cells' types and sources."""
    payload = json.dumps(cells_of(notebook), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def library_hash() -> str:
    """SHA-256 of the dlcourse package's source files: the wheel Colab installs for this page."""
    return sources.code_hash()


def outputs_hash(notebook) -> str:
    """SHA-256 of every code cell's outputs: an output edited by hand after execution shows."""
    outputs = [cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(outputs, sort_keys=True, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


RECORD_CELL = "from dlcourse import sources as _s\n_s.write_session_record()"


def pairs() -> list[Path]:
    """Every chapter source ``chapters/NN_slug.md``."""
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.md"))


def execute(md_path: Path, profile: str, timeout: int | None = None) -> Path:
    """Sync ``md_path`` into its notebook, execute it under ``profile`` and record provenance."""
    from nbclient import NotebookClient

    md_path = Path(md_path).resolve()
    if md_path.suffix == ".ipynb":
        md_path = md_path.with_suffix(".md")
    if not md_path.exists():
        raise SystemExit(f"no chapter source {md_path}")
    nb_path = md_path.with_suffix(".ipynb")
    notebook = jupytext.read(md_path)
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}

    with tempfile.TemporaryDirectory() as tmp:
        record_file = Path(tmp) / "provenance.json"
        code_file = Path(tmp) / "code.json"
        python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {"DLCOURSE_PROFILE": profile, "DLCOURSE_PROVENANCE_FILE": str(record_file),
               sources.RECORD_FILE_VARIABLE: str(code_file),  # importing dlcourse starts it
               "PYTHONPATH": python_path,  # the kernel runs the dlcourse of this checkout
               "TQDM_DISABLE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
               # OpenMP threads that spin while waiting make CPU training many times slower
               # when another process holds a core, so PASSIVE is the default here; a chapter
               # executed alone (the time a lecturer sees in Jupyter) runs chapter 2's small
               # convolutions about 1.25x faster with the library default: OMP_WAIT_POLICY=ACTIVE
               "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        began = time.time()
        notebook.cells.append(nbformat.v4.new_code_cell(RECORD_CELL))  # what ran; removed below
        try:
            NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(md_path.parent)}}).execute()
        finally:
            notebook.cells.pop()
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        seconds = round(time.time() - began, 1)
        record = json.loads(record_file.read_text()) if record_file.exists() else {"profile": profile}
        record.update(json.loads(code_file.read_text()))
    record.update(source_hash=source_hash(notebook), outputs_hash=outputs_hash(notebook),
                  library_hash=library_hash(), seconds=seconds)
    # keep the latest run of every profile: the teaching page shows quick and full run times
    runs = {}
    if nb_path.exists():
        runs = executed.record(nbformat.read(nb_path, as_version=4)).get("runs", {})
    runs[profile] = {k: record.get(k) for k in ("seconds", "device", "dataset", "date",
                                                  "cached_runs")}
    record["runs"] = runs
    notebook.metadata["dlcourse"] = record
    nbformat.write(notebook, nb_path)
    print(f"executed {nb_path.relative_to(ROOT)} in {record['seconds']} s: {record}")
    return nb_path


def glued_names(notebook) -> set[str]:
    """The names of every value ``glue``d by the notebook's outputs."""
    return set(executed.glued(notebook))


GLUE_REF = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:]+)")


def sync_prose(md_path: Path) -> Path:
    """Copy the cells of ``md_path`` into its executed notebook, keeping every code cell's outputs,
    when only markdown changed; a changed code cell needs ``execute`` instead (SystemExit)."""
    md_path = Path(md_path).resolve().with_suffix(".md")
    nb_path = md_path.with_suffix(".ipynb")
    if not md_path.exists() or not nb_path.exists():
        raise SystemExit(f"sync needs both {md_path.name} and an executed {nb_path.name}")
    text, notebook = jupytext.read(md_path), nbformat.read(nb_path, as_version=4)
    recorded = executed.record(notebook)
    if recorded.get("source_hash") != source_hash(notebook):
        raise SystemExit(f"{nb_path.name}: its outputs are stale already; run make execute "
                         f"CHAPTER={md_path.stem}")
    old = [c for c in notebook.cells if c.cell_type == "code"]
    new = [c for c in text.cells if c.cell_type == "code"]
    changed = [k + 1 for k, (a, b) in enumerate(zip(old, new)) if a.source.strip() != b.source.strip()]
    if len(old) != len(new) or changed:
        what = (f"code cell(s) {changed} changed" if changed
                else f"{len(new)} code cells instead of {len(old)}")
        raise SystemExit(f"{md_path.name}: {what}; outputs depend on code, so run make execute "
                         f"CHAPTER={md_path.stem}")
    missing = {m for c in text.cells if c.cell_type == "markdown"
               for m in GLUE_REF.findall(c.source)} - glued_names(notebook)
    if missing:
        raise SystemExit(f"{md_path.name}: the prose cites glued values the outputs do not hold: "
                         f"{sorted(missing)}; glue them in a code cell and run make execute")
    for cell, ran in zip(new, old):
        cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
    notebook.cells = text.cells
    recorded.update(source_hash=source_hash(notebook), prose_synced=time.strftime("%Y-%m-%d"))
    nbformat.write(notebook, nb_path)
    print(f"synced the prose of {md_path.name} into {nb_path.name}; outputs kept")
    return nb_path


def stale_code(notebook) -> list[str] | None:
    """The dlcourse definitions that ran for this notebook's outputs and differ now (None when the
    notebook records no code)."""
    recorded = executed.record(notebook).get("code")
    return None if recorded is None else sources.changed(recorded)


def library_drift() -> list[str]:
    """Chapters whose outputs came from dlcourse code that has changed since, as sentences that
    name the changed definitions and how to refresh the page (empty when every page is current)."""
    found = []
    for md_path in pairs():
        nb_path = md_path.with_suffix(".ipynb")
        if not nb_path.exists():
            continue  # problems() reports the missing notebook
        stale = stale_code(nbformat.read(nb_path, as_version=4))
        name, fix = nb_path.relative_to(ROOT), f"run make execute CHAPTER={md_path.stem}"
        if stale is None:
            found.append(f"{name}: records no dlcourse code that ran, so nothing shows which library "
                         f"code made its outputs; {fix}")
        elif stale:
            shown = ", ".join(stale[:8]) + (f" and {len(stale) - 8} more" if len(stale) > 8 else "")
            found.append(f"{name}: outputs are stale: {shown} changed since execution; {fix}")
    return found


def problems() -> list[str]:
    """Everything wrong with the chapter pairs, as sentences (empty when all is well)."""
    found = []
    for md_path in pairs():
        nb_path = md_path.with_suffix(".ipynb")
        name = md_path.relative_to(ROOT)
        if not nb_path.exists():
            found.append(f"{name}: no paired notebook; run make execute CHAPTER={md_path.stem}")
            continue
        text, notebook = jupytext.read(md_path), nbformat.read(nb_path, as_version=4)
        if cells_of(text) != cells_of(notebook):
            found.append(f"{name} and its .ipynb differ in their cells: edit the .md, then "
                         f"make execute CHAPTER={md_path.stem}")
        recorded = executed.record(notebook)
        if recorded.get("source_hash") != source_hash(notebook):
            found.append(f"{nb_path.relative_to(ROOT)}: outputs are stale (source hash differs from the "
                         f"one recorded at execution); run make execute CHAPTER={md_path.stem}")
        if recorded.get("outputs_hash") != outputs_hash(notebook):
            found.append(f"{nb_path.relative_to(ROOT)}: its outputs differ from those recorded at "
                         f"execution (edited by hand?); run make execute CHAPTER={md_path.stem}")
        if recorded.get("profile") not in ("quick", "full"):
            found.append(f"{nb_path.relative_to(ROOT)}: outputs come from profile "
                         f"{recorded.get('profile')!r}; the book shows quick or full runs")
        code = [c for c in notebook.cells if c.cell_type == "code"]
        if any(c.get("execution_count") is None for c in code):
            found.append(f"{nb_path.relative_to(ROOT)}: some code cells were never executed")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute chapter notebooks in place")
    run.add_argument("chapters", nargs="+", type=Path)
    run.add_argument("--profile", default="quick", choices=("smoke", "quick", "full"))
    run.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: none)")
    sync = sub.add_parser("sync", help="carry prose-only edits into executed notebooks")
    sync.add_argument("chapters", nargs="+", type=Path)
    check = sub.add_parser("check", help="check pairs are in sync and outputs are fresh")
    check.add_argument("--allow-library-drift", action="store_true",
                       default=os.environ.get("DLCOURSE_ALLOW_LIBRARY_DRIFT", "") not in ("", "0"),
                       help="report outputs made by other dlcourse code as a note, not a failure "
                            "(also: DLCOURSE_ALLOW_LIBRARY_DRIFT=1)")
    args = parser.parse_args(argv)
    if args.command == "execute":
        for chapter in args.chapters:
            execute(chapter, args.profile, args.timeout)
        return 0
    if args.command == "sync":
        for chapter in args.chapters:
            sync_prose(chapter)
        return 0
    issues, drift = problems(), library_drift()
    if not args.allow_library_drift:
        issues += drift
    fresh = "" if drift else ", outputs fresh"
    print("\n".join(issues) if issues else f"{len(pairs())} chapter pair(s) in sync{fresh}")
    if drift and args.allow_library_drift:
        print("note (--allow-library-drift): pages made by other dlcourse code than this checkout's; "
              "re-execute them before release:\n  " + "\n  ".join(drift))
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
