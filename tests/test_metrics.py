"""Tests of dlcourse.metrics: clustering accuracy and confusion matrices."""
import itertools

import numpy as np
import pytest
import sklearn.metrics
import torch

from dlcourse.metrics import cluster_accuracy, confusion


def _brute_force_accuracy(y_true, y_pred) -> float:
    """Best one-to-one matching of cluster ids to labels, by trying every injective map."""
    y_true, y_pred = list(map(int, y_true)), list(map(int, y_pred))
    n_true, n_pred = max(y_true) + 1, max(y_pred) + 1
    best = 0
    if n_pred >= n_true:  # each label gets its own cluster
        for clusters in itertools.permutations(range(n_pred), n_true):
            best = max(best, sum(1 for t, p in zip(y_true, y_pred) if clusters[t] == p))
    else:  # each cluster gets its own label
        for labels in itertools.permutations(range(n_true), n_pred):
            best = max(best, sum(1 for t, p in zip(y_true, y_pred) if labels[p] == t))
    return best / len(y_true)


# --------------------------------------------------------------------------- cluster_accuracy


def test_permuted_perfect_clustering_is_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=500)
    relabel = rng.permutation(10)
    assert cluster_accuracy(y, relabel[y]) == 1.0


def test_identity_clustering_is_one():
    y = np.arange(7).repeat(3)
    assert cluster_accuracy(y, y) == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_matches_brute_force_four_clusters(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    y_true = rng.integers(0, 4, size=n)
    # partly informative clustering: a random relabelling of the truth, corrupted at random
    y_pred = np.where(rng.random(n) < 0.5, rng.permutation(4)[y_true], rng.integers(0, 4, size=n))
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(_brute_force_accuracy(y_true, y_pred), abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_more_clusters_than_labels(seed):
    rng = np.random.default_rng(100 + seed)
    y_true = rng.integers(0, 3, size=30)
    y_pred = rng.integers(0, 6, size=30)
    expected = _brute_force_accuracy(y_true, y_pred)
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(expected, abs=1e-12)


def test_more_clusters_than_labels_unmatched_clusters_are_errors():
    # two labels split evenly over four clusters: only two clusters can be matched
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(5))
def test_fewer_clusters_than_labels(seed):
    rng = np.random.default_rng(200 + seed)
    y_true = rng.integers(0, 5, size=25)
    y_pred = rng.integers(0, 3, size=25)
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(_brute_force_accuracy(y_true, y_pred), abs=1e-12)


def test_accepts_torch_numpy_and_lists():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [2, 2, 0, 1, 1, 1, 1]
    expected = _brute_force_accuracy(y_true, y_pred)
    assert expected == pytest.approx(6 / 7)  # 0->2, 1->0, 2->1
    variants = [
        (y_true, y_pred),
        (np.array(y_true), np.array(y_pred)),
        (np.array(y_true, dtype=np.int32), np.array(y_pred, dtype=np.uint8)),
        (torch.tensor(y_true), torch.tensor(y_pred)),
        (torch.tensor(y_true), np.array(y_pred)),
    ]
    for a, b in variants:
        result = cluster_accuracy(a, b)
        assert isinstance(result, float)
        assert result == pytest.approx(expected)


def test_swapped_binary_labels_is_one():
    y = torch.tensor([0, 1, 1, 0])
    assert cluster_accuracy(y, 1 - y) == 1.0


def test_empty_raises():
    with pytest.raises(ValueError):
        cluster_accuracy(np.array([], dtype=np.int64), np.array([], dtype=np.int64))


# -------------------------------------------------------------------------------- confusion


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = 5
    y_true = np.concatenate([np.arange(k), rng.integers(0, k, size=60)])
    y_pred = np.concatenate([rng.permutation(k), rng.integers(0, k, size=60)])
    got = confusion(y_true, y_pred)
    assert got.shape == (k, k)
    assert got.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), sklearn.metrics.confusion_matrix(y_true, y_pred))


def test_confusion_matches_sklearn_with_missing_labels_and_explicit_size():
    y_true = np.array([0, 0, 2, 2, 2])
    y_pred = np.array([0, 2, 2, 0, 0])
    got = confusion(y_true, y_pred, num_true=4, num_pred=4)
    expected = sklearn.metrics.confusion_matrix(y_true, y_pred, labels=np.arange(4))
    np.testing.assert_array_equal(got.numpy(), expected)


def test_confusion_rectangular_with_num_true_num_pred():
    y_true = [0, 1, 1, 2]
    y_pred = [4, 0, 0, 6]
    got = confusion(y_true, y_pred, num_true=3, num_pred=8)
    assert got.shape == (3, 8)
    expected = np.zeros((3, 8), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    np.testing.assert_array_equal(got.numpy(), expected)
    assert got.sum().item() == 4


def test_confusion_rectangular_default_size_from_max_labels():
    y_true = torch.tensor([0, 1, 1])
    y_pred = torch.tensor([5, 5, 2])
    got = confusion(y_true, y_pred)
    assert got.shape == (2, 6)
    assert got[0, 5] == 1 and got[1, 5] == 1 and got[1, 2] == 1 and got.sum() == 3


@pytest.mark.parametrize("kwargs,match", [
    (dict(y_true=np.zeros((2, 2), dtype=int), y_pred=np.zeros(4, dtype=int)), "y_true"),
    (dict(y_true=np.zeros(4, dtype=int), y_pred=torch.zeros(2, 2, dtype=torch.int64)), "y_pred"),
    (dict(y_true=[0, -1, 1], y_pred=[0, 1, 1]), "y_true"),
    (dict(y_true=[0, 1, 1], y_pred=torch.tensor([0, 1, -2])), "y_pred"),
    (dict(y_true=np.array([0.0, 1.0]), y_pred=[0, 1]), "y_true"),
    (dict(y_true=[0, 1], y_pred=torch.tensor([0.0, 1.0])), "y_pred"),
    (dict(y_true=[0, 1, 1], y_pred=[0, 1]), "same length"),
    (dict(y_true=[0, 1, 3], y_pred=[0, 1, 1], num_true=3), "num_true"),
    (dict(y_true=[0, 1, 1], y_pred=[0, 1, 2], num_pred=2), "num_pred"),
])
def test_confusion_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        confusion(**kwargs)


def test_cluster_accuracy_propagates_label_errors():
    with pytest.raises(ValueError):
        cluster_accuracy([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError):
        cluster_accuracy([0, 1, 2], [0, 1])
