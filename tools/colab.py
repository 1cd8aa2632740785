"""The Colab side of the book: notebooks that install exactly the dlcourse their outputs came from.

    python -m tools.colab build          # write colab/NN_slug.ipynb for every executed chapter
    python -m tools.colab check          # fail if the committed colab/ notebooks are out of date
    python -m tools.colab wheels DIR     # write the wheels the Colab notebooks install into DIR

After the book build, ``python -m tools.colab_e2e`` tries the whole launch (:mod:`tools.colab_e2e`).

Each executed chapter records ``library_hash`` (``dlcourse.sources.code_hash()``) in its metadata.
The book build (``book/_ext/colab_launch.py``) writes a wheel of that very code into the site, named
``dlcourse-<version>+<hash12>-py3-none-any.whl``; the Colab notebook's first cell installs it from
the book's address (``html.baseurl`` in ``_config.yml``), falls back to the repository at the
oldest commit holding that code (``repository.url``), and checks the installed package's hash.
No tag or release is ever made by hand: publishing the book publishes the wheels.
"""
from __future__ import annotations

import argparse
import base64
import copy
import csv
import hashlib
import io
import json
import re
import string
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

from . import executed
from .colab_markdown import convert_notebook, load_bibliography, page_titles

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
COLAB = ROOT / "colab"
PACKAGE = "dlcourse"
WHEELS_PATH = "_static/wheels"  # where the wheels live inside the built site
INSTALL_CELL_ID = "dlcourse-colab-install"
# A fixed time stamp inside the wheels: the same code gives the same bytes.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------- configuration


