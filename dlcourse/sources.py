"""Fingerprints of dlcourse's own source code: which library code produced a result.

A run cache and the book's stale-page check both ask the same question — "was this made by the
code that is here now?" — so both use :func:`code_hash`. Dependencies are read from the modules'
``import`` statements (their syntax tree, nothing is imported), so the answer is the same on any
machine that holds the same files, and it can be recomputed from a commit.
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = "dlcourse"
ROOT = Path(__file__).resolve().parent
# package data a module reads: part of that module's fingerprint (config prints the GPU estimate)
DATA_FILES = {"config": ("full_profile.json",)}


def module_names() -> list[str]:
    """Every module of the package, by its short name (``"losses"``, ``"__init__"``, ...)."""
    return sorted(path.stem for path in ROOT.glob("*.py"))


def _check_names(modules) -> list[str]:
    if isinstance(modules, str):
        modules = [modules]
    names = [m.split(".")[-1] if m.startswith(PACKAGE + ".") else m for m in modules]
    unknown = sorted(set(names) - set(module_names()))
    if unknown:
        raise ValueError(f"modules must name dlcourse modules, got unknown {unknown}")
    return names


def imported_modules(code: str, *, package_relative: bool = False) -> set[str]:
    """The dlcourse modules that ``code`` imports (``from dlcourse import x``, ``import dlcourse.x``,
    and, inside the package, ``from . import x`` / ``from .x import y``)."""
    found: set[str] = set()
    known = set(module_names())
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            relative = node.level > 0 and package_relative
            module = node.module or ""
            if relative or module.split(".")[0] == PACKAGE:
                inner = module.split(".")[1:] if not relative else [p for p in module.split(".") if p]
                if inner:
                    found.add(inner[0])
                else:  # `from dlcourse import a, b` or `from . import a, b`
                    found.update(a.name for a in node.names if a.name in known)
                    found.add("__init__")
    return found & known


def dependencies(modules) -> list[str]:
    """``modules`` and every dlcourse module they import, transitively (plus ``__init__``)."""
    todo, seen = list(_check_names(modules)) + ["__init__"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        text = (ROOT / f"{name}.py").read_text(encoding="utf-8")
        todo.extend(imported_modules(text, package_relative=True) - seen)
    return sorted(seen)


def code_hash(modules=None) -> str:
    """SHA-256 of the source files of ``modules`` and their dependencies (all modules if None).

    Only file names and bytes enter the hash: it is reproducible from a checkout of a commit. A
    module's data files (``DATA_FILES``, where present) follow its source, so a result printed from
    them is as stale as one computed by the code.
    """
    names = module_names() if modules is None else dependencies(modules)
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{PACKAGE}/{name}.py".encode() + b"\0" + (ROOT / f"{name}.py").read_bytes())
        for file in DATA_FILES.get(name, ()):
            if (ROOT / file).exists():  # older commits predate the file
                digest.update(f"{PACKAGE}/{file}".encode() + b"\0" + (ROOT / file).read_bytes())
    return digest.hexdigest()
