"""Checks for "build it" exercises: the student's function against the library's own.

A chapter asks the student to write the core piece (entropy from a distribution, the IIC loss
from a joint, an affine coupling layer with its log-determinant, the ELBO) and then runs::

    exercises.check(my_entropy, info.entropy, inputs=lambda g: (random_distribution(g),))

:func:`check` calls both functions on the same random inputs a few times and says, in one line,
what differs first: an exception, the type, the shape, the dtype, the values (where and by how
much), or the gradient with respect to each floating-point input tensor. The student sees at once
whether the function is right, and if not, what to look at.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .checks import boolean, checked, function, integer, nonneg, positive_int


@dataclass
class Verdict:
    """The outcome of :func:`check`: ``ok`` and one sentence ``message`` (what differs first)."""
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("✓ " if self.ok else "✗ ") + self.message

    def _repr_markdown_(self) -> str:
        return ("**✓** " if self.ok else "**✗** ") + self.message


def _tensors(value) -> list[torch.Tensor]:
    """The tensors of an output: itself, or those in a tuple/list (in order)."""
    if torch.is_tensor(value):
        return [value]
    if isinstance(value, dict):
        value = [value[key] for key in sorted(value)]
    if isinstance(value, (tuple, list)):
        return [v for v in value if torch.is_tensor(v)]
    return []


def _copy(value, gradients: bool):
    """A function's own copy of an input: a tensor cloned (a leaf that records gradients when it
    is floating-point), a ``torch.Generator`` in the same state (both functions draw the same
    numbers), anything else as it is."""
    if torch.is_tensor(value):
        return value.detach().clone().requires_grad_(gradients and value.is_floating_point())
    if isinstance(value, torch.Generator):
        twin = torch.Generator(device=value.device)
        twin.set_state(value.get_state())
        return twin
    return value


def _compare(name: str, mine, theirs, rtol: float, atol: float) -> str | None:
    """What differs between two outputs (None when nothing does)."""
    if torch.is_tensor(theirs) != torch.is_tensor(mine):
        return f"{name} is a {type(mine).__name__}, the library's a {type(theirs).__name__}"
    if isinstance(theirs, dict):
        if not isinstance(mine, dict) or set(mine) != set(theirs):
            keys = sorted(theirs)
            return (f"{name} should be a dict with keys {keys}, got "
                    + (f"keys {sorted(mine)}" if isinstance(mine, dict) else type(mine).__name__))
        for key in theirs:
            found = _compare(f"{name}[{key!r}]", mine[key], theirs[key], rtol, atol)
            if found:
                return found
        return None
    if isinstance(theirs, (tuple, list)):
        if not isinstance(mine, (tuple, list)) or len(mine) != len(theirs):
            return f"{name} should be a tuple of {len(theirs)}, got {type(mine).__name__}" + (
                f" of {len(mine)}" if isinstance(mine, (tuple, list)) else "")
        for k, (a, b) in enumerate(zip(mine, theirs)):
            found = _compare(f"{name}[{k}]", a, b, rtol, atol)
            if found:
                return found
        return None
    if not torch.is_tensor(theirs):
        return None if mine == theirs else f"{name} is {mine!r}, the library's {theirs!r}"
    if mine.shape != theirs.shape:
        return f"{name} has shape {tuple(mine.shape)}, the library's {tuple(theirs.shape)}"
    if mine.dtype != theirs.dtype:
        return f"{name} has dtype {mine.dtype}, the library's {theirs.dtype}"
    a, b = mine.detach().double(), theirs.detach().double()
    close = torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(close.all()):
        gap = (a - b).abs().nan_to_num(nan=float("inf"))
        where = tuple(int(i) for i in torch.nonzero(~close)[0].tolist())
        at = f" at index {where}" if where else ""
        return (f"{name} differs{at}: {a[where].item() if where else a.item():.6g} vs the "
                f"library's {b[where].item() if where else b.item():.6g} (largest gap "
                f"{gap.max().item():.3g}, {int((~close).sum())} of {close.numel()} values)")
    return None


@checked(student=function, reference=function, inputs=function, trials=positive_int,
         seed=integer(), rtol=nonneg, atol=nonneg, gradients=boolean)
def check(student: Callable, reference: Callable, inputs: Callable[[torch.Generator], tuple],
          *, trials: int = 5, seed: int = 0, rtol: float = 1e-5, atol: float = 1e-7,
          gradients: bool = True) -> Verdict:
    """Run ``student(*args)`` and ``reference(*args)`` on ``trials`` random argument tuples
    ``args = inputs(generator)`` and say what differs first.

    Outputs are compared by type, shape, dtype and value (``torch.isclose`` with ``rtol`` and
    ``atol``; tuples element by element). With ``gradients``, a random weighted sum of the tensor
    outputs is back-propagated through both functions and the gradients with respect to every
    floating-point input tensor are compared too, so a detached or non-differentiable answer shows.
    Each function gets its own copy of the inputs (an in-place edit cannot leak into the other),
    a ``torch.Generator`` among them in the same state, so that both draw the same noise. Outputs
    may be tensors, numbers, or tuples, lists and dicts of them.
    """
    generator = torch.Generator().manual_seed(seed)
    for trial in range(1, trials + 1):
        args = inputs(generator)
        args = args if isinstance(args, tuple) else (args,)
        where = f"trial {trial} of {trials}"

        def copies():
            return tuple(_copy(a, gradients) for a in args)

        mine_args, their_args = copies(), copies()
        theirs = reference(*their_args)
        try:
            mine = student(*mine_args)
        except Exception as err:  # noqa: BLE001 - the student's error is the answer here
            return Verdict(False, f"{where}: your function raised {type(err).__name__}: {err}")
        found = _compare("your output", mine, theirs, rtol, atol)
        if found:
            return Verdict(False, f"{where}: {found}")
        if not gradients:
            continue
        ours, refs = _tensors(mine), _tensors(theirs)
        weights = [torch.randn(r.shape, generator=generator, dtype=torch.float64) for r in refs]
        leaves = [k for k, a in enumerate(their_args) if torch.is_tensor(a) and a.requires_grad]
        if not leaves or not any(r.requires_grad for r in refs):
            continue
        if not all(o.requires_grad for o, r in zip(ours, refs) if r.requires_grad):
            return Verdict(False, f"{where}: your output carries no gradient (was it detached, "
                                  f"or computed outside torch?); the library's does")
        total = lambda outs: sum((o.double() * w).sum() for o, w in zip(outs, weights)  # noqa: E731
                                 if o.requires_grad)
        their_grads = torch.autograd.grad(total(refs), [their_args[k] for k in leaves],
                                          allow_unused=True)
        my_grads = torch.autograd.grad(total(ours), [mine_args[k] for k in leaves],
                                       allow_unused=True)
        for k, mine_g, their_g in zip(leaves, my_grads, their_grads):
            zero = torch.zeros_like(their_args[k])
            found = _compare(f"the gradient with respect to argument {k + 1}",
                             zero if mine_g is None else mine_g,
                             zero if their_g is None else their_g, max(rtol, 1e-4), max(atol, 1e-6))
            if found:
                return Verdict(False, f"{where}: {found}")
    what = "values and gradients" if gradients else "values"
    return Verdict(True, f"your function matches the library's on {trials} random inputs "
                         f"({what})")
