"""Tests of dlcourse.superclass (superclass_loss, interval_losses and helpers):
each checked against an independent computation, not against its own formula."""
import math

import pytest
import torch

from dlcourse import stats

from dlcourse import superclass as sc
from dlcourse.models import TenLayerCNN

CIFAR_GROUPS = [[0, 1, 8, 9], [2, 3, 4, 5, 6, 7]]  # artificial, natural
FASHION_GROUPS = [[0, 2, 4, 6], [1, 3], [5, 7, 9], [8]]


def _batch(n=64, c=10, seed=0, scale=3.0):
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, c, generator=gen, dtype=torch.float64)
    target = torch.randint(0, c, (n,), generator=gen)
    return logits, target


def _direct_group_nll(logits, target, groups):
    """Sum the softmax probabilities of the true group with a plain loop, then -log."""
    probs = torch.softmax(logits, dim=1).tolist()
    total = 0.0
    for row, y in zip(probs, target.tolist()):
        group = next(g for g in groups if y in g)
        total += -math.log(sum(row[c] for c in group))
    return total / len(probs)


@pytest.mark.parametrize("groups", [CIFAR_GROUPS, FASHION_GROUPS, [list(range(10))],
                                    [[c] for c in range(10)]])
def test_soft_loss_matches_a_direct_sum_of_probabilities(groups):
    logits, target = _batch()
    got = sc.superclass_loss(logits, target, groups).item()
    assert got == pytest.approx(_direct_group_nll(logits, target, groups), rel=1e-10)


def test_soft_loss_limits():
    logits, target = _batch()
    # one group holding every class: the group is certain, the term is zero
    assert sc.superclass_loss(logits, target, [list(range(10))]).item() == pytest.approx(0, abs=1e-12)
    # one class per group: the term is the ordinary cross-entropy
    ce = torch.nn.functional.cross_entropy(logits, target).item()
    singletons = [[c] for c in range(10)]
    assert sc.superclass_loss(logits, target, singletons).item() == pytest.approx(ce, rel=1e-12)


def test_soft_loss_is_stable_for_huge_logits():
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    target = torch.tensor([1, 0])
    loss = sc.superclass_loss(logits, target, [[0, 1], [2]])
    # row 1: A has all the mass and lies in the true group: 0; row 2: the group {0, 1} has
    # probability 2 e^-2000, far below the smallest float, yet its log is exact
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx((0 + 2000 - math.log(2)) / 2, rel=1e-6)


def test_soft_gradient_matches_the_derivation():
    """d(-log p_G)/dz_j = p_j - 1[j in G] p_j / p_G, the formula derived in the chapter."""
    logits, target = _batch(n=8)
    logits.requires_grad_(True)
    loss = sc.superclass_loss(logits, target, CIFAR_GROUPS) * len(target)
    (grad,) = torch.autograd.grad(loss, logits)
    p = torch.softmax(logits.detach(), dim=1)
    member = torch.tensor([0, 0, 1, 1, 1, 1, 1, 1, 0, 0])
    in_group = (member[None, :] == member[target][:, None]).double()
    p_group = (p * in_group).sum(1, keepdim=True)
    assert torch.allclose(grad, p - in_group * p / p_group, atol=1e-12)


def test_soft_gradient_agrees_with_finite_differences():
    logits, target = _batch(n=3, c=4)
    logits.requires_grad_(True)
    groups = [[0, 3], [1], [2]]
    torch.autograd.gradcheck(lambda z: sc.superclass_loss(z, target, groups), (logits,))


def test_hard_loss_has_no_gradient():
    logits, target = _batch(n=16)
    logits.requires_grad_(True)
    hard = sc.superclass_loss(logits, target, CIFAR_GROUPS, mode="hard")
    assert not hard.requires_grad and hard.grad_fn is None  # autograd sees no path to the logits
    ce = torch.nn.functional.cross_entropy(logits, target)
    (with_hard,) = torch.autograd.grad(ce + 10.0 * hard, logits, retain_graph=True)
    (without,) = torch.autograd.grad(ce, logits)
    assert torch.equal(with_hard, without)


def test_hard_loss_is_piecewise_constant():
    """Independent of autograd: small moves of the logits do not change it at all."""
    logits, target = _batch(n=32)
    base = sc.superclass_loss(logits, target, CIFAR_GROUPS, mode="hard")
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        moved = logits + 1e-4 * torch.randn(logits.shape, generator=gen, dtype=logits.dtype)
        assert sc.superclass_loss(moved, target, CIFAR_GROUPS, mode="hard") == base


def test_hard_loss_values_follow_the_argmax_group():
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    target = torch.tensor([1, 1])  # true class B in group {A, B}; predictions A (right), C (wrong)
    got = sc.superclass_loss(logits, target, [[0, 1], [2]], mode="hard").item()
    expected = (-math.log(1 - 1e-7) - math.log(1e-7)) / 2
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("groups, phrase", [
    ([[0, 1, 2], [2, 3, 4, 5, 6, 7, 8, 9]], "exactly one group"),
    ([[0, 1], [2, 3, 4, 5, 6, 7, 8]], "classes \\[9\\] are in no group"),
    ([[0, 1, 10], [2, 3, 4, 5, 6, 7, 8, 9]], "outside"),
    ([[0, 1], [], [2, 3, 4, 5, 6, 7, 8, 9]], "empty"),
    ([[0, 1.5], [2, 3, 4, 5, 6, 7, 8, 9]], "not a class index"),
    ([[0, "1"], [2, 3, 4, 5, 6, 7, 8, 9]], "not a class index"),
    ([[0, None], [1, 2, 3, 4, 5, 6, 7, 8, 9]], "not a class index"),
    ("0123456789", "list of lists"),
    ([0, 1, 2], "groups\\[0\\]"),
])
def test_groups_must_be_a_partition(groups, phrase):
    logits, target = _batch()
    with pytest.raises(ValueError, match="groups") as error:
        sc.superclass_loss(logits, target, groups)
    assert error.match(phrase)


