"""Fingerprints of what produced a result: the dlcourse code that ran, and the data it was given.

A run cache and the book's stale-page check both ask "was this made by the code that is here
now?". The answer is keyed on the code that *executed*, not on whole modules: while a run (or a
whole chapter) executes, :class:`CodeRecord` notes every dlcourse function and method whose code
starts (``sys.settrace``: Python calls only), and :func:`definition_hashes` hashes each one on its
syntax tree with docstrings left out (comments never enter a syntax tree). So an edit to a docstring, a comment or
a function the run never called stales nothing, and an edit to a function it did call stales
exactly the results that depend on it. :func:`data_fingerprint` covers the tensors a run was given,
so that a change upstream of training (a subset drawn differently) misses the run as well.

Names are dotted: ``losses.focal_loss``, ``loop.WeightAverage.update``; ``loop.WeightAverage``
stands for the class body without its methods and ``loop`` for the module's own statements
(constants, not imports). A method that ran brings its class body and its module's statements in.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import sys
from pathlib import Path

from .checks import boolean, checked, instance, optional, pathlike, string

PACKAGE = "dlcourse"
ROOT = Path(__file__).resolve().parent
# package data a module reads: part of that module's fingerprint (config prints the GPU estimate)
DATA_FILES = {"config": ("full_profile.json",)}


def module_names() -> list[str]:
    """Every module of the package, by its short name (``"losses"``, ``"__init__"``, ...)."""
    return sorted(path.stem for path in ROOT.glob("*.py"))


@checked(code=string, package_relative=boolean)
def imported_modules(code: str, *, package_relative: bool = False) -> set[str]:
    """The dlcourse modules that ``code`` imports (``from dlcourse import x``, ``import dlcourse.x``,
    and, inside the package, ``from . import x`` / ``from .x import y``)."""
    found: set[str] = set()
    known = set(module_names())
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise ValueError(f"code must be Python source, got a syntax error: {err}") from None
    for node in ast.walk(tree):
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


def code_hash() -> str:
    """SHA-256 of every source file of the package (and its data files): names the exact library
    a page was executed with, so that Colab installs that one (reproducible from a checkout)."""
    digest = hashlib.sha256()
    for name in module_names():
        digest.update(f"{PACKAGE}/{name}.py".encode() + b"\0" + (ROOT / f"{name}.py").read_bytes())
        for file in DATA_FILES.get(name, ()):
            if (ROOT / file).exists():  # older commits predate the file
                digest.update(f"{PACKAGE}/{file}".encode() + b"\0" + (ROOT / file).read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- definitions

def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest()[:16]


def _without_docstring(body: list) -> list:
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        body = body[1:]
    return body or [ast.Pass()]


def _strip_docstrings(node):
    for inner in ast.walk(node):
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            inner.body = _without_docstring(inner.body)
    return node


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


@functools.lru_cache(maxsize=256)
def _hashes_of_text(module: str, text: str) -> dict[str, str]:
    tree = _strip_docstrings(ast.parse(text))
    found: dict[str, str] = {}

    def visit_class(prefix: str, node: ast.ClassDef) -> None:
        name = f"{prefix}.{node.name}"
        for inner in node.body:
            if isinstance(inner, _DEFS):
                found[f"{name}.{inner.name}"] = _digest(ast.dump(inner))
            elif isinstance(inner, ast.ClassDef):
                visit_class(name, inner)
        node.body = [s for s in node.body if not isinstance(s, (*_DEFS, ast.ClassDef))] or [ast.Pass()]
        found[name] = _digest(ast.dump(node))

    own = []
    for node in tree.body:
        if isinstance(node, _DEFS):
            found[f"{module}.{node.name}"] = _digest(ast.dump(node))
        elif isinstance(node, ast.ClassDef):
            visit_class(module, node)
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            own.append(node)
    # the module's own statements, with the module's functions they call at import (an op table
    # built by a helper): import-time calls are not recorded as running (see _trace)
    called = sorted({n.func.id for stmt in own for n in ast.walk(stmt)
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                     and f"{module}.{n.func.id}" in found})
    found[module] = _digest(ast.dump(ast.Module(body=own, type_ignores=[]))
                            + "".join(found[f"{module}.{name}"] for name in called))
    return found


def _module_file(module: str) -> Path:
    """The source file of dotted module ``module`` inside the package (``"explore.losses"``)."""
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@checked(module=string)
def definition_hashes(module: str) -> dict[str, str]:
    """Hash of every definition in dlcourse module ``module`` (``"losses"``, ``"explore.losses"``),
    by dotted name: functions, methods, class bodies without their methods, the module's own
    statements, and the data files it reads (``config/full_profile.json``). Docstrings and
    comments do not count."""
    path = _module_file(module)
    if not path.exists():
        return {}
    found = dict(_hashes_of_text(module, path.read_text(encoding="utf-8")))
    for file in DATA_FILES.get(module, ()):
        data = path.parent / file
        found[f"{module}/{file}"] = _digest(data.read_bytes()) if data.exists() else "missing"
    return found


def _module_of(name: str) -> str:
    """The module part of a definition's dotted name: its longest prefix that is a module."""
    parts = name.split("/")[0].split(".")
    for k in range(len(parts), 0, -1):
        if _module_file(".".join(parts[:k])).exists():
            return ".".join(parts[:k])
    return parts[0]


