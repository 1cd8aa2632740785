"""Argument checks shared by every dlcourse module: one ``ValueError`` that names the argument.

Every range check is written so that NaN fails it (``not lo <= v``), bools are refused where a
number is expected, and tensors are checked for shape, dtype, emptiness and finiteness only where
asked (a finiteness check reads the values, i.e. a device sync).

:func:`checked` declares them at a function's entry, one spec per argument
(``@checked(gamma=nonneg, logits=tensor(ndim=2, floating=True))``), so that the body reads as the
mathematics. A function called every training step (a loss, an augmentation, a forward pass)
checks types, shapes and dtypes only: reading a tensor's values would make a GPU wait for all
queued work, every step.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
import os

import numpy as np
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
            want = " or ".join(f"{a}-D" for a in allowed)
            raise ValueError(f"{name} must be {want}, got shape {tuple(x.shape)}")
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


# --------------------------------------------------------------------------- @checked and its specs

def checked(**specs):
    """Check the named arguments before each call, e.g.
    ``@checked(gamma=nonneg, logits=tensor(ndim=2, floating=True))``.

    A spec is called as ``spec(value, name, arguments)`` (``arguments``: every argument of the
    call by name, defaults included) and raises a ``ValueError`` naming the argument and its
    value; what it returns is what the function receives (``nonneg`` turns 2 into 2.0). Specs run
    in the order given, so one may refer to an argument checked before it (``rows_of="logits"``).
    The bare function is ``fn.unchecked``.
    """
    for name, spec in specs.items():
        if not callable(spec):
            raise ValueError(f"specs must map argument names to checks, got {spec!r} for {name}")

    def decorate(fn):
        signature = inspect.signature(fn)
        unknown = sorted(set(specs) - set(signature.parameters))
        if unknown:
            raise ValueError(f"specs name {unknown}, which {fn.__qualname__} does not take")
        by_name = {p.kind for p in signature.parameters.values()} <= {
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            call = signature.bind(*args, **kwargs)
            call.apply_defaults()
            arguments = call.arguments
            for name, spec in specs.items():
                arguments[name] = spec(arguments[name], name, arguments)
            return fn(**arguments) if by_name else fn(*call.args, **call.kwargs)  # ** is faster

        wrapper.unchecked = fn
        return wrapper
    return decorate


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False):
    """Spec: a finite real number from ``low`` to ``high`` (:func:`check_number`), as a float."""
    low = None if low is None else check_number(low, "low")
    high = None if high is None else check_number(high, "high", low=low)
    return lambda value, name, arguments: check_number(value, name, low, high, low_open, high_open)


real = number()
nonneg = number(low=0.0)
positive = number(low=0.0, low_open=True)
unit_interval = number(0.0, 1.0)


def integer(low: int | None = None, high: int | None = None):
    """Spec: an int from ``low`` to ``high`` (bools refused), as an int."""
    low = None if low is None else check_int(low, "low")
    high = None if high is None else check_int(high, "high", low=low)
    return lambda value, name, arguments: check_int(value, name, low, high)


positive_int = integer(low=1)
nonneg_int = integer(low=0)


def boolean(value, name: str, arguments=None) -> bool:
    """Spec: True or False."""
    return check_bool(value, name)


def one_of(*choices):
    """Spec: one of ``choices``, compared by type and value (``True`` is not ``1``)."""
    if not choices:
        raise ValueError("choices must hold at least one value")

    def spec(value, name, arguments):
        if not any(type(value) is type(c) and value == c for c in choices):
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        return value
    return spec


def optional(spec):
    """Spec: None, or a value that passes ``spec``."""
    return lambda value, name, arguments: None if value is None else spec(value, name, arguments)


def function(value, name: str, arguments=None):
    """Spec: something callable."""
    if not callable(value):
        raise ValueError(f"{name} must be callable, got {value!r}")
    return value


def instance(*classes):
    """Spec: an instance of one of ``classes`` (e.g. ``torch.nn.Module``)."""
    def spec(value, name, arguments):
        if not isinstance(value, classes):
            want = " or ".join(c.__name__ for c in classes)
            raise ValueError(f"{name} must be a {want}, got {type(value).__name__}")
        return value
    return spec


def sequence(item, *, length: int | None = None, min_length: int = 1):
    """Spec: a sequence (not a string or tensor) of ``length`` items, or at least
    ``min_length``, each passing the spec ``item``; as a tuple."""
    def spec(value, name, arguments):
        if (isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")
                or torch.is_tensor(value)):
            raise ValueError(f"{name} must be a sequence, got {value!r}")
        value = tuple(value)
        if (len(value) != length) if length is not None else len(value) < min_length:
            want = f"exactly {length}" if length is not None else f"at least {min_length}"
            raise ValueError(f"{name} must hold {want} items, got {value!r}")
        return tuple(item(v, name, arguments) for v in value)
    return spec


def pathlike(value, name: str, arguments=None):
    """Spec: a file or folder path (a string or ``os.PathLike``)."""
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path (str or os.PathLike), got {value!r}")
    return value


def string(value, name: str, arguments=None) -> str:
    """Spec: a ``str``."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def torch_device(value, name: str, arguments=None) -> torch.device:
    """Spec: a device torch knows (``"cpu"``, ``"cuda:0"``, a ``torch.device``)."""
    try:
        return torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must name a device such as 'cpu' or 'cuda', "
                         f"got {value!r}") from None


