"""The one step-based training loop of dlcourse, and what every loop needs around it.

:func:`run_steps` carries what ``train.fit``, ``iic.train`` and ``ssl.fit_ssl`` share: resume
from a checkpoint, periodic atomic checkpoints that record the settings and the step they were
made at, a callback at report points, a stop at the first non-finite loss, and a progress bar.
:func:`precision_for` is the one place that decides mixed precision; :class:`WeightAverage` the one
moving average of a model's weights.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import torch
from tqdm.auto import tqdm

from . import sources
from .checks import (boolean, check_bool, check_number, checked, function, instance, nonneg_int, optional,
                     pathlike, sequence, string, tensor, torch_device)

CHECKPOINT_FORMAT = 3
# beside a checkpoint, this file marks a run-cache entry (dlcourse.runcache): there a checkpoint
# made by other code, data or settings is replaced by a fresh run instead of refused
RUN_RECORD = "settings.json"
# how often, at most, run_steps reads whether a loss was not finite (a device sync)
CHECK_EVERY = 50
# optimiser hyper-parameters worth recording (not torch-version flags such as ``foreach``)
OPTIMIZER_SETTINGS = ("lr", "initial_lr", "momentum", "dampening", "weight_decay", "nesterov",
                      "betas", "eps", "amsgrad", "alpha", "centered")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, or made with other settings or more steps."""


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; no checkpoint was written for that step."""


def progress_disabled() -> bool:
    """True when ``TQDM_DISABLE`` is set (``make execute`` sets it: no stale bars in the book).

    tqdm's notebook bar ignores that variable on its own, so every bar in dlcourse asks here.
    """
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")


# --------------------------------------------------------------------------- precision

@dataclass(frozen=True)
class Precision:
    """How a loop computes: ``dtype`` of autocast (None: full float32), a ``GradScaler``
    (enabled only for float16 on CUDA) and ``autocast()``, a fresh context per use."""
    device_type: str
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler

    def __post_init__(self):
        torch_device(self.device_type, "device_type")
        if self.dtype is not None and not isinstance(self.dtype, torch.dtype):
            raise ValueError(f"dtype must be None or a torch.dtype, got {self.dtype!r}")
        instance(torch.amp.GradScaler)(self.scaler, "scaler", {})

    def autocast(self):
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    @checked(loss=tensor(), optimizer=instance(torch.optim.Optimizer))
    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """One optimiser step on ``loss``: clear the gradients, back-propagate (scaled when float16
        needs it: T4, V100), step and update the scale. Every trainer steps through here."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    @property
    def settings(self) -> dict:
        """What a checkpoint records of it: resuming in another precision (a run cache on
        Drive, reopened on another GPU type) is refused instead of mixing the two."""
        dtype = "float32" if self.dtype is None else str(self.dtype).replace("torch.", "")
        return {"precision": dtype, "loss_scaling": self.scaler.is_enabled()}


@checked(device=torch_device, enabled=optional(boolean))
def precision_for(device, enabled: bool | None = None) -> Precision:
    """The mixed precision of a loop on ``device`` (on by default on CUDA, off elsewhere).

    CUDA with compute capability >= 8.0 (A100, H100, RTX 30xx+): bfloat16 autocast, no scaler.
    Older GPUs (V100 sm70, T4 sm75): float16 autocast with an enabled ``GradScaler`` — they have
    no native bfloat16 (``torch.cuda.is_bf16_supported()`` may say True there: emulated, slow).
    CPU: nothing unless ``enabled=True``, then bfloat16 CPU autocast.
    """
    use = (device.type == "cuda") if enabled is None else enabled
    if not use:
        return Precision(device.type, None, torch.amp.GradScaler("cuda", enabled=False))
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        if (major, minor) >= (8, 0):
            return Precision("cuda", torch.bfloat16, torch.amp.GradScaler("cuda", enabled=False))
        return Precision("cuda", torch.float16, torch.amp.GradScaler("cuda", enabled=True))
    return Precision(device.type, torch.bfloat16, torch.amp.GradScaler("cuda", enabled=False))


# --------------------------------------------------------------------------- checkpoints

