"""CTAugment: the strong augmentation of ReMixMatch, with magnitudes learnt during training.

Each operation (rotate, shear, posterize, cutout, ...) has its magnitude range cut into
``num_bins`` bins, every bin with a weight that starts at 1. To augment an image, CTAugment picks
``depth`` operations uniformly and, for each, a bin with probability proportional to its weight
(bins whose weight fell below ``threshold`` times the best bin's weight of that operation are
never picked), then a magnitude uniformly inside that bin. To learn the weights it *probes*: labelled images get random operations and bins, the
model classifies them, and every bin used moves towards how well the model did,
``w <- rho * w + (1 - rho) * match`` with ``match = 1 - sum |p - onehot(y)| / 2``. Bins that
destroy the class (the model fails on them) lose weight; bins the model copes with keep it.

Every operation works on a batch ``N x C x H x W`` in [0, 1] on its own device, one tensor
operation per operation (never a loop over images), and makes sense for greyscale images: the
operations are geometric (rotate, shear, translate), tonal (brightness, contrast, autocontrast,
invert, posterize, solarize, sharpness) or occluding (cutout); no colour operations.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .checks import (boolean, check_in_range, check_tensor, checked, images, labels, nonneg_int,
                     number, optional, positive_int, tensor, torch_device, unit_interval)


def _per_image(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return m.to(x.dtype).view(-1, *([1] * (x.ndim - 1)))


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _identity_theta(n, device):
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    return theta


def _magnitudes(m, name: str, arguments: dict) -> torch.Tensor:
    """Spec: one magnitude in [0, 1] per image of ``x`` (reads them)."""
    check_tensor(m, name, ndim=1, floating=True)
    if m.shape[0] != arguments["x"].shape[0]:
        raise ValueError(f"{name} must hold one magnitude per image ({arguments['x'].shape[0]}), "
                         f"got {m.shape[0]}")
    return check_in_range(m, name, 0.0, 1.0)


# Every operation, called directly, checks ``x`` (``N x C x H x W``, floating) and ``m``;
# :meth:`CTAugment.apply` calls ``op.unchecked`` with magnitudes it drew itself (no device sync).
_magnitude_op = checked(x=images, m=_magnitudes)


@_magnitude_op
def rotate(x, m, generator=None):
    """Rotate by (2m - 1) * 30 degrees: m = 0.5 is no rotation."""
    angle = (2 * m - 1) * math.radians(30)
    theta = _identity_theta(len(x), x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = torch.cos(angle)
    theta[:, 0, 1], theta[:, 1, 0] = -torch.sin(angle), torch.sin(angle)
    return _affine(x, theta)


def _affine_entry(x, row: int, col: int, value: torch.Tensor) -> torch.Tensor:
    """The identity transform with one entry of each image's 2 x 3 matrix set to ``value``."""
    theta = _identity_theta(len(x), x.device)
    theta[:, row, col] = value
    return _affine(x, theta)


@_magnitude_op
def shear_x(x, m, generator=None):
    """Horizontal shear by a factor (2m - 1) * 0.3."""
    return _affine_entry(x, 0, 1, (2 * m - 1) * 0.3)


@_magnitude_op
def shear_y(x, m, generator=None):
    """Vertical shear by a factor (2m - 1) * 0.3."""
    return _affine_entry(x, 1, 0, (2 * m - 1) * 0.3)


@_magnitude_op
def translate_x(x, m, generator=None):
    """Shift right or left by up to 30% of the width (normalised coordinates span 2)."""
    return _affine_entry(x, 0, 2, (2 * m - 1) * 0.6)


@_magnitude_op
def translate_y(x, m, generator=None):
    """Shift down or up by up to 30% of the height."""
    return _affine_entry(x, 1, 2, (2 * m - 1) * 0.6)


@_magnitude_op
def identity(x, m, generator=None):
    """No change (a bin of 'do nothing' the weights can favour)."""
    return x


@_magnitude_op
def autocontrast(x, m, generator=None):
    """Blend towards the image stretched to the full [0, 1] range; m is the blend."""
    low = x.amin(dim=(1, 2, 3), keepdim=True)
    high = x.amax(dim=(1, 2, 3), keepdim=True)
    stretched = (x - low) / (high - low).clamp_min(1e-3)
    return x + _per_image(m, x) * (stretched - x)


@_magnitude_op
def brightness(x, m, generator=None):
    """Multiply by a factor from 0.1 (almost black) to 1.9."""
    return (x * _per_image(0.1 + 1.8 * m, x)).clamp(0, 1)


