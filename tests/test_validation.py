"""Property tests of argument validation, generated from the one case table in ``api_cases.py``:
every (function, argument, bad kind) raises a ``ValueError`` that names the argument, and every
valid baseline call still works. ``tools/fuzz_api.py`` runs the same table as a report."""
from __future__ import annotations

import math

import pytest
import torch

from api_cases import CASES, SKIPPED, all_invalid_calls, bad_value, kind_label, names_arg
from dlcourse import checks


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_valid_baseline_runs(case):
    case.call(**case.kwargs())


_REQUIRED = all_invalid_calls()


@pytest.mark.parametrize("case, arg, kind", _REQUIRED,
                         ids=[f"{c.name}-{a}-{kind_label(k)}" for c, a, k in _REQUIRED])
def test_invalid_argument_raises_value_error_naming_it(case, arg, kind):
    kwargs = case.kwargs()
    kwargs[arg] = bad_value(kind, kwargs.get(arg))
    with pytest.raises(ValueError) as raised:
        case.call(**kwargs)
    assert names_arg(str(raised.value), arg), str(raised.value)


def test_table_is_large_and_every_argument_name_exists():
    """The fuzz covers ~1,000+ invalid calls, and no entry names an argument the call lacks
    (a typo would make the substitution a no-op keyword and the test meaningless)."""
    assert len(all_invalid_calls()) >= 1000
    for case in CASES:
        baseline = case.kwargs()
        for arg in case.bad:
            assert arg in baseline or arg in ("target", "ops", "weak", "cta", "flip"), (case.name, arg)


@pytest.mark.parametrize("message, name, expected", [
    ("x must be N x C x H x W, got shape (3,)", "x", True),
    ("logits must be N x C", "x", False),           # the x of 'N x C' is not the argument x
    ("num_classes must be >= 2", "num_classes", True),
    ("num_classes must be >= 2", "classes", False),
    ("y_true has label 3", "y", False),
])
def test_names_arg(message, name, expected):
    assert names_arg(message, name) is expected


# ------------------------------------------------------- the checkers themselves, independently

@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, None, "1", [1.0]])
def test_check_number_refuses_non_numbers(value):
    with pytest.raises(ValueError, match="gamma"):
        checks.check_number(value, "gamma")


def test_check_number_ranges():
    assert checks.check_number(0, "a", low=0.0) == 0.0
    assert checks.check_number(torch.tensor(0.5), "a", 0.0, 1.0) == 0.5
    with pytest.raises(ValueError, match="a must be > 0"):
        checks.check_number(0.0, "a", low=0.0, low_open=True)
    with pytest.raises(ValueError, match="a must be < 1"):
        checks.check_number(1.0, "a", high=1.0, high_open=True)


@pytest.mark.parametrize("value", [0, -3, 1.0, True, None, "2", math.nan])
def test_check_positive_int_refuses(value):
    with pytest.raises(ValueError, match="depth"):
        checks.check_positive_int(value, "depth")


def test_check_int_accepts_numpy_ints():
    import numpy as np

    assert checks.check_positive_int(np.int64(3), "k") == 3


def test_check_labels_and_probabilities():
    y = torch.tensor([0, 2, 1])
    assert checks.check_labels(y, "y", num_classes=3, length=3) is y
    with pytest.raises(ValueError, match="y holds label 3"):
        checks.check_labels(torch.tensor([0, 3]), "y", num_classes=3)
    with pytest.raises(ValueError, match="one per row of x"):
        checks.check_labels(y, "y", length=2, rows_of="x")
    with pytest.raises(ValueError, match="p must lie"):
        checks.check_probabilities(torch.tensor([[0.5, 1.5]]), "p")
    with pytest.raises(ValueError, match="p must be finite"):
        checks.check_probabilities(torch.tensor([[0.5, math.nan]]), "p")


# ------------------------------------------------------- coverage of the table

