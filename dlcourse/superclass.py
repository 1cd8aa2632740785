"""Superclass labels as an extra loss term: a coarser partition of the classes, added to the
ordinary cross-entropy (chapter 4).

* :func:`superclass_loss` — the cross-entropy of the *group* the true class belongs to. ``"soft"``
  sums the softmax over each group (computed with ``logsumexp``); ``"hard"`` is the source
  article's argmax version, which is piecewise constant in the logits and has no gradient.
* :func:`interval_losses` — the article's combinatorial variant: one two-way term (inside the
  interval or not) for every contiguous interval ``[a, b]`` of class indices, ``a < b``.
* :func:`group_log_probs`, :func:`group_of`, :func:`check_groups` — the pieces underneath.
* :func:`cross_group_mistakes` — how many predictions land in the wrong group (frog <-> truck).
* ``welch_interval`` and ``paired_interval`` are :mod:`dlcourse.stats`'s, imported here for the
  pages that call them through this module.
* :func:`superclass_explorer` — a slider for the group term's weight on a 3-class, 2-group toy.

``groups`` is always a partition of the class indices ``0 .. C-1``: a list of lists that together
hold every class exactly once, e.g. ``[[0, 1, 8, 9], [2, 3, 4, 5, 6, 7]]`` for CIFAR-10's
artificial and natural objects.
"""
from __future__ import annotations

import math
from itertools import combinations

import torch

from . import moved
from .checks import (check_int, checked, class_logits, integer, labels, nonneg, one_of, optional,
                     positive_int, tensor)
from .checks import check_numbers as _values
from .stats import paired_interval, welch_interval  # noqa: F401  (chapter 4 calls them here)

MODES = ("soft", "hard")
HARD_EPSILON = 1e-7  # Keras's K.epsilon(): the clip the article's hard loss ran through


def check_groups(groups, num_classes: int) -> list[list[int]]:
    """``groups`` as a list of lists of ints, checked to be a partition of ``range(num_classes)``.

    Every group must be non-empty, every entry an integer class index in ``[0, num_classes)``,
    and every class must appear in exactly one group; otherwise a ``ValueError`` names ``groups``.
    """
    check_int(num_classes, "num_classes", low=1)
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise ValueError(f"groups must be a list of lists of class indices, got {groups!r}")
    clean, seen = [], {}
    for k, group in enumerate(groups):
        if isinstance(group, (str, bytes)) or not hasattr(group, "__iter__"):
            raise ValueError(f"groups[{k}] must be a list of class indices, got {group!r}")
        members = []
        for c in group:
            try:
                whole = not isinstance(c, (bool, str, bytes)) and float(c).is_integer()
            except (TypeError, ValueError, RuntimeError):  # e.g. None, a list, a 2-D tensor
                whole = False
            if not whole:
                raise ValueError(f"groups[{k}] holds {c!r}, which is not a class index")
            c = int(c)
            if not 0 <= c < num_classes:
                raise ValueError(f"groups[{k}] holds class {c}, outside 0..{num_classes - 1}")
            if c in seen:
                raise ValueError(f"groups puts class {c} in groups[{seen[c]}] and groups[{k}]; "
                                 f"each class must belong to exactly one group")
            seen[c] = k
            members.append(c)
        if not members:
            raise ValueError(f"groups[{k}] is empty; every group needs at least one class")
        clean.append(members)
    missing = sorted(set(range(num_classes)) - set(seen))
    if missing:
        raise ValueError(f"groups must cover every class 0..{num_classes - 1}; "
                         f"classes {missing} are in no group")
    return clean


def group_of(groups, num_classes: int, device=None) -> torch.Tensor:
    """The group index of every class: an int64 tensor of length ``num_classes``."""
    clean = check_groups(groups, num_classes)
    index = torch.empty(num_classes, dtype=torch.int64)
    for k, group in enumerate(clean):
        index[group] = k
    return index.to(device)


# The logits and labels of a training step: shapes and dtypes, not values (reading the labels
# would stall a GPU every step).
_STEP = dict(logits=class_logits, target=labels(rows_of="logits"))


