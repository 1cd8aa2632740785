"""Tests of dlcourse.info: entropy, IIC joint distribution and mutual information.

Every value is checked against an independent computation (scipy, scikit-learn, or a plain
Python double loop), never against the code path under test.
"""
import math

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
import torch

from dlcourse.info import entropy, joint_distribution, mutual_information


def _random_distributions(rng: np.random.Generator, shape, dim=-1) -> np.ndarray:
    p = rng.random(shape) + 1e-3
    return p / p.sum(axis=dim, keepdims=True)


def _random_joint(rng: np.random.Generator, rows: int, cols: int, sparsity: float = 0.0) -> np.ndarray:
    p = rng.random((rows, cols))
    if sparsity:
        p[rng.random((rows, cols)) < sparsity] = 0.0
        p[0, 0] += 1e-3  # never all zero
    return p / p.sum()


def _kl_joint_vs_product(joint) -> float:
    """sum_ij P_ij log(P_ij / (P_i P_j)), written out with plain Python loops (0 log 0 = 0)."""
    rows, cols = len(joint), len(joint[0])
    p_x = [sum(joint[i][j] for j in range(cols)) for i in range(rows)]
    p_y = [sum(joint[i][j] for i in range(rows)) for j in range(cols)]
    total = 0.0
    for i in range(rows):
        for j in range(cols):
            if joint[i][j] > 0:
                total += joint[i][j] * math.log(joint[i][j] / (p_x[i] * p_y[j]))
    return total


# ----------------------------------------------------------------------------------- entropy


@pytest.mark.parametrize("c", [1, 2, 3, 10, 257])
def test_entropy_uniform_is_log_c(c):
    p = torch.full((c,), 1.0 / c, dtype=torch.float64)
    assert entropy(p).item() == pytest.approx(math.log(c), abs=1e-12)


@pytest.mark.parametrize("hot", [0, 3, 6])
def test_entropy_one_hot_is_zero(hot):
    p = torch.zeros(7)
    p[hot] = 1.0
    h = entropy(p)
    assert torch.isfinite(h)
    assert h.item() == 0.0


def test_entropy_matches_scipy_on_random_distributions():
    rng = np.random.default_rng(0)
    for c in (2, 5, 17):
        p = _random_distributions(rng, (c,))
        assert entropy(torch.from_numpy(p)).item() == pytest.approx(scipy.stats.entropy(p), rel=1e-12)


def test_entropy_with_zeros_matches_scipy():
    p = np.array([0.0, 0.25, 0.0, 0.75])
    assert entropy(torch.from_numpy(p)).item() == pytest.approx(scipy.stats.entropy(p), rel=1e-12)


def test_entropy_batched_along_last_dim():
    rng = np.random.default_rng(1)
    p = _random_distributions(rng, (6, 9), dim=1)
    h = entropy(torch.from_numpy(p))
    assert h.shape == (6,)
    np.testing.assert_allclose(h.numpy(), scipy.stats.entropy(p, axis=1), rtol=1e-12)


def test_entropy_along_dim0():
    rng = np.random.default_rng(2)
    p = _random_distributions(rng, (5, 4), dim=0)  # columns are distributions, rows are not
    h = entropy(torch.from_numpy(p), dim=0)
    assert h.shape == (4,)
    expected = [scipy.stats.entropy(p[:, j]) for j in range(4)]
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)


def test_entropy_3d_batch_middle_dim():
    rng = np.random.default_rng(3)
    p = _random_distributions(rng, (2, 5, 3), dim=1)
    h = entropy(torch.from_numpy(p), dim=1)
    assert h.shape == (2, 3)
    np.testing.assert_allclose(h.numpy(), scipy.stats.entropy(p, axis=1), rtol=1e-12)


def test_entropy_float32_matches_scipy():
    rng = np.random.default_rng(4)
    p = _random_distributions(rng, (10,)).astype(np.float32)
    assert entropy(torch.from_numpy(p)).item() == pytest.approx(scipy.stats.entropy(p.astype(np.float64)), rel=1e-5)