class WeightAverage(torch.nn.Module):
    """Polyak averaging of a model's weights, used for evaluation (the mean teacher of
    ``ssl.fit_ssl``; Glow and Flow++ evaluate and sample with it): an exponential moving average
    ``avg = d * avg + (1 - d) * w`` of every parameter, updated by :meth:`update` after each
    optimiser step; buffers (batch-norm statistics, ActNorm's flag) are copied. With ``warmup``
    the decay is ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so that the early
    average does not remember the random start for ``1 / (1 - decay)`` steps, and the first
    update copies; without it ``d = decay`` from the start (the semi-supervised papers' EMA).

    ``average`` is a frozen copy of the model (evaluate and sample with it). The class is a
    module, so that a checkpoint of a module holding both keeps the average with the weights.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.999, warmup: bool = True):
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
        self.decay = check_number(decay, "decay", 0.0, 1.0, high_open=True)
        self.warmup = check_bool(warmup, "warmup")
        self.average = copy.deepcopy(model).eval()
        for p in self.average.parameters():
            p.requires_grad_(False)
        self.register_buffer("updates", torch.tensor(0, dtype=torch.long))

    def train(self, mode: bool = True):
        """The average is always in evaluation mode."""
        super().train(mode)
        self.average.eval()
        return self

    @torch.no_grad()
    @checked(model=instance(torch.nn.Module))
    def update(self, model: torch.nn.Module) -> None:
        mine, theirs = list(self.average.parameters()), list(model.parameters())
        if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs)):
            raise ValueError("model must have the parameters of the averaged model")
        n = int(self.updates)
        d = self.decay if not self.warmup else 0.0 if n == 0 else min(self.decay, (1 + n) / (10 + n))
        for a, p in zip(mine, theirs):
            a.lerp_(p.detach(), 1 - d)
        for a, b in zip(self.average.buffers(), model.buffers()):
            a.copy_(b)
        self.updates += 1


@checked(path=pathlike, state=instance(dict))
def save_checkpoint(path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file of this process in the same
    folder, then rename (two processes saving at once never share a temporary file)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path must name a file, got the folder {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@checked(path=pathlike)
def load_checkpoint(path, map_location=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors and plain data only).

    A file that cannot be read as one (truncated, not a torch file, not a dict) raises
    :class:`CheckpointError` naming it; a ``map_location`` torch does not know raises
    ``ValueError`` naming ``map_location`` (the file is not at fault).
    """
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        try:
            torch.device(map_location)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"map_location must name a device such as 'cpu' or 'cuda:0', "
                             f"got {map_location!r}") from err
    try:
        saved = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure to read the file is the file's
        raise CheckpointError(
            f"checkpoint {str(path)!r} is damaged or not a torch file ({type(err).__name__} "
            f"when loading it); delete it to train afresh") from err
    if not isinstance(saved, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} holds a {type(saved).__name__}, not a "
                              f"checkpoint dict; delete it to train afresh")
    return saved


@checked(model=optional(instance(torch.nn.Module)),
         optimizer=optional(instance(torch.optim.Optimizer)))
