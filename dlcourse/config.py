"""Run-time settings shared by every chapter: profile, dataset choice, device, seeds, provenance.

A chapter reads one setting, ``DLCOURSE_PROFILE`` (``smoke``, ``quick`` or ``full``; ``quick`` when
unset, also on a GPU), and picks every budget from it with :func:`pick`, so one notebook serves CI,
a laptop and a GPU.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import random

import numpy as np
import torch

from .checks import checked, optional, string

PROFILES = ("smoke", "quick", "full")


def profile() -> str:
    """The current profile: ``DLCOURSE_PROFILE`` if set, else ``quick`` (with or without a GPU).

    ``full`` is opt-in: it runs the paper's protocol, hours of GPU time, so a reader who opens a
    chapter on a Colab GPU gets minutes of training unless they ask for more.
    """
    value = os.environ.get("DLCOURSE_PROFILE", "").strip().lower()
    if not value:
        return "quick"
    if value not in PROFILES:
        raise ValueError(f"DLCOURSE_PROFILE must be one of {PROFILES}, got {value!r}")
    return value


def pick(*, smoke, quick, full):
    """Return the value given for the current profile, e.g. ``epochs = pick(smoke=1, quick=15, full=100)``."""
    return {"smoke": smoke, "quick": quick, "full": full}[profile()]


def _dataset_name(value, name: str, arguments=None) -> str:
    """Spec: a dataset name of :mod:`dlcourse.data`."""
    from .data import DATASETS  # local import, as in dataset() below

    if value not in DATASETS:
        raise ValueError(f"{name} must be one of {sorted(DATASETS)}, got {value!r}")
    return value


@checked(smoke=_dataset_name, quick=_dataset_name, full=_dataset_name)
def dataset(*, smoke: str, quick: str, full: str) -> str:
    """A chapter's dataset name for the current profile; ``DLCOURSE_DATASET`` overrides it.

    The override lets a ``full`` run on a machine without network use an offline dataset
    (the provenance banner then says which dataset was really used).
    """
    override = os.environ.get("DLCOURSE_DATASET", "").strip()
    if override:
        from .data import DATASETS  # local import: data imports config

        if override not in DATASETS:
            raise ValueError(f"DLCOURSE_DATASET must be one of {sorted(DATASETS)}, got {override!r}")
        return override
    return pick(smoke=smoke, quick=quick, full=full)


def full_profile_estimate(chapter: str) -> dict | None:
    """The estimated GPU time of ``chapter``'s ``full`` profile (e.g. ``"02_iic"``), or None.

    The record (``flops_per_step``, ``steps``, ``runs``, ``batch``, ``cpu_steps_per_s``,
    ``t4_minutes``, ``a100_minutes``, ``basis``) comes from ``dlcourse/full_profile.json``, written by
    ``benchmarks/full_profile_estimate.py`` (FLOPs counted per training step, at a stated share of
    each GPU's peak), so a chapter can say "about N GPU-minutes on a T4" with its basis.
    """
    if not isinstance(chapter, str) or not chapter.strip():
        raise ValueError(f"chapter must be a chapter name such as '02_iic', got {chapter!r}")
    from importlib import resources

    try:
        text = resources.files(__package__).joinpath("full_profile.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text).get("chapters", {}).get(chapter.strip())


def device() -> torch.device:
    """The device chapters compute on: CUDA when available, else Apple MPS, else CPU.

    ``DLCOURSE_DEVICE`` (e.g. ``cpu``) forces a choice.
    """
    forced = os.environ.get("DLCOURSE_DEVICE", "").strip()
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that CPU runs repeat exactly."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@checked(dataset_name=optional(string))
def provenance(dataset_name: str | None = None) -> dict:
    """What produced this run's numbers: profile, device, dataset, versions and date."""
    from . import __version__

    dev = device()
    if dev.type == "cuda":
        dev_name = torch.cuda.get_device_name(dev)
    else:  # on a CPU, timings depend on how many threads the run was given
        threads = torch.get_num_threads()
        dev_name = f"{platform.processor() or platform.machine()}, {threads} thread{'s' * (threads > 1)}"
    return {
        "profile": profile(),
        "device": f"{dev.type} ({dev_name})",
        "dataset": dataset_name or "-",
        "dlcourse": __version__,
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _minutes(value: float) -> str:
    return f"{value / 60:.1f} h" if value >= 90 else f"{max(1, round(value))} min"


@checked(dataset_name=optional(string))
def banner(dataset_name: str | None = None, chapter: str | None = None) -> dict:
    """Print the provenance every chapter shows first (two short lines), and return it as a dict.

    With ``chapter`` (e.g. ``"02_iic"``) and a profile other than ``full``, a third line gives the
    full profile's estimated GPU time (:func:`full_profile_estimate`), so a reader knows what
    un-commenting the chapter's ``full`` line costs. When ``DLCOURSE_PROVENANCE_FILE`` is set
    (``make execute`` sets it) the record is written there too, for the notebook's metadata.
    """
    info = provenance(dataset_name)
    print(f"profile={info['profile']} | dataset={info['dataset']} | device={info['device']}\n"
          f"dlcourse {info['dlcourse']} | torch {info['torch']} | {info['date']}")
    estimate = full_profile_estimate(chapter) if chapter is not None else None
    if estimate and info["profile"] != "full":
        print(f"full profile (opt-in, GPU): about {_minutes(estimate['t4_minutes'])} on a T4, "
              f"{_minutes(estimate['a100_minutes'])} on an A100 (estimate from counted FLOPs; "
              f"see the teaching page)")
    target = os.environ.get("DLCOURSE_PROVENANCE_FILE")
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(info, fh)
    return info
