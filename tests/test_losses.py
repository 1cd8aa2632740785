"""Tests of dlcourse.losses (focal and class-balanced losses) and the helpers the imbalance chapter
uses: metrics.group_accuracy, data.imbalanced_subset, models.resnet18 and models.SmallConvNet.

Every value is checked against an independent computation: exact decimal arithmetic for the
effective number, the recurrence E_n = 1 + beta E_{n-1}, a simulation of the covering argument,
torch's own cross-entropy, and float64 formulas written out with exp and sums.
"""
from decimal import Decimal, getcontext

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import data, losses, metrics, models
from dlcourse.losses import (class_balanced_loss, class_balanced_weights, effective_number,
                             focal_loss, inverse_frequency_weights)

SEED_COUNTS = [5000, 250, 5000, 5000, 250, 5000, 250, 5000, 5000, 5000]  # the article's CIFAR-10 cut


def exact_effective_number(n: int, beta: str) -> float:
    """(1 - beta^n) / (1 - beta) in 60-digit decimal arithmetic, for the float nearest ``beta``
    (the value the function under test receives: the comparison measures its rounding alone)."""
    getcontext().prec = 60
    b = Decimal(float(beta))
    return float((1 - b ** n) / (1 - b))


# --------------------------------------------------------------------------- effective_number


def test_beta_zero_is_exactly_one_and_zero_samples_cover_nothing():
    n = torch.tensor([0, 1, 2, 250, 5000])
    assert torch.equal(effective_number(n, 0.0), torch.tensor([0.0, 1, 1, 1, 1], dtype=torch.float64))


def test_beta_one_is_exactly_n():
    n = torch.tensor([0, 1, 7, 250, 5000, 123456])
    assert torch.equal(effective_number(n, 1.0), n.to(torch.float64))
    assert torch.equal(effective_number(n, 1), n.to(torch.float64))


@pytest.mark.parametrize("n", [1, 2, 250, 5000])
def test_limits_are_continuous(n):
    """beta -> 0 tends to 1 and beta -> 1 tends to n (L'Hôpital): the exact ends are the limits."""
    assert effective_number(n, 1e-12).item() == pytest.approx(1.0, rel=1e-10)
    assert effective_number(n, 1 - 1e-12).item() == pytest.approx(n, rel=1e-8)


@pytest.mark.parametrize("beta", ["0.5", "0.9", "0.99", "0.999", "0.9999", "0.99999", "0.9999999999"])
@pytest.mark.parametrize("n", [1, 3, 250, 5000, 100000])
def test_matches_exact_decimal_arithmetic(n, beta):
    got = effective_number(n, float(beta)).item()
    assert got == pytest.approx(exact_effective_number(n, beta), rel=1e-12)


def test_sound_near_one_where_the_naive_formula_is_not():
    beta, n = 0.9999, 5000
    exact = exact_effective_number(n, "0.9999")
    assert effective_number(n, beta).item() == pytest.approx(exact, rel=1e-13)
    naive32 = (1 - torch.tensor(beta) ** n) / (1 - torch.tensor(beta))  # float32, cancellation
    assert abs(naive32.item() - exact) / exact > 1e-6


@pytest.mark.parametrize("beta", [0.3, 0.9, 0.99, 0.999])
def test_satisfies_the_recurrence(beta):
    """E_1 = 1 and E_n = 1 + beta E_{n-1}, iterated in plain Python."""
    values, e = [], 0.0
    for _ in range(400):
        e = 1.0 + beta * e
        values.append(e)
    got = effective_number(torch.arange(1, 401), beta)
    assert torch.allclose(got, torch.tensor(values, dtype=torch.float64), rtol=1e-12)


