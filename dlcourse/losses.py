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

from .checks import check_in_range, check_number, check_tensor

REDUCTIONS = ("mean", "sum", "none")
LOSS_TYPES = ("softmax", "focal", "sigmoid", "sigmoid focal")
NORMALISATIONS = ("weights", "batch")


def _beta(beta) -> float:
    """``beta`` as a Python float, checked to lie in [0, 1]."""
    return check_number(beta, "beta", 0.0, 1.0)


def _counts(counts, name: str = "counts") -> torch.Tensor:
    """Sample counts as a float64 tensor of finite, non-negative numbers."""
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


def effective_number(n, beta) -> torch.Tensor:
    """Effective number of samples ``E_n = (1 - beta^n) / (1 - beta)``, element-wise over ``n``.

    ``n`` holds sample counts (a number, list, array or tensor, >= 0); ``beta`` is in [0, 1]. The
    result is a float64 tensor on ``n``'s device. The two ends are exact: ``beta = 0`` gives
    ``E_n = 1`` for every ``n >= 1`` and ``beta = 1`` gives ``E_n = n`` (the limit, by L'Hôpital's
    rule); ``E_0 = 0`` for every beta. In between, ``1 - beta^n`` is computed as
    ``-expm1(n * log1p(-(1 - beta)))``: near ``beta = 1`` the naive form subtracts two numbers
    close to one and loses most of its digits.
    """
    b = _beta(beta)
    count = _counts(n, "n")
    if b == 1.0:
        return count.clone()
    if b == 0.0:  # 0^0 = 1, so E_0 = 0; every other count covers exactly the one prototype
        return (count > 0).to(torch.float64)
    one_minus_beta = 1.0 - b  # exact for beta in [0.5, 1] (Sterbenz), and harmless below
    return -torch.expm1(count * math.log1p(-one_minus_beta)) / one_minus_beta


def _class_counts(counts) -> torch.Tensor:
    """Per-class sample counts: 1-D, at least two classes, every class with at least one sample."""
    n = _counts(counts)
    if n.ndim != 1 or n.numel() < 2:
        raise ValueError(f"counts must be a 1-D sequence of at least 2 class counts, "
                         f"got shape {tuple(n.shape)}")
    empty = (n == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"counts must be > 0 for every class: class {empty[0]} has no samples "
                         f"(classes with zero samples: {empty})")
    return n


def _normalised(weights: torch.Tensor) -> torch.Tensor:
    """Scale ``weights`` to sum to their number (the class count); default float dtype."""
    return (weights * (len(weights) / weights.sum())).to(torch.get_default_dtype())


def class_balanced_weights(counts, beta) -> torch.Tensor:
    """Class weights ``w_c`` proportional to ``1 / E_{n_c}``, normalised to sum to the number of classes.

    ``counts[c]`` is the number of training samples of class ``c``. ``beta = 0`` gives equal weights
    (plain cross-entropy); ``beta = 1`` gives inverse class frequency. Returns a tensor of the
    default float dtype on the device of ``counts``. A class with zero samples is a ``ValueError``.
    """
    n = _class_counts(counts)
    return _normalised(1.0 / effective_number(n, beta))


def inverse_frequency_weights(counts) -> torch.Tensor:
    """Class weights proportional to ``1 / n_c``, normalised to sum to the number of classes."""
    return _normalised(1.0 / _class_counts(counts))