@_magnitude_op
def contrast(x, m, generator=None):
    """Scale the deviation from the image mean by a factor from 0.1 to 1.9."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (mean + _per_image(0.1 + 1.8 * m, x) * (x - mean)).clamp(0, 1)


@_magnitude_op
def invert(x, m, generator=None):
    """Blend towards the negative 1 - x; m is the blend (0.5 gives a flat grey image)."""
    return x + _per_image(m, x) * (1 - 2 * x)


@_magnitude_op
def posterize(x, m, generator=None):
    """Keep 1 to 8 bits per pixel (m = 0: one bit)."""
    levels = 2.0 ** (1 + torch.round(7 * m))
    levels = _per_image(levels, x)
    return torch.floor(x * levels).clamp_max(levels - 1) / (levels - 1)


@_magnitude_op
def solarize(x, m, generator=None):
    """Invert the pixels above the threshold m (m = 1: no change, m = 0: full negative)."""
    return torch.where(x >= _per_image(m, x), 1 - x, x)


@_magnitude_op
def sharpness(x, m, generator=None):
    """Blur (factor < 1) or sharpen (factor > 1) against a 3 x 3 smoothed copy, factor 0.1..1.9."""
    c = x.shape[1]
    kernel = torch.tensor([[1., 1., 1.], [1., 5., 1.], [1., 1., 1.]], device=x.device,
                          dtype=x.dtype) / 13
    smooth = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"),
                      kernel.expand(c, 1, 3, 3), groups=c)
    return (smooth + _per_image(0.1 + 1.8 * m, x) * (x - smooth)).clamp(0, 1)


@_magnitude_op
def cutout(x, m, generator=None):
    """Grey out (0.5) a square of side up to half the image, at a random place."""
    n, _, h, w = x.shape
    draw = torch.rand(n, 2, generator=generator,
                      device=generator.device if generator is not None else x.device)
    draw = draw.to(x.device)
    half = (m * 0.25 * h).view(-1, 1, 1)  # half side: up to a quarter of the height
    rows = torch.arange(h, device=x.device).view(1, -1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, -1)
    cy, cx = (draw[:, 0] * h).view(-1, 1, 1), (draw[:, 1] * w).view(-1, 1, 1)
    inside = ((rows - cy).abs() < half) & ((cols - cx).abs() < half)
    return torch.where(inside.unsqueeze(1), torch.full_like(x, 0.5), x)


OPS = {f.__name__: f for f in (identity, autocontrast, brightness, contrast, invert,
                               posterize, solarize, sharpness, rotate, shear_x, shear_y,
                               translate_x, translate_y, cutout)}


def _operations(ops, name: str, arguments=None) -> dict:
    """Spec: a non-empty mapping of name -> callable operation, as a dict."""
    if not hasattr(ops, "items"):
        raise ValueError(f"{name} must be a mapping of name -> operation, got {ops!r}")
    if not ops:
        raise ValueError(f"{name} must hold at least one operation, got none")
    uncallable = [key for key, op in ops.items() if not callable(op)]
    if uncallable:
        raise ValueError(f"{name} must map names to callables; not callable: {uncallable}")
    return dict(ops)


def _draws(rows_of: str):
    """Spec: an ``n x depth`` integer tensor of operation or bin indices, ``n`` the rows of the
    call's ``rows_of``; the indices are not read (a training step draws and applies them)."""
    def spec(index, name, arguments):
        check_tensor(index, name, ndim=2, floating=False)
        n, depth = len(arguments[rows_of]), arguments["self"].depth
        if index.shape != (n, depth):
            raise ValueError(f"ops and bins must be {n} x {depth}: {name} has shape "
                             f"{tuple(index.shape)}")
        return index
    return spec


def _weights_state(state, name: str, arguments: dict) -> dict:
    """Spec: a ``state_dict`` of this augmenter: ``{"weights": ops x num_bins}``."""
    want = tuple(arguments["self"].weights.shape)
    if not isinstance(state, dict) or not torch.is_tensor(state.get("weights")):
        raise ValueError(f"{name} must be a dict with a tensor under 'weights', got {state!r:.200}")
    if tuple(state["weights"].shape) != want:
        raise ValueError(f"{name} holds weights of shape {tuple(state['weights'].shape)}; "
                         f"weights must have shape {want}")
    return state