# ------------------------------------------------------------------------- mutual information


def test_mutual_information_matches_sklearn_from_label_pairs():
    rng = np.random.default_rng(10)
    for rows, cols, n in [(3, 3, 200), (4, 6, 500), (5, 2, 50)]:
        a = rng.integers(0, rows, size=n)
        # correlated b: copy a (mod cols) half the time, random otherwise
        b = np.where(rng.random(n) < 0.5, a % cols, rng.integers(0, cols, size=n))
        counts = np.zeros((rows, cols))
        for i, j in zip(a, b):
            counts[i, j] += 1
        joint = torch.from_numpy(counts / counts.sum())
        expected = sklearn.metrics.mutual_info_score(a, b)
        assert mutual_information(joint).item() == pytest.approx(expected, abs=1e-10)


def test_mutual_information_independent_is_zero():
    rng = np.random.default_rng(11)
    for rows, cols in [(2, 2), (4, 4), (3, 7)]:
        px = _random_distributions(rng, (rows,))
        py = _random_distributions(rng, (cols,))
        joint = torch.from_numpy(np.outer(px, py)).float()
        assert abs(mutual_information(joint).item()) < 1e-6


def test_mutual_information_bounded_by_marginal_entropies():
    rng = np.random.default_rng(12)
    for trial in range(200):
        rows, cols = rng.integers(2, 8, size=2)
        joint = _random_joint(rng, rows, cols, sparsity=0.5 if trial % 2 else 0.0)
        mi = mutual_information(torch.from_numpy(joint)).item()
        h_x = scipy.stats.entropy(joint.sum(axis=1))
        h_y = scipy.stats.entropy(joint.sum(axis=0))
        assert -1e-12 <= mi <= min(h_x, h_y) + 1e-12


@pytest.mark.parametrize("c", [2, 3, 10])
def test_mutual_information_uniform_diagonal_is_log_c(c):
    joint = torch.eye(c, dtype=torch.float64) / c
    assert mutual_information(joint).item() == pytest.approx(math.log(c), abs=1e-12)


def test_mutual_information_permuted_diagonal_is_log_c():
    c = 5
    joint = torch.eye(c, dtype=torch.float64)[[2, 4, 0, 1, 3]] / c
    assert mutual_information(joint).item() == pytest.approx(math.log(c), abs=1e-12)


def test_mutual_information_equals_kl_by_double_loop():
    joint = [[0.10, 0.05, 0.05],
             [0.02, 0.30, 0.08],
             [0.00, 0.10, 0.30]]
    expected = _kl_joint_vs_product(joint)
    assert expected > 0.1
    got = mutual_information(torch.tensor(joint, dtype=torch.float64)).item()
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("rows,cols", [(2, 5), (6, 3), (1, 4)])
def test_mutual_information_non_square(rows, cols):
    rng = np.random.default_rng(rows * 10 + cols)
    joint = _random_joint(rng, rows, cols, sparsity=0.3)
    expected = _kl_joint_vs_product(joint.tolist())
    got = mutual_information(torch.from_numpy(joint)).item()
    assert got == pytest.approx(expected, abs=1e-12)


def test_mutual_information_non_square_vs_sklearn():
    rng = np.random.default_rng(13)
    a = rng.integers(0, 3, size=300)
    b = (a * 2 + rng.integers(0, 2, size=300)) % 7  # b has 7 values, a has 3
    counts = np.zeros((3, 7))
    np.add.at(counts, (a, b), 1)
    got = mutual_information(torch.from_numpy(counts / counts.sum())).item()
    assert got == pytest.approx(sklearn.metrics.mutual_info_score(a, b), abs=1e-10)


# ------------------------------------------------------------------------- joint distribution


def _softmax_rows(rng, b, c):
    return torch.softmax(torch.from_numpy(rng.normal(size=(b, c))), dim=1)