def test_covering_argument_by_simulation():
    """n draws from N equally likely prototypes cover E_n of them on average, beta = (N - 1) / N."""
    rng = np.random.default_rng(0)
    big_n, trials = 40, 20000
    beta = (big_n - 1) / big_n
    for n in (1, 10, 40, 120):
        draws = np.sort(rng.integers(0, big_n, size=(trials, n)), axis=1)
        covered = (1 + (np.diff(draws, axis=1) != 0).sum(axis=1)).mean()  # distinct per row
        assert covered == pytest.approx(effective_number(n, beta).item(), rel=0.01)


def test_shape_dtype_monotone_and_bounded():
    n = torch.arange(0, 20001, 7).reshape(-1, 1).expand(-1, 2)
    e = effective_number(n, 0.999)
    assert e.shape == n.shape and e.dtype == torch.float64
    assert (e[1:, 0] > e[:-1, 0]).all()
    assert (e <= n).all() and (e < 1000).all()
    assert effective_number(np.array([3, 4]), 0.5).tolist() == [1.75, 1.875]
    assert effective_number(3, 0.5).ndim == 0


@pytest.mark.parametrize("beta", [-0.1, 1.0001, 2, float("nan"), "high", None, [0.5, 0.9]])
def test_effective_number_rejects_beta_outside_unit_interval(beta):
    with pytest.raises(ValueError, match="beta"):
        effective_number(10, beta)


@pytest.mark.parametrize("n", [-1, [3, -2], torch.tensor([1.0, float("inf")]), torch.tensor([True])])
def test_effective_number_rejects_bad_counts(n):
    with pytest.raises(ValueError, match="n must"):
        effective_number(n, 0.9)


# --------------------------------------------------------------------------- class weights


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0])
def test_class_balanced_weights_sum_to_the_number_of_classes(beta):
    w = class_balanced_weights(SEED_COUNTS, beta)
    assert w.shape == (10,) and w.dtype == torch.get_default_dtype()
    assert w.sum().item() == pytest.approx(10, rel=1e-6)


@pytest.mark.parametrize("beta", ["0.9", "0.99", "0.999", "0.9999"])
def test_class_balanced_weight_ratio_is_the_ratio_of_effective_numbers(beta):
    w = class_balanced_weights(SEED_COUNTS, float(beta))
    ratio = exact_effective_number(5000, beta) / exact_effective_number(250, beta)
    assert (w[1] / w[0]).item() == pytest.approx(ratio, rel=1e-5)
    assert torch.allclose(w[[1, 4, 6]], w[1].expand(3)) and torch.allclose(w[[0, 9]], w[0].expand(2))


def test_weights_at_the_ends_of_beta():
    assert torch.equal(class_balanced_weights(SEED_COUNTS, 0.0), torch.ones(10))
    assert torch.allclose(class_balanced_weights(SEED_COUNTS, 1.0), inverse_frequency_weights(SEED_COUNTS))
    w = inverse_frequency_weights([1, 2, 4])  # proportional to 1, 1/2, 1/4; sum 3
    assert torch.allclose(w, torch.tensor([4.0, 2.0, 1.0]) * 3 / 7)
    assert torch.equal(class_balanced_weights([7, 7, 7], 0.99), torch.ones(3))


@pytest.mark.parametrize("fn", [lambda c: class_balanced_weights(c, 0.99), inverse_frequency_weights])
def test_zero_count_class_is_named(fn):
    with pytest.raises(ValueError, match="class 3 has no samples"):
        fn([10, 20, 30, 0, 5])


@pytest.mark.parametrize("counts", [[5], [[1, 2], [3, 4]], [], 7])
@pytest.mark.parametrize("fn", [lambda c: class_balanced_weights(c, 0.99), inverse_frequency_weights])
def test_weights_need_a_vector_of_at_least_two_counts(fn, counts):
    with pytest.raises(ValueError, match="counts"):
        fn(counts)


def test_weights_reject_negative_counts_and_bad_beta():
    with pytest.raises(ValueError, match="counts must be >= 0"):
        class_balanced_weights([10, -1], 0.9)
    with pytest.raises(ValueError, match="counts must be >= 0"):
        inverse_frequency_weights([10, -1])
    with pytest.raises(ValueError, match="beta"):
        class_balanced_weights([10, 20], 1.5)