def site_config(root: Path = ROOT) -> dict:
    """The addresses the Colab cell needs, from the one place that names them: ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    book_url = (config.get("html") or {}).get("baseurl", "")
    repository = config.get("repository") or {}
    if not book_url or not repository.get("url"):
        raise ValueError(f"_config.yml must set html.baseurl and repository.url, got "
                         f"baseurl={book_url!r}, repository.url={repository.get('url')!r}")
    return {"book_url": book_url.rstrip("/") + "/", "repo_url": repository["url"].rstrip("/"),
            "branch": repository.get("branch", "main")}


def _check_hash(library_hash: str) -> str:
    if not (isinstance(library_hash, str) and re.fullmatch(r"[0-9a-f]{64}", library_hash)):
        raise ValueError(f"library_hash must be 64 lowercase hex digits, got {library_hash!r}")
    return library_hash


def project_metadata(pyproject_text: str) -> dict:
    """The ``[project]`` table of a ``pyproject.toml``."""
    return tomllib.loads(pyproject_text)["project"]


def wheel_version(base_version: str, library_hash: str) -> str:
    """``0.1.0+<first 12 hex digits of the hash>``: a PEP 440 local label names the code."""
    return f"{base_version}+{_check_hash(library_hash)[:12]}"


def wheel_name(base_version: str, library_hash: str) -> str:
    return f"{PACKAGE}-{wheel_version(base_version, library_hash)}-py3-none-any.whl"


# ---------------------------------------------------------------- the code behind a hash


def code_hash_of(package_dir: Path) -> str:
    """``dlcourse.sources.code_hash()`` of the package in ``package_dir`` (any checkout or commit).

    Runs the current ``sources`` module with its root pointed elsewhere, so there is one hash
    function, not two.
    """
    from dlcourse import sources

    here = sources.ROOT
    sources.ROOT = Path(package_dir)
    try:
        return sources.code_hash()
    finally:
        sources.ROOT = here


def _git(*args: str, root: Path = ROOT) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def export_commit(commit: str, dest: Path, root: Path = ROOT) -> Path:
    """Write ``dlcourse/`` and ``pyproject.toml`` as they are in ``commit`` under ``dest``."""
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit, PACKAGE,
                              "pyproject.toml"], check=True, capture_output=True).stdout
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return Path(dest)


def commit_for_hash(library_hash: str, root: Path = ROOT) -> str | None:
    """The oldest commit whose ``dlcourse/`` has this code hash (stable once found), or None."""
    _check_hash(library_hash)
    try:
        commits = _git("log", "--reverse", "--format=%H", "--", PACKAGE, root=root).split()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    seen_trees: set[str] = set()
    for commit in commits:
        tree = _git("rev-parse", f"{commit}:{PACKAGE}", root=root).strip()
        if tree in seen_trees:
            continue
        seen_trees.add(tree)
        with tempfile.TemporaryDirectory() as tmp:
            if code_hash_of(export_commit(commit, Path(tmp), root) / PACKAGE) == library_hash:
                return commit
    return None


# ---------------------------------------------------------------- wheels


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(source_root: Path, out_dir: Path) -> Path:
    """A pure-Python wheel of ``source_root/dlcourse`` (version and dependencies from its
    ``pyproject.toml``), its version labelled with the code hash. Offline, deterministic."""
    source_root, out_dir = Path(source_root), Path(out_dir)
    project = project_metadata((source_root / "pyproject.toml").read_text(encoding="utf-8"))
    library_hash = code_hash_of(source_root / PACKAGE)
    version = wheel_version(project["version"], library_hash)
    dist_info = f"{PACKAGE}-{version}.dist-info"
    files = {path.relative_to(source_root).as_posix(): path.read_bytes()
             for path in sorted((source_root / PACKAGE).rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    metadata = ["Metadata-Version: 2.1", f"Name: {PACKAGE}", f"Version: {version}",
                f"Summary: {project.get('description', '')}",
                f"Requires-Python: {project.get('requires-python', '>=3.10')}"]
    metadata += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    files[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: dlcourse tools/colab.py\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in files.items():
        writer.writerow([name, _record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    files[f"{dist_info}/RECORD"] = record.getvalue().encode()

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / wheel_name(project["version"], library_hash)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    partial.replace(target)
    return target


def recorded_hashes(notebooks) -> dict[str, list[str]]:
    """``library_hash`` -> the notebooks executed with it."""
    found: dict[str, list[str]] = {}
    for path in notebooks:
        recorded = executed.record(nbformat.read(path, as_version=4)).get("library_hash")
        if recorded:
            found.setdefault(recorded, []).append(Path(path).name)
    return found


def write_wheels(out_dir: Path, notebooks=None, root: Path = ROOT) -> tuple[list[Path], list[str]]:
    """A wheel for every library hash the executed notebooks record, built from the working tree
    when it holds that code, else from the oldest commit that does. Returns (wheels, problems)."""
    notebooks = sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb")) if notebooks is None else notebooks
    current = code_hash_of(root / PACKAGE)
    wheels, problems = [], []
    for library_hash, names in sorted(recorded_hashes(notebooks).items()):
        if library_hash == current:
            wheels.append(build_wheel(root, out_dir))
            continue
        commit = commit_for_hash(library_hash, root)
        if commit is None:
            problems.append(f"{', '.join(names)}: executed with dlcourse code {library_hash[:12]} that no "
                            f"commit holds; re-execute it (make execute) so Colab can install its code")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            wheels.append(build_wheel(export_commit(commit, Path(tmp), root), out_dir))
    return wheels, problems


# ---------------------------------------------------------------- the Colab notebooks

INSTALL_CELL = string.Template(r'''# Colab: install the dlcourse this notebook was executed with (elsewhere this cell does nothing).
USE_DRIVE = False  # True: keep datasets and checkpoints on Google Drive, so a new runtime resumes

import os, re, subprocess, sys
LIBRARY_HASH = "$library_hash"  # dlcourse.sources.code_hash() of the run
BOOK = os.environ.get("DLCOURSE_BOOK_URL", "$book_url")
WHEEL = BOOK.rstrip("/") + "/$wheels_path/$wheel"
SOURCE = "git+$repo_url@$ref"  # the same code, should the book's site be down

def installed_hash():
    run = subprocess.run([sys.executable, "-c", "from dlcourse.sources import code_hash; print(code_hash())"],
                         capture_output=True, text=True)
    return run.stdout.strip() if run.returncode == 0 else None

def reason(stderr):
    """Why pip failed, on one line: git's own error, else pip's, without colours or addresses."""
    lines = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line).strip() for line in stderr.splitlines()]
    picked = ([line for line in lines if line.startswith("fatal:")][-1:]
              or [line[6:] for line in lines if line.startswith("ERROR:")][-1:]
              or [line.lstrip("×╰─> ") for line in lines if line.startswith(("×", "╰─>"))]
              or [line for line in lines if line][-1:] or ["pip failed"])
    text = re.sub(r"[a-z+]+://[^\s'\"]*[^\s'\":,.]", "(address)", " ".join(": ".join(picked).split()))
    if len(text) > 240:  # cut between words; the end holds the innermost cause
        text = text[:120].rsplit(" ", 1)[0] + " ... " + text[-120:].split(" ", 1)[-1]
    return text

def pip_install(target):
    """None once pip has installed target, else why not."""
    run = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", target],
                         capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    return None if run.returncode == 0 else reason(run.stderr)

try:
    import google.colab
    IN_COLAB = True
except ImportError:
    IN_COLAB = False
found = installed_hash() if IN_COLAB else LIBRARY_HASH
if found != LIBRARY_HASH:
    if found is not None:  # another dlcourse: replace it
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "dlcourse"], capture_output=True)
    failures = []
    for where, target in (("the book's site", WHEEL), ("the repository", f"dlcourse @ {SOURCE}")):
        why = pip_install(target)
        if why is None:
            break
        failures.append(f"  from {where}: {why}")
    found = installed_hash()
    if found == LIBRARY_HASH:
        print("dlcourse installed from", SOURCE if failures else WHEEL)
    elif found is None:
        print("dlcourse could not be installed", *(failures or ["  pip installed it, but it does not import"]),
              sep="\n")
        print(f"Check that the runtime is online and that {WHEEL} opens, then run this cell again.")
        raise RuntimeError("dlcourse is not installed (the lines above say why), and the next cells need it")
    else:
        print("The dlcourse installed is not the code this notebook ran with, so outputs may differ: "
              "open the notebook again from the book's launch button.")
if IN_COLAB and USE_DRIVE:
    from google.colab import drive
    drive.mount("/content/drive")
    os.environ["DLCOURSE_DATA"] = "/content/drive/MyDrive/dlcourse"
''')


def install_cell(library_hash: str, base_version: str, config: dict, ref: str) -> nbformat.NotebookNode:
    """The first cell of a Colab notebook (see :data:`INSTALL_CELL`)."""
    source = INSTALL_CELL.substitute(library_hash=_check_hash(library_hash), book_url=config["book_url"],
                                     wheels_path=WHEELS_PATH, wheel=wheel_name(base_version, library_hash),
                                     repo_url=config["repo_url"], ref=ref)
    cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
    cell.id = INSTALL_CELL_ID
    return cell


def colab_notebook(chapter: nbformat.NotebookNode, *, config: dict, base_version: str, ref: str,
                   bibliography: dict, page: str = "chapters/",
                   doc_titles: dict | None = None) -> nbformat.NotebookNode:
    """A chapter's executed notebook, readable in Colab and headed by the install cell."""
    library_hash = executed.record(chapter).get("library_hash")
    if not library_hash:
        raise ValueError("chapter metadata must record dlcourse.library_hash (execute it with "
                         "python -m tools.notebooks), got none")
    converted = convert_notebook(chapter, bibliography=bibliography, book_url=config["book_url"],
                                 page=page, doc_titles=doc_titles)
    notebook = nbformat.v4.new_notebook(
        cells=[install_cell(library_hash, base_version, config, ref)] + converted.cells)
    notebook.metadata = copy.deepcopy(converted.metadata)
    notebook.metadata.update(accelerator="GPU", colab={"provenance": [], "gpuType": "T4",
                                                       "toc_visible": True})
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    """The exact text written to disk (and compared by ``check``)."""
    return nbformat.writes(notebook) + "\n"


