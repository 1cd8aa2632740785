"""Tests of dlcourse.models: the convolutional trunk and classifier."""
import pytest
import torch

from dlcourse.models import ConvClassifier, ConvTrunk


@pytest.mark.parametrize("n", [1, 3])
def test_classifier_grey_28(n):
    torch.manual_seed(0)
    model = ConvClassifier().eval()
    out = model(torch.rand(n, 1, 28, 28))
    assert out.shape == (n, 10)
    assert torch.isfinite(out).all()


def test_classifier_colour_32():
    torch.manual_seed(0)
    model = ConvClassifier(num_classes=10, in_channels=3)
    out = model(torch.rand(4, 3, 32, 32))  # train mode: batch norm on a batch of 4
    assert out.shape == (4, 10)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_classifier_rejects_wrong_channel_count():
    model = ConvClassifier(in_channels=3).eval()
    with pytest.raises(RuntimeError):
        model(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize("k", [2, 3, 50])
def test_classifier_num_classes(k):
    model = ConvClassifier(num_classes=k).eval()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, k)


@pytest.mark.parametrize("k", [1, 0, -3])
def test_classifier_rejects_too_few_classes(k):
    with pytest.raises(ValueError, match="num_classes"):
        ConvClassifier(num_classes=k)


def test_trunk_features_and_custom_widths():
    trunk = ConvTrunk(in_channels=1, widths=(8, 16)).eval()
    assert trunk.out_features == 16
    assert trunk(torch.rand(5, 1, 28, 28)).shape == (5, 16)
    assert ConvTrunk().out_features == 256
    model = ConvClassifier(num_classes=4, widths=(8, 16)).eval()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 4)


def test_eval_output_independent_of_batch():
    torch.manual_seed(0)
    model = ConvClassifier().eval()
    x = torch.rand(3, 1, 28, 28)
    together = model(x)
    alone = torch.cat([model(x[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)
