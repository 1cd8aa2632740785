"""Invariant Information Clustering (IIC): training on pairs of views, and its evaluation.

The objective itself is :func:`dlcourse.info.iic_loss`; the network is
:class:`dlcourse.models.IICNet`; the transformations are those of :mod:`dlcourse.augment`,
which :func:`make_view` composes into one resampling. This module ties them together:
:func:`paired_views` makes the pairs, :func:`train` optimises every
sub-head of both heads at once, and :func:`evaluate` applies the paper's protocol (the
sub-head with the lowest loss is the one reported, its clusters matched to the labels by the
Hungarian algorithm), together with the mean and spread over all sub-heads.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import augment, info, metrics, models, moved
from .augment import view_ops
from .checks import (all_of, boolean, check_int, check_number, checked, function, images, instance,
                     integer, label_array, labels, nonneg, nonneg_int, number, one_of, optional,
                     pathlike, positive_int, sequence, tensor)
from .loop import describe_callable
from .train import Task, run

_WIDTHS = sequence(positive_int, min_length=0)  # hidden layers: none is the linear sub-head
_SIZE = optional(integer(low=4))  # a view's side in pixels, None: the images' own
_HOLD = number(0.0, 1.0, high_open=True)


def _lr_end(value, name: str, arguments: dict) -> float:
    """Spec: a learning rate from 0 to the call's ``lr``."""
    return check_number(value, name, 0.0, arguments["lr"])


@checked(in_features=positive_int, num_clusters=positive_int, hidden=_WIDTHS)
def mlp_head(in_features: int, num_clusters: int, hidden=(128, 64)) -> nn.Sequential:
    """A sub-head of the source article: ``Dense`` layers of widths ``hidden`` with ReLU, then
    a linear layer to ``num_clusters`` logits (``hidden=()``: the paper's linear sub-head)."""
    layers, previous = [], in_features
    for width in hidden:
        layers += [nn.Linear(previous, width), nn.ReLU(inplace=True)]
        previous = width
    return nn.Sequential(*layers, nn.Linear(previous, num_clusters))


@checked(hidden=_WIDTHS)
def network(in_channels: int = 1, num_clusters: int = 10, overcluster_factor: int = 5,
            num_subheads: int = 5, widths=(32, 64, 128, 256), hidden=(128, 64)):
    """:class:`dlcourse.models.IICNet` with the source article's heads: every sub-head of
    both heads is an :func:`mlp_head` with ``hidden`` layers (the article's ``Dense`` 128 and
    64, ReLU) on the trunk's pooled features. ``hidden=()`` keeps IICNet's linear sub-heads.
    The trunk and ``forward`` are IICNet's own; only the sub-head modules are replaced."""
    model = models.IICNet(in_channels, num_clusters, overcluster_factor, num_subheads, widths)
    if hidden:
        features = model.trunk.out_features
        model.main = nn.ModuleList(mlp_head(features, num_clusters, hidden)
                                   for _ in range(num_subheads))
        model.over = nn.ModuleList(mlp_head(features, num_clusters * overcluster_factor, hidden)
                                   for _ in range(num_subheads))
    return model


# The geometric transformations of ``augment.VIEW_OPS`` with the same magnitudes: rotation by
# up to 25 degrees, shear by up to 20 degrees, a square crop covering 70-100% of each side.
GEOMETRY = {"rotate": 25.0, "skew": 20.0, "crop": (0.7, 1.0)}


def _draw(n: int, low: float, high: float, generator, device) -> torch.Tensor:
    where = generator.device if generator is not None else "cpu"
    return (low + (high - low) * torch.rand(n, generator=generator, device=where)).to(device)