def generate(root: Path = ROOT) -> dict[Path, str]:
    """``colab/NN_slug.ipynb`` path -> text, for every executed chapter notebook."""
    config = site_config(root)
    base_version = project_metadata((root / "pyproject.toml").read_text(encoding="utf-8"))["version"]
    bibliography = load_bibliography(root / "book" / "references.bib")
    titles = page_titles(root)
    refs: dict[str, str] = {}
    out = {}
    for path in sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb")):
        chapter = nbformat.read(path, as_version=4)
        library_hash = executed.record(chapter).get("library_hash")
        if library_hash and library_hash not in refs:
            # uncommitted code has no commit yet: the branch, and the hash check says if it differs
            refs[library_hash] = commit_for_hash(library_hash, root) or config["branch"]
        notebook = colab_notebook(chapter, config=config, base_version=base_version,
                                  ref=refs.get(library_hash, config["branch"]), bibliography=bibliography,
                                  page=f"chapters/{path.stem}", doc_titles=titles)
        out[root / "colab" / path.name] = render(notebook)
    return out


def build(root: Path = ROOT) -> list[Path]:
    written = []
    for path, text in generate(root).items():
        path.parent.mkdir(exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _without_fallback_ref(text: str) -> str:
    """The notebook text with the fallback commit blanked: which commit first held the code
    depends on how much history a clone has (CI may clone shallowly), the rest does not."""
    return re.sub(r'(SOURCE = \\"git\+[^"@\\]*@)[0-9A-Za-z._/-]+', r"\1<ref>", text)


def problems(root: Path = ROOT) -> list[str]:
    """Why the committed ``colab/`` differs from what ``build`` would write (empty when it does not)."""
    expected = generate(root)
    found = []
    for path, text in expected.items():
        name = path.relative_to(root)
        if not path.exists():
            found.append(f"{name} is missing: run python -m tools.colab build")
        elif _without_fallback_ref(path.read_text(encoding="utf-8")) != _without_fallback_ref(text):
            found.append(f"{name} is out of date: run python -m tools.colab build")
    for path in sorted((root / "colab").glob("*.ipynb")):
        if path not in expected:
            found.append(f"{path.relative_to(root)} has no executed chapter: delete it")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="write colab/NN_slug.ipynb for every executed chapter")
    sub.add_parser("check", help="fail if colab/ differs from what build would write")
    wheels = sub.add_parser("wheels", help="write the wheels the Colab notebooks install")
    wheels.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for path in build():
                print(f"wrote {path.relative_to(ROOT)}")
            return 0
        if args.command == "check":
            issues = problems()
            print("\n".join(issues) if issues else "colab/ notebooks up to date")
            return 1 if issues else 0
    except ValueError as error:  # a chapter the converter cannot render (an unknown MyST construct)
        print(f"error: {error}")
        return 1
    written, issues = write_wheels(args.out_dir)
    print("\n".join([f"wrote {p}" for p in written] + [f"note: {i}" for i in issues]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
