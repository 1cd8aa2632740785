"""A small, readable training loop over tensors that already live on the device.

``fit`` shuffles index tensors (no ``DataLoader``: the data is on the GPU already) and runs them
through :func:`dlcourse.loop.run_steps` (progress bar, NaN stop, mixed precision from
:func:`~dlcourse.loop.precision_for`, an atomic checkpoint every epoch so that a Colab disconnect
costs at most one epoch: run the same cell again and it resumes).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import torch

from .checks import (boolean, checked, function, instance, nonneg_int, optional, pathlike,
                     positive_int, sequence, string, tensor)
from .loop import (  # noqa: F401  (re-exported: chapters and tests use train.*)
    CheckpointError, TrainingDiverged, WeightAverage, describe, describe_callable,
    load_checkpoint, precision_for, progress_disabled, run_steps, save_checkpoint)


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
    """Train ``model`` for ``epochs`` passes over ``data`` and return the per-epoch history.

    ``loss_fn(model, *batch)`` returns the scalar loss of one minibatch, where ``batch`` holds the
    rows of every tensor in ``data`` (e.g. ``(x, y)``). ``on_epoch_end(epoch, record)`` may return
    a dict of extra numbers (test accuracy, ...) stored in that epoch's record. An epoch is a
    fixed number of steps of :func:`dlcourse.loop.run_steps`, which stops at a NaN loss.

    With ``checkpoint`` set, the state after every epoch (and the CPU/CUDA random states) is saved
    there with the settings (batch size, seed, model and optimiser hyper-parameters, scheduler,
    plus your ``settings`` dict), and an existing file is resumed from. ``state`` names more that a
    resume must restore, such as a ``torch.Generator`` the loss draws noise from. A checkpoint made with
    other settings, or holding more epochs than asked for, raises ``ValueError``
    (:class:`~dlcourse.loop.CheckpointError`): delete the file or use another path.
    """
    if not isinstance(epochs, int) or not epochs >= 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if not data:
        raise ValueError("data must hold at least one tensor")
    n = data[0].shape[0]
    if any(t.shape[0] != n for t in data):
        raise ValueError(f"data tensors must share their first dimension, got {[tuple(t.shape) for t in data]}")
    if n == 0:
        raise ValueError("data must hold at least one row, got 0")
    if not isinstance(batch_size, int) or not batch_size >= 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    device = data[0].device
    precision = precision_for(device, amp)
    generator = torch.Generator().manual_seed(seed)
    per_epoch = -(-n // batch_size)
    batches: list[torch.Tensor] = []
    recorded = {"loop": "fit", "batch_size": batch_size, "seed": seed, "rows": n,
                "per_epoch": per_epoch,
                "scheduler": type(scheduler).__name__ if scheduler is not None else None,
                "loss_fn": describe_callable(loss_fn),
                "on_epoch_end": None if on_epoch_end is None else describe_callable(on_epoch_end),
                **precision.settings, **describe(model, optimizer), "caller": settings or {}}

    def step(i: int):
        nonlocal batches
        if i % per_epoch == 0:
            batches = minibatches(n, batch_size, generator=generator, device=device)
        index = batches[i % per_epoch]
        model.train()
        with precision.autocast():
            loss = loss_fn(model, *(t[index] for t in data))
        precision.step(loss, optimizer)
        if scheduler is not None and i % per_epoch == per_epoch - 1:
            scheduler.step()
        # mean over an epoch of these = the epoch's mean loss per row
        return loss, {"loss": loss.detach() * (len(index) * per_epoch / n)}

    def callback(done: int, record: dict):
        if on_epoch_end is None:
            return None
        model.eval()
        epoch = done // per_epoch - 1
        return on_epoch_end(epoch, {"epoch": epoch, "loss": record["loss"],
                                    "seconds": record["seconds"]})

    loop_state = {"model": model, "optimizer": optimizer, "scaler": precision.scaler,
                  "generator": generator}
    if scheduler is not None:
        loop_state["scheduler"] = scheduler
    history = run_steps(step, steps=epochs * per_epoch, state={**(state or {}), **loop_state},
                        checkpoint=checkpoint, settings=recorded, data=data, every=per_epoch,
                        callback=callback, device=device, desc=desc)
    model.eval()
    return [{"epoch": r["step"] // per_epoch - 1,
             **{k: v for k, v in r.items() if k != "step"}} for r in history]


@torch.no_grad()
@checked(model=instance(torch.nn.Module), x=tensor(), batch_size=positive_int)
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Model outputs for every row of ``x``, computed in eval mode and in batches."""
    model.eval()
    outputs = [model(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0)
