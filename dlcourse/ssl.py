"""Semi-supervised learning: MixMatch and ReMixMatch, piece by piece.

The pieces are small functions and classes, each tested against its definition: ``sharpen``,
``mixup``, ``DistributionAlignment``, quarter-turn rotations and a rotation head, an EMA of the
weights. ``MixMatch``, ``ReMixMatch`` and ``Supervised`` put them together into one loss per
training step, and ``fit_ssl`` runs any of them for a number of steps, batched on the device,
with mixed precision on CUDA and atomic checkpoints to resume from. The strong augmentation,
CTAugment, lives in :mod:`dlcourse.ctaugment`.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from . import augment, moved
from .checks import (check_bool, check_images, check_int, check_labels, check_number,
                     check_positive_int, check_probabilities, check_tensor)
from .ctaugment import CTAugment
from .loop import (WeightAverage, cumulative_seconds, describe, describe_callable, precision_for,
                   run_steps)


# --------------------------------------------------------------------------- the pieces

def _check_probs(p: torch.Tensor, name: str = "p") -> None:
    check_probabilities(p, name)


def _check_callable(f, name: str) -> None:
    if not callable(f):
        raise ValueError(f"{name} must be callable, got {f!r}")


def sharpen(p: torch.Tensor, T: float) -> torch.Tensor:
    """Sharpen(p, T)_i = p_i^(1/T) / sum_j p_j^(1/T), on the last dimension.

    ``T = 1`` leaves p unchanged; ``T -> 0`` tends to the one-hot vector of
    the argmax. Computed as a softmax of ``log p / T``: no overflow.
    """
    T = check_number(T, "T", low=0.0, low_open=True)
    _check_probs(p)
    return torch.softmax(torch.log(p.clamp_min(1e-30)) / T, dim=-1)


def mixup(x1: torch.Tensor, y1: torch.Tensor, x2: torch.Tensor,
          y2: torch.Tensor, alpha: float):
    """MixMatch's MixUp: ``lam = max(l, 1 - l)``, ``l ~ Beta(alpha, alpha)``
    one per row; returns ``(lam x1 + (1 - lam) x2, lam y1 + (1 - lam) y2,
    lam)``.

    The larger of l and 1 - l keeps each mixed example closer to its first
    argument: a labelled example stays mostly labelled, an unlabelled one
    mostly unlabelled.
    """
    alpha = check_number(alpha, "alpha", low=0.0, low_open=True)
    for name, t in (("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)):
        check_tensor(t, name, floating=True)
    if x2.shape != x1.shape:
        raise ValueError(f"x1 and x2 must share a shape, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    if len(y1) != len(x1):
        raise ValueError(f"y1 must hold one target per row of x1 ({len(x1)}), got {len(y1)}")
    if y2.shape != y1.shape:
        raise ValueError(f"y1 and y2 must share a shape, got {tuple(y1.shape)} and {tuple(y2.shape)}")
    a = torch.tensor(float(alpha), device=x1.device)
    lam = torch.distributions.Beta(a, a).sample((len(x1),))
    lam = torch.maximum(lam, 1 - lam)
    lx = lam.view(-1, *([1] * (x1.ndim - 1))).to(x1.dtype)
    ly = lam.view(-1, *([1] * (y1.ndim - 1))).to(y1.dtype)
    return lx * x1 + (1 - lx) * x2, ly * y1 + (1 - ly) * y2, lam


class DistributionAlignment(nn.Module):
    """ReMixMatch's distribution alignment: q -> Normalize(q p(y) / p~(y)).

    ``p~(y)`` is the model's mean prediction on unlabelled images over recent batches: by
    default, as in the paper and its code, the mean of the batch means of the last ``window``
    batches (128), a buffer that starts filled with the uniform distribution; with ``momentum``
    set instead, an exponential moving average ``p~ <- momentum p~ + (1 - momentum) mean``. The
    window forgets a batch after ``window`` steps; an exponential average with momentum 0.999
    remembers about a thousand. ``p(y)``, the ``target``, is the labelled class distribution
    (uniform by default; pass class counts or a distribution). A class the model predicts more
    often than the target gets its probabilities scaled down, a rarer one up.
    """

    def __init__(self, num_classes: int, target=None, momentum: float | None = None,
                 window: int = 128):
        super().__init__()
        check_int(num_classes, "num_classes", low=2)
        if momentum is not None:
            momentum = check_number(momentum, "momentum", 0.0, 1.0, high_open=True)
        check_positive_int(window, "window")
        if target is None:
            target = torch.full((num_classes,), 1.0 / num_classes)
        target = torch.as_tensor(target, dtype=torch.float32).flatten()
        if (target.shape != (num_classes,) or not bool(torch.isfinite(target).all())
                or target.min() < 0 or target.sum() <= 0):
            raise ValueError(
                f"target must be {num_classes} non-negative numbers with "
                f"a positive sum, got {target.tolist()}")
        self.momentum, self.window = momentum, window
        self.register_buffer("target", target / target.sum())
        uniform = torch.full((num_classes,), 1.0 / num_classes)
        self.register_buffer("running", uniform)
        rows = 0 if momentum is not None else window  # the window's batch means, a ring
        self.register_buffer("batches", uniform.repeat(rows, 1))
        self.register_buffer("position", torch.zeros((), dtype=torch.long))

    def _check(self, probs: torch.Tensor) -> None:
        _check_probs(probs, "probs")
        if probs.shape[-1] != len(self.target):
            raise ValueError(f"probs must have {len(self.target)} classes, "
                             f"got {probs.shape[-1]}")
        if probs.numel() == 0:
            raise ValueError("probs must hold at least one row")

    @torch.no_grad()
    def update(self, probs: torch.Tensor) -> None:
        """Fold the batch mean of ``probs`` into ``p~(y)``: it replaces the oldest of the
        window's batch means (or enters the exponential average)."""
        self._check(probs)
        mean = probs.float().reshape(-1, probs.shape[-1]).mean(0).to(self.running.device)
        if self.momentum is not None:
            self.running.mul_(self.momentum).add_((1 - self.momentum) * mean)
            return
        self.batches[int(self.position) % self.window] = mean
        self.position += 1
        self.running.copy_(self.batches.mean(0))

    def align(self, probs: torch.Tensor) -> torch.Tensor:
        """``Normalize(probs * target / running)``; the average stays."""
        self._check(probs)
        ratio = self.target / self.running.clamp_min(1e-6)
        scaled = probs * ratio.to(probs)
        return scaled / scaled.sum(-1, keepdim=True)

    def forward(self, probs: torch.Tensor,
                update: bool = True) -> torch.Tensor:
        """Update the running average with this batch (by default), then
        align the batch."""
        if update:
            self.update(probs)
        return self.align(probs)