class CTAugment:
    """The control-theory augmenter: ``ops`` with ``num_bins`` magnitude bins each, whose weights
    are learnt from probes (``update``) and used to draw strong augmentations (``__call__``).

    ``decay`` is the paper's rho (0.99), ``threshold`` the fraction of an operation's largest
    weight below which a bin is never drawn (0.8), ``depth`` how many operations each image
    gets (2). ``learn=False`` keeps every
    bin equally likely whatever the probes say: the "random augmentation" ablation.
    """

    @checked(ops=optional(_operations), num_bins=positive_int,
             decay=number(0.0, 1.0, high_open=True), threshold=unit_interval, depth=positive_int,
             learn=boolean, device=optional(torch_device))
    def __init__(self, ops=None, num_bins: int = 17, decay: float = 0.99,
                 threshold: float = 0.8, depth: int = 2, learn: bool = True, device=None):
        ops = dict(OPS if ops is None else ops)
        self.ops, self.names = list(ops.values()), list(ops)
        self.num_bins, self.decay, self.threshold = num_bins, decay, threshold
        self.depth, self.learn = depth, learn
        self.weights = torch.ones(len(ops), num_bins, device=device)

    @checked(device=torch_device)
    def to(self, device) -> "CTAugment":
        self.weights = self.weights.to(device)
        return self

    def probabilities(self) -> torch.Tensor:
        """Per operation, the probability of each bin: the weights (plus ``1 - decay``, so no row
        is all zero) divided by the row's largest, those below ``threshold`` zeroed, the rest
        normalised. The best bin of every operation therefore always stays available."""
        if not self.learn:
            return torch.full_like(self.weights, 1.0 / self.num_bins)
        relative = self.weights + (1 - self.decay)
        relative = relative / relative.amax(1, keepdim=True)
        kept = torch.where(relative >= self.threshold, relative, torch.zeros_like(relative))
        return kept / kept.sum(1, keepdim=True)

    @checked(n=nonneg_int, uniform=boolean)
    def sample(self, n: int, generator=None, uniform: bool = False):
        """Draw ``depth`` operations per image (uniformly) and a bin for each: ``(ops, bins)``,
        two ``n x depth`` integer tensors. ``uniform=True`` draws the bins uniformly (probes)."""
        device = self.weights.device
        ops = torch.randint(len(self.ops), (n, self.depth), generator=generator, device=device)
        if uniform:
            bins = torch.randint(self.num_bins, (n, self.depth), generator=generator,
                                 device=device)
        else:
            probs = self.probabilities()[ops.flatten()]
            bins = torch.multinomial(probs, 1, generator=generator).view(n, self.depth)
        return ops, bins

    @checked(x=images, ops=_draws("x"), bins=_draws("x"))
    def apply(self, x: torch.Tensor, ops: torch.Tensor, bins: torch.Tensor,
              generator=None) -> torch.Tensor:
        """Apply the drawn operations in turn; the magnitude is uniform inside each bin."""
        jitter = torch.rand(bins.shape, generator=generator,
                            device=generator.device if generator is not None else x.device)
        magnitude = ((bins.to(x.device) + jitter.to(x.device)) / self.num_bins).to(x.dtype)
        out = x.clone()
        for d in range(self.depth):  # a loop over operations, never over images
            for k, op in enumerate(self.ops):
                chosen = (ops[:, d] == k).nonzero().flatten().to(x.device)
                if len(chosen):
                    bare = getattr(op, "unchecked", op)
                    out[chosen] = bare(out[chosen], magnitude[chosen, d], generator)
        return out

    @checked(x=images)
    def __call__(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """A strong augmentation of every image, with bins drawn from the learnt weights."""
        ops, bins = self.sample(len(x), generator)
        return self.apply(x, ops, bins, generator)

    @checked(x=images)
    def probe(self, x: torch.Tensor, generator=None):
        """Uniformly random operations and bins for labelled images: ``(x_aug, ops, bins)``."""
        ops, bins = self.sample(len(x), generator, uniform=True)
        return self.apply(x, ops, bins, generator), ops, bins

    @torch.no_grad()
    @checked(probs=tensor(ndim=2, floating=True), labels=labels(rows_of="probs"),
             ops=_draws("probs"), bins=_draws("probs"))
    def update(self, ops: torch.Tensor, bins: torch.Tensor,
               probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Move every bin a probe used towards the model's match on it.

        ``match = 1 - sum |probs - onehot(labels)| / 2`` is 1 for a
        confident correct answer and 0 for a confident wrong one. A bin used
        ``c`` times with mean match ``m`` gets ``c`` updates
        ``w <- decay * w + (1 - decay) * m``, in closed form
        ``w <- decay**c * w + (1 - decay**c) * m``. Returns the matches. A training step calls
        this: the probabilities, labels and indices are checked for shape, not read.
        """
        onehot = F.one_hot(labels, probs.shape[1]).to(probs.dtype)
        match = 1 - (probs - onehot).abs().sum(1) / 2
        w = self.weights
        index = (ops * self.num_bins + bins).flatten().to(w.device)
        score = match.to(w).repeat_interleave(self.depth)  # one per op
        count = torch.bincount(index, minlength=w.numel()).to(w.dtype)
        total = torch.bincount(index, weights=score, minlength=w.numel())
        keep = self.decay ** count  # 1 for the bins no probe used
        mean = total / count.clamp_min(1)
        self.weights = (keep * w.flatten() + (1 - keep) * mean).view_as(w)
        return match

    def state_dict(self) -> dict:
        return {"weights": self.weights.clone()}

    @checked(state=_weights_state)
    def load_state_dict(self, state: dict) -> None:
        self.weights = state["weights"].to(self.weights.device)

    def plot_weights(self, ax=None, title: str = "CTAugment bin weights"):
        """:func:`dlcourse.plot.ctaugment_weights` of this policy (kept for pages run before)."""
        from .plot import ctaugment_weights
        return ctaugment_weights(self, ax, title)