@checked(name=string)
def current_hash(name: str) -> str | None:
    """The hash that definition ``name`` (``"losses.focal_loss"``) has now; None if it is gone."""
    return definition_hashes(_module_of(name)).get(name)


def _name_to_hash(value, name: str, arguments=None) -> dict:
    """Spec: a recorded ``{definition name: hash}`` dict."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise ValueError(f"{name} must be a dict of definition names to hashes, got {value!r}")
    return value


@checked(hashes=_name_to_hash)
def changed(hashes: dict[str, str]) -> list[str]:
    """The names in a recorded ``{name: hash}`` whose definition differs now (or is gone)."""
    return sorted(name for name, value in hashes.items() if current_hash(name) != value)


def _names_of(code) -> list[str]:
    """The definitions that a code object ran: itself (up to its enclosing def), its classes, its
    module's statements (and the module's data files)."""
    relative = Path(code.co_filename).relative_to(_PREFIX).with_suffix("")
    module = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
    if module == "sources":  # the recorder itself: it measures the run, it does not shape it
        return []
    qualname = getattr(code, "co_qualname", code.co_name).split(".<locals>")[0]
    if qualname == "<module>":
        return [module]
    parts = qualname.split(".")
    names = [module] + [".".join([module, *parts[:k]]) for k in range(1, len(parts) + 1)]
    return names + [f"{module}/{file}" for file in DATA_FILES.get(module, ())]


# --------------------------------------------------------------------------- recording

_ACTIVE: list["CodeRecord"] = []
_PREFIX = str(ROOT) + "/"
_FUNCTION = inspect.CO_NEWLOCALS


def _importing(frame) -> bool:
    """Whether a dlcourse module's body is executing below this frame (an import in progress)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and code.co_filename.startswith(_PREFIX):
            return True
        frame = frame.f_back
    return False


def _trace(frame, event, arg):
    # the global trace function sees one "call" per Python frame and no C calls, which makes it
    # several times cheaper than a profile function; returning None asks for no line events
    code = frame.f_code
    if (code.co_flags & _FUNCTION and code.co_filename.startswith(_PREFIX)
            and code.co_filename != __file__ and not _importing(frame.f_back)):
        # functions only: a module's or class's body runs at import, whether or not it is used,
        # and what a module body calls while it is imported builds module-level objects (specs,
        # tables) whether or not the run uses them; a function that runs brings its class body
        # and module statements in (_names_of)
        for record in _ACTIVE:
            record.codes.add(code)
    return _CHAINED(frame, event, arg) if _CHAINED is not None else None


_CHAINED = None