def test_joint_distribution_symmetric_and_normalised():
    rng = np.random.default_rng(20)
    z1, z2 = _softmax_rows(rng, 32, 6), _softmax_rows(rng, 32, 6)
    p = joint_distribution(z1, z2)
    assert p.shape == (6, 6)
    assert torch.allclose(p, p.T, atol=0, rtol=0)
    assert p.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert (p >= 0).all()


def test_joint_distribution_equals_double_loop():
    z1 = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.0, 0.5, 0.5]]
    z2 = [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]]
    b, c = len(z1), len(z1[0])
    p = [[0.0] * c for _ in range(c)]
    for k in range(b):
        for i in range(c):
            for j in range(c):
                p[i][j] += z1[k][i] * z2[k][j] / b
    sym = [[(p[i][j] + p[j][i]) / 2 for j in range(c)] for i in range(c)]
    total = sum(sum(row) for row in sym)
    expected = np.array([[v / total for v in row] for row in sym])
    got = joint_distribution(torch.tensor(z1, dtype=torch.float64), torch.tensor(z2, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-14)


def test_joint_distribution_identical_one_hot_gives_log_c():
    c = 4
    z = torch.eye(c).repeat(3, 1)  # each cluster equally often, both views agree
    assert mutual_information(joint_distribution(z, z)).item() == pytest.approx(math.log(c), abs=1e-6)


def test_joint_distribution_gradient_flows():
    torch.manual_seed(0)
    logits1 = torch.randn(16, 5, requires_grad=True)
    logits2 = torch.randn(16, 5, requires_grad=True)
    mi = mutual_information(joint_distribution(torch.softmax(logits1, 1), torch.softmax(logits2, 1)))
    mi.backward()
    for g in (logits1.grad, logits2.grad):
        assert g is not None
        assert torch.isfinite(g).all()
        assert g.abs().sum() > 0


def test_joint_distribution_gradient_matches_finite_differences():
    torch.manual_seed(1)
    logits1 = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    logits2 = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)

    def f(a, b):
        return mutual_information(joint_distribution(torch.softmax(a, 1), torch.softmax(b, 1)))

    assert torch.autograd.gradcheck(f, (logits1, logits2), eps=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------ error cases


@pytest.mark.parametrize("bad", [
    pytest.param(torch.tensor([-0.1, 0.6, 0.5]), id="negative"),
    pytest.param(torch.tensor([0.3, 0.3, 0.3]), id="sum-not-1"),
    pytest.param(torch.tensor([[0.5, 0.5], [0.2, 0.2]]), id="row-not-1"),
    pytest.param(torch.tensor([float("nan"), 0.5, 0.5]), id="nan"),
    pytest.param(torch.tensor([float("inf"), 0.0]), id="inf"),
    pytest.param(torch.tensor([0, 1]), id="integer"),
    pytest.param([0.5, 0.5], id="list"),
])
def test_entropy_rejects(bad):
    with pytest.raises(ValueError, match=r"\bp\b"):
        entropy(bad)


def test_entropy_rejects_dim0_when_rows_are_distributions():
    p = torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])  # rows sum to 1, columns do not
    entropy(p, dim=1)
    with pytest.raises(ValueError, match=r"\bp\b"):
        entropy(p, dim=0)


@pytest.mark.parametrize("bad", [
    pytest.param(torch.tensor([[0.6, -0.1], [0.25, 0.25]]), id="negative"),
    pytest.param(torch.tensor([[0.25, 0.25], [0.25, 0.2]]), id="sum-not-1"),
    pytest.param(torch.tensor([[0.5, float("nan")], [0.25, 0.25]]), id="nan"),
    pytest.param(torch.tensor([0.5, 0.5]), id="1-d"),
    pytest.param(torch.full((2, 2, 2), 0.125), id="3-d"),
    pytest.param(torch.tensor([[1, 0], [0, 0]]), id="integer"),
])
def test_mutual_information_rejects(bad):
    with pytest.raises(ValueError, match=r"\bjoint\b"):
        mutual_information(bad)


