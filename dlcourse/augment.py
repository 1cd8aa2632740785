"""Batched, on-device image augmentations.

Every function takes a whole batch ``N x C x H x W`` and transforms each image with its own random
parameters in one tensor operation (``affine_grid`` + ``grid_sample``), on whatever device the
batch lives. A ``torch.Generator`` makes the draw repeatable.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .checks import check_images, check_number, check_tensor


def _uniform(n: int, low: float, high: float, generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=generator.device if generator else "cpu").to(device)


def _range_pair(pair, name: str, low: float | None, high: float | None) -> tuple[float, float]:
    """``(a, b)``: two finite numbers with ``low < a <= b <= high``."""
    if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {pair!r}")
    a = check_number(pair[0], name, low=low, low_open=True)
    b = check_number(pair[1], name, low=a, high=high)
    return a, b


def random_affine(x: torch.Tensor, *, degrees: float = 0.0, scale: tuple[float, float] = (1.0, 1.0),
                  translate: float = 0.0, shear: float = 0.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate by up to ``degrees``, scale within ``scale``, shift by up to ``translate`` (fraction
    of the image size) and shear by up to ``shear`` degrees; each image draws its own parameters.
    """
    check_images(x)
    degrees = check_number(degrees, "degrees", low=0.0)
    translate = check_number(translate, "translate", low=0.0)
    shear = check_number(shear, "shear", low=0.0, high=90.0, high_open=True)
    scale = _range_pair(scale, "scale", 0.0, None)
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


def gaussian_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None,
                   clamp: bool = True) -> torch.Tensor:
    """Add N(0, std^2) noise to every pixel, clamped back to [0, 1] by default."""
    check_tensor(x, "x", floating=True)
    std = check_number(std, "std", low=0.0)
    noise = torch.randn(x.shape, generator=generator, device=generator.device if generator else "cpu")
    out = x + std * noise.to(x.device, x.dtype)
    return out.clamp(0, 1) if clamp else out


def random_crop(x: torch.Tensor, scale: tuple[float, float] = (0.6, 1.0),
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Crop a random square covering a fraction ``scale`` of each side and resize it back to full size
    (the IIC paper's crops), one crop per image, in one ``grid_sample`` call."""
    check_images(x)
    scale = _range_pair(scale, "scale", 0.0, 1.0)
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


def binarize(x: torch.Tensor, threshold: float | tuple[float, float] = 0.5,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Pixels above the threshold become 1, the rest 0; a ``(low, high)`` range draws one threshold
    per image."""
    check_tensor(x, "x")
    if isinstance(threshold, tuple):
        if len(threshold) != 2 or not 0 <= threshold[0] <= threshold[1] <= 1:  # NaN fails too
            raise ValueError(f"threshold must be in [0, 1] with low <= high, got {threshold}")
        level = _uniform(x.shape[0], threshold[0], threshold[1], generator, x.device)
        level = level.view(-1, *([1] * (x.ndim - 1))).to(x.dtype)
    else:
        level = check_number(threshold, "threshold", 0.0, 1.0)
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


def make_view(x: torch.Tensor, ops=tuple(VIEW_OPS), generator: torch.Generator | None = None) -> torch.Tensor:
    """A second view of every image in ``x``: the named ``ops`` of ``VIEW_OPS``, applied in order."""
    check_images(x)
    if isinstance(ops, (str, bytes)) or not hasattr(ops, "__iter__"):
        raise ValueError(f"ops must be a sequence of names from {list(VIEW_OPS)}, got {ops!r}")
    unknown = [op for op in ops if op not in VIEW_OPS]
    if unknown:
        raise ValueError(f"ops must be names from {list(VIEW_OPS)}, got unknown {unknown}")
    for op in VIEW_OPS:
        if op in ops:
            x = VIEW_OPS[op](x, generator)
    return x