def _public_callables() -> set[str]:
    """``module.name`` (and ``module.Class.method``) of every public function, class and method
    that a dlcourse module defines; display code (``explore``, ``widgets``, ``moved``) aside."""
    import importlib
    import inspect

    from dlcourse import sources

    found = set()
    for module_name in sources.module_names():
        if module_name in ("__init__", "widgets", "moved") or "." in module_name:
            continue
        module = importlib.import_module(f"dlcourse.{module_name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                found.add(f"{module_name}.{name}")
                found.update(f"{module_name}.{name}.{k}" for k, v in vars(obj).items()
                             if not k.startswith("_") and inspect.isfunction(v))
            elif inspect.isfunction(obj):
                found.add(f"{module_name}.{name}")
    return found


def test_every_public_callable_has_a_case_or_a_reason():
    covered = {c.name for c in CASES} | set(SKIPPED)
    assert sorted(_public_callables() - covered) == []


# ------------------------------------------------------- a training step reads no values

class _OnTheDevice(torch.Tensor):
    """A tensor whose values may not be read on the host, as on a GPU, where reading one makes
    the host wait for every queued kernel (a device sync)."""

    READS = {torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.__bool__,
             torch.Tensor.__int__, torch.Tensor.__float__, torch.Tensor.__index__}

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in cls.READS:
            raise AssertionError(f"a training step read a tensor's values ({func.__name__})")
        return super().__torch_function__(func, types, args, kwargs or {})


def _device(t: torch.Tensor) -> torch.Tensor:
    return t.as_subclass(_OnTheDevice)


def _step_calls():
    from dlcourse import autoencoders, ctaugment, flows, info, losses, models, ssl, superclass

    g = torch.Generator().manual_seed(0)
    logits, target = _device(torch.randn(6, 4, generator=g)), _device(torch.arange(6) % 4)
    probs = _device(torch.softmax(torch.randn(6, 4, generator=g), 1))
    images = _device(torch.rand(6, 1, 8, 8, generator=g))
    cta = ctaugment.CTAugment(num_bins=5, depth=2)
    ops, bins = (_device(torch.zeros(6, 2, dtype=torch.long)) for _ in range(2))
    clf = autoencoders.AutoencoderClassifier(autoencoders.MLPAutoencoder(4, 2), 4)
    return {
        "info.iic_loss": lambda: info.iic_loss(probs, probs),
        "losses.focal_loss": lambda: losses.focal_loss(logits, target, weight=_device(torch.ones(4))),
        "losses.class_balanced_loss": lambda: losses.class_balanced_loss(
            logits, target, [5, 4, 3, 2], 0.9, "focal"),
        "superclass.superclass_loss": lambda: superclass.superclass_loss(
            logits, target, [[0, 1], [2, 3]]),
        "superclass.interval_losses": lambda: superclass.interval_losses(logits, target),
        "ssl.soft_cross_entropy": lambda: ssl.soft_cross_entropy(logits, probs),
        "ssl.squared_error": lambda: ssl.squared_error(logits, probs),
        "ssl.mixup": lambda: ssl.mixup(images, probs, images, probs, 0.75),
        "ssl.DistributionAlignment": lambda: ssl.DistributionAlignment(4)(probs),
        "ssl.random_rotation": lambda: ssl.random_rotation(images, g),
        "ctaugment.CTAugment.apply": lambda: cta.apply(images, ops, bins, g),
        "ctaugment.CTAugment.update": lambda: cta.update(ops, bins, probs, target),
        "flows.image_log_prob": lambda: flows.image_log_prob(
            flows.RealNVP((1, 8, 8), 2, 2, 0, None), images, generator=g),
        "autoencoders.finetune_loss": lambda: autoencoders.finetune_loss(
            clf, _device(torch.rand(6, 4, generator=g)), target, lam=0.5),
        "models.SmallConvNet": lambda: models.SmallConvNet(4, 1, (2, 2))(images),
        "ssl.MixMatch.loss": lambda: ssl.MixMatch(4, K=2, warmup=10).loss(
            models.SmallConvNet(4, 1, (2, 2)), images, target, images, 0, g),
        "ssl.ReMixMatch.loss": lambda: ssl.ReMixMatch(4, K=1, warmup=10).loss(
            ssl.RotationNet(models.SmallConvNet(4, 1, (2, 2))), images, target, images, 0, g),
    }


@pytest.mark.parametrize("name", sorted(_step_calls()))
def test_a_training_step_reads_no_tensor_values(name):
    """The functions a training step calls check types, shapes and dtypes, never values."""
    _step_calls()[name]()


def test_the_device_stand_in_catches_a_read():
    with pytest.raises(AssertionError, match="read a tensor's values"):
        bool((_device(torch.ones(2)) > 0).all())