def describe(model: torch.nn.Module | None = None,
             optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Settings a loop can read for itself: the model's class and size, the optimiser's class
    and hyper-parameters (as they are when the loop starts)."""
    found: dict = {}
    if model is not None:
        shapes = [list(p.shape) for p in model.state_dict().values()]
        found["model"] = type(model).__name__
        found["model_size"] = [len(shapes), sum(int(torch.Size(s).numel()) for s in shapes)]
    if optimizer is not None:
        found["optimizer"] = type(optimizer).__name__
        found["optimizer_groups"] = [
            {k: list(v) if isinstance(v, tuple) else v for k, v in group.items()
             if k in OPTIMIZER_SETTINGS and not isinstance(v, torch.Tensor)}
            for group in optimizer.param_groups]
    return found


def settings_text(settings: dict) -> str:
    """``settings`` as canonical JSON (sorted keys, tuples as lists); ValueError if not JSON."""
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a dict, got {type(settings).__name__}")
    try:
        return json.dumps(settings, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise ValueError(f"settings must hold only JSON values (numbers, strings, lists, "
                         f"dicts), got {settings!r}: {err}") from err


def _plain(value, depth: int = 0):
    """A JSON-able description of a value a loss or callback closes over: numbers and strings as
    they are, tuples of them, tensors by fingerprint, functions by :func:`describe_callable`, and
    anything else (a model, a list a callback appends to) by its type only."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return f"tensor {sources.data_fingerprint(value)}"
    if isinstance(value, tuple) and len(value) <= 64 and depth < 3:
        return [_plain(v, depth + 1) for v in value]
    if callable(value) and depth < 3 and not isinstance(value, torch.nn.Module):
        return describe_callable(value, depth + 1)
    return type(value).__name__


def _code_digest(code) -> str:
    """A function's bytecode, constants and names (nested functions included; not line numbers)."""
    digest = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        digest.update(_code_digest(const).encode() if hasattr(const, "co_code") else repr(const).encode())
    digest.update(repr(code.co_names).encode())
    return digest.hexdigest()[:16]


@checked(fn=function, depth=nonneg_int)
def describe_callable(fn, depth: int = 0) -> dict | str:
    """What a loss function or callback is, for a checkpoint's settings: its name, a digest of its
    code and the values it closes over (``gamma`` in ``lambda m, x, y: focal(m(x), y, gamma)``),
    or a partial's function and arguments; resuming with another one is then refused by name."""
    if isinstance(fn, functools.partial):
        return {"partial": describe_callable(fn.func, depth + 1),
                "args": _plain(tuple(fn.args), depth + 1),
                "keywords": {k: _plain(v, depth + 1) for k, v in sorted(fn.keywords.items())}}
    code = getattr(fn, "__code__", None)
    if code is None:  # a callable object (nn.CrossEntropyLoss(), a class instance)
        return f"{type(fn).__module__}.{type(fn).__qualname__}"
    closure = dict(zip(code.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    return {"function": f"{fn.__module__}.{fn.__qualname__}", "code": _code_digest(code),
            "closure": {k: _plain(v, depth + 1) for k, v in sorted(closure.items())},
            "defaults": _plain(tuple(fn.__defaults__ or ()), depth + 1)}


def _differences(old: dict, new: dict) -> str:
    keys = sorted(set(old) | set(new))
    diff = [f"{k}: {old.get(k, '<absent>')!r} there, {new.get(k, '<absent>')!r} now"
            for k in keys if old.get(k, "<absent>") != new.get(k, "<absent>")]
    return "; ".join(diff)


def _state_of(thing):
    if isinstance(thing, torch.Generator):
        return thing.get_state()
    return thing.state_dict()


def _restore(thing, saved) -> None:
    if isinstance(thing, torch.Generator):
        thing.set_state(saved.to(thing.get_state().device))
    else:
        thing.load_state_dict(saved)


def _weights_finite(state: dict) -> bool:
    """True when every parameter of every module in ``state`` is finite (one device sync)."""
    checks = [torch.isfinite(p.detach()).all() for thing in state.values()
              if isinstance(thing, torch.nn.Module) for p in thing.parameters()]
    return bool(torch.stack(checks).all()) if checks else True


def _data_finite(data) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in data if t.is_floating_point())


class _Lock:
    """An inter-process lock on a checkpoint (``<checkpoint>.lock``): one process trains a run at a
    time; another waits, says so, then resumes or reuses what the first one left."""

    def __init__(self, checkpoint, desc: str):
        from filelock import FileLock, Timeout
        self.lock, self.timeout, self.desc = FileLock(str(checkpoint) + ".lock"), Timeout, desc
        self.path = checkpoint

    def __enter__(self):
        try:
            self.lock.acquire(timeout=0)
        except self.timeout:
            tqdm.write(f"{self.desc}: another process is training {str(self.path)!r}; "
                       f"waiting for it to finish")
            self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()


# --------------------------------------------------------------------------- the loop

@checked(step_fn=function, steps=nonneg_int, state=instance(dict), checkpoint=optional(pathlike),
         settings=optional(instance(dict)), data=sequence(tensor(), min_length=0), every=nonneg_int,
         checkpoint_every=nonneg_int, callback=optional(function), device=optional(torch_device),
         desc=string)
def run_steps(step_fn: Callable[[int], tuple], *, steps: int, state: dict,
              checkpoint=None, settings: dict | None = None, data=(), every: int = 0,
              checkpoint_every: int = 0, callback=None, device=None,
              desc: str = "training") -> list[dict]:
    """Call ``step_fn(step)`` for ``step`` in ``range(steps)`` and return the history.

    ``step_fn`` does one optimiser step and returns ``(loss, parts)``: the scalar loss and a dict
    of scalar tensors averaged into the records. Every ``every`` steps (0: never) and after the
    last, a record ``{"step", <parts' means>, "seconds"}`` (seconds of training since the start,
    across resumes; the callbacks' own time left out) is
    made, ``callback(step, record)`` may add numbers to it, and it is appended to the history.

    A non-finite loss or non-finite weights raise :class:`TrainingDiverged` naming the step at
    which the loss first went non-finite (or, for an error inside a step while ``data`` holds
    NaN/inf, that step); the modules in ``state`` then hold weights checked finite (a copy taken
    at most every ``CHECK_EVERY`` steps and at checkpoints). The check is read at every record and
    checkpoint and every ``CHECK_EVERY`` steps, never per step: no step waits for the device.

    ``state`` names everything a resume must restore (modules, optimisers, schedulers, scalers,
    ``torch.Generator``\\ s, any object with ``state_dict``/``load_state_dict``); the global CPU
    and CUDA random states are saved too. With ``checkpoint`` set, all of it is written
    atomically at every record and every ``checkpoint_every`` steps, with ``settings`` (a JSON
    dict), a fingerprint of ``data`` (the tensors the run trains on), the step count and the
    dlcourse code that ran (:class:`dlcourse.sources.CodeRecord`); an existing file is resumed
    from, under a lock, so a second process waits for the first. A checkpoint made with other
    settings or data, by other dlcourse code, or at more steps than ``steps`` raises
    :class:`CheckpointError` (a ``ValueError``) naming what differs; in a run-cache entry
    (:mod:`dlcourse.runcache`) it is replaced by a fresh run instead. It never returns another model.
    """
    settings_text(settings or {})
    if not state:
        raise ValueError(f"state must be a non-empty dict of what a resume restores, got {state!r}")
    data = tuple(data)
    settings = dict(settings or {})
    if data:
        settings["data"] = sources.data_fingerprint(*data)
    recorded = settings_text(settings)
    lock = _Lock(checkpoint, desc) if checkpoint is not None else nullcontext()
    with lock, sources.CodeRecord() as code:
        return _run(step_fn, steps, state, checkpoint, recorded, data, every, checkpoint_every,
                    callback, device, desc, code)


def _resumable(checkpoint, recorded: str, steps: int, state: dict, device, desc: str):
    """The saved checkpoint to resume from, or None to start afresh (a run-cache entry made by
    other settings, data or code); CheckpointError for any other checkpoint that does not fit."""
    if checkpoint is None or not Path(checkpoint).exists():
        return None
    saved = load_checkpoint(checkpoint, map_location=device)
    fix = "delete it to train afresh, or pass another checkpoint path"
    problem = None
    changed = sources.changed(saved["code"]) if saved.get("format") == CHECKPOINT_FORMAT else []
    if saved.get("format") != CHECKPOINT_FORMAT:
        problem = ("was written by an older dlcourse (it records neither its data nor the code "
                   "that made it)")
    elif saved["settings"] != recorded:
        problem = (f"was made with other settings "
                   f"({_differences(json.loads(saved['settings']), json.loads(recorded))})")
    elif changed:
        problem = f"was made by other dlcourse code (changed since: {', '.join(changed)})"
    elif saved["step"] > steps:
        problem = (f"holds {saved['step']} steps, more than the {steps} asked for "
                   f"(ask for {saved['step']} or more)")
    elif set(saved["state"]) != set(state):
        problem = f"holds state {sorted(saved['state'])}, not {sorted(state)}"
    if problem is None:
        return saved
    if (Path(checkpoint).parent / RUN_RECORD).exists():
        tqdm.write(f"{desc}: the cached run {str(checkpoint)!r} {problem}; training it afresh")
        return None
    raise CheckpointError(f"checkpoint {str(checkpoint)!r} {problem}; {fix}")


def _run(step_fn, steps, state, checkpoint, recorded, data, every, checkpoint_every, callback,
         device, desc, code) -> list[dict]:
    history: list[dict] = []
    start, elapsed, count = 0, 0.0, 0
    sums: dict[str, torch.Tensor] = {}
    inherited: dict[str, str] = {}

    saved = _resumable(checkpoint, recorded, steps, state, device, desc)
    if saved is not None:
        for name, thing in state.items():
            _restore(thing, saved["state"][name])
        torch.set_rng_state(saved["torch_rng"].cpu())
        cuda_rng = saved.get("cuda_rng")
        if cuda_rng and torch.cuda.is_available() and len(cuda_rng) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda_rng])
        history, start = saved["history"], saved["step"]
        elapsed, count, sums = saved["elapsed"], saved["count"], saved["sums"]
        inherited = saved["code"]
        sources.reused(inherited, finished=start == steps)

    def snapshot() -> dict:
        return {name: copy.deepcopy(_state_of(thing)) for name, thing in state.items()}

    def diverged(message: str) -> TrainingDiverged:
        for name, thing in state.items():  # back to the last weights checked finite
            _restore(thing, last_good[name])
        return TrainingDiverged(f"{desc}: {message}; stopped, no checkpoint written for it, and "
                                f"the model holds the weights of step {last_good_step}, "
                                f"checked finite. Likely causes: NaN/inf in the data, a NaN or inf "
                                f"setting (a loss weight such as lambda_u=nan), or a learning rate "
                                f"too high.")

    def save(done: int) -> None:
        save_checkpoint(checkpoint, {
            "format": CHECKPOINT_FORMAT, "settings": recorded, "step": done,
            "code": {**inherited, **code.hashes()},
            "state": {name: _state_of(thing) for name, thing in state.items()},
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "history": history, "elapsed": elapsed, "count": count, "sums": sums})

    last_good, last_good_step = snapshot(), start
    # the first step whose loss was not finite, kept on the loss's device (-1: none yet): read at
    # records, checkpoints and every CHECK_EVERY steps, so that no step waits for the device
    first_bad = taken = None

    def check(done: int) -> None:
        """Raise TrainingDiverged if a loss so far, or the weights now, are not finite."""
        if first_bad is not None and int(first_bad) >= 0:
            where = " (the data holds NaN or inf values)" if data and not _data_finite(data) else ""
            raise diverged(f"the loss became NaN or inf at step {int(first_bad) + 1} "
                           f"(of {steps}){where}")
        if not _weights_finite(state):
            raise diverged(f"the weights hold NaN or inf after step {done} (of {steps})")

    bar = tqdm(range(start, steps), desc=desc, initial=start, total=steps,
               disable=progress_disabled())
    began = time.perf_counter()
    for step in bar:
        try:
            loss, parts = step_fn(step)
        except (ValueError, FloatingPointError, RuntimeError) as err:
            if data and not _data_finite(data):
                raise diverged(f"step {step + 1} (of {steps}) failed ({type(err).__name__}: "
                               f"{err}) and the data holds NaN or inf values") from err
            if hasattr(err, "add_note"):  # Python 3.11+: say where, keep the error's type
                err.add_note(f"{desc}: raised at step {step + 1} (of {steps}); no checkpoint "
                             f"written for it.")
            raise
        finite = torch.isfinite(loss.detach()).all()
        if first_bad is None:
            first_bad = torch.full((), -1, dtype=torch.long, device=finite.device)
            taken = torch.full((), step - 1, dtype=torch.long, device=finite.device)
        taken += 1  # this step's index, counted on the device
        first_bad = torch.where((first_bad < 0) & ~finite, taken, first_bad)
        for k, v in parts.items():
            v = v.detach().float()
            sums[k] = sums[k] + v if k in sums else v
        count += 1
        done = step + 1
        is_record = (every and done % every == 0) or done == steps
        is_save = checkpoint is not None and (is_record or (checkpoint_every
                                                            and done % checkpoint_every == 0))
        if is_record or is_save or done % CHECK_EVERY == 0:
            check(done)
            if done - last_good_step >= CHECK_EVERY or is_save or done == steps:
                # a copy of the state checked finite, at most every CHECK_EVERY steps: copying
                # at every record would cost more than a small network's step
                last_good, last_good_step = snapshot(), done
        if is_record:
            record = {"step": done}
            record.update({k: (v / count).item() for k, v in sums.items()})
            record["seconds"] = elapsed + time.perf_counter() - began
            if callback is not None:
                extra = callback(done, record) or {}
                # plain Python numbers only: checkpoints load with weights_only=True
                record.update({k: v.item() if hasattr(v, "item") else v
                               for k, v in extra.items()})
            history.append(record)
            if sums:
                bar.set_postfix({next(iter(sums)): f"{record[next(iter(sums))]:.4f}"})
            sums, count, elapsed, began = {}, 0, record["seconds"], time.perf_counter()
        if is_save:
            now = time.perf_counter()
            elapsed, began = elapsed + now - began, now
            save(done)
    return history