class CodeRecord:
    """The dlcourse code that ran between :meth:`start` and :meth:`stop` (also as ``with``), plus
    the code of cached runs that were reused in the meantime (:func:`reused`).

    ``hashes()`` gives ``{name: hash}`` for every definition that ran; ``cached_runs`` counts the
    finished runs that were loaded instead of trained, ``resumed_runs`` those continued part way.
    Recording costs one Python call per Python function call in the recording thread (a trace
    function that asks for no line events; a debugger's or coverage tool's tracer is chained).
    """

    def __init__(self):
        self.codes: set = set()
        self.inherited: dict[str, str] = {}
        self.cached_runs = 0
        self.resumed_runs = 0

    def start(self) -> "CodeRecord":
        global _CHAINED
        if not _ACTIVE:
            previous = sys.gettrace()
            _CHAINED = None if previous is _trace else previous
            sys.settrace(_trace)
        if self not in _ACTIVE:
            _ACTIVE.append(self)
        frame = sys._getframe(1)  # the callers running now (run_steps, fit, ...) ran too
        while frame is not None:
            if frame.f_code.co_flags & _FUNCTION and frame.f_code.co_filename.startswith(_PREFIX):
                self.codes.add(frame.f_code)
            frame = frame.f_back
        return self

    def stop(self) -> "CodeRecord":
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if not _ACTIVE and sys.gettrace() is _trace:
            sys.settrace(_CHAINED)
        return self

    __enter__ = start

    def __exit__(self, *exc) -> None:
        self.stop()

    def names(self) -> set[str]:
        return set(self.inherited) | {n for code in list(self.codes) for n in _names_of(code)}

    def hashes(self) -> dict[str, str]:
        """``{name: hash}`` of every definition that ran (the current hash of each; a name whose
        definition is gone keeps the hash it was inherited with)."""
        found = dict(self.inherited)
        for name in self.names() - set(self.inherited):
            value = current_hash(name)
            if value is not None:
                found[name] = value
        return dict(sorted(found.items()))


@checked(hashes=_name_to_hash, finished=boolean)
def reused(hashes: dict[str, str], *, finished: bool) -> None:
    """A run made by the code ``hashes`` was loaded from a checkpoint: every active record inherits
    that code, and counts a cached (``finished``) or resumed run."""
    for record in _ACTIVE:
        record.inherited.update(hashes)
        if finished:
            record.cached_runs += 1
        else:
            record.resumed_runs += 1


_SESSION: CodeRecord | None = None


RECORD_FILE_VARIABLE = "DLCOURSE_CODE_RECORD_FILE"


def session_record() -> CodeRecord:
    """The record of this whole process, started on first call. ``make execute`` sets
    ``DLCOURSE_CODE_RECORD_FILE``, so that importing dlcourse starts it, and after the last cell
    calls :func:`write_session_record` for the notebook's metadata."""
    global _SESSION
    if _SESSION is None:
        _SESSION = CodeRecord().start()
    return _SESSION


@checked(path=optional(pathlike))
def write_session_record(path=None) -> dict:
    """Write what this process ran (``code``: ``{name: hash}``, ``cached_runs``, ``resumed_runs``)
    as JSON to ``path`` (default: the file named by ``DLCOURSE_CODE_RECORD_FILE``)."""
    import json
    import os

    record = session_record()
    found = {"code": record.hashes(), "cached_runs": record.cached_runs,
             "resumed_runs": record.resumed_runs}
    target = path or os.environ.get(RECORD_FILE_VARIABLE)
    if not target:
        raise ValueError(f"path must name a file (or set {RECORD_FILE_VARIABLE})")
    Path(target).write_text(json.dumps(found, indent=1, sort_keys=True), encoding="utf-8")
    return found


# --------------------------------------------------------------------------- data

def data_fingerprint(*tensors) -> str:
    """16 hex digits of SHA-256 over the dtype, shape and values of ``tensors`` (on the CPU): the
    data a run was given, so that other data of the same shape is another run."""
    import torch

    digest = hashlib.sha256()
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"tensors must be torch tensors, got {type(t).__name__}")
        digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
        flat = t.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    return digest.hexdigest()[:16]