# --------------------------------------------------------------------------- focal loss


def _batch(n=64, c=10, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, c, generator=g, dtype=dtype)
    target = torch.randint(0, c, (n,), generator=g)
    return logits, target


def _reference_focal(logits, target, gamma, weight=None):
    """-(w_t) (1 - p_t)^gamma log p_t, weighted mean, with softmax written out in float64."""
    z = logits.double()
    z = z - z.max(dim=1, keepdim=True).values
    log_p = z - z.exp().sum(dim=1, keepdim=True).log()
    log_pt = log_p[torch.arange(len(target)), target]
    per_sample = -((1 - log_pt.exp()) ** gamma) * log_pt
    w = torch.ones(len(target), dtype=torch.float64) if weight is None else weight.double()[target]
    return (w * per_sample).sum() / w.sum(), per_sample


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gamma_zero_is_exactly_cross_entropy(reduction, use_weight, dtype):
    logits, target = _batch(dtype=dtype)
    weight = torch.rand(10, generator=torch.Generator().manual_seed(1), dtype=dtype) if use_weight else None
    ours = focal_loss(logits, target, gamma=0.0, weight=weight, reduction=reduction)
    torch_ce = F.cross_entropy(logits, target, weight=weight, reduction=reduction)
    assert torch.equal(ours, torch_ce)
    if use_weight:
        assert torch.allclose(class_balanced_loss(logits, target, SEED_COUNTS, 0.999,
                                                  reduction=reduction),
                              F.cross_entropy(logits, target, reduction=reduction,
                                              weight=class_balanced_weights(SEED_COUNTS, 0.999)
                                              .to(dtype)), atol=1e-6)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 1.5, 2.0, 5.0])
@pytest.mark.parametrize("use_weight", [False, True])
def test_focal_matches_the_formula(gamma, use_weight):
    logits, target = _batch(dtype=torch.float64)
    weight = torch.rand(10, generator=torch.Generator().manual_seed(2), dtype=torch.float64) \
        if use_weight else None
    mean, per_sample = _reference_focal(logits, target, gamma, weight)
    assert torch.allclose(focal_loss(logits, target, gamma, weight), mean, rtol=1e-12)
    got = focal_loss(logits, target, gamma, weight, reduction="none")
    w = 1.0 if weight is None else weight[target]
    assert torch.allclose(got, w * per_sample, rtol=1e-12)
    assert torch.allclose(focal_loss(logits, target, gamma, weight, reduction="sum"),
                          (w * per_sample).sum(), rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_gradient_matches_autograd_of_the_formula(gamma):
    logits, target = _batch(n=16, dtype=torch.float64)
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    focal_loss(a, target, gamma).backward()
    _reference_focal(b, target, gamma)[0].backward()
    assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)


