"""Argument checks shared by every dlcourse module: one ``ValueError`` that names the argument.

Every range check is written so that NaN fails it (``not lo <= v``), bools are refused where a
number is expected, and tensors are checked for shape, dtype, emptiness and finiteness only where
asked (a finiteness check reads the values, i.e. a device sync).
"""
from __future__ import annotations

import math
import numbers

import torch


def check_int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` (bools refused), checked to lie in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_positive_int(value, name: str) -> int:
    """``value`` as an ``int >= 1``."""
    return check_int(value, name, low=1)


def check_number(value, name: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` in the interval from ``low`` to ``high`` (ends included
    unless ``low_open`` / ``high_open``). Bools, strings, None, NaN and inf are refused."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and not (number > low if low_open else number >= low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and not (number < high if high_open else number <= high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return number


def check_numbers(values, name: str) -> torch.Tensor:
    """``values`` (a sequence or tensor of numbers) as a flat float64 tensor, all finite."""
    if values is None or isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}")
    try:
        t = torch.as_tensor(values if torch.is_tensor(values) else list(values),
                            dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return t


def check_bool(value, name: str) -> bool:
    """``value`` as a ``bool`` (Python or NumPy bool only)."""
    if not isinstance(value, (bool,)) and type(value).__name__ != "bool_":
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_tensor(x, name: str, ndim: int | tuple | None = None, floating: bool | None = None,
                 nonempty: bool = False, finite: bool = False) -> torch.Tensor:
    """``x`` checked to be a tensor with ``ndim`` dimensions (an int or a tuple of allowed counts),
    floating point (``floating=True``) or integer (``floating=False``, bools refused), with at
    least one element (``nonempty``) and no NaN or inf (``finite``)."""
    if not torch.is_tensor(x):
        raise ValueError(f"{name} must be a tensor, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {tuple(x.shape)}")
    if floating is True and not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if floating is False and (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool):
        raise ValueError(f"{name} must be an integer tensor, got dtype {x.dtype}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return x


def check_images(x, name: str = "x") -> torch.Tensor:
    """A floating-point image batch ``N x C x H x W``."""
    check_tensor(x, name)
    if x.ndim != 4:
        raise ValueError(f"{name} must be N x C x H x W, got shape {tuple(x.shape)}")
    return check_tensor(x, name, floating=True)


def check_in_range(x: torch.Tensor, name: str, low: float | None = None,
                   high: float | None = None) -> torch.Tensor:
    """Every entry of the tensor ``x`` finite and in ``[low, high]`` (NaN fails)."""
    if x.numel() == 0:
        return x
    values = x.detach()
    if values.is_floating_point() and not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    smallest, largest = values.min().item(), values.max().item()
    if (low is not None and smallest < low) or (high is not None and largest > high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got values in "
                         f"[{smallest:.3g}, {largest:.3g}]")
    return x


def check_labels(y, name: str, num_classes: int | None = None,
                 length: int | None = None, rows_of: str | None = None) -> torch.Tensor:
    """A 1-D integer tensor of class indices in ``[0, num_classes)``, ``length`` long if given
    (one per row of the argument called ``rows_of``, which the message then names too)."""
    check_tensor(y, name, ndim=1, floating=False)
    if length is not None and y.shape[0] != length:
        of = f" (one per row of {rows_of})" if rows_of else ""
        raise ValueError(f"{name} must hold {length} labels{of}, got {y.shape[0]}")
    if y.numel():
        low, high = int(y.min()), int(y.max())
        if low < 0 or (num_classes is not None and high >= num_classes):
            bad = low if low < 0 else high
            top = "" if num_classes is None else f", {num_classes - 1}"
            raise ValueError(f"{name} holds label {bad}, outside [0{top}]")
    return y


def check_probabilities(p, name: str = "p", min_classes: int = 2) -> torch.Tensor:
    """A floating-point tensor of probability vectors on its last dimension: at least
    ``min_classes`` entries, every entry finite and in [0, 1] (rows need not sum exactly to 1)."""
    check_tensor(p, name, floating=True)
    if p.ndim < 1 or p.shape[-1] < min_classes:
        raise ValueError(f"{name} must hold probability vectors (last dim >= {min_classes}), "
                         f"got shape {tuple(p.shape)}")
    return check_in_range(p, name, 0.0, 1.0)
