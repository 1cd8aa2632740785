"""Batched, on-device image augmentations.

Every function takes a whole batch ``N x C x H x W`` and transforms each image with its own random
parameters in one tensor operation (``affine_grid`` + ``grid_sample``), on whatever device the
batch lives. A ``torch.Generator`` makes the draw repeatable.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .checks import (boolean, check_number, checked, images, nonneg, number, one_of, sequence,
                     tensor)


def _uniform(n: int, low: float, high: float, generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=generator.device if generator else "cpu").to(device)


def _range(low: float, high: float | None):
    """Spec: a pair ``(a, b)`` of finite numbers with ``low < a <= b <= high``."""
    def spec(pair, name, arguments):
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ValueError(f"{name} must be a pair (low, high), got {pair!r}")
        a = check_number(pair[0], name, low=low, low_open=True)
        return a, check_number(pair[1], name, low=a, high=high)
    return spec


@checked(x=images, degrees=nonneg, scale=_range(0.0, None), translate=nonneg,
         shear=number(0.0, 90.0, high_open=True))
def random_affine(x: torch.Tensor, *, degrees: float = 0.0, scale: tuple[float, float] = (1.0, 1.0),
                  translate: float = 0.0, shear: float = 0.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate by up to ``degrees``, scale within ``scale``, shift by up to ``translate`` (fraction
    of the image size) and shear by up to ``shear`` degrees; each image draws its own parameters.
    """
    n, device = x.shape[0], x.device
    angle = _uniform(n, -degrees, degrees, generator, device) * math.pi / 180
    zoom = _uniform(n, scale[0], scale[1], generator, device)
    skew = torch.tan(_uniform(n, -shear, shear, generator, device) * math.pi / 180)
    shift = torch.stack([_uniform(n, -2 * translate, 2 * translate, generator, device) for _ in range(2)], 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps each output pixel to the input location it samples: rotation times shear,
    # divided by the zoom. Angles and shears are drawn symmetrically, so sampling with the
    # matrix (rather than its inverse) gives the same distribution of transforms.
    # affine_grid works in coordinates normalised to [-1, 1] per axis; the off-diagonal terms
    # are rescaled by the aspect ratio so that a rotation stays a rotation on H != W images.
    aspect = x.shape[2] / x.shape[3]  # H / W
    theta = torch.zeros(n, 2, 3, device=device, dtype=x.dtype)
    theta[:, 0, 0] = cos / zoom
    theta[:, 0, 1] = (-sin + skew * cos) / zoom * aspect
    theta[:, 1, 0] = sin / zoom / aspect
    theta[:, 1, 1] = (cos + skew * sin) / zoom
    theta[:, :, 2] = shift.to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@checked(x=tensor(floating=True), std=nonneg, clamp=boolean)
def gaussian_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None,
                   clamp: bool = True) -> torch.Tensor:
    """Add N(0, std^2) noise to every pixel, clamped back to [0, 1] by default."""
    noise = torch.randn(x.shape, generator=generator, device=generator.device if generator else "cpu")
    out = x + std * noise.to(x.device, x.dtype)
    return out.clamp(0, 1) if clamp else out


@checked(x=images, scale=_range(0.0, 1.0))
def random_crop(x: torch.Tensor, scale: tuple[float, float] = (0.6, 1.0),
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Crop a random square covering a fraction ``scale`` of each side and resize it back to full size
    (the IIC paper's crops), one crop per image, in one ``grid_sample`` call."""
    n, device = x.shape[0], x.device
    side = _uniform(n, scale[0], scale[1], generator, device)
    centre = [(2 * torch.rand(n, generator=generator, device=generator.device if generator else "cpu")
               .to(device) - 1) * (1 - side) for _ in range(2)]
    theta = torch.zeros(n, 2, 3, device=device, dtype=x.dtype)
    theta[:, 0, 0] = side
    theta[:, 1, 1] = side
    theta[:, 0, 2] = centre[0]
    theta[:, 1, 2] = centre[1]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _threshold(value, name: str, arguments):
    """Spec: a number in [0, 1], or a tuple ``(low, high)`` with ``0 <= low <= high <= 1``."""
    if not isinstance(value, tuple):
        return check_number(value, name, 0.0, 1.0)
    if len(value) != 2 or not 0 <= value[0] <= value[1] <= 1:  # NaN fails too
        raise ValueError(f"{name} must be in [0, 1] with low <= high, got {value}")
    return value


@checked(x=tensor(), threshold=_threshold)
def binarize(x: torch.Tensor, threshold: float | tuple[float, float] = 0.5,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Pixels above the threshold become 1, the rest 0; a ``(low, high)`` range draws one threshold
    per image."""
    level = threshold
    if isinstance(threshold, tuple):
        level = _uniform(x.shape[0], threshold[0], threshold[1], generator, x.device)
        level = level.view(-1, *([1] * (x.ndim - 1))).to(x.dtype)
    return (x > level).to(x.dtype)


# The source article's four pair transforms plus the IIC paper's crops, with the magnitudes the
# IIC chapter uses; ``make_view`` applies any subset of them in this order.
VIEW_OPS = {
    "rotate": lambda x, g: random_affine(x, degrees=25, generator=g),
    "skew": lambda x, g: random_affine(x, shear=20, generator=g),
    "crop": lambda x, g: random_crop(x, scale=(0.7, 1.0), generator=g),
    "binarize": lambda x, g: binarize(x, threshold=(0.3, 0.7), generator=g),
    "noise": lambda x, g: gaussian_noise(x, std=0.15, generator=g),
}


# Spec of an ``ops`` argument: names from ``VIEW_OPS`` (none at all is allowed).
view_ops = sequence(one_of(*VIEW_OPS), min_length=0)


@checked(x=images, ops=view_ops)
def make_view(x: torch.Tensor, ops=tuple(VIEW_OPS), generator: torch.Generator | None = None) -> torch.Tensor:
    """A second view of every image in ``x``: the named ``ops`` of ``VIEW_OPS``, applied in order."""
    for op in VIEW_OPS:
        if op in ops:
            x = VIEW_OPS[op](x, generator)
    return x