@checked(x=images, ops=view_ops, size=_SIZE)
def make_view(x: torch.Tensor, ops=tuple(augment.VIEW_OPS),
              generator: torch.Generator | None = None, size: int | None = None) -> torch.Tensor:
    """A view of every image in ``x`` made with the named ``ops`` of ``augment.VIEW_OPS``,
    the geometric ones composed into **one** resampling, written at ``size x size`` pixels.

    ``augment.make_view`` resamples the image once per geometric transformation (rotate,
    skew, crop: three ``grid_sample`` calls, each blurring a little and losing the corners it
    turns out of the frame). Here rotation, shear and crop, drawn per image with the
    magnitudes of ``GEOMETRY``, are multiplied into one affine map and sampled once, directly
    at the network's input size ``size`` (``None``: the size of ``x``); binarisation and noise
    are ``augment.VIEW_OPS``'s own and act on the result. With no geometric op and ``size``
    unset the images are returned unresampled; with no op at all and a ``size``, the view is
    the whole image resized, which is what evaluation feeds the network.
    """
    n, device = len(x), x.device
    geometric = [op for op in GEOMETRY if op in ops]
    if geometric or (size is not None and size != x.shape[-1]):
        # theta maps each output location to the input location it samples (coordinates in
        # [-1, 1]): rotation @ shear @ crop, the order in which augment.make_view applies them.
        # Angles and shears are symmetric, so the matrix or its inverse give the same draws.
        eye = torch.eye(2, device=device, dtype=x.dtype).expand(n, 2, 2)
        matrix, shift = eye, torch.zeros(n, 2, device=device, dtype=x.dtype)
        if "rotate" in ops:
            a = _draw(n, -1, 1, generator, device).to(x.dtype) * math.radians(GEOMETRY["rotate"])
            rot = torch.stack([torch.cos(a), -torch.sin(a), torch.sin(a), torch.cos(a)], 1)
            matrix = matrix @ rot.view(n, 2, 2)
        if "skew" in ops:
            s = torch.tan(_draw(n, -1, 1, generator, device).to(x.dtype)
                          * math.radians(GEOMETRY["skew"]))
            shear = torch.stack([torch.ones_like(s), s, torch.zeros_like(s),
                                 torch.ones_like(s)], 1)
            matrix = matrix @ shear.view(n, 2, 2)
        if "crop" in ops:
            side = _draw(n, *GEOMETRY["crop"], generator, device).to(x.dtype)
            centre = torch.stack([_draw(n, -1, 1, generator, device) for _ in range(2)], 1)
            shift = matrix @ (centre.to(x.dtype) * (1 - side)[:, None]).unsqueeze(2)
            matrix = matrix * side.view(n, 1, 1)
            shift = shift.squeeze(2)
        theta = torch.cat([matrix, shift.unsqueeze(2)], 2)
        out = size or x.shape[-1]
        grid = F.affine_grid(theta, [n, x.shape[1], out, out], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    for op in ("binarize", "noise"):
        if op in ops:
            x = augment.VIEW_OPS[op](x, generator)
    return x


@checked(x=images, repeats=positive_int, ops=view_ops, first_ops=view_ops, size=_SIZE)
def paired_views(x: torch.Tensor, repeats: int = 1, ops=tuple(augment.VIEW_OPS),
                 first_ops=(), generator: torch.Generator | None = None,
                 size: int | None = None):
    """Two views of every image in ``x``, each image repeated ``repeats`` times.

    The first view applies ``first_ops`` (none by default: the image itself), the second
    ``ops``, both with :func:`make_view` at ``size`` pixels; every copy draws its own random
    transform, so one batch holds ``repeats`` different pairs per image (the IIC paper
    repeats each image five times). Returns two ``(repeats * N) x C x size x size`` tensors
    on the device of ``x``.
    """
    copies = x.repeat(repeats, 1, 1, 1)
    return (make_view(copies, first_ops, generator, size),
            make_view(copies, ops, generator, size))


def _one_per_head_of_z1(z2, name: str, arguments: dict):
    """Spec: as many sub-head outputs as ``z1``."""
    if len(z2) != len(arguments["z1"]):
        raise ValueError(f"z1 and {name} must be non-empty lists of equal length, "
                         f"got {len(arguments['z1'])} and {len(z2)}")
    return z2


@checked(z1=sequence(tensor()), z2=all_of(sequence(tensor()), _one_per_head_of_z1),
         alpha=nonneg)
def subhead_losses(z1: list, z2: list, alpha: float = 1.0) -> torch.Tensor:
    """The IIC loss of every sub-head: ``z1[k]``, ``z2[k]`` are sub-head ``k``'s outputs on
    the two views. Returns a vector with one loss per sub-head."""
    return torch.stack([info.iic_loss(a, b, alpha=alpha) for a, b in zip(z1, z2)])


@torch.no_grad()
@checked(model=instance(nn.Module), x=all_of(images, tensor(nonempty=True)),
         batch_size=positive_int)
def head_outputs(model, x: torch.Tensor, batch_size: int = 1000):
    """``(main, over)`` sub-head probabilities of ``model`` on every image of ``x``, in
    eval mode and in batches: two lists of ``N x k`` tensors."""
    model.eval()
    parts = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    main = [torch.cat([p[0][k] for p in parts]) for k in range(len(parts[0][0]))]
    over = [torch.cat([p[1][k] for p in parts]) for k in range(len(parts[0][1]))]
    return main, over


@torch.no_grad()
@checked(model=instance(nn.Module), x=all_of(images, tensor(nonempty=True)),
         y=labels(rows_of="x", values=True), ops=view_ops, alpha=nonneg,
         seed=nonneg_int, head=one_of("main", "over"), size=_SIZE)
def evaluate(model, x: torch.Tensor, y: torch.Tensor, *, ops=tuple(augment.VIEW_OPS),
             alpha: float = 1.0, seed: int = 0, head: str = "main",
             size: int | None = None) -> dict:
    """The IIC paper's evaluation of one head (``"main"`` or ``"over"``) on images ``x``
    with labels ``y``.

    Each sub-head's loss is measured on one pair per image (the image and one view made with
    ``ops``; both at ``size`` pixels, as in training); the sub-head with the lowest loss is
    *the* model's answer, since choosing it needs no labels. Its clusters are matched one-to-one to the labels (Hungarian algorithm)
    for the accuracy. Also returned: the accuracy of every sub-head, their mean and standard
    deviation, the chosen sub-head's joint ``P`` on the pairs and its cluster of every image.
    """
    generator = torch.Generator(device=x.device).manual_seed(seed)
    first, second = paired_views(x, ops=ops, generator=generator, size=size)
    pick = 0 if head == "main" else 1
    main1, main2 = head_outputs(model, first)[pick], head_outputs(model, second)[pick]
    losses = subhead_losses(main1, main2, alpha=alpha).cpu()
    accuracies = torch.tensor([metrics.cluster_accuracy(y, z.argmax(1)) for z in main1])
    best = int(losses.argmin())
    std = accuracies.std().item() if len(accuracies) > 1 else 0.0
    return {"accuracy": accuracies[best].item(), "best_head": best,
            "mean": accuracies.mean().item(), "std": std,
            "accuracies": accuracies.tolist(), "losses": losses.tolist(),
            "joint": info.joint_distribution(main1[best], main2[best]).cpu(),
            "clusters": main1[best].argmax(1).cpu()}


def _above_every_cluster(value, name: str, arguments: dict) -> int:
    """Spec: a cluster count above every id in the call's ``clusters``."""
    value, clusters = check_int(value, name, low=1), arguments["clusters"]
    if clusters.size and clusters.max() >= value:
        raise ValueError(f"{name} must exceed every cluster id; clusters holds {clusters.max()}")
    return value


def _clusters_of_y(clusters, name: str, arguments: dict):
    """Spec: one cluster id per label of ``y``."""
    if clusters.shape != arguments["y"].shape:
        raise ValueError(f"{name} must hold one cluster per label of y ({len(arguments['y'])}), "
                         f"got {len(clusters)}")
    return clusters


@checked(y=label_array, clusters=all_of(label_array, _clusters_of_y),
         num_clusters=_above_every_cluster)
def matched_confusion(y, clusters, num_clusters: int) -> torch.Tensor:
    """Counts of (true label, cluster) with the clusters reordered so that column ``i`` is
    the cluster the Hungarian matching assigns to label ``i`` (unmatched clusters follow);
    a perfect clustering is then diagonal."""
    from scipy.optimize import linear_sum_assignment

    counts = metrics.confusion(y, clusters, num_pred=num_clusters)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    order = list(cols[rows.argsort()])
    order += [c for c in range(num_clusters) if c not in order]
    return counts[:, order]


class _Order:
    """The images still to draw in the current pass (part of the state a resume restores)."""

    def __init__(self):
        self.rest = torch.empty(0, dtype=torch.long)

    def state_dict(self):
        return {"rest": self.rest.cpu()}

    def load_state_dict(self, state):
        self.rest = state["rest"]


@checked(step=nonneg_int, steps=positive_int, lr=nonneg, lr_end=_lr_end, hold=_HOLD)
def cosine_lr(step: int, steps: int, lr: float, lr_end: float, hold: float = 0.0) -> float:
    """The learning rate of step ``step`` (from 0) of ``steps`` (:func:`train` with ``lr_end``
    set): ``lr`` for the first ``int(hold * steps)`` steps, then half a cosine from ``lr`` to
    ``lr_end`` at the last step. Holding the rate high lets a run leave a merged-cluster state
    that a decay begun at once can freeze (chapter 2)."""
    held = int(hold * steps)
    if step < held:
        return lr
    step, steps = step - held, steps - held
    fraction = min(max(step, 0), steps - 1) / max(steps - 1, 1)
    return lr_end + (lr - lr_end) * (1 + math.cos(math.pi * fraction)) / 2


@checked(model=instance(nn.Module), x=images, steps=nonneg_int, batch_size=integer(low=1),
         repeats=positive_int, alpha=nonneg, lr=nonneg, ops=view_ops, first_ops=view_ops,
         seed=nonneg_int, callback=optional(function), every=nonneg_int,
         checkpoint=optional(pathlike), amp=optional(boolean), settings=optional(instance(dict)), separate_views=boolean,
         size=_SIZE, lr_end=optional(_lr_end), lr_hold=_HOLD)
def train(model, x: torch.Tensor, *, steps: int, batch_size: int, repeats: int = 1,
          alpha: float = 1.0, lr: float = 1e-3, ops=tuple(augment.VIEW_OPS), first_ops=(),
          seed: int = 0, callback=None, every: int = 0, checkpoint=None,
          amp: bool | None = None, desc: str = "IIC", settings: dict | None = None,
          separate_views: bool = False, size: int | None = None,
          lr_end: float | None = None, lr_hold: float = 0.0) -> list[dict]:
    """Train ``model`` (an :class:`~dlcourse.models.IICNet`) on images ``x`` by IIC.

    Every step draws ``batch_size`` images (a fresh permutation each pass), makes ``repeats``
    pairs of each with :func:`paired_views`, runs both views through the network in one
    batch (so batch norm sees both) and minimises the mean IIC loss over the sub-heads of the
    main head plus that of the overclustering head, as the source article does, with Adam.
    Every ``every`` steps (and after the last) ``callback(step, record)`` may add numbers to
    the step's record (an evaluation, a snapshot). The steps run in
    :func:`dlcourse.loop.run_steps`: it stops at a NaN loss and, with ``checkpoint`` set, saves
    the state atomically at each record with the settings (these arguments, the model's size,
    your ``settings`` dict); a later call resumes from it. A checkpoint made with other settings
    or holding more steps than ``steps`` raises ``ValueError``: delete it or use another path.
    Mixed precision from :func:`dlcourse.loop.precision_for`; the loss is computed in float32.
    With ``lr_end`` set the rate follows :func:`cosine_lr`, held at ``lr`` for the first
    ``lr_hold`` fraction of the steps (without ``lr_end`` it is constant anyway).
    """
    if batch_size > len(x):
        raise ValueError(f"batch_size must be in [1, {len(x)}], got {batch_size}")
    device = x.device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order_gen = torch.Generator().manual_seed(seed)
    view_gen = torch.Generator(device=device).manual_seed(seed + 1)
    order = _Order()

    def loss(i: int):
        if len(order.rest) < batch_size:  # a new pass over the images
            order.rest = torch.randperm(len(x), generator=order_gen)
        index, order.rest = order.rest[:batch_size].to(device), order.rest[batch_size:]
        if lr_end is not None:
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(i, steps, lr, lr_end, lr_hold)
        first, second = paired_views(x[index], repeats, ops, first_ops, view_gen, size)
        n = len(first)
        if separate_views:  # two forward passes: batch norm normalises each view alone
            (main1, over1), (main2, over2) = model(first), model(second)
            main, over = ([torch.cat(z) for z in zip(a, b)]
                          for a, b in ((main1, main2), (over1, over2)))
        else:
            main, over = model(torch.cat([first, second]))
        with torch.autocast(device.type, enabled=False):  # iic_loss computes in float32
            loss_main = subhead_losses([z[:n] for z in main], [z[n:] for z in main], alpha).mean()
            loss_over = subhead_losses([z[:n] for z in over], [z[n:] for z in over], alpha).mean()
        return loss_main + loss_over, {"loss_main": loss_main, "loss_over": loss_over}

    task = Task(model, optimizer, loss, data=(x,), report=callback,
                state={"order_gen": order_gen, "view_gen": view_gen, "order": order},
                settings={"loop": "iic.train", "images": len(x), "batch_size": batch_size,
                          "repeats": repeats, "alpha": alpha, "lr": lr, "ops": list(ops),
                          "first_ops": list(first_ops), "seed": seed, "every": every,
                          "separate_views": separate_views, "size": size, "lr_end": lr_end,
                          "lr_hold": lr_hold,
                          "callback": None if callback is None else describe_callable(callback),
                          "caller": settings or {}})
    return run(task, steps=steps, every=every, checkpoint=checkpoint, amp=amp, desc=desc)


@checked(joint=info.joint_matrix, alpha=nonneg)
def objective_terms(joint: torch.Tensor, alpha: float = 1.0) -> dict:
    """The terms of the article's objective on a joint matrix ``P``: ``H(X)``, ``H(Y)``,
    ``H(X,Y)``, the mutual information and the loss ``-alpha H(X) - alpha H(Y) + H(X,Y)``
    (the same number :func:`dlcourse.info.iic_loss` gives when ``P`` has no zero entries)."""
    h_x, h_y = info.entropy(joint.sum(1)).item(), info.entropy(joint.sum(0)).item()
    h_xy = info.entropy(joint.flatten()).item()
    return {"H(X)": h_x, "H(Y)": h_y, "H(X,Y)": h_xy, "I": h_x + h_y - h_xy,
            "loss": -alpha * (h_x + h_y) + h_xy}


__getattr__ = moved.display(__name__, {"objective_explorer": "explore.objective_explorer"})  # pages run before
