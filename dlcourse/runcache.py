"""The run cache (``dlcourse.runcache``): one folder per training run, named by its settings.

A run's folder is ``$DLCOURSE_DATA/runs/<chapter>/<key>/``, where the key is the SHA-256 of the
run's settings (a dict of *every* setting: learning rate, schedule, batch size, model and widths,
loss weights, seed, dataset, profile, ...), written beside the result as readable JSON
(``settings.json``). What the settings cannot say is checked when the run is reused: the
checkpoint records a fingerprint of the data the trainer was given and the dlcourse code that
executed (:mod:`dlcourse.sources`), and :func:`dlcourse.loop.run_steps` trains the entry afresh
when either differs now. One process trains an entry at a time (a lock beside the checkpoint); a
second one waits, then uses the finished run. Chapters never compute a key or a file name.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from . import data
from .checks import checked, optional, pathlike
from .loop import RUN_RECORD, CheckpointError, settings_text

CHECKPOINT_FILE = "checkpoint.pt"


def run_key(settings: dict) -> str:
    """The cache key of a run: 16 hex digits of SHA-256 over the canonical JSON of ``settings``."""
    return hashlib.sha256(settings_text(settings).encode()).hexdigest()[:16]


def _write_record(path: Path, record: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@checked(root=optional(pathlike))
def run_dir(chapter: str, settings: dict, modules=None, *, root=None) -> Path:
    """The folder of the run made with ``settings`` (created, with its ``settings.json``):
    ``<root or data_dir()>/runs/<chapter>/<key>/``.

    ``modules`` is accepted and ignored: pages executed before the code that ran was recorded
    named the library modules of a run here by hand; :mod:`dlcourse.sources` now records them.
    """
    if not isinstance(chapter, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", chapter):
        raise ValueError(f"chapter must be a folder name such as '02_iic', got {chapter!r}")
    base = Path(root if root is not None else data.data_dir())
    if base.exists() and not base.is_dir():
        raise ValueError(f"root must be a folder, got the file {str(base)!r}")
    folder = base / "runs" / chapter / run_key(settings)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"settings": json.loads(settings_text(settings))}
    path = folder / RUN_RECORD
    if not path.exists():
        _write_record(path, record)
        return folder
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"the run record {str(path)!r} is damaged ({err}); delete the folder "
                              f"{str(folder)!r} to train this run afresh") from err
    if not isinstance(found, dict) or found.get("settings") != record["settings"]:
        raise CheckpointError(f"the run record {str(path)!r} does not hold this run's settings; "
                              f"delete the folder {str(folder)!r} to train this run afresh")
    return folder


@checked(root=optional(pathlike))
def checkpoint(chapter: str, settings: dict, modules=None, *, root=None) -> Path:
    """The checkpoint file of that run (``run_dir(...) / "checkpoint.pt"``): pass it to
    ``train.fit``, ``iic.train`` or ``ssl.fit_ssl``, which resume from it or start afresh."""
    return run_dir(chapter, settings, modules, root=root) / CHECKPOINT_FILE
