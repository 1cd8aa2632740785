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
from .checks import (all_of, boolean, check_number, check_tensor, checked, function, images,
                     instance, integer, labels, mapping_with, nonneg_int, number, one_of, optional,
                     pathlike, positive, positive_int, probabilities, tensor)
from .ctaugment import CTAugment
from .loop import WeightAverage, describe_callable
from .train import Task, run

_FLOATS = tensor(floating=True)
_MOMENTUM = optional(number(0.0, 1.0, high_open=True))


# --------------------------------------------------------------------------- the pieces


@checked(p=probabilities, T=positive)
def sharpen(p: torch.Tensor, T: float) -> torch.Tensor:
    """Sharpen(p, T)_i = p_i^(1/T) / sum_j p_j^(1/T), on the last dimension.

    ``T = 1`` leaves p unchanged; ``T -> 0`` tends to the one-hot vector of
    the argmax. Computed as a softmax of ``log p / T``: no overflow. A training step calls
    ``sharpen.unchecked``: its guesses are softmax outputs, not read to be checked.
    """
    return torch.softmax(torch.log(p.clamp_min(1e-30)) / T, dim=-1)


@checked(x1=_FLOATS, y1=tensor(floating=True, rows_of="x1"),
         x2=tensor(floating=True, like="x1"), y2=tensor(floating=True, like="y1"), alpha=positive)
def mixup(x1: torch.Tensor, y1: torch.Tensor, x2: torch.Tensor,
          y2: torch.Tensor, alpha: float):
    """MixMatch's MixUp: ``lam = max(l, 1 - l)``, ``l ~ Beta(alpha, alpha)``
    one per row; returns ``(lam x1 + (1 - lam) x2, lam y1 + (1 - lam) y2,
    lam)``.

    The larger of l and 1 - l keeps each mixed example closer to its first
    argument: a labelled example stays mostly labelled, an unlabelled one
    mostly unlabelled.
    """
    a = torch.tensor(float(alpha), device=x1.device)
    # alpha is checked above; Beta's own check would read ``a`` on the device every step
    lam = torch.distributions.Beta(a, a, validate_args=False).sample((len(x1),))
    lam = torch.maximum(lam, 1 - lam)
    lx = lam.view(-1, *([1] * (x1.ndim - 1))).to(x1.dtype)
    ly = lam.view(-1, *([1] * (y1.ndim - 1))).to(y1.dtype)
    return lx * x1 + (1 - lx) * x2, ly * y1 + (1 - ly) * y2, lam


