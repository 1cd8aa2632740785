"""The run cache (``dlcourse.runcache``): one folder per training run, named by all that made it.

A run's folder is ``$DLCOURSE_DATA/runs/<chapter>/<key>/``. The key is the SHA-256 of the run's
settings (a dict of *every* setting: learning rate, schedule, batch size, model and widths, loss
weights, seed, dataset, profile, ...) together with :func:`dlcourse.sources.code_hash` of the
library modules the run uses, so changing a setting or the library code trains afresh. The
settings are written beside the result as readable JSON (``settings.json``); chapters never
compute a key or a file name themselves.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from . import data, sources
from .loop import settings_text

SETTINGS_FILE = "settings.json"
CHECKPOINT_FILE = "checkpoint.pt"


def run_key(settings: dict, modules=None) -> str:
    """The cache key of a run: 16 hex digits of SHA-256 over the canonical JSON of ``settings``
    and the code hash of ``modules`` (dlcourse module names; None: the whole package)."""
    digest = hashlib.sha256()
    digest.update(settings_text(settings).encode())
    digest.update(b"\0" + sources.code_hash(modules).encode())
    return digest.hexdigest()[:16]


def run_dir(chapter: str, settings: dict, modules=None, *, root=None) -> Path:
    """The folder of the run made with ``settings`` by ``modules`` (created, with its
    ``settings.json``): ``<root or data_dir()>/runs/<chapter>/<key>/``."""
    if not isinstance(chapter, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", chapter):
        raise ValueError(f"chapter must be a folder name such as '02_iic', got {chapter!r}")
    key = run_key(settings, modules)
    folder = Path(root if root is not None else data.data_dir()) / "runs" / chapter / key
    folder.mkdir(parents=True, exist_ok=True)
    record = {"settings": json.loads(settings_text(settings)),
              "modules": "all" if modules is None else sorted(sources.dependencies(modules)),
              "code_hash": sources.code_hash(modules)}
    path = folder / SETTINGS_FILE
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    return folder


def checkpoint(chapter: str, settings: dict, modules=None, *, root=None) -> Path:
    """The checkpoint file of that run (``run_dir(...) / "checkpoint.pt"``): pass it to
    ``train.fit``, ``iic.train`` or ``ssl.fit_ssl``, which resume from it or start afresh."""
    return run_dir(chapter, settings, modules, root=root) / CHECKPOINT_FILE
