"""A small, readable training loop over tensors that already live on the device.

``fit`` shuffles index tensors (no ``DataLoader``: the data is on the GPU already), shows a
``tqdm`` bar, uses mixed precision on CUDA, and checkpoints every epoch atomically so that a
Colab disconnect costs at most one epoch: run the same cell again and it resumes.
"""
from __future__ import annotations

import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Sequence

import torch
from tqdm.auto import tqdm


def progress_disabled() -> bool:
    """True when ``TQDM_DISABLE`` is set (``make execute`` sets it: no stale bars in the book).

    tqdm's notebook bar ignores that variable on its own, so every bar in dlcourse asks here.
    """
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")


def minibatches(n: int, batch_size: int, *, generator: torch.Generator | None = None,
                shuffle: bool = True, device=None) -> list[torch.Tensor]:
    """Index tensors that cover ``range(n)`` in batches (the last one may be shorter)."""
    from .checks import check_int
    n, batch_size = check_int(n, "n", low=0), check_int(batch_size, "batch_size", low=1)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return list(order.to(device).split(batch_size)) if n else []


def autocast_for(device: torch.device, enabled: bool | None = None):
    """Mixed-precision context: bfloat16 (or float16) autocast on CUDA, nothing elsewhere."""
    if enabled is None:
        enabled = device.type == "cuda"
    if not enabled or device.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def save_checkpoint(path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, map_location=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors and plain data only)."""
    return torch.load(path, map_location=map_location, weights_only=True)


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
) -> list[dict]:
    """Train ``model`` for ``epochs`` passes over ``data`` and return the per-epoch history.

    ``loss_fn(model, *batch)`` returns the scalar loss of one minibatch, where ``batch`` holds the
    rows of every tensor in ``data`` (e.g. ``(x, y)``). ``on_epoch_end(epoch, record)`` may return
    a dict of extra numbers (test accuracy, ...) stored in that epoch's record. With ``checkpoint``
    set, the state after every epoch is saved there and an existing file is resumed from.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if not data:
        raise ValueError("data must hold at least one tensor")
    n = data[0].shape[0]
    if any(t.shape[0] != n for t in data):
        raise ValueError(f"data tensors must share their first dimension, got {[tuple(t.shape) for t in data]}")
    device = data[0].device
    use_amp = (device.type == "cuda") if amp is None else amp
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and device.type == "cuda"
                                  and not torch.cuda.is_bf16_supported())
    generator = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    start_epoch = 0

    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        generator.set_state(state["generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        history, start_epoch = state["history"], state["epoch"] + 1

    bar = tqdm(range(start_epoch, epochs), desc=desc, initial=start_epoch, total=epochs,
               disable=progress_disabled())
    for epoch in bar:
        model.train()
        began, total, count = time.perf_counter(), 0.0, 0
        for index in minibatches(n, batch_size, generator=generator, device=device):
            with autocast_for(device, use_amp):
                loss = loss_fn(model, *(t[index] for t in data))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.detach() * len(index)  # stays on the device: no sync per batch
            count += len(index)
        if scheduler is not None:
            scheduler.step()
        record = {"epoch": epoch, "loss": float(total / max(count, 1)), "seconds": time.perf_counter() - began}
        if on_epoch_end is not None:
            model.eval()
            extra = on_epoch_end(epoch, record) or {}
            # plain Python numbers only: checkpoints load with weights_only=True
            record.update({k: v.item() if hasattr(v, "item") else v for k, v in extra.items()})
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.4f}")
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "history": history,
                "epoch": epoch,
            })
    model.eval()
    return history


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Model outputs for every row of ``x``, computed in eval mode and in batches."""
    from .checks import check_positive_int, check_tensor
    if not callable(model) or not hasattr(model, "eval"):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor(x, "x")
    check_positive_int(batch_size, "batch_size")
    model.eval()
    outputs = [model(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0)
