"""Losses for imbalanced classification: focal loss and the class-balanced loss.

* :func:`focal_loss` — Lin et al. (2017), multi-class softmax form ``-(1 - p_t)^gamma log p_t``.
* :func:`effective_number` — Cui et al. (2019): the expected volume ``E_n = (1 - beta^n) / (1 - beta)``
  covered by ``n`` samples, which grows like ``n`` for few samples and saturates at ``1 / (1 - beta)``.
* :func:`class_balanced_weights` — per-class weights proportional to ``1 / E_n``;
  :func:`inverse_frequency_weights` is the ``beta = 1`` end of the same family.
* :func:`class_balanced_loss` — softmax cross-entropy, softmax focal, sigmoid cross-entropy or
  sigmoid focal (the Class-Balanced paper's CB focal loss), each weighted per class by the
  class-balanced weights.

Weighted losses with ``reduction="mean"`` are normalised by the sum of the weights in the batch, as
``torch.nn.functional.cross_entropy`` does: the loss keeps the scale of the unweighted one, so the same
learning rate works, and only the ratios between the class weights matter. The Class-Balanced paper's
released code divides by the batch size instead; :func:`class_balanced_loss` offers both
(``normalise="weights"`` or ``"batch"``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .checks import (check_tensor, checked, class_logits, labels, nonneg, one_of, optional,
                     unit_interval)

REDUCTIONS = ("mean", "sum", "none")
LOSS_TYPES = ("softmax", "focal", "sigmoid", "sigmoid focal")
NORMALISATIONS = ("weights", "batch")


def _counts(counts, name: str = "counts", arguments=None) -> torch.Tensor:
    """Spec: sample counts as a float64 tensor of finite, non-negative numbers."""
    try:
        n = counts if torch.is_tensor(counts) else torch.as_tensor(counts)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a sequence of numbers, got {counts!r}") from None
    if n.dtype == torch.bool or n.is_complex():
        raise ValueError(f"{name} must hold real numbers, got dtype {n.dtype}")
    n = n.to(torch.float64)
    if not torch.isfinite(n).all():
        raise ValueError(f"{name} must be finite, got {counts!r}")
    if (n < 0).any():
        bad = n[n < 0][0].item()
        raise ValueError(f"{name} must be >= 0, got a negative count {bad:g}")
    return n


@checked(n=_counts, beta=unit_interval)
def effective_number(n, beta) -> torch.Tensor:
    """Effective number of samples ``E_n = (1 - beta^n) / (1 - beta)``, element-wise over ``n``.

    ``n`` holds sample counts (a number, list, array or tensor, >= 0); ``beta`` is in [0, 1]. The
    result is a float64 tensor on ``n``'s device. The two ends are exact: ``beta = 0`` gives
    ``E_n = 1`` for every ``n >= 1`` and ``beta = 1`` gives ``E_n = n`` (the limit, by L'Hôpital's
    rule); ``E_0 = 0`` for every beta. In between, ``1 - beta^n`` is computed as
    ``-expm1(n * log1p(-(1 - beta)))``: near ``beta = 1`` the naive form subtracts two numbers
    close to one and loses most of its digits.
    """
    if beta == 1.0:
        return n.clone()
    if beta == 0.0:  # 0^0 = 1, so E_0 = 0; every other count covers exactly the one prototype
        return (n > 0).to(torch.float64)
    one_minus_beta = 1.0 - beta  # exact for beta in [0.5, 1] (Sterbenz), and harmless below
    return -torch.expm1(n * math.log1p(-one_minus_beta)) / one_minus_beta


def _class_counts(counts, name: str = "counts", arguments=None) -> torch.Tensor:
    """Spec: per-class sample counts, 1-D, at least two classes (one per column of the call's
    ``logits``, if it has them), every class with at least one sample."""
    n = _counts(counts, name)
    scores = (arguments or {}).get("logits")
    if torch.is_tensor(scores) and n.shape != scores.shape[1:]:
        raise ValueError(f"{name} must have one entry per class, shape ({scores.shape[1]},), "
                         f"got {tuple(n.shape)}")
    if n.ndim != 1 or n.numel() < 2:
        raise ValueError(f"{name} must be a 1-D sequence of at least 2 class counts, "
                         f"got shape {tuple(n.shape)}")
    empty = (n == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"{name} must be > 0 for every class: class {empty[0]} has no samples "
                         f"(classes with zero samples: {empty})")
    return n


def _normalised(weights: torch.Tensor) -> torch.Tensor:
    """Scale ``weights`` to sum to their number (the class count); default float dtype."""
    return (weights * (len(weights) / weights.sum())).to(torch.get_default_dtype())


@checked(counts=_class_counts, beta=unit_interval)
def class_balanced_weights(counts, beta) -> torch.Tensor:
    """Class weights ``w_c`` proportional to ``1 / E_{n_c}``, normalised to sum to the number of classes.

    ``counts[c]`` is the number of training samples of class ``c``. ``beta = 0`` gives equal weights
    (plain cross-entropy); ``beta = 1`` gives inverse class frequency. Returns a tensor of the
    default float dtype on the device of ``counts``. A class with zero samples is a ``ValueError``.
    """
    return _normalised(1.0 / effective_number(counts, beta))


@checked(counts=_class_counts)
def inverse_frequency_weights(counts) -> torch.Tensor:
    """Class weights proportional to ``1 / n_c``, normalised to sum to the number of classes."""
    return _normalised(1.0 / counts)


def _class_weights(weight, name: str, arguments: dict) -> torch.Tensor:
    """Spec: one weight per class (column of ``logits``), as a tensor of the logits' dtype.
    Its values are not read: this runs every training step."""
    try:
        w = weight if torch.is_tensor(weight) else torch.as_tensor(weight)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a sequence of numbers, got {weight!r}") from None
    num_classes = arguments["logits"].shape[1]
    if w.shape != (num_classes,):
        raise ValueError(f"{name} must have one entry per class, shape ({num_classes},), "
                         f"got {tuple(w.shape)}")
    return w


def _reduce(per_sample: torch.Tensor, sample_weight, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if sample_weight is None:
        return per_sample.mean()
    return per_sample.sum() / sample_weight.sum()


@checked(logits=class_logits, target=labels(rows_of="logits"), gamma=nonneg,
         weight=optional(_class_weights), reduction=one_of(*REDUCTIONS))
def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, weight=None,
               reduction: str = "mean") -> torch.Tensor:
    """Multi-class focal loss ``-w_t (1 - p_t)^gamma log p_t`` with ``p_t`` the softmax of the true class.

    ``logits`` is ``N x C``, ``target`` holds ``N`` class indices, ``weight`` (optional) one
    non-negative weight per class. ``reduction`` is ``"mean"`` (divided by the summed weights of the
    batch's targets, or by ``N`` without weights), ``"sum"`` or ``"none"``.

    ``log p_t`` comes from ``log_softmax``, so a confident wrong prediction costs a large but finite
    loss; ``1 - p_t`` is computed as ``-expm1(log p_t)``, accurate when ``p_t`` is close to 1. The
    modulating factor is clamped at ``1 - p_t >= tiny`` (the smallest normal float): for
    ``0 < gamma < 1`` its derivative is infinite at ``p_t = 1`` exactly, and the clamp keeps the
    gradient finite there (it is zero in the limit) without changing any value the loss takes.
    With ``gamma = 0`` the factor is exactly 1 and the result equals
    ``torch.nn.functional.cross_entropy(logits, target, weight=weight, reduction=reduction)``.
    Labels and weights are checked for shape, not read (a training step calls this).
    """
    log_p = F.log_softmax(logits, dim=1)  # float32 under autocast, whatever the logits' dtype
    if gamma > 0:
        tiny = torch.finfo(log_p.dtype).tiny
        one_minus_p = (-torch.expm1(log_p)).clamp_min(tiny)
        log_p = one_minus_p.pow(gamma) * log_p
    # nll_loss picks -log_p[i, target[i]] (times the class weight) and reduces it exactly as
    # cross_entropy does, which is what makes gamma = 0 identical to cross-entropy.
    w = None if weight is None else weight.to(log_p)
    return F.nll_loss(log_p, target, weight=w, reduction=reduction)


@checked(logits=class_logits, target=labels(rows_of="logits"), counts=_class_counts, beta=unit_interval,
         loss_type=one_of(*LOSS_TYPES), gamma=nonneg, reduction=one_of(*REDUCTIONS),
         normalise=one_of(*NORMALISATIONS))
def class_balanced_loss(logits: torch.Tensor, target: torch.Tensor, counts, beta,
                        loss_type: str = "softmax", gamma: float = 2.0,
                        reduction: str = "mean", normalise: str = "weights") -> torch.Tensor:
    """Class-balanced loss of Cui et al. (2019): a loss weighted per class by ``1 / E_{n_c}``.

    ``counts[c]`` is the number of training samples of class ``c`` and ``beta`` in [0, 1] sets the
    effective numbers (see :func:`class_balanced_weights`). ``loss_type`` picks the loss that is
    weighted, every term by the weight of the sample's true class:

    * ``"softmax"``: cross-entropy; ``"focal"``: the softmax focal loss with ``gamma`` (the kind the
      source article's "CB focal" rows use);
    * ``"sigmoid"``: one binary cross-entropy per class against the one-hot target, summed over the
      classes; ``"sigmoid focal"``: each of those binary terms times ``(1 - p_t)^gamma``, with
      ``p_t`` the sigmoid probability of the term's own target (1 for the true class, 0 for the
      others) — the paper's CB focal loss (its eq. 6 and released ``focal_loss``).

    ``reduction="mean"`` divides the summed loss by the summed weights of the batch's targets
    (``normalise="weights"``, PyTorch's convention) or by the number of samples
    (``normalise="batch"``, the paper's code); ``"sum"`` and ``"none"`` ignore ``normalise``.
    Labels are checked for shape, not read; ``counts`` is read (class sizes: keep them on the CPU).
    """
    num_classes = logits.shape[1]
    weights = class_balanced_weights(counts, beta).to(device=logits.device, dtype=logits.dtype)
    by_batch = reduction == "mean" and normalise == "batch"
    if loss_type in ("softmax", "focal"):
        focal_gamma = gamma if loss_type == "focal" else 0.0
        if by_batch:
            return focal_loss(logits, target, focal_gamma, weights, "sum") / len(target)
        return focal_loss(logits, target, focal_gamma, weights, reduction)
    one_hot = F.one_hot(target, num_classes).to(logits.dtype)
    per_class = F.binary_cross_entropy_with_logits(logits, one_hot, reduction="none")
    if loss_type == "sigmoid focal" and gamma > 0:
        # log(1 - p_t) is logsigmoid(-z) for a target of 1 and logsigmoid(z) for 0: finite for any z
        sign = (1 - 2 * one_hot).to(per_class.dtype)
        per_class = torch.exp(gamma * F.logsigmoid(sign * logits.to(per_class.dtype))) * per_class
    sample_weight = weights.to(per_class.dtype)[target]
    per_sample = sample_weight * per_class.sum(dim=1)
    if by_batch:
        return per_sample.sum() / len(target)
    return _reduce(per_sample, sample_weight, reduction)


FOCAL_GRID = torch.linspace(0.002, 0.998, 250, dtype=torch.float64)


def _open_unit(p_t, name: str, arguments=None) -> torch.Tensor:
    """Spec: a 1-D floating-point tensor of numbers strictly between 0 and 1."""
    check_tensor(p_t, name, ndim=1, floating=True)
    if p_t.numel() and not bool(((p_t > 0) & (p_t < 1)).all()):
        raise ValueError(f"{name} must lie strictly between 0 and 1 (log p_t and log(1 - p_t) "
                         f"are taken)")
    return p_t


@checked(gamma=nonneg, p_t=_open_unit)
def focal_curves(gamma: float, p_t: torch.Tensor = FOCAL_GRID) -> tuple[torch.Tensor, torch.Tensor]:
    """The focal loss and its gradient with respect to the true-class logit, as functions of ``p_t``.

    Both come from :func:`dlcourse.losses.focal_loss` and autograd on two-class logits
    ``(log p_t, log(1 - p_t))``, whose softmax is exactly ``(p_t, 1 - p_t)``. The gradient with
    respect to the true-class logit depends on ``p_t`` only, whatever the number of classes.
    """
    logits = torch.stack([p_t.log(), (1 - p_t).log()], dim=1).requires_grad_(True)
    target = torch.zeros(len(p_t), dtype=torch.int64)
    loss = focal_loss(logits, target, gamma=gamma, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    return loss.detach(), grad[:, 0]
