"""Evaluation metrics: clustering accuracy under the best label matching, confusion matrices."""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .checks import all_of, check_int, checked, label_array


def _as_long_as_y_true(y_pred: np.ndarray, name: str, arguments: dict) -> np.ndarray:
    """Spec: one prediction per label of ``y_true``."""
    if y_pred.shape != arguments["y_true"].shape:
        raise ValueError(f"y_true and {name} must have the same length, got "
                         f"{arguments['y_true'].shape[0]} and {y_pred.shape[0]}")
    return y_pred


def _count_of(labels_name: str):
    """Spec: None, or a count (int >= 1) above every label of the call's ``labels_name``."""
    def spec(value, name, arguments):
        if value is None:
            return None
        value, labels = check_int(value, name, low=1), arguments[labels_name]
        if labels.size and labels.max() >= value:
            raise ValueError(f"{labels_name} has label {labels.max()} but {name} is {value}")
        return value
    return spec


_PREDICTIONS = all_of(label_array, _as_long_as_y_true)


@checked(y_true=label_array, y_pred=_PREDICTIONS, num_true=_count_of("y_true"),
         num_pred=_count_of("y_pred"))
def confusion(y_true, y_pred, num_true: int | None = None, num_pred: int | None = None) -> torch.Tensor:
    """Count matrix ``C[i, j]`` = number of samples with true label ``i`` and prediction ``j``.

    Rows and columns may differ in number (e.g. 10 labels against 50 overclusters).
    """
    rows = num_true if num_true is not None else int(y_true.max(initial=-1)) + 1
    cols = num_pred if num_pred is not None else int(y_pred.max(initial=-1)) + 1
    counts = np.bincount(y_true * cols + y_pred, minlength=rows * cols).reshape(rows, cols)
    return torch.from_numpy(counts)


@checked(y_true=label_array, y_pred=_PREDICTIONS)
def cluster_accuracy(y_true, y_pred) -> float:
    """Accuracy after the best one-to-one matching of cluster ids to labels (Hungarian algorithm).

    Clusters carry no names, so a clustering that puts every 3 in cluster 7 is perfect; this finds
    the relabelling that maximises the number of agreements. Clusters left unmatched (more clusters
    than labels) count as errors.
    """
    if not y_true.size:
        raise ValueError("y_true and y_pred must not be empty")
    counts = confusion(y_true, y_pred).numpy()
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / counts.sum())


def _class_groups(groups, name: str, arguments: dict) -> dict[str, np.ndarray]:
    """Spec: a non-empty mapping of name -> class labels, each group matching a sample of
    ``y_true``; as arrays."""
    if not hasattr(groups, "items") or not groups:
        raise ValueError(f"{name} must be a non-empty mapping of name -> class labels, "
                         f"got {groups!r}")
    clean = {}
    for key, classes in groups.items():
        try:
            clean[key] = np.asarray(list(classes), dtype=np.int64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}[{key!r}] must hold integer class labels, "
                             f"got {classes!r}") from None
        if not np.isin(arguments["y_true"], clean[key]).any():
            raise ValueError(f"{name}[{key!r}] = {list(clean[key])} matches no sample of y_true")
    return clean


@checked(y_true=label_array, y_pred=_PREDICTIONS, groups=_class_groups)
def group_accuracy(y_true, y_pred, groups) -> dict[str, float]:
    """Accuracy over the samples whose *true* label belongs to each group of classes.

    ``groups`` maps a name to the class labels it holds, e.g.
    ``{"majority": [0, 2, 3], "minority": [1, 4], "all": range(5)}``; the result maps the same names
    to accuracies in [0, 1]. A group that no sample of ``y_true`` belongs to is a ``ValueError``
    (its accuracy would be undefined). One group per class gives per-class accuracy (recall).
    """
    correct = y_true == y_pred
    return {name: float(correct[np.isin(y_true, members)].mean())
            for name, members in groups.items()}
