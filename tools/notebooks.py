"""Keep the chapter pairs honest: execute them with provenance, and check sync and staleness.

    python tools/notebooks.py execute chapters/01_mutual_information.md --profile quick
    python tools/notebooks.py check

``execute`` copies the cells of the ``.md`` (the source people edit) into the ``.ipynb``, runs it
top to bottom in a fresh kernel, and records in the notebook metadata the provenance (profile,
device, dataset, time) and a hash of the source cells. ``check`` fails when a pair's cells differ
or when a notebook's outputs were produced from other source cells than it now holds (stale).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

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
    """SHA-256 of the dlcourse package's source files: which library produced the outputs."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "dlcourse").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


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
        env = {"DLCOURSE_PROFILE": profile, "DLCOURSE_PROVENANCE_FILE": str(record_file),
               "TQDM_DISABLE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
               # OpenMP threads that spin while waiting make CPU training many times slower
               # when another process holds a core; passive waiting costs nothing when idle
               "OMP_WAIT_POLICY": "PASSIVE"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        began = time.time()
        try:
            NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(md_path.parent)}}).execute()
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        record = json.loads(record_file.read_text()) if record_file.exists() else {"profile": profile}
    record.update(source_hash=source_hash(notebook), library_hash=library_hash(),
                  seconds=round(time.time() - began, 1))
    # keep the latest run of every profile: the teaching page shows quick and full run times
    runs = {}
    if nb_path.exists():
        runs = nbformat.read(nb_path, as_version=4).metadata.get("dlcourse", {}).get("runs", {})
    runs[profile] = {k: record.get(k) for k in ("seconds", "device", "dataset", "date")}
    record["runs"] = runs
    notebook.metadata["dlcourse"] = record
    nbformat.write(notebook, nb_path)
    print(f"executed {nb_path.relative_to(ROOT)} in {record['seconds']} s: {record}")
    return nb_path


def library_drift() -> list[str]:
    """Notebooks executed against other dlcourse sources than the current ones (a note, not an error:
    re-executing every chapter after each library change would cost hours of CPU)."""
    current = library_hash()
    return [str(md.with_suffix(".ipynb").relative_to(ROOT)) for md in pairs()
            if md.with_suffix(".ipynb").exists() and nbformat.read(md.with_suffix(".ipynb"), as_version=4)
            .metadata.get("dlcourse", {}).get("library_hash") != current]


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
        recorded = notebook.metadata.get("dlcourse", {})
        if recorded.get("source_hash") != source_hash(notebook):
            found.append(f"{nb_path.relative_to(ROOT)}: outputs are stale (source hash differs from the "
                         f"one recorded at execution); run make execute CHAPTER={md_path.stem}")
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
    sub.add_parser("check", help="check pairs are in sync and outputs are fresh")
    args = parser.parse_args(argv)
    if args.command == "execute":
        for chapter in args.chapters:
            execute(chapter, args.profile, args.timeout)
        return 0
    issues = problems()
    print("\n".join(issues) if issues else f"{len(pairs())} chapter pair(s) in sync, outputs fresh")
    drift = library_drift()
    if drift:
        print("note: executed with an older dlcourse (re-execute when the change shows on the page): "
              + ", ".join(drift))
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