def test_focal_gradient_of_the_true_logit_has_the_closed_form():
    """dFL/dz_t = gamma p (1 - p)^gamma log p - (1 - p)^(gamma + 1), whatever the other logits."""
    gamma = 2.0
    logits, target = _batch(n=32, c=5, dtype=torch.float64)
    z = logits.clone().requires_grad_(True)
    focal_loss(z, target, gamma, reduction="sum").backward()
    p = torch.softmax(logits, 1)[torch.arange(32), target]
    closed = gamma * p * (1 - p) ** gamma * p.log() - (1 - p) ** (gamma + 1)
    assert torch.allclose(z.grad[torch.arange(32), target], closed, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_loss_and_gradient_when_p_t_is_zero_or_one(gamma, dtype):
    # row 0: p_t = 1 exactly in floating point; row 1: p_t = e^-400, a confident wrong prediction
    logits = torch.tensor([[200.0, -200.0, 0.0], [-200.0, 200.0, 0.0]], dtype=dtype)
    target = torch.tensor([0, 0])
    z = logits.clone().requires_grad_(True)
    loss = focal_loss(z, target, gamma, reduction="none")
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(z.grad).all()
    assert loss[0].item() == 0.0
    assert loss[1].item() == pytest.approx(400.0, rel=1e-6)  # -log p_t, factor (1 - p_t)^gamma = 1
    assert torch.allclose(z.grad[0], torch.zeros(3, dtype=dtype), atol=1e-30)
    assert z.grad[1, 0].item() == pytest.approx(-1.0, rel=1e-6)  # like cross-entropy, p_t - 1
    weighted = focal_loss(z, target, gamma, weight=torch.tensor([2.0, 1.0, 1.0]))
    assert torch.isfinite(weighted)


def test_focal_down_weights_easy_examples():
    logits = torch.tensor([[2.2, 0.0]])  # p_t = 0.9
    target = torch.tensor([0])
    ce = F.cross_entropy(logits, target)
    fl = focal_loss(logits, target, gamma=2.0)
    p = torch.softmax(logits, 1)[0, 0]
    assert fl.item() == pytest.approx(((1 - p) ** 2 * ce).item(), rel=1e-5)
    assert fl < 0.02 * ce


@pytest.mark.parametrize("gamma", [-0.5, -1, float("nan"), float("inf"), "two", True, None])
def test_focal_rejects_bad_gamma(gamma):
    logits, target = _batch()
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(logits, target, gamma=gamma)


def test_focal_accepts_numpy_and_tensor_gamma():
    logits, target = _batch()
    expected = focal_loss(logits, target, 1.5)
    assert torch.equal(focal_loss(logits, target, np.float32(1.5)), expected)
    assert torch.equal(focal_loss(logits, target, torch.tensor(1.5)), expected)


# Label values (3 of 3 classes, -1) are not read: a training step calls these losses, and reading
# a tensor stalls a GPU (torch's own indexing error follows on the CPU).
@pytest.mark.parametrize("logits, target, match", [
    (torch.randn(10), torch.zeros(10, dtype=torch.int64), "logits must be 2-D"),
    (torch.randn(4, 3, 2), torch.zeros(4, dtype=torch.int64), "logits must be 2-D"),
    (torch.randn(4, 1), torch.zeros(4, dtype=torch.int64), "at least 2 classes"),
    (torch.randint(0, 3, (4, 3)), torch.zeros(4, dtype=torch.int64), "floating-point"),
    ([[0.0, 1.0]], torch.zeros(1, dtype=torch.int64), "logits must be a tensor"),
    (torch.randn(4, 3), torch.zeros(4, 1, dtype=torch.int64), "target must be 1-D"),
    (torch.randn(4, 3), torch.zeros(4), "target must be an integer tensor"),
    (torch.randn(4, 3), torch.zeros(5, dtype=torch.int64), "one label per row"),
])
def test_focal_and_class_balanced_reject_bad_inputs(logits, target, match):
    with pytest.raises(ValueError, match=match):
        focal_loss(logits, target)
    with pytest.raises(ValueError, match=match):
        class_balanced_loss(logits, target, [5, 5, 5], 0.9)


def test_focal_rejects_bad_weight_and_reduction():
    logits, target = _batch(c=3)
    with pytest.raises(ValueError, match="weight must have one entry per class"):
        focal_loss(logits, target, weight=torch.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        focal_loss(logits, target, reduction="avg")


def test_empty_batch_is_allowed():
    logits, target = torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64)
    assert focal_loss(logits, target, reduction="none").shape == (0,)
    assert focal_loss(logits, target, reduction="sum").item() == 0.0


# --------------------------------------------------------------------------- class-balanced loss


@pytest.mark.parametrize("beta", [0.9, 0.999, 1.0])
def test_class_balanced_softmax_and_focal_are_weighted_losses(beta):
    logits, target = _batch()
    w = class_balanced_weights(SEED_COUNTS, beta)
    assert torch.equal(class_balanced_loss(logits, target, SEED_COUNTS, beta),
                       F.cross_entropy(logits, target, weight=w))
    assert torch.equal(class_balanced_loss(logits, target, SEED_COUNTS, beta, "focal", gamma=1.0),
                       focal_loss(logits, target, 1.0, weight=w))


def test_class_balanced_with_beta_zero_is_plain_cross_entropy():
    logits, target = _batch()
    assert torch.allclose(class_balanced_loss(logits, target, SEED_COUNTS, 0.0),
                          F.cross_entropy(logits, target), atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_balanced_sigmoid_matches_the_formula(reduction):
    logits, target = _batch(dtype=torch.float64)
    w = class_balanced_weights(SEED_COUNTS, 0.99).double()[target]
    y = torch.zeros_like(logits)
    y[torch.arange(len(target)), target] = 1
    p = 1 / (1 + torch.exp(-logits))
    per_sample = -(y * p.log() + (1 - y) * (1 - p).log()).sum(1)
    expected = {"none": w * per_sample, "sum": (w * per_sample).sum(),
                "mean": (w * per_sample).sum() / w.sum()}[reduction]
    got = class_balanced_loss(logits, target, SEED_COUNTS, 0.99, "sigmoid", reduction=reduction)
    assert torch.allclose(got, expected, rtol=1e-10)


def _reference_sigmoid_focal(logits, target, gamma, weights):
    """Per-sample CB sigmoid focal loss written with probabilities: sum over the classes of
    -(1 - p_t)^gamma log p_t, p_t = sigmoid(z) for the true class and 1 - sigmoid(z) for the rest."""
    y = torch.zeros_like(logits)
    y[torch.arange(len(target)), target] = 1
    p = 1 / (1 + torch.exp(-logits))
    p_t = y * p + (1 - y) * (1 - p)
    return weights[target] * (-(1 - p_t) ** gamma * p_t.log()).sum(1)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("reduction,normalise", [("none", "weights"), ("sum", "weights"),
                                                 ("mean", "weights"), ("mean", "batch")])
def test_sigmoid_focal_matches_the_probability_form(gamma, reduction, normalise):
    logits, target = _batch(dtype=torch.float64)
    w = class_balanced_weights(SEED_COUNTS, 0.999).double()
    per_sample = _reference_sigmoid_focal(logits, target, gamma, w)
    expected = {"none": per_sample, "sum": per_sample.sum()}.get(
        reduction, per_sample.sum() / (w[target].sum() if normalise == "weights" else len(target)))
    got = class_balanced_loss(logits, target, SEED_COUNTS, 0.999, "sigmoid focal", gamma=gamma,
                              reduction=reduction, normalise=normalise)
    assert torch.allclose(got, expected, rtol=1e-10)


def test_sigmoid_focal_matches_the_papers_modulator():
    """The released code's form: modulator exp(-gamma y z - gamma log(1 + exp(-z))) times the
    binary cross-entropy, weighted by the true class's weight, summed and divided by the batch."""
    logits, target = _batch(dtype=torch.float64)
    gamma, w = 2.0, class_balanced_weights(SEED_COUNTS, 0.9999).double()
    y = F.one_hot(target, 10).double()
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    modulator = torch.exp(-gamma * y * logits - gamma * torch.log1p(torch.exp(-logits)))
    expected = (w[target][:, None] * modulator * bce).sum() / y.sum()
    got = class_balanced_loss(logits, target, SEED_COUNTS, 0.9999, "sigmoid focal", gamma=gamma,
                              normalise="batch")
    assert torch.allclose(got, expected, rtol=1e-10)


def test_sigmoid_focal_at_gamma_zero_is_the_sigmoid_loss_and_finite_at_extreme_logits():
    logits, target = _batch(dtype=torch.float64)
    assert torch.equal(class_balanced_loss(logits, target, SEED_COUNTS, 0.99, "sigmoid focal", gamma=0.0),
                       class_balanced_loss(logits, target, SEED_COUNTS, 0.99, "sigmoid"))
    extreme = (200 * torch.randn(8, 10, dtype=torch.float64)).requires_grad_()
    value = class_balanced_loss(extreme, target[:8], SEED_COUNTS, 0.99, "sigmoid focal", gamma=0.5)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(extreme.grad).all()


@pytest.mark.parametrize("loss_type", ["softmax", "focal"])
def test_batch_normalisation_divides_the_sum_by_the_batch_size(loss_type):
    logits, target = _batch(dtype=torch.float64)
    w = class_balanced_weights(SEED_COUNTS, 0.999).double()
    gamma = 1.5 if loss_type == "focal" else 0.0
    total = (w[target] * -(1 - F.softmax(logits, 1)[torch.arange(64), target]) ** gamma
             * F.log_softmax(logits, 1)[torch.arange(64), target]).sum()
    got = class_balanced_loss(logits, target, SEED_COUNTS, 0.999, loss_type, gamma=1.5,
                              normalise="batch")
    assert torch.allclose(got, total / len(target), rtol=1e-10)


def test_class_balanced_mean_has_the_scale_of_cross_entropy():
    """Weighted mean: multiplying every weight by a constant changes nothing."""
    logits, target = _batch()
    a = class_balanced_loss(logits, target, SEED_COUNTS, 0.999)
    b = F.cross_entropy(logits, target, weight=7 * class_balanced_weights(SEED_COUNTS, 0.999))
    assert torch.allclose(a, b)


def test_class_balanced_rejects_bad_arguments():
    logits, target = _batch(c=3)
    with pytest.raises(ValueError, match="counts must have one entry per class"):
        class_balanced_loss(logits, target, [5, 5], 0.9)
    with pytest.raises(ValueError, match="class 1 has no samples"):
        class_balanced_loss(logits, target, [5, 0, 5], 0.9)
    with pytest.raises(ValueError, match="counts must be >= 0"):
        class_balanced_loss(logits, target, [5, -5, 5], 0.9)
    with pytest.raises(ValueError, match="beta"):
        class_balanced_loss(logits, target, [5, 5, 5], -0.5)
    with pytest.raises(ValueError, match="loss_type"):
        class_balanced_loss(logits, target, [5, 5, 5], 0.9, loss_type="hinge")
    with pytest.raises(ValueError, match="gamma"):
        class_balanced_loss(logits, target, [5, 5, 5], 0.9, loss_type="focal", gamma=-1)
    with pytest.raises(ValueError, match="reduction"):
        class_balanced_loss(logits, target, [5, 5, 5], 0.9, reduction="max")
    with pytest.raises(ValueError, match="normalise"):
        class_balanced_loss(logits, target, [5, 5, 5], 0.9, normalise="n")


def test_losses_follow_the_device_and_dtype_of_the_logits():
    logits, target = _batch(dtype=torch.float64)
    for loss_type in losses.LOSS_TYPES:
        out = class_balanced_loss(logits, target, torch.tensor(SEED_COUNTS), 0.99, loss_type)
        assert out.dtype == torch.float64 and out.ndim == 0


@pytest.mark.parametrize("loss_type", losses.LOSS_TYPES)
def test_losses_under_bfloat16_autocast(loss_type):
    """Mixed precision (``train.fit`` uses autocast on CUDA): same value as in float32, to bf16 accuracy."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(8, 10)
    x, target = torch.randn(32, 8), torch.randint(0, 10, (32,))
    reference = class_balanced_loss(layer(x), target, SEED_COUNTS, 0.999, loss_type, gamma=1.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = layer(x)
        assert logits.dtype == torch.bfloat16
        value = class_balanced_loss(logits, target, SEED_COUNTS, 0.999, loss_type, gamma=1.0)
    value.backward()
    assert torch.isfinite(layer.weight.grad).all()
    assert value.item() == pytest.approx(reference.item(), rel=0.03)


# --------------------------------------------------------------------------- chapter helpers


def test_group_accuracy_against_a_loop():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    y_pred[:300] = y_true[:300]
    groups = {"majority": [0, 2, 3, 5, 7, 8, 9], "minority": [1, 4, 6], "all": range(10)}
    got = metrics.group_accuracy(torch.from_numpy(y_true), torch.from_numpy(y_pred), groups)
    for name, classes in groups.items():
        pairs = [(t, p) for t, p in zip(y_true, y_pred) if t in set(classes)]
        assert got[name] == pytest.approx(sum(t == p for t, p in pairs) / len(pairs))
    assert got["all"] == pytest.approx((y_true == y_pred).mean())
    per_class = metrics.group_accuracy(y_true, y_pred, {c: [c] for c in range(10)})
    assert list(per_class) == list(range(10))


def test_group_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="matches no sample"):
        metrics.group_accuracy([0, 1, 1], [0, 1, 0], {"rare": [2]})
    with pytest.raises(ValueError, match="same length"):
        metrics.group_accuracy([0, 1, 1], [0, 1], {"all": [0, 1]})
    with pytest.raises(ValueError, match="groups"):
        metrics.group_accuracy([0, 1], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="groups"):
        metrics.group_accuracy([0, 1], [0, 1], {})


def test_imbalanced_subset_counts_order_and_repeatability():
    y = torch.arange(5).repeat_interleave(20)[torch.randperm(100, generator=torch.Generator().manual_seed(0))]
    x = torch.arange(100.0).reshape(100, 1) + 1000 * y.reshape(100, 1)
    xs, ys = data.imbalanced_subset(x, y, [1, 3], n_minority=4, seed=0, n_majority=10)
    assert torch.bincount(ys).tolist() == [10, 4, 10, 4, 10]
    rows = (xs[:, 0] % 1000).long()
    assert (rows[1:] > rows[:-1]).all()  # original order kept
    assert torch.equal(y[rows], ys) and torch.equal(x[rows], xs)
    again = data.imbalanced_subset(x, y, [1, 3], n_minority=4, seed=0, n_majority=10)
    other = data.imbalanced_subset(x, y, [1, 3], n_minority=4, seed=1, n_majority=10)
    assert torch.equal(again[0], xs) and not torch.equal(other[0], xs)
    assert len(data.imbalanced_subset(x, y, [0], n_minority=2)[1]) == 2 + 4 * 20


def test_imbalanced_subset_rejects_bad_requests():
    y = torch.arange(3).repeat(5)
    x = torch.zeros(15, 2)
    with pytest.raises(ValueError, match="class 1 has 5 samples"):
        data.imbalanced_subset(x, y, [1], n_minority=6)
    with pytest.raises(ValueError, match="do not occur"):
        data.imbalanced_subset(x, y, [7], n_minority=1)
    with pytest.raises(ValueError, match="n_minority"):
        data.imbalanced_subset(x, y, [1], n_minority=0)
    with pytest.raises(ValueError, match="one label per row of x"):
        data.imbalanced_subset(x[:3], y, [1], n_minority=1)


def test_resnet18_has_the_cifar_stem():
    torch.manual_seed(0)
    model = models.resnet18(num_classes=10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    assert sum(p.numel() for p in model.parameters()) == 11_173_962
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 3, 32, 32)).shape == (1, 10)
        grey = models.resnet18(num_classes=7, in_channels=1).eval()
        assert grey(torch.rand(1, 1, 28, 28)).shape == (1, 7)
    with pytest.raises(ValueError, match="num_classes"):
        models.resnet18(num_classes=1)


def test_small_conv_net_shapes_and_gradients():
    torch.manual_seed(0)
    model = models.SmallConvNet()
    out = model(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 10)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert models.SmallConvNet(3, in_channels=3).eval()(torch.rand(2, 3, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="num_classes"):
        models.SmallConvNet(num_classes=1)
