"""Evaluation metrics: clustering accuracy under the best label matching, confusion matrices."""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .checks import check_int


def _labels(values, name: str) -> np.ndarray:
    array = values.detach().cpu().numpy() if torch.is_tensor(values) else np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and (not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must hold integer labels, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative, got {array.min()}")
    return array.astype(np.int64)


def confusion(y_true, y_pred, num_true: int | None = None, num_pred: int | None = None) -> torch.Tensor:
    """Count matrix ``C[i, j]`` = number of samples with true label ``i`` and prediction ``j``.

    Rows and columns may differ in number (e.g. 10 labels against 50 overclusters).
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    if num_true is not None:
        check_int(num_true, "num_true", low=1)
    if num_pred is not None:
        check_int(num_pred, "num_pred", low=1)
    rows = num_true if num_true is not None else int(t.max(initial=-1)) + 1
    cols = num_pred if num_pred is not None else int(p.max(initial=-1)) + 1
    if t.size and t.max() >= rows:
        raise ValueError(f"y_true has label {t.max()} but num_true is {rows}")
    if p.size and p.max() >= cols:
        raise ValueError(f"y_pred has label {p.max()} but num_pred is {cols}")
    counts = np.bincount(t * cols + p, minlength=rows * cols).reshape(rows, cols)
    return torch.from_numpy(counts)


def cluster_accuracy(y_true, y_pred) -> float:
    """Accuracy after the best one-to-one matching of cluster ids to labels (Hungarian algorithm).

    Clusters carry no names, so a clustering that puts every 3 in cluster 7 is perfect; this finds
    the relabelling that maximises the number of agreements. Clusters left unmatched (more clusters
    than labels) count as errors.
    """
    counts = confusion(y_true, y_pred).numpy()
    if counts.sum() == 0:
        raise ValueError("y_true and y_pred must not be empty")
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / counts.sum())


def group_accuracy(y_true, y_pred, groups) -> dict[str, float]:
    """Accuracy over the samples whose *true* label belongs to each group of classes.

    ``groups`` maps a name to the class labels it holds, e.g.
    ``{"majority": [0, 2, 3], "minority": [1, 4], "all": range(5)}``; the result maps the same names
    to accuracies in [0, 1]. A group that no sample of ``y_true`` belongs to is a ``ValueError``
    (its accuracy would be undefined). One group per class gives per-class accuracy (recall).
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    if not hasattr(groups, "items") or not groups:
        raise ValueError(f"groups must be a non-empty mapping of name -> class labels, got {groups!r}")
    correct = t == p
    result = {}
    for name, classes in groups.items():
        try:
            members = np.asarray(list(classes), dtype=np.int64)
        except (TypeError, ValueError):
            raise ValueError(f"groups[{name!r}] must hold integer class labels, "
                             f"got {classes!r}") from None
        inside = np.isin(t, members)
        if not inside.any():
            raise ValueError(f"groups[{name!r}] = {list(members)} matches no sample of y_true")
        result[name] = float(correct[inside].mean())
    return result