def _target_distribution(target, name: str, arguments: dict) -> torch.Tensor:
    """Spec: ``num_classes`` non-negative numbers with a positive sum (class counts or a
    distribution), as float32."""
    num_classes = arguments["num_classes"]
    try:
        t = torch.as_tensor(target, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be {num_classes} numbers, got {target!r}") from None
    if (t.shape != (num_classes,) or not bool(torch.isfinite(t).all()) or t.min() < 0
            or t.sum() <= 0):
        raise ValueError(f"{name} must be {num_classes} non-negative numbers with a positive "
                         f"sum, got {t.tolist()}")
    return t


def _probs_of_self(probs, name: str, arguments: dict) -> torch.Tensor:
    """Spec: a non-empty floating-point batch of ``self``'s number of classes (not read)."""
    classes = len(arguments["self"].target)
    check_tensor(probs, name, floating=True, nonempty=True)
    if probs.ndim < 1 or probs.shape[-1] != classes:
        raise ValueError(f"{name} must have {classes} classes, got shape {tuple(probs.shape)}")
    return probs


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

    @checked(num_classes=integer(low=2), target=optional(_target_distribution),
             momentum=_MOMENTUM, window=positive_int)
    def __init__(self, num_classes: int, target=None, momentum: float | None = None,
                 window: int = 128):
        super().__init__()
        if target is None:
            target = torch.full((num_classes,), 1.0 / num_classes)
        self.momentum, self.window = momentum, window
        self.register_buffer("target", target / target.sum())
        uniform = torch.full((num_classes,), 1.0 / num_classes)
        self.register_buffer("running", uniform)
        rows = 0 if momentum is not None else window  # the window's batch means, a ring
        self.register_buffer("batches", uniform.repeat(rows, 1))
        self.register_buffer("position", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    @checked(probs=_probs_of_self)
    def update(self, probs: torch.Tensor) -> None:
        """Fold the batch mean of ``probs`` into ``p~(y)``: it replaces the oldest of the
        window's batch means (or enters the exponential average)."""
        mean = probs.float().reshape(-1, probs.shape[-1]).mean(0).to(self.running.device)
        if self.momentum is not None:
            self.running.mul_(self.momentum).add_((1 - self.momentum) * mean)
            return
        self.batches[int(self.position) % self.window] = mean
        self.position += 1
        self.running.copy_(self.batches.mean(0))

    @checked(probs=_probs_of_self)
    def align(self, probs: torch.Tensor) -> torch.Tensor:
        """``Normalize(probs * target / running)``; the average stays."""
        ratio = self.target / self.running.clamp_min(1e-6)
        scaled = probs * ratio.to(probs)
        return scaled / scaled.sum(-1, keepdim=True)

    @checked(update=boolean)
    def forward(self, probs: torch.Tensor,
                update: bool = True) -> torch.Tensor:
        """Update the running average with this batch (by default), then
        align the batch."""
        if update:
            self.update(probs)
        return self.align(probs)


def _square_images(x, name: str, arguments=None) -> torch.Tensor:
    """Spec: an image batch ``N x C x H x W`` with H = W."""
    if check_tensor(x, name).ndim != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"{name} must be N x C x H x W with H = W, got shape {tuple(x.shape)}")
    return x


def _turns(r, name: str, arguments: dict) -> torch.Tensor:
    """Spec: one integer in 0..3 per image of ``x`` (reads them)."""
    check_tensor(r, name, floating=False)
    if r.shape != (len(arguments["x"]),) or (len(r) and (r.min() < 0 or r.max() > 3)):
        raise ValueError(f"{name} must hold one integer in 0..3 per image, got {r.tolist()}")
    return r


@checked(x=_square_images, r=_turns)
def quarter_turns(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Rotate image ``i`` by ``r[i]`` quarter turns (90 degrees each) anticlockwise."""
    turned = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    return turned[r.to(x.device), torch.arange(len(x), device=x.device)]


@checked(x=_square_images)
def random_rotation(x: torch.Tensor, generator=None):
    """Each image rotated by a random multiple of 90 degrees: ``(rotated, r)``, r in 0..3."""
    device = generator.device if generator is not None else x.device
    r = torch.randint(4, (len(x),), generator=generator, device=device).to(x.device)
    return quarter_turns.unchecked(x, r), r  # r is in 0..3: no need to read it


def _with_head(classifier, name: str, arguments=None) -> nn.Module:
    """Spec: a module with a ``features`` (or ``trunk``) module and a linear ``head``."""
    features = getattr(classifier, "features", None) or getattr(classifier, "trunk", None)
    if features is None or not isinstance(getattr(classifier, "head", None), nn.Linear):
        raise ValueError(f"{name} must have a `features` (or `trunk`) module and a "
                         f"linear `head`, got {type(classifier).__name__}")
    return classifier


class RotationNet(nn.Module):
    """A classifier with a second linear head that predicts the rotation (4 classes).

    ``classifier`` must have a ``head`` (``nn.Linear``) and a feature extractor called
    ``features`` or ``trunk`` (``SmallConvNet``, ``ConvClassifier``, ``wide_resnet`` do).
    ``forward(x)`` returns class logits; ``forward(x, rotation=True)`` also the rotation logits.
    """

    @checked(classifier=_with_head)
    def __init__(self, classifier: nn.Module):
        super().__init__()
        features = getattr(classifier, "features", None) or getattr(classifier, "trunk", None)
        self.features, self.head = features, classifier.head
        self.rotation_head = nn.Linear(classifier.head.in_features, 4)

    @checked(x=images, rotation=boolean)
    def forward(self, x: torch.Tensor, rotation: bool = False):
        h = self.features(x)
        return (self.head(h), self.rotation_head(h)) if rotation else self.head(h)


_LOGITS_AND_TARGETS = dict(logits=_FLOATS, targets=tensor(floating=True, like="logits"))


@checked(**_LOGITS_AND_TARGETS)
def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``H(targets, softmax(logits)) = -sum_k t_k log p_k``. A training step
    calls this: the targets are not read to check they are probabilities."""
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(1).mean()


@checked(**_LOGITS_AND_TARGETS)
def squared_error(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MixMatch's unlabelled loss: ``(softmax(logits) - targets)^2``, averaged over rows and classes.

    Bounded, unlike cross-entropy, so a wrong guessed label costs at most 2 / C per image.
    """
    return ((torch.softmax(logits.float(), dim=1) - targets) ** 2).mean()


@checked(step=nonneg_int, warmup=nonneg_int)
def rampup(step: int, warmup: int) -> float:
    """Linear warm-up of the unlabelled loss weights: 0 at step 0, 1 from ``warmup`` on."""
    return 1.0 if warmup == 0 else min(1.0, step / warmup)


@checked(flip=boolean)
def weak_augment(x: torch.Tensor, translate: float = 0.125, flip: bool = False,
                 generator=None) -> torch.Tensor:
    """The weak augmentation of MixMatch: a random shift of up to ``translate`` of the image
    size (4 pixels of 32 by default), and a random horizontal flip when ``flip``."""
    x = augment.random_affine(x, translate=translate, generator=generator)
    if flip:
        device = generator.device if generator is not None else x.device
        flipped = (torch.rand(len(x), generator=generator, device=device) < 0.5).to(x.device)
        x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(3), x)
    return x


# --------------------------------------------------------------------------- the methods

def _onehot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(y, num_classes).float()


def _loss_weight(value, name: str, arguments=None) -> float:
    """Spec: a loss weight, a finite number >= 0."""
    try:
        return check_number(value, name, low=0.0)
    except ValueError as error:
        raise ValueError(f"the loss weights must be finite numbers >= 0: {error}") from None


# What every method takes, and what one training step gives its loss (shapes, not values: the
# labels are not read, which would stall a GPU every step).
_METHOD = dict(num_classes=integer(low=2), weak=function)
_LABELLED = dict(model=function, x_l=images, y_l=labels(rows_of="x_l"))
_BATCH = dict(_LABELLED, x_u=images, step=nonneg_int)


class Supervised:
    """The lower bound: cross-entropy on weakly augmented labelled images only."""

    name = "supervised"

    @checked(**_METHOD)
    def __init__(self, num_classes: int, weak=weak_augment):
        self.num_classes, self.weak = num_classes, weak

    @checked(**_LABELLED, step=nonneg_int)
    def loss(self, model, x_l, y_l, x_u, step, generator=None):
        logits = model(self.weak(x_l, generator=generator))
        loss = F.cross_entropy(logits.float(), y_l)
        return loss, {"labelled": loss.detach()}

    def state_dict(self):
        return {}

    @checked(state=one_of({}))
    def load_state_dict(self, state):
        pass


class MixMatch:
    """MixMatch (Berthelot et al., 2019): guess a label from ``K`` weak views (mean, then
    sharpen with ``T``), MixUp everything with ``alpha``, cross-entropy on the mixed labelled
    part and squared error (per class) on the mixed unlabelled part, weighted by ``lambda_u``
    after a linear warm-up of ``warmup`` steps."""

    name = "MixMatch"

    @checked(**_METHOD, K=positive_int, T=positive, alpha=positive, lambda_u=_loss_weight,
             warmup=nonneg_int)
    def __init__(self, num_classes: int, K: int = 2, T: float = 0.5, alpha: float = 0.75,
                 lambda_u: float = 75.0, warmup: int = 16000, weak=weak_augment):
        self.num_classes, self.K, self.T, self.alpha = num_classes, K, T, alpha
        self.lambda_u, self.warmup, self.weak = lambda_u, warmup, weak

    @checked(**_BATCH)
    def loss(self, model, x_l, y_l, x_u, step, generator=None):
        b, weak, K = len(x_l), self.weak, self.K
        x_hat = weak(x_l, generator=generator)
        u_hat = torch.cat([weak(x_u, generator=generator)
                           for _ in range(K)])
        with torch.no_grad():  # the guess: mean of K weak views, sharpened
            probs = torch.softmax(model(u_hat).float(), 1)
            q = sharpen.unchecked(probs.view(K, len(x_u), -1).mean(0), self.T)
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

    @checked(state=one_of({}))
    def load_state_dict(self, state):
        pass


def _model_for_self(model, name: str, arguments: dict):
    """Spec: a model, with a rotation head (a :class:`RotationNet`) when ``self.lambda_r > 0``."""
    function(model, name)
    if arguments["self"].lambda_r > 0 and not hasattr(model, "rotation_head"):
        raise ValueError(f"{name} must be a RotationNet (lambda_r > 0 needs the rotation head), "
                         f"got {type(model).__name__}")
    return model


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

    @checked(**_METHOD, cta=optional(instance(CTAugment)), K=positive_int, T=positive,
             alpha=positive, lambda_u=_loss_weight, lambda_u1=_loss_weight, lambda_r=_loss_weight,
             warmup=nonneg_int, momentum=_MOMENTUM, window=positive_int, align=boolean,
             strong=boolean, anchor=one_of(*ANCHORS), unlabelled_loss=one_of(*UNLABELLED_LOSSES),
             mix_weak=boolean)
    def __init__(self, num_classes: int, cta: CTAugment | None = None, K: int = 8,
                 T: float = 0.5, alpha: float = 0.75, lambda_u: float = 1.5,
                 lambda_u1: float = 0.5, lambda_r: float = 0.5, warmup: int = 16000,
                 target=None, momentum: float | None = None, window: int = 128,
                 align: bool = True, strong: bool = True, anchor: str = "weak",
                 unlabelled_loss: str = "cross-entropy", mix_weak: bool = True,
                 weak=weak_augment):
        self.num_classes, self.K, self.T, self.alpha = num_classes, K, T, alpha
        self.lambda_u, self.lambda_u1, self.lambda_r = lambda_u, lambda_u1, lambda_r
        self.warmup, self.align, self.strong, self.weak = warmup, align, strong, weak
        self.anchor, self.unlabelled_loss, self.mix_weak = anchor, unlabelled_loss, mix_weak
        self.cta = cta if cta is not None else CTAugment()
        self.da = DistributionAlignment(num_classes, target, momentum, window)

    @checked(x=images)
    def strong_view(self, x, generator=None):
        """A weak view, then a CTAugment view of it (or only the weak view when not ``strong``)."""
        x = self.weak(x, generator=generator)
        return self.cta(x, generator) if self.strong else x

    @torch.no_grad()
    @checked(**_LABELLED)
    def probe(self, model, x_l, y_l, generator=None):
        """One CTAugment probe on the labelled batch: update the bin weights."""
        x_probe, ops, bins = self.cta.probe(self.weak(x_l, generator=generator), generator)
        was_training = model.training
        model.eval()  # probe with the running batch-norm statistics
        probs = torch.softmax(model(x_probe).float(), 1)
        model.train(was_training)
        return self.cta.update(ops, bins, probs, y_l)

    @torch.no_grad()
    @checked(model=function, x_u=images)
    def guess(self, model, x_u, generator=None):
        """The anchor and its target: ``(view, raw, q)`` with ``raw`` the model's prediction on
        one weak view (a strong view when ``anchor="strong"``) and ``q`` its aligned (when
        ``align``; the alignment's average is updated with ``raw``), sharpened version."""
        view = (self.weak(x_u, generator=generator) if self.anchor == "weak"
                else self.cta(self.weak(x_u, generator=generator), generator))
        raw = torch.softmax(model(view).float(), 1)
        q = self.da(raw) if self.align else raw
        return view, raw, sharpen.unchecked(q, self.T)

    @checked(**dict(_BATCH, model=_model_for_self))
    def loss(self, model, x_l, y_l, x_u, step, generator=None):
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

    @checked(state=mapping_with("da", "cta"))
    def load_state_dict(self, state):
        self.da.load_state_dict(state["da"])
        self.cta.load_state_dict(state["cta"])


# --------------------------------------------------------------------------- the loop

def _method_object(method, name: str, arguments=None):
    """Spec: a method object with ``loss``, ``state_dict`` and ``load_state_dict``."""
    if not all(callable(getattr(method, a, None)) for a in ("loss", "state_dict", "load_state_dict")):
        raise ValueError(f"{name} must be a method such as Supervised, MixMatch or ReMixMatch "
                         f"(with loss, state_dict, load_state_dict), got {type(method).__name__}")
    return method


def _method_settings(method) -> dict:
    """The plain-number settings of a method object (``T``, ``K``, ``lambda_u``, ...)."""
    return {k: v for k, v in sorted(vars(method).items())
            if isinstance(v, (bool, int, float, str)) and not k.startswith("_")}


def _labelled_pair(labeled, name: str, arguments=None) -> tuple:
    """Spec: ``(x, y)``, images and one label per image, at least one."""
    if not isinstance(labeled, (tuple, list)) or len(labeled) != 2:
        raise ValueError(f"{name} must be a pair (x, y), got {type(labeled).__name__}")
    x, y = images(labeled[0], f"{name}[0]"), labels()(labeled[1], f"{name}[1]", {})
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name} must be (x, y) with one label per image and at least one "
                         f"image, got {len(x)} images and {len(y)} labels")
    return labeled


@checked(method=_method_object, model=instance(nn.Module),
         optimizer=instance(torch.optim.Optimizer), labeled=_labelled_pair, unlabeled=all_of(images, tensor(nonempty=True)),
         steps=nonneg_int, batch_size=positive_int, unlabeled_batch_size=optional(positive_int),
         ema_decay=number(0.0, 1.0, high_open=True), evaluate=optional(function),
         eval_every=positive_int, seed=nonneg_int, checkpoint=optional(pathlike),
         checkpoint_every=positive_int, amp=optional(boolean), settings=optional(instance(dict)))
def fit_ssl(method, model: nn.Module, optimizer: torch.optim.Optimizer, labeled,
            unlabeled: torch.Tensor, *, steps: int, batch_size: int = 64,
            unlabeled_batch_size: int | None = None, ema_decay: float = 0.999,
            evaluate=None, eval_every: int = 500, seed: int = 0, checkpoint=None,
            checkpoint_every: int = 1000, amp: bool | None = None, desc: str | None = None,
            settings: dict | None = None):
    """Train ``model`` with ``method`` (``Supervised``, ``MixMatch`` or ``ReMixMatch``) for
    ``steps`` optimiser steps and return ``(history, ema)``.

    Every step draws ``batch_size`` labelled and ``unlabeled_batch_size`` (default the same)
    unlabelled images at random from tensors that already live on the device. ``ema`` is the
    exponential average of the weights (decay ``ema_decay``) with the warm-up of
    :class:`~dlcourse.loop.WeightAverage`, so that a short run does not evaluate its random
    start. Every ``eval_every`` steps (and at the end) ``evaluate`` may return a dict of numbers
    (e.g. ``accuracy``): those of ``ema.average`` are stored in ``history`` under their names,
    those of the trained weights with the prefix ``trained_``, beside the mean loss terms and,
    for ReMixMatch, the running average ``p~(y)`` of distribution alignment. The steps run in
    :func:`dlcourse.loop.run_steps`, which stops at a NaN loss. With ``checkpoint`` set, the
    whole state is saved there atomically every ``checkpoint_every`` steps and at the end, with
    the settings (these arguments, the method's numbers such as ``lambda_u``, the model's size,
    the optimiser's hyper-parameters, your ``settings`` dict); an existing file is resumed from,
    so a finished run is not trained again. A checkpoint made with other settings or holding
    more steps than ``steps`` raises ``ValueError``: delete it or use another path.
    """
    x_l, y_l = labeled
    ub = unlabeled_batch_size or batch_size
    device = x_l.device
    generator = torch.Generator(device=device).manual_seed(seed)
    torch.manual_seed(seed)  # MixUp's Beta draws and the shuffles use the global generator
    ema = WeightAverage(model, ema_decay, warmup=True)

    def loss(i: int):
        il = torch.randint(len(x_l), (batch_size,), generator=generator, device=device)
        iu = torch.randint(len(unlabeled), (ub,), generator=generator, device=device)
        value, parts = method.loss(model, x_l[il], y_l[il], unlabeled[iu], i, generator)
        return value, {"loss": value, **parts}

    def report(done: int, record: dict):
        extra = {}
        if hasattr(method, "da"):
            extra["p_tilde"] = method.da.running.tolist()
        if evaluate is not None:
            extra.update(evaluate(ema.average) or {})
            extra.update({f"trained_{k}": v for k, v in (evaluate(model) or {}).items()})
        return extra

    task = Task(model, optimizer, loss, data=(x_l, y_l, unlabeled), report=report, average=ema,
                state={"method": method, "generator": generator},
                settings={"loop": "fit_ssl", "method": type(method).__name__,
                          "method_settings": _method_settings(method), "labeled": len(x_l),
                          "unlabeled": len(unlabeled), "batch_size": batch_size,
                          "unlabeled_batch_size": ub, "ema_decay": ema_decay,
                          "ema_warmup": True,
                          "eval_every": eval_every, "seed": seed,
                          "evaluate": None if evaluate is None else describe_callable(evaluate),
                          "caller": settings or {}})
    history = run(task, steps=steps, every=eval_every, checkpoint=checkpoint,
                  checkpoint_every=checkpoint_every, amp=amp, desc=desc or method.name)
    return history, ema


# --------------------------------------------------------------------------- explorer


__getattr__ = moved.display(__name__, {"sharpening_explorer": "explore.sharpening_explorer"})  # pages run before
