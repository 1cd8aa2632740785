"""Property tests of argument validation, generated from the one case table in ``api_cases.py``:
every (function, argument, bad kind) raises a ``ValueError`` that names the argument, and every
valid baseline call still works. ``tools/fuzz_api.py`` runs the same table as a report."""
from __future__ import annotations

import math

import pytest
import torch

from api_cases import CASES, all_invalid_calls, bad_value, kind_label, names_arg
from dlcourse import checks


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_valid_baseline_runs(case):
    case.call(**case.kwargs())


@pytest.mark.parametrize(
    "case, arg, kind", all_invalid_calls(),
    ids=[f"{c.name}-{a}-{kind_label(k)}" for c, a, k in all_invalid_calls()])
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