@checked(logits=tensor(ndim=2, floating=True))
def group_log_probs(logits: torch.Tensor, groups) -> torch.Tensor:
    """``N x K`` log-probabilities of the ``K`` groups: ``log sum_{c in G} softmax(logits)_c``.

    Computed as ``logsumexp`` of the group's logits minus ``logsumexp`` of all logits, which
    never forms a probability that could underflow to zero.
    """
    num_classes = logits.shape[1]
    member = group_of(groups, num_classes, logits.device)  # C
    k = int(member.max()) + 1
    inside = member[:, None] == torch.arange(k, device=logits.device)  # C x K
    masked = logits[:, :, None].masked_fill(~inside, float("-inf"))  # N x C x K
    return torch.logsumexp(masked, dim=1) - torch.logsumexp(logits, dim=1, keepdim=True)


@checked(**_STEP, mode=one_of(*MODES))
def superclass_loss(logits: torch.Tensor, target: torch.Tensor, groups,
                    mode: str = "soft") -> torch.Tensor:
    """The superclass term alone: the cross-entropy of the true class's
    *group*, averaged over the batch.

    ``logits`` is ``N x C``, ``target`` holds the true *class* of each row,
    ``groups`` is a partition of the classes (see :func:`check_groups`).

    * ``mode="soft"``: ``-log p_G``, where ``p_G`` is the summed softmax of
      the true group ``G``: ``logsumexp(logits) - logsumexp(logits[G])``.
    * ``mode="hard"``: the article's version. The predicted group is the
      group of the *argmax* class, as a one-hot vector, clipped to
      ``[eps, 1 - eps]`` as Keras does (``eps = 1e-7``); the loss is
      ``-log(1 - eps)`` for a right group, ``-log(eps)`` for a wrong one.
      The argmax is piecewise constant in the logits, so this value has no
      autograd graph and adds nothing to any gradient.
    """
    member = group_of(groups, logits.shape[1], logits.device)
    if mode == "soft":
        # N x C: True for the classes of each row's true group
        same = member[None, :] == member[target][:, None]
        inside = logits.masked_fill(~same, float("-inf"))
        return (torch.logsumexp(logits, dim=1)
                - torch.logsumexp(inside, dim=1)).mean()
    # an index comparison: autograd has no path past this line
    right = member[logits.argmax(dim=1)] == member[target]
    p_true_group = torch.where(right, 1.0 - HARD_EPSILON, HARD_EPSILON)
    return -torch.log(p_true_group.to(logits.dtype)).mean()


@checked(num_classes=integer(low=2))
def contiguous_intervals(num_classes: int) -> list[tuple[int, int]]:
    """Every interval ``[a, b]`` of class indices with ``a < b``, both ends included.

    The article's ``itertools.combinations(range(C), 2)``: ``C (C - 1) / 2`` intervals, 45 for
    ten classes. The last one, ``[0, C - 1]``, holds every class, so its term is always zero.
    """
    return list(combinations(range(num_classes), 2))


def _intervals(intervals, name: str, arguments: dict) -> list[tuple[int, int]]:
    """Spec: at least one pair ``(a, b)`` of class indices with ``0 <= a <= b < C``, C the
    columns of the call's ``logits``."""
    num_classes = arguments["logits"].shape[1]
    if isinstance(intervals, (str, bytes)) or not hasattr(intervals, "__iter__"):
        raise ValueError(f"{name} must hold (a, b) pairs, got {intervals!r}")
    pairs = list(intervals)
    if not pairs:
        raise ValueError(f"{name} must hold at least one (a, b) pair")
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ValueError(f"{name} must hold (a, b) pairs, got {pair!r}")
        a, b = (check_int(v, name) for v in pair)
        if not 0 <= a <= b < num_classes:
            raise ValueError(f"{name} holds ({a}, {b}); need 0 <= a <= b < {num_classes}")
    return [(int(a), int(b)) for a, b in pairs]