def tensor(ndim: int | tuple | None = None, *, floating: bool | None = None,
           nonempty: bool = False, finite: bool = False, rows_of: str | None = None,
           like: str | None = None):
    """Spec: a tensor as :func:`check_tensor` says, with one row per row of the argument
    ``rows_of`` and the shape of the argument ``like`` when given. Only ``finite`` reads values:
    never ask for it in a function called every training step."""
    def spec(value, name, arguments):
        check_tensor(value, name, ndim, floating, nonempty, finite)
        _check_rows(value, name, arguments, rows_of, "row")
        other = arguments.get(like) if like is not None else None
        if torch.is_tensor(other) and value.shape != other.shape:
            raise ValueError(f"{like} and {name} must have the same shape, got "
                             f"{tuple(other.shape)} and {tuple(value.shape)}")
        return value
    return spec


def _check_rows(x: torch.Tensor, name: str, arguments: dict, rows_of: str | None,
               item: str = "row") -> None:
    """``x`` holds one ``item`` per row of the tensor ``arguments[rows_of]`` (if a tensor)."""
    other = arguments.get(rows_of) if rows_of is not None else None
    if torch.is_tensor(other) and (x.ndim == 0 or other.ndim == 0 or len(x) != len(other)):
        rows = len(other) if other.ndim else 0
        raise ValueError(f"{name} must hold one {item} per row of {rows_of} ({rows}), "
                         f"got shape {tuple(x.shape)}")


def images(value, name: str, arguments=None) -> torch.Tensor:
    """Spec: a floating-point image batch ``N x C x H x W``."""
    return check_images(value, name)


def labels(*, rows_of: str | None = None, values: bool = False):
    """Spec: a 1-D integer tensor of class indices, one per row of ``rows_of``. With ``values``
    it also reads them (each >= 0): not in a function called every training step."""
    def spec(value, name, arguments):
        check_tensor(value, name, ndim=1, floating=False)
        _check_rows(value, name, arguments, rows_of, "label")
        return check_labels(value, name) if values else value
    return spec


def label_array(values, name: str, arguments=None) -> np.ndarray:
    """Spec: 1-D integer labels >= 0 (a tensor, array or list; reads them), as an int64 array."""
    try:
        array = values.detach().cpu().numpy() if torch.is_tensor(values) else np.asarray(values)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must hold integer labels, got {values!r}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative, got {array.min()}")
    return array.astype(np.int64)


def probabilities(value, name: str, arguments=None) -> torch.Tensor:
    """Spec: probability vectors on the last dimension (reads them: :func:`check_probabilities`)."""
    return check_probabilities(value, name)


def class_logits(value, name: str, arguments=None) -> torch.Tensor:
    """Spec: floating-point scores ``N x C`` for ``C >= 2`` classes."""
    check_tensor(value, name, ndim=2, floating=True)
    if value.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 classes (columns), got shape "
                         f"{tuple(value.shape)}")
    return value


def all_of(*specs):
    """Spec: passes every one of ``specs``, in turn."""
    def spec(value, name, arguments):
        for each in specs:
            value = each(value, name, arguments)
        return value
    return spec


def within(low: float, high: float):
    """Spec: a floating-point tensor whose entries all lie in ``[low, high]`` (reads them)."""
    def spec(value, name, arguments):
        return check_in_range(check_tensor(value, name, floating=True), name, low, high)
    return spec


def mapping_with(*keys: str):
    """Spec: a dict holding (at least) ``keys``, such as a ``state_dict``."""
    def spec(value, name, arguments):
        if not isinstance(value, dict) or not set(keys) <= set(value):
            raise ValueError(f"{name} must be a dict with keys {list(keys)}, got {value!r:.200}")
        return value
    return spec