def _check_logits_target(logits: torch.Tensor, target: torch.Tensor) -> int:
    if not torch.is_tensor(logits) or logits.ndim != 2:
        shape = tuple(logits.shape) if torch.is_tensor(logits) else type(logits).__name__
        raise ValueError(f"logits must be a 2-D tensor N x C, got {shape}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got dtype {logits.dtype}")
    num_classes = logits.shape[1]
    if num_classes < 2:
        raise ValueError(f"logits must have at least 2 classes (columns), got {num_classes}")
    if not torch.is_tensor(target) or target.ndim != 1:
        shape = tuple(target.shape) if torch.is_tensor(target) else type(target).__name__
        raise ValueError(f"target must be a 1-D tensor of class indices, got {shape}")
    if target.dtype.is_floating_point or target.dtype == torch.bool or target.is_complex():
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    if target.shape[0] != logits.shape[0]:
        raise ValueError(f"target must have one label per row of logits: got {target.shape[0]} "
                         f"labels for {logits.shape[0]} rows")
    if target.numel():
        low, high = int(target.min()), int(target.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(f"target holds label {bad}, outside [0, {num_classes - 1}]")
    return num_classes


def _check_weight(weight, num_classes: int, like: torch.Tensor):
    if weight is None:
        return None
    try:
        w = weight if torch.is_tensor(weight) else torch.as_tensor(weight)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"weight must be a sequence of numbers, got {weight!r}") from None
    if w.shape != (num_classes,):
        raise ValueError(f"weight must have one entry per class, shape ({num_classes},), "
                         f"got {tuple(w.shape)}")
    w = w.to(device=like.device, dtype=like.dtype)
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weight must be finite and >= 0, got {weight!r}")
    return w


def _gamma(gamma) -> float:
    """``gamma`` as a Python float, checked to be finite and >= 0."""
    return check_number(gamma, "gamma", low=0.0)


def _reduce(per_sample: torch.Tensor, sample_weight, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if sample_weight is None:
        return per_sample.mean()
    return per_sample.sum() / sample_weight.sum()


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
    """
    gamma = _gamma(gamma)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    num_classes = _check_logits_target(logits, target)
    log_p = F.log_softmax(logits, dim=1)  # float32 under autocast, whatever the logits' dtype
    w = _check_weight(weight, num_classes, log_p)
    if gamma > 0:
        tiny = torch.finfo(log_p.dtype).tiny
        one_minus_p = (-torch.expm1(log_p)).clamp_min(tiny)
        log_p = one_minus_p.pow(gamma) * log_p
    # nll_loss picks -log_p[i, target[i]] (times the class weight) and reduces it exactly as
    # cross_entropy does, which is what makes gamma = 0 identical to cross-entropy.
    return F.nll_loss(log_p, target, weight=w, reduction=reduction)


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
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if normalise not in NORMALISATIONS:
        raise ValueError(f"normalise must be one of {NORMALISATIONS}, got {normalise!r}")
    gamma = _gamma(gamma)
    num_classes = _check_logits_target(logits, target)
    n = _counts(counts)
    if n.shape != (num_classes,):
        raise ValueError(f"counts must have one entry per class, shape ({num_classes},), "
                         f"got {tuple(n.shape)}")
    weights = class_balanced_weights(n, beta).to(device=logits.device, dtype=logits.dtype)
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


def focal_curves(gamma: float, p_t: torch.Tensor = FOCAL_GRID) -> tuple[torch.Tensor, torch.Tensor]:
    """The focal loss and its gradient with respect to the true-class logit, as functions of ``p_t``.

    Both come from :func:`dlcourse.losses.focal_loss` and autograd on two-class logits
    ``(log p_t, log(1 - p_t))``, whose softmax is exactly ``(p_t, 1 - p_t)``. The gradient with
    respect to the true-class logit depends on ``p_t`` only, whatever the number of classes.
    """
    check_number(gamma, "gamma", low=0.0)
    check_in_range(check_tensor(p_t, "p_t", ndim=1, floating=True), "p_t", 0.0, 1.0)
    if p_t.numel() and not bool(((p_t > 0) & (p_t < 1)).all()):
        raise ValueError("p_t must lie strictly between 0 and 1 (log p_t and log(1 - p_t) are taken)")
    logits = torch.stack([p_t.log(), (1 - p_t).log()], dim=1).requires_grad_(True)
    target = torch.zeros(len(p_t), dtype=torch.int64)
    loss = focal_loss(logits, target, gamma=gamma, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    return loss.detach(), grad[:, 0]