def _good(b=4, c=3):
    return torch.full((b, c), 1.0 / c)


@pytest.mark.parametrize("which", ["z1", "z2"])
@pytest.mark.parametrize("defect", ["negative", "row-not-1", "nan", "integer"])
def test_joint_distribution_rejects_bad_input(which, defect):
    bad = _good()
    if defect == "negative":
        bad[0] = torch.tensor([1.2, -0.1, -0.1])
    elif defect == "row-not-1":
        bad[1] = torch.tensor([0.5, 0.4, 0.4])
    elif defect == "nan":
        bad[2, 0] = float("nan")
    else:
        bad = torch.zeros(4, 3, dtype=torch.int64)
        bad[:, 0] = 1
    args = (bad, _good()) if which == "z1" else (_good(), bad)
    with pytest.raises(ValueError, match=rf"\b{which}\b"):
        joint_distribution(*args)


@pytest.mark.parametrize("shapes", [((4, 3), (5, 3)), ((4, 3), (4, 2)), ((3,), (3,))])
def test_joint_distribution_rejects_mismatched_shapes(shapes):
    s1, s2 = shapes
    z1 = torch.full(s1, 1.0 / s1[-1])
    z2 = torch.full(s2, 1.0 / s2[-1])
    with pytest.raises(ValueError, match=r"\bz1\b.*\bz2\b"):
        joint_distribution(z1, z2)


def _conditional_entropy_by_loop(joint) -> float:
    """-sum_ij P_ij log P(X=i | Y=j), written out with plain Python loops (0 log 0 = 0)."""
    rows, cols = len(joint), len(joint[0])
    p_y = [sum(joint[i][j] for i in range(rows)) for j in range(cols)]
    total = 0.0
    for i in range(rows):
        for j in range(cols):
            if joint[i][j] > 0:
                total -= joint[i][j] * math.log(joint[i][j] / p_y[j])
    return total


@pytest.mark.parametrize("rows, cols, sparsity", [(3, 3, 0.0), (4, 7, 0.0), (6, 5, 0.4)])
def test_conditional_entropy_equals_double_loop(rows, cols, sparsity):
    from dlcourse.info import conditional_entropy

    joint = _random_joint(np.random.default_rng(rows * cols), rows, cols, sparsity)
    expected = _conditional_entropy_by_loop(joint.tolist())
    got = conditional_entropy(torch.tensor(joint)).item()
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    # the other direction, H(Y | X), through the transpose
    expected_t = _conditional_entropy_by_loop(joint.T.tolist())
    assert conditional_entropy(torch.tensor(joint).T).item() == pytest.approx(expected_t, rel=1e-10)


def test_conditional_entropy_of_independent_joint_is_marginal_entropy():
    from dlcourse.info import conditional_entropy

    rng = np.random.default_rng(3)
    p_x, p_y = _random_distributions(rng, 5), _random_distributions(rng, 4)
    joint = torch.tensor(np.outer(p_x, p_y))
    assert conditional_entropy(joint).item() == pytest.approx(scipy.stats.entropy(p_x), rel=1e-10)


def test_conditional_entropy_of_permuted_diagonal_is_zero():
    from dlcourse.info import conditional_entropy

    joint = torch.eye(6, dtype=torch.float64)[torch.tensor([2, 0, 5, 1, 4, 3])] / 6
    assert conditional_entropy(joint).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("bad", [
    torch.tensor([[0.5, 0.6], [0.1, 0.1]]),          # sums to 1.3
    torch.tensor([[0.5, -0.1], [0.3, 0.3]]),         # negative entry
    torch.tensor([[float("nan"), 0.5], [0.25, 0.25]]),
    torch.tensor([0.5, 0.5]),                        # not a matrix
])
def test_conditional_entropy_rejects(bad):
    from dlcourse.info import conditional_entropy

    with pytest.raises(ValueError, match="joint"):
        conditional_entropy(bad)
