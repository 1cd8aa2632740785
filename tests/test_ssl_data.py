"""Tests of the semi-supervised split (dlcourse.data.labeled_split) and the wide ResNet."""
import pytest
import torch
from torch import nn

from dlcourse import data, models


def _labels():
    g = torch.Generator().manual_seed(0)
    return torch.randint(10, (2000,), generator=g)


def test_labeled_split_is_class_balanced_disjoint_and_complete():
    y = _labels()
    labeled, unlabeled = data.labeled_split(y, 40, seed=0)
    assert torch.bincount(y[labeled], minlength=10).tolist() == [4] * 10
    assert len(set(labeled.tolist()) & set(unlabeled.tolist())) == 0
    assert sorted(labeled.tolist() + unlabeled.tolist()) == list(range(len(y)))


def test_labeled_split_is_seeded():
    y = _labels()
    a, _ = data.labeled_split(y, 250, seed=3)
    b, _ = data.labeled_split(y, 250, seed=3)
    c, _ = data.labeled_split(y, 250, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_labeled_split_rejects_bad_arguments():
    y = _labels()
    with pytest.raises(ValueError, match="multiple of the 10 classes"):
        data.labeled_split(y, 45)
    with pytest.raises(ValueError, match="multiple of the 10 classes"):
        data.labeled_split(y, 0)
    with pytest.raises(ValueError, match="has only"):
        data.labeled_split(torch.tensor([0, 0, 0, 1]), 4)
    with pytest.raises(ValueError, match="y must be 1-D"):
        data.labeled_split(y.view(2, -1), 40)


def test_wide_resnet_28_2_shape_and_size():
    model = models.wide_resnet(depth=28, widen=2, num_classes=10)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # 1 stem + 3 stages x 4 blocks x 2 convolutions of 3x3, and 3 widening 1x1 shortcuts
    assert sum(c.kernel_size == (3, 3) for c in convs) == 25
    assert sum(c.kernel_size == (1, 1) for c in convs) == 3
    # parameters counted from the architecture: convolutions, batch norms, linear head
    k, n = 2, 4
    w = [16, 16 * k, 32 * k, 64 * k]
    count = 3 * 16 * 9
    for stage in range(3):
        for i in range(n):
            cin, cout = (w[stage] if i == 0 else w[stage + 1]), w[stage + 1]
            count += 2 * cin + cin * cout * 9 + 2 * cout + cout * cout * 9
            count += cin * cout if cin != cout else 0
    count += 2 * w[3] + w[3] * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == count
    assert 1.4e6 < count < 1.5e6  # "1.5 million parameters" in the papers


def test_wide_resnet_greyscale_and_bad_arguments():
    model = models.wide_resnet(depth=10, widen=1, num_classes=3, in_channels=1)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 3)
    assert model.features(torch.rand(2, 1, 28, 28)).shape == (2, 64)
    with pytest.raises(ValueError, match="depth must be 6n"):
        models.wide_resnet(depth=27)
    with pytest.raises(ValueError, match="widen"):
        models.wide_resnet(widen=0)
    with pytest.raises(ValueError, match="num_classes"):
        models.wide_resnet(num_classes=1)
