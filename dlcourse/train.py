"""Training: the one entry point :func:`run`, and :func:`fit`, the epoch loop most chapters use.

A kind of training is a :class:`Task` (the minibatch loss of a step, what else a resume needs);
:func:`run` takes its optimiser steps through :func:`dlcourse.loop.run_steps` (progress bar, stop
at a non-finite loss, mixed precision from :func:`~dlcourse.loop.precision_for`, atomic
checkpoints that resume after a Colab disconnect). ``fit``, ``iic.train`` and ``ssl.fit_ssl`` are
tasks on it. The data is on the device already: minibatches are index tensors, no ``DataLoader``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from .checks import (boolean, checked, function, instance, nonneg_int, optional, pathlike,
                     positive_int, sequence, string, tensor)
from .loop import (  # noqa: F401  (re-exported: chapters 5 and 6 use train.WeightAverage, ...)
    WeightAverage, describe, describe_callable, precision_for, run_steps)


@dataclass
class Task:
    """One kind of training, as :func:`run` takes it.

    ``loss(step)`` returns the minibatch loss of optimiser step ``step`` (0-based) and a dict of
    scalar parts averaged into the records; :func:`run` calls it under the model's mixed
    precision and then steps ``optimizer``. After each step ``average`` (a :class:`WeightAverage`)
    is updated and ``after_step(step)`` runs (a learning-rate schedule). ``report(step, record)``
    may add numbers to a record (an evaluation; the model is in eval mode meanwhile). ``data`` are
    the tensors it trains on (fingerprinted in the checkpoint), ``settings`` the rest of what
    defines the run, ``state`` what else a resume restores (the generators it draws from).
    """
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loss: Callable[[int], tuple]
    data: tuple = ()
    settings: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    after_step: Callable[[int], None] | None = None
    report: Callable[[int, dict], dict | None] | None = None
    average: WeightAverage | None = None

    def __post_init__(self):
        instance(torch.nn.Module)(self.model, "model", {})
        instance(torch.optim.Optimizer)(self.optimizer, "optimizer", {})
        function(self.loss, "loss", {})
        self.data = tuple(sequence(tensor(), min_length=0)(self.data, "data", {}))
        instance(dict)(self.settings, "settings", {})
        instance(dict)(self.state, "state", {})
        for name in ("after_step", "report"):
            optional(function)(getattr(self, name), name, {})
        optional(instance(WeightAverage))(self.average, "average", {})


@checked(task=instance(Task), steps=nonneg_int, every=nonneg_int, checkpoint=optional(pathlike),
         checkpoint_every=nonneg_int, amp=optional(boolean), desc=string)
def run(task: Task, *, steps: int, every: int = 0, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 0, amp: bool | None = None, desc: str = "training") -> list[dict]:
    """Train ``task`` for ``steps`` optimiser steps: the one training entry point of dlcourse.

    Returns a record every ``every`` steps and after the last: ``step``, the mean of the loss parts
    since the previous record, ``seconds`` of training since the start (across resumes, reports
    left out) and what ``task.report`` adds. With ``checkpoint`` set, everything (model, optimiser,
    loss scale, average, ``task.state``, random states) is saved atomically at each record and every
    ``checkpoint_every`` steps with the settings (``task.settings``, the precision, the model's
    size, the optimiser's hyper-parameters), the data's fingerprint and the dlcourse code that ran;
    a later call resumes from it, and one that does not fit raises
    :class:`~dlcourse.loop.CheckpointError` naming what differs (see :func:`~dlcourse.loop.run_steps`).
    """
    model, optimizer = task.model, task.optimizer
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else (task.data[0].device if task.data else None)
    precision = precision_for(device or "cpu", amp)
    state = {"model": model, "optimizer": optimizer, "scaler": precision.scaler, **task.state}
    if task.average is not None:
        state["average"] = task.average
    settings = {**task.settings, **precision.settings, **describe(model, optimizer)}

    def step(i: int):
        model.train()
        with precision.autocast():
            loss, parts = task.loss(i)
        precision.step(loss, optimizer)
        if task.average is not None:
            task.average.update(model)
        if task.after_step is not None:
            task.after_step(i)
        return loss, parts

    def report(done: int, record: dict):
        if task.report is None:
            return None
        model.eval()
        return task.report(done, record)

    history = run_steps(step, steps=steps, state=state, checkpoint=checkpoint, settings=settings,
                        data=task.data, every=every, checkpoint_every=checkpoint_every,
                        callback=report, device=device, desc=desc)
    model.eval()
    return history


@checked(n=nonneg_int, batch_size=positive_int, shuffle=boolean)
def minibatches(n: int, batch_size: int, *, generator: torch.Generator | None = None,
                shuffle: bool = True, device=None) -> list[torch.Tensor]:
    """Index tensors that cover ``range(n)`` in batches (the last one may be shorter)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return list(order.to(device).split(batch_size)) if n else []


@checked(model=instance(torch.nn.Module), optimizer=instance(torch.optim.Optimizer),
         loss_fn=function, data=sequence(tensor()), epochs=nonneg_int, batch_size=positive_int,
         seed=nonneg_int, checkpoint=optional(pathlike),
         scheduler=optional(instance(torch.optim.lr_scheduler.LRScheduler)),
         on_epoch_end=optional(function), amp=optional(boolean), desc=string,
         settings=optional(instance(dict)), state=optional(instance(dict)))
def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[..., torch.Tensor],
    data: Sequence[torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    scheduler=None,
    on_epoch_end: Callable[[int, dict], dict | None] | None = None,
    amp: bool | None = None,
    desc: str = "training",
    settings: dict | None = None,
    state: dict | None = None,
) -> list[dict]:
    """Train ``model`` for ``epochs`` passes over ``data`` (a :class:`Task` on :func:`run`) and
    return one record per epoch.

    ``loss_fn(model, *batch)`` returns the scalar loss of one minibatch, where ``batch`` holds the
    rows of every tensor in ``data`` (e.g. ``(x, y)``), shuffled anew each epoch by a generator
    seeded with ``seed``; ``scheduler`` steps once per epoch. ``on_epoch_end(epoch, record)`` may
    return a dict of extra numbers (test accuracy, ...) stored in that epoch's record. A record
    holds ``epoch``, ``loss`` (the epoch's mean per row) and ``seconds``: the time of that epoch,
    unlike :func:`run`'s time since the start (pages executed before :func:`run` sum them).

    ``checkpoint`` as in :func:`run` (saved every epoch); ``state`` names more that a resume must
    restore, such as a ``torch.Generator`` the loss draws noise from.
    """
    n = data[0].shape[0]
    if any(t.shape[0] != n for t in data):
        raise ValueError(f"data tensors must share their first dimension, got {[tuple(t.shape) for t in data]}")
    if n == 0:
        raise ValueError("data must hold at least one row, got 0")
    device = data[0].device
    generator = torch.Generator().manual_seed(seed)
    per_epoch = -(-n // batch_size)
    batches: list[torch.Tensor] = []

    def loss(i: int):
        nonlocal batches
        if i % per_epoch == 0:
            batches = minibatches(n, batch_size, generator=generator, device=device)
        index = batches[i % per_epoch]
        value = loss_fn(model, *(t[index] for t in data))
        # mean over an epoch of these = the epoch's mean loss per row
        return value, {"loss": value.detach() * (len(index) * per_epoch / n)}

    def after_step(i: int):
        if scheduler is not None and i % per_epoch == per_epoch - 1:
            scheduler.step()

    clock = _EpochClock()

    def report(done: int, record: dict):
        epoch, seconds = done // per_epoch - 1, clock.lap(record["seconds"])
        if on_epoch_end is None:
            return {"epoch_seconds": seconds}
        extra = on_epoch_end(epoch, {"epoch": epoch, "loss": record["loss"], "seconds": seconds})
        return {**(extra or {}), "epoch_seconds": seconds}

    task = Task(model, optimizer, loss, data=tuple(data), after_step=after_step, report=report,
                state={**(state or {}), "generator": generator, "clock": clock,
                       **({"scheduler": scheduler} if scheduler is not None else {})},
                settings={"loop": "fit", "batch_size": batch_size, "seed": seed, "rows": n,
                          "per_epoch": per_epoch,
                          "scheduler": type(scheduler).__name__ if scheduler is not None else None,
                          "loss_fn": describe_callable(loss_fn),
                          "on_epoch_end": None if on_epoch_end is None
                          else describe_callable(on_epoch_end),
                          "caller": settings or {}})
    history = run(task, steps=epochs * per_epoch, every=per_epoch, checkpoint=checkpoint,
                  amp=amp, desc=desc)
    return [{"epoch": r["step"] // per_epoch - 1,
             **{k: v for k, v in r.items() if k not in ("step", "epoch_seconds")},
             "seconds": r["epoch_seconds"]} for r in history]


class _EpochClock:
    """When the previous epoch ended, in run's seconds since the start (saved with a checkpoint,
    so that the first epoch after a resume is timed right)."""

    def __init__(self):
        self.ended = 0.0

    def lap(self, now: float) -> float:
        seconds, self.ended = now - self.ended, now
        return seconds

    def state_dict(self) -> dict:
        return {"ended": self.ended}

    def load_state_dict(self, state: dict) -> None:
        self.ended = float(state["ended"])


@torch.no_grad()
@checked(model=instance(torch.nn.Module), x=tensor(), batch_size=positive_int)
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Model outputs for every row of ``x``, computed in eval mode and in batches."""
    model.eval()
    outputs = [model(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0)