def test_other_arguments_are_validated():
    logits, target = _batch()
    with pytest.raises(ValueError, match="mode"):
        sc.superclass_loss(logits, target, CIFAR_GROUPS, mode="argmax")
    with pytest.raises(ValueError, match="target"):
        sc.superclass_loss(logits, target.float(), CIFAR_GROUPS)
    # a label out of range (10 of 10 classes) is not read: a training step calls this loss
    with pytest.raises(ValueError, match="logits"):
        sc.superclass_loss(logits[0], target, CIFAR_GROUPS)
    with pytest.raises(ValueError, match="target"):
        sc.superclass_loss(logits, target[:-1], CIFAR_GROUPS)


def test_group_log_probs_sum_to_one():
    logits, _ = _batch()
    p = sc.group_log_probs(logits, FASHION_GROUPS).exp()
    assert p.shape == (64, 4)
    assert torch.allclose(p.sum(1), torch.ones(64, dtype=torch.float64))
    direct = torch.softmax(logits, 1)[:, [1, 3]].sum(1)
    assert torch.allclose(p[:, 1], direct)


def test_interval_count_is_c_choose_2():
    assert len(sc.contiguous_intervals(10)) == 45 == math.comb(10, 2)
    logits, target = _batch()
    assert sc.interval_losses(logits, target).shape == (45,)
    assert (2, 7) in sc.contiguous_intervals(10)  # CIFAR-10's natural classes are one of them
    with pytest.raises(ValueError, match="num_classes"):
        sc.contiguous_intervals(1)


def test_interval_terms_match_binary_cross_entropy():
    logits, target = _batch()
    terms = sc.interval_losses(logits, target)
    p = torch.softmax(logits, 1)
    for term, (a, b) in zip(terms, sc.contiguous_intervals(10)):
        p_in = p[:, a:b + 1].sum(1)
        y_in = ((target >= a) & (target <= b)).double()
        if (a, b) == (0, 9):
            assert term.item() == pytest.approx(0, abs=1e-12)
            continue
        bce = torch.nn.functional.binary_cross_entropy(p_in, y_in)
        assert term.item() == pytest.approx(bce.item(), rel=1e-9)


def test_interval_terms_equal_two_group_superclass_losses():
    logits, target = _batch(c=6)
    terms = sc.interval_losses(logits, target, intervals=[(1, 3), (0, 4)])
    for term, (a, b) in zip(terms, [(1, 3), (0, 4)]):
        inside = list(range(a, b + 1))
        rest = [c for c in range(6) if c not in inside]
        assert term.item() == pytest.approx(
            sc.superclass_loss(logits, target, [inside, rest]).item(), rel=1e-12)
    with pytest.raises(ValueError, match="intervals"):
        sc.interval_losses(logits, target, intervals=[(3, 6)])


def test_cross_group_mistakes_counts_by_hand():
    y_true = torch.tensor([0, 2, 6, 9, 3])
    y_pred = torch.tensor([1, 2, 9, 6, 8])  # car for plane: same group; frog<->truck: two; cat->ship
    assert sc.cross_group_mistakes(y_true, y_pred, CIFAR_GROUPS) == 3


def test_intervals_are_the_stats_modules():
    """Chapter 4 calls them through this module: one implementation, in dlcourse.stats."""
    assert sc.paired_interval is stats.paired_interval and sc.welch_interval is stats.welch_interval


def test_ten_layer_cnn_shapes_and_layer_count():
    model = TenLayerCNN(num_classes=10, in_channels=3)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) + len(linears) == 10
    assert [c.out_channels for c in convs] == [64] * 3 + [128] * 3 + [256] * 3
    out = model(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 10)
    small = TenLayerCNN(num_classes=4, in_channels=1, widths=(8, 16), convs_per_block=1)
    assert small.eval()(torch.rand(3, 1, 28, 28)).shape == (3, 4)
    with pytest.raises(ValueError, match="num_classes"):
        TenLayerCNN(num_classes=1)


def test_toy_gradients_push_mass_out_of_the_wrong_group():
    class_grad, group_grad = sc.toy_gradients(sc.TOY_POINT, weight=1.0)
    # descent raises the true group's logits and lowers C's; the group term raises B as well
    assert group_grad[0, 0] < 0 and group_grad[0, 1] < 0 and group_grad[0, 2] > 0
    assert class_grad[0, 1] > 0  # the class term alone lowers B
    assert torch.allclose(group_grad.sum(), torch.zeros((), dtype=torch.float64), atol=1e-12)


def test_explorer_builds():
    pytest.importorskip("ipywidgets")
    explorer = sc.superclass_explorer(weight=2.0)
    assert explorer.png
    with pytest.raises(ValueError, match="weight"):
        sc.superclass_explorer(weight=-1)