@checked(**_STEP, intervals=optional(_intervals))
def interval_losses(logits: torch.Tensor, target: torch.Tensor,
                    intervals=None) -> torch.Tensor:
    """One two-way soft superclass term per interval, each a batch mean.

    For the interval ``[a, b]`` the partition is {classes a..b, the rest}
    and the term is :func:`superclass_loss` with that partition: the binary
    cross-entropy of "the true class lies in [a, b]" against the softmax
    summed over the interval. ``intervals`` defaults to
    :func:`contiguous_intervals`; the article added up all the terms.
    Returns a tensor of ``len(intervals)`` values.
    """
    num_classes = logits.shape[1]
    if intervals is None:
        intervals = contiguous_intervals(num_classes)
    device = logits.device
    lo = torch.tensor([a for a, _ in intervals], device=device)
    hi = torch.tensor([b for _, b in intervals], device=device)
    c = torch.arange(num_classes, device=device)
    inside = (c[None, :] >= lo[:, None]) & (c[None, :] <= hi[:, None])  # P x C
    target_inside = inside[:, target].T  # N x P: true class in the interval?
    # N x P x C: the classes on the same side of each interval as the truth
    same_side = inside[None, :, :] == target_inside[:, :, None]
    masked = logits[:, None, :].masked_fill(~same_side, float("-inf"))
    per_sample = (torch.logsumexp(logits, dim=1, keepdim=True)
                  - torch.logsumexp(masked, dim=2))
    return per_sample.mean(dim=0)


def _label_tensor(y, name: str, arguments=None) -> torch.Tensor:
    """Spec: labels as a flat integer tensor (any array-like of ints)."""
    try:
        y = torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must hold integer labels, got {y!r}") from None
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer labels, got dtype {y.dtype}")
    return y.flatten()


@checked(y_true=_label_tensor, y_pred=_label_tensor, num_classes=optional(positive_int))
def cross_group_mistakes(y_true, y_pred, groups, num_classes: int | None = None) -> int:
    """How many predictions fall in another group than the true class (a frog called a truck)."""
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.numel()} "
                         f"and {y_pred.numel()}")
    if num_classes is None:
        try:
            num_classes = sum(len(g) for g in groups)
        except TypeError:
            raise ValueError(f"groups must be a list of lists of class indices, "
                             f"got {groups!r}") from None
    member = group_of(groups, num_classes, y_true.device)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.numel() and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} holds labels outside 0..{num_classes - 1}")
    return int((member[y_true] != member[y_pred.to(y_true.device)]).sum())


# --- the explorer: three classes A, B | C in two groups, the true class is A ------------------

TOY_GROUPS = [[0, 1], [2]]
TOY_POINT = (0.0, 0.5, 1.0)  # logits of A, B, C where the gradients are drawn as bars


@checked(weight=nonneg)
def toy_gradients(logits, weight: float, groups=TOY_GROUPS, target: int = 0):
    """Gradients of the class term and of ``weight`` times the soft group term at ``logits``.

    ``logits`` is ``N x C`` (or one row); returns ``(class_grad, group_grad)``, both ``N x C``,
    computed with autograd through :func:`superclass_loss` and the ordinary cross-entropy.
    """
    try:
        num_classes = len(sum(groups, []))
    except TypeError:
        raise ValueError(f"groups must be a list of lists of class indices, got {groups!r}") from None
    check_groups(groups, num_classes)
    target = check_int(target, "target", 0, num_classes - 1)
    z = _values(logits, "logits")
    if z.numel() == 0 or z.numel() % num_classes:
        raise ValueError(f"logits must hold rows of {num_classes} numbers, got {z.numel()}")
    z = z.reshape(-1, num_classes)
    z = z.clone().requires_grad_(True)
    y = torch.full((z.shape[0],), target, dtype=torch.int64)
    ce = torch.nn.functional.cross_entropy(z, y, reduction="sum")
    (class_grad,) = torch.autograd.grad(ce, z)
    group = superclass_loss(z, y, groups) * z.shape[0]  # undo the mean: per-row gradients
    (group_grad,) = torch.autograd.grad(weight * group, z)
    return class_grad, group_grad


__getattr__ = moved.display(__name__, {"superclass_explorer": "explore.superclass_explorer"})  # pages run before