def quarter_turns(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Rotate image ``i`` by ``r[i]`` quarter turns (90 degrees each) anticlockwise."""
    check_tensor(x, "x")
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"x must be N x C x H x W with H = W, got shape {tuple(x.shape)}")
    check_tensor(r, "r", floating=False)
    if r.shape != (len(x),) or (len(r) and (r.min() < 0 or r.max() > 3)):
        raise ValueError(f"r must hold one integer in 0..3 per image, got {r.tolist()}")
    turned = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    return turned[r.to(x.device), torch.arange(len(x), device=x.device)]


def random_rotation(x: torch.Tensor, generator=None):
    """Each image rotated by a random multiple of 90 degrees: ``(rotated, r)``, r in 0..3."""
    device = generator.device if generator is not None else x.device
    r = torch.randint(4, (len(x),), generator=generator, device=device).to(x.device)
    return quarter_turns(x, r), r


class RotationNet(nn.Module):
    """A classifier with a second linear head that predicts the rotation (4 classes).

    ``classifier`` must have a ``head`` (``nn.Linear``) and a feature extractor called
    ``features`` or ``trunk`` (``SmallConvNet``, ``ConvClassifier``, ``wide_resnet`` do).
    ``forward(x)`` returns class logits; ``forward(x, rotation=True)`` also the rotation logits.
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        features = getattr(classifier, "features", None) or getattr(classifier, "trunk", None)
        if features is None or not isinstance(getattr(classifier, "head", None), nn.Linear):
            raise ValueError("classifier must have a `features` (or `trunk`) module and a "
                             f"linear `head`, got {type(classifier).__name__}")
        self.features, self.head = features, classifier.head
        self.rotation_head = nn.Linear(classifier.head.in_features, 4)

    def forward(self, x: torch.Tensor, rotation: bool = False):
        h = self.features(x)
        return (self.head(h), self.rotation_head(h)) if rotation else self.head(h)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``H(targets, softmax(logits)) = -sum_k t_k log p_k``."""
    check_tensor(logits, "logits", floating=True)
    check_probabilities(targets, "targets")
    if logits.shape != targets.shape:
        raise ValueError(f"logits and targets must share a shape, got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(1).mean()


def squared_error(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MixMatch's unlabelled loss: ``(softmax(logits) - targets)^2``, averaged over rows and classes.

    Bounded, unlike cross-entropy, so a wrong guessed label costs at most 2 / C per image.
    """
    check_tensor(logits, "logits", floating=True)
    check_probabilities(targets, "targets")
    if logits.shape != targets.shape:
        raise ValueError(f"logits and targets must share a shape, got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    return ((torch.softmax(logits.float(), dim=1) - targets) ** 2).mean()


def rampup(step: int, warmup: int) -> float:
    """Linear warm-up of the unlabelled loss weights: 0 at step 0, 1 from ``warmup`` on."""
    step, warmup = check_int(step, "step", low=0), check_int(warmup, "warmup", low=0)
    return 1.0 if warmup == 0 else min(1.0, step / warmup)


def weak_augment(x: torch.Tensor, translate: float = 0.125, flip: bool = False,
                 generator=None) -> torch.Tensor:
    """The weak augmentation of MixMatch: a random shift of up to ``translate`` of the image
    size (4 pixels of 32 by default), and a random horizontal flip when ``flip``."""
    flip = check_bool(flip, "flip")
    x = augment.random_affine(x, translate=translate, generator=generator)
    if flip:
        device = generator.device if generator is not None else x.device
        flipped = (torch.rand(len(x), generator=generator, device=device) < 0.5).to(x.device)
        x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(3), x)
    return x


# --------------------------------------------------------------------------- the methods

def _onehot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(y, num_classes).float()


def _check_method(num_classes, weak) -> None:
    """The arguments every method shares: ``num_classes >= 2`` and a callable ``weak``."""
    check_int(num_classes, "num_classes", low=2)
    _check_callable(weak, "weak")


def _check_batch(num_classes: int, x_l, y_l, x_u, step, unlabelled: bool = True) -> None:
    """One training step's inputs: image batches, a label per labelled image, a step >= 0
    (``x_u`` is checked only for the methods that use it, ``unlabelled``)."""
    check_images(x_l, "x_l")
    check_labels(y_l, "y_l", num_classes=num_classes, length=x_l.shape[0], rows_of="x_l")
    if unlabelled:
        check_images(x_u, "x_u")
    check_int(step, "step", low=0)


def _check_weights(**weights) -> None:
    """Loss weights: finite numbers >= 0."""
    for name, value in weights.items():
        try:
            check_number(value, name, low=0.0)
        except ValueError as error:
            raise ValueError(f"the loss weights must be finite numbers >= 0: {error}") from None


class Supervised:
    """The lower bound: cross-entropy on weakly augmented labelled images only."""

    name = "supervised"

    def __init__(self, num_classes: int, weak=weak_augment):
        _check_method(num_classes, weak)
        self.num_classes, self.weak = num_classes, weak

    def loss(self, model, x_l, y_l, x_u, step, generator=None):
        _check_batch(self.num_classes, x_l, y_l, x_u, step, unlabelled=False)
        logits = model(self.weak(x_l, generator=generator))
        loss = F.cross_entropy(logits.float(), y_l)
        return loss, {"labelled": loss.detach()}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class MixMatch:
    """MixMatch (Berthelot et al., 2019): guess a label from ``K`` weak views (mean, then
    sharpen with ``T``), MixUp everything with ``alpha``, cross-entropy on the mixed labelled
    part and squared error (per class) on the mixed unlabelled part, weighted by ``lambda_u``
    after a linear warm-up of ``warmup`` steps."""

    name = "MixMatch"

    def __init__(self, num_classes: int, K: int = 2, T: float = 0.5, alpha: float = 0.75,
                 lambda_u: float = 75.0, warmup: int = 16000, weak=weak_augment):
        _check_method(num_classes, weak)
        check_positive_int(K, "K")
        check_number(T, "T", low=0.0, low_open=True)
        check_number(alpha, "alpha", low=0.0, low_open=True)
        _check_weights(lambda_u=lambda_u)
        check_int(warmup, "warmup", low=0)
        self.num_classes, self.K, self.T, self.alpha = num_classes, K, T, alpha
        self.lambda_u, self.warmup, self.weak = lambda_u, warmup, weak

    def loss(self, model, x_l, y_l, x_u, step, generator=None):
        _check_batch(self.num_classes, x_l, y_l, x_u, step)
        b, weak, K = len(x_l), self.weak, self.K
        x_hat = weak(x_l, generator=generator)
        u_hat = torch.cat([weak(x_u, generator=generator)
                           for _ in range(K)])
        with torch.no_grad():  # the guess: mean of K weak views, sharpened
            probs = torch.softmax(model(u_hat).float(), 1)
            q = sharpen(probs.view(K, len(x_u), -1).mean(0), self.T)
        x_all = torch.cat([x_hat, u_hat])
        y_all = torch.cat([_onehot(y_l, self.num_classes), q.repeat(K, 1)])
        order = torch.randperm(len(x_all), device=x_all.device)
        mixed_x, mixed_y, _ = mixup(x_all, y_all, x_all[order],
                                    y_all[order], self.alpha)
        logits = model(mixed_x).float()
        loss_x = soft_cross_entropy(logits[:b], mixed_y[:b])
        loss_u = squared_error(logits[b:], mixed_y[b:])
        weight = self.lambda_u * rampup(step, self.warmup)
        return loss_x + weight * loss_u, {"labelled": loss_x.detach(),
                                          "unlabelled": loss_u.detach()}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class ReMixMatch:
    """ReMixMatch (Berthelot et al., 2020): the four-term objective.

    For an unlabelled image: one weak view gives the prediction q, distribution alignment and
    sharpening turn it into the target; ``K`` strong (CTAugment) views all receive that target
    (augmentation anchoring). Labelled images are strongly augmented too. As in the authors'
    code, the weak view joins the ``K`` strong views in MixUp with the same target
    (``mix_weak``). Then

    ``L = H(mixed labelled) + lambda_u * H(mixed unlabelled)
          + lambda_u1 * H(first strong view, before MixUp) + lambda_r * H(rotation)``

    with ``lambda_u`` and ``lambda_u1`` warmed up linearly over ``warmup`` steps. Distribution
    alignment keeps the mean of the last ``window`` batches (``momentum`` set: an exponential
    average instead). The switches turn a component off for the ablation: ``align``
    (distribution alignment), ``strong`` (anchor ``K`` strong views; ``False`` uses weak views
    instead), ``anchor="strong"`` (the target comes from a strong view: no weak anchor),
    ``unlabelled_loss="squared error"`` (MixMatch's per-class squared error for the mixed
    unlabelled term, with ``lambda_u`` set to suit it, 75 in the authors' ablation),
    ``lambda_r = 0`` (no rotation loss), ``mix_weak=False`` (the paper's Algorithm 1, where only
    the strong views are mixed); ``CTAugment(learn=False)`` as ``cta`` gives random strong
    augmentation. The model must be a :class:`RotationNet` when ``lambda_r > 0``.
    """

    name = "ReMixMatch"
    UNLABELLED_LOSSES = ("cross-entropy", "squared error")
    ANCHORS = ("weak", "strong")

    def __init__(self, num_classes: int, cta: CTAugment | None = None, K: int = 8,
                 T: float = 0.5, alpha: float = 0.75, lambda_u: float = 1.5,
                 lambda_u1: float = 0.5, lambda_r: float = 0.5, warmup: int = 16000,
                 target=None, momentum: float | None = None, window: int = 128,
                 align: bool = True, strong: bool = True, anchor: str = "weak",
                 unlabelled_loss: str = "cross-entropy", mix_weak: bool = True,
                 weak=weak_augment):
        _check_method(num_classes, weak)
        check_positive_int(K, "K")
        check_number(T, "T", low=0.0, low_open=True)
        check_number(alpha, "alpha", low=0.0, low_open=True)
        _check_weights(lambda_u=lambda_u, lambda_u1=lambda_u1, lambda_r=lambda_r)
        check_int(warmup, "warmup", low=0)
        align, strong = check_bool(align, "align"), check_bool(strong, "strong")
        mix_weak = check_bool(mix_weak, "mix_weak")
        if anchor not in self.ANCHORS:
            raise ValueError(f"anchor must be one of {self.ANCHORS}, got {anchor!r}")
        if unlabelled_loss not in self.UNLABELLED_LOSSES:
            raise ValueError(f"unlabelled_loss must be one of {self.UNLABELLED_LOSSES}, "
                             f"got {unlabelled_loss!r}")
        if cta is not None and not isinstance(cta, CTAugment):
            raise ValueError(f"cta must be a CTAugment or None, got {type(cta).__name__}")
        self.num_classes, self.K, self.T, self.alpha = num_classes, K, T, alpha
        self.lambda_u, self.lambda_u1, self.lambda_r = lambda_u, lambda_u1, lambda_r
        self.warmup, self.align, self.strong, self.weak = warmup, align, strong, weak
        self.anchor, self.unlabelled_loss, self.mix_weak = anchor, unlabelled_loss, mix_weak
        self.cta = cta if cta is not None else CTAugment()
        self.da = DistributionAlignment(num_classes, target, momentum, window)

    def strong_view(self, x, generator=None):
        """A weak view, then a CTAugment view of it (or only the weak view when not ``strong``)."""
        x = self.weak(x, generator=generator)
        return self.cta(x, generator) if self.strong else x

    @torch.no_grad()
    def probe(self, model, x_l, y_l, generator=None):
        """One CTAugment probe on the labelled batch: update the bin weights."""
        x_probe, ops, bins = self.cta.probe(self.weak(x_l, generator=generator), generator)
        was_training = model.training
        model.eval()  # probe with the running batch-norm statistics
        probs = torch.softmax(model(x_probe).float(), 1)
        model.train(was_training)
        return self.cta.update(ops, bins, probs, y_l)

    @torch.no_grad()
    def guess(self, model, x_u, generator=None):
        """The anchor and its target: ``(view, raw, q)`` with ``raw`` the model's prediction on
        one weak view (a strong view when ``anchor="strong"``) and ``q`` its aligned (when
        ``align``; the alignment's average is updated with ``raw``), sharpened version."""
        view = (self.weak(x_u, generator=generator) if self.anchor == "weak"
                else self.cta(self.weak(x_u, generator=generator), generator))
        raw = torch.softmax(model(view).float(), 1)
        q = self.da(raw) if self.align else raw
        return view, raw, sharpen(q, self.T)

    def loss(self, model, x_l, y_l, x_u, step, generator=None):
        _check_batch(self.num_classes, x_l, y_l, x_u, step)
        self.da.to(x_u.device)
        self.cta.to(x_u.device)
        self.probe(model, x_l, y_l, generator)  # CTAugment learns
        b, n_u, K = len(x_l), len(x_u), self.K
        x_hat = self.strong_view(x_l, generator)
        u_hat = torch.cat([self.strong_view(x_u, generator)
                           for _ in range(K)])
        anchor, raw, q = self.guess(model, x_u, generator)  # aligned, sharp
        u_views = torch.cat([anchor, u_hat]) if self.mix_weak else u_hat
        x_all = torch.cat([x_hat, u_views])
        y_all = torch.cat([_onehot(y_l, self.num_classes),
                           q.repeat(len(u_views) // n_u, 1)])
        order = torch.randperm(len(x_all), device=x_all.device)
        mixed_x, mixed_y, _ = mixup(x_all, y_all, x_all[order],
                                    y_all[order], self.alpha)
        u1 = u_hat[:n_u]  # the first strong view of each image, not mixed
        parts = [mixed_x, u1]
        if self.lambda_r > 0:
            u_rot, r = random_rotation(u1, generator)
            parts.append(u_rot)
            logits, rot_logits = model(torch.cat(parts), rotation=True)
            loss_r = F.cross_entropy(rot_logits[-n_u:].float(), r)
        else:
            logits = model(torch.cat(parts))
            loss_r = torch.zeros((), device=x_u.device)
        logits, m = logits.float(), len(mixed_x)
        loss_x = soft_cross_entropy(logits[:b], mixed_y[:b])  # term 1
        if self.unlabelled_loss == "cross-entropy":  # term 2
            loss_u = soft_cross_entropy(logits[b:m], mixed_y[b:])
        else:  # MixMatch's squared error, averaged over classes too
            loss_u = squared_error(logits[b:m], mixed_y[b:])
        loss_u1 = soft_cross_entropy(logits[m:m + n_u], q)  # term 3
        ramp = rampup(step, self.warmup)
        unlabelled = self.lambda_u * loss_u + self.lambda_u1 * loss_u1
        total = loss_x + ramp * unlabelled + self.lambda_r * loss_r
        return total, {"labelled": loss_x.detach(),
                       "unlabelled": loss_u.detach(),
                       "pre-mixup": loss_u1.detach(),
                       "rotation": loss_r.detach(),
                       # how lopsided the batch's guesses are: the largest class share of the
                       # mean prediction (raw) and of the mean target (aligned, sharpened)
                       "raw_top": raw.mean(0).max().detach(),
                       "target_top": q.mean(0).max().detach()}

    def state_dict(self):
        return {"da": self.da.state_dict(), "cta": self.cta.state_dict()}

    def load_state_dict(self, state):
        self.da.load_state_dict(state["da"])
        self.cta.load_state_dict(state["cta"])


# --------------------------------------------------------------------------- the loop

def _method_settings(method) -> dict:
    """The plain-number settings of a method object (``T``, ``K``, ``lambda_u``, ...)."""
    return {k: v for k, v in sorted(vars(method).items())
            if isinstance(v, (bool, int, float, str)) and not k.startswith("_")}


def fit_ssl(method, model: nn.Module, optimizer: torch.optim.Optimizer, labeled,
            unlabeled: torch.Tensor, *, steps: int, batch_size: int = 64,
            unlabeled_batch_size: int | None = None, ema_decay: float = 0.999,
            evaluate=None, eval_every: int = 500, seed: int = 0, checkpoint=None,
            checkpoint_every: int = 1000, amp: bool | None = None, desc: str | None = None,
            settings: dict | None = None):
    """Train ``model`` with ``method`` (``Supervised``, ``MixMatch`` or ``ReMixMatch``) for
    ``steps`` optimiser steps and return ``(history, ema)``.

    Every step draws ``batch_size`` labelled and ``unlabeled_batch_size`` (default the same)
    unlabelled images at random from tensors that already live on the device. Every
    ``eval_every`` steps (and at the end) ``evaluate(ema.average)`` may return a dict of numbers
    (e.g. test accuracy), stored in ``history`` with the mean loss terms and, for ReMixMatch,
    the running average ``p~(y)`` of distribution alignment. The steps run in
    :func:`dlcourse.loop.run_steps`, which stops at a NaN loss. With ``checkpoint`` set, the
    whole state is saved there atomically every ``checkpoint_every`` steps and at the end, with
    the settings (these arguments, the method's numbers such as ``lambda_u``, the model's size,
    the optimiser's hyper-parameters, your ``settings`` dict); an existing file is resumed from,
    so a finished run is not trained again. A checkpoint made with other settings or holding
    more steps than ``steps`` raises ``ValueError``: delete it or use another path.
    """
    x_l, y_l = labeled
    if len(x_l) != len(y_l) or len(x_l) == 0 or len(unlabeled) == 0:
        raise ValueError(f"labeled must be (x, y) with one label per image and unlabeled "
                         f"non-empty, got {len(x_l)} images, {len(y_l)} labels and "
                         f"{len(unlabeled)} unlabelled images")
    if not (steps >= 0 and batch_size >= 1 and eval_every >= 1 and checkpoint_every >= 1):
        raise ValueError(f"steps must be >= 0 and batch_size, eval_every, checkpoint_every "
                         f">= 1, got {steps}, {batch_size}, {eval_every}, {checkpoint_every}")
    ub = unlabeled_batch_size or batch_size
    device = x_l.device
    precision = precision_for(device, amp)
    generator = torch.Generator(device=device).manual_seed(seed)
    torch.manual_seed(seed)  # MixUp's Beta draws and the shuffles use the global generator
    ema = WeightAverage(model, ema_decay, warmup=False)
    recorded = {"loop": "fit_ssl", "method": type(method).__name__,
                "method_settings": _method_settings(method), "labeled": len(x_l),
                "unlabeled": len(unlabeled), "batch_size": batch_size, "unlabeled_batch_size": ub,
                "ema_decay": ema_decay, "eval_every": eval_every, "seed": seed,
                "evaluate": None if evaluate is None else describe_callable(evaluate),
                **precision.settings, **describe(model, optimizer), "caller": settings or {}}

    def step(i: int):
        model.train()
        il = torch.randint(len(x_l), (batch_size,), generator=generator, device=device)
        iu = torch.randint(len(unlabeled), (ub,), generator=generator, device=device)
        with precision.autocast():
            loss, parts = method.loss(model, x_l[il], y_l[il], unlabeled[iu], i, generator)
        optimizer.zero_grad(set_to_none=True)
        precision.scaler.scale(loss).backward()
        precision.scaler.step(optimizer)
        precision.scaler.update()
        ema.update(model)
        return loss, {"loss": loss, **parts}

    def report(done: int, record: dict):
        extra = {}
        if hasattr(method, "da"):
            extra["p_tilde"] = method.da.running.tolist()
        if evaluate is not None:
            extra.update(evaluate(ema.average) or {})
        return extra

    history = run_steps(step, steps=steps, checkpoint=checkpoint, settings=recorded,
                        data=(x_l, y_l, unlabeled), every=eval_every,
                        checkpoint_every=checkpoint_every, callback=report, device=device, desc=desc or method.name,
                        state={"model": model, "ema": ema.average, "optimizer": optimizer,
                               "scaler": precision.scaler, "method": method,
                               "generator": generator})
    model.eval()
    return cumulative_seconds(history), ema


# --------------------------------------------------------------------------- explorer


__getattr__ = moved.to_explore(__name__, ['sharpening_explorer'])  # pages executed before the move
