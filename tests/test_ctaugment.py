"""Tests of dlcourse.ctaugment: the operations, bin sampling and the weight update."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse import ctaugment
from dlcourse.ctaugment import CTAugment


def _images(n=6, seed=0):
    torch.manual_seed(seed)
    x = torch.zeros(n, 1, 16, 16)
    x[:, :, 4:12, 6:10] = 0.9 * torch.rand(n, 1, 8, 4) + 0.05
    return x


@pytest.mark.parametrize("name", sorted(ctaugment.OPS))
def test_every_op_keeps_shape_and_range(name):
    x = _images()
    for m in (0.0, 0.3, 1.0):
        out = ctaugment.OPS[name](x, torch.full((len(x),), m), torch.Generator().manual_seed(0))
        assert out.shape == x.shape
        assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6, name


@pytest.mark.parametrize("name,m", [("rotate", 0.5), ("shear_x", 0.5), ("shear_y", 0.5),
                                    ("translate_x", 0.5), ("translate_y", 0.5),
                                    ("brightness", 0.5), ("contrast", 0.5), ("invert", 0.0),
                                    ("solarize", 1.0), ("sharpness", 0.5), ("identity", 0.7),
                                    ("autocontrast", 0.0), ("cutout", 0.0)])
def test_neutral_magnitudes_leave_the_image_alone(name, m):
    x = _images()
    out = ctaugment.OPS[name](x, torch.full((len(x),), m), None)
    assert torch.allclose(out, x, atol=1e-5), name


def test_strongest_magnitudes_do_what_they_say():
    x = _images()
    full = torch.ones(len(x))
    assert torch.allclose(ctaugment.invert(x, full), 1 - x)
    assert torch.allclose(ctaugment.posterize(x, full), torch.floor(x * 256).clamp_max(255) / 255)
    one_bit = ctaugment.posterize(x, torch.zeros(len(x)))
    assert set(one_bit.unique().tolist()) <= {0.0, 1.0}
    assert torch.allclose(ctaugment.solarize(x, torch.zeros(len(x))), 1 - x)
    stretched = ctaugment.autocontrast(x, full)
    assert torch.allclose(stretched.amax((1, 2, 3)), torch.ones(len(x)))
    # a quarter of 30 degrees each way: rotate(m = 1) is rotate(m = 0) mirrored in angle
    assert not torch.allclose(ctaugment.rotate(x, full), x)


def test_ops_are_batched_per_image():
    """One call on a batch equals one call per image (different magnitudes per image)."""
    x = _images(5)
    m = torch.tensor([0.0, 0.2, 0.5, 0.8, 1.0])
    for name, op in ctaugment.OPS.items():
        if name == "cutout":  # random position: checked above through its range only
            continue
        batched = op(x, m, None)
        single = torch.cat([op(x[i:i + 1], m[i:i + 1], None) for i in range(5)])
        assert torch.allclose(batched, single, atol=1e-6), name


def test_weight_update_direction_and_closed_form():
    cta = CTAugment(num_bins=5, decay=0.9, depth=1)
    cta.weights.fill_(0.5)
    ops = torch.tensor([[0], [0], [2]])
    bins = torch.tensor([[1], [1], [4]])
    labels = torch.tensor([0, 1, 2])
    right = F.one_hot(labels, 3).float()
    cta.update(ops, bins, right, labels)  # the model copes with these bins: weights rise
    assert cta.weights[0, 1] > 0.5 and cta.weights[2, 4] > 0.5
    untouched = torch.ones_like(cta.weights, dtype=torch.bool)
    untouched[0, 1] = untouched[2, 4] = False
    assert (cta.weights[untouched] == 0.5).all()
    # bin (0, 1) was used twice with match 1: two sequential updates from 0.5
    w = 0.5
    for _ in range(2):
        w = 0.9 * w + 0.1 * 1.0
    assert abs(cta.weights[0, 1].item() - w) < 1e-6
    assert abs(cta.weights[2, 4].item() - (0.9 * 0.5 + 0.1)) < 1e-6
    # a model that fails on the augmented images: the weights of those bins fall
    wrong = F.one_hot((labels + 1) % 3, 3).float()
    before = cta.weights.clone()
    match = cta.update(ops, bins, wrong, labels)
    assert torch.allclose(match, torch.zeros(3))
    assert cta.weights[0, 1] < before[0, 1] and cta.weights[2, 4] < before[2, 4]
    # match is 1 - L1 / 2: a uniform guess over 3 classes scores 1/3
    uniform = torch.full((3, 3), 1 / 3)
    assert torch.allclose(cta.update(ops, bins, uniform, labels), torch.full((3,), 1 / 3))


def test_probabilities_skip_bins_below_threshold_and_sampling_follows_them():
    cta = CTAugment(num_bins=4, decay=0.99, threshold=0.8, depth=2)
    cta.weights.fill_(1.0)
    cta.weights[:, 0] = 0.5  # below 0.8 of the best bin: never drawn
    probs = cta.probabilities()
    assert torch.allclose(probs.sum(1), torch.ones(len(cta.names)))
    assert (probs[:, 0] == 0).all()
    assert torch.allclose(probs[:, 1:], torch.full((len(cta.names), 3), 1 / 3))
    # the threshold is relative to each operation's best bin, so a row of low weights keeps
    # its best bins: (w + 0.01) / max >= 0.8
    cta.weights[2] = torch.tensor([0.05, 0.30, 0.35, 0.10])
    expected = torch.tensor([0.0, 0.31, 0.36, 0.0])  # 0.31 / 0.36 = 0.86 is kept
    assert torch.allclose(cta.probabilities()[2], expected / expected.sum())
    cta.weights[3] = torch.tensor([0.0, 0.0, 0.9, 0.0])
    ops, bins = cta.sample(400, torch.Generator().manual_seed(0))
    assert (bins[ops == 3] == 2).all()
    assert set(bins[ops == 2].tolist()) == {1, 2}
    assert set(bins[ops == 0].tolist()) == {1, 2, 3}
    # learn=False: uniform whatever the weights (the random-augmentation ablation)
    flat = CTAugment(num_bins=4, learn=False)
    flat.weights[:, 0] = 0.0
    assert torch.allclose(flat.probabilities(), torch.full_like(flat.weights, 0.25))


def test_augmenting_and_probing_shapes_and_state():
    cta = CTAugment()
    x = _images(10)
    g = torch.Generator().manual_seed(1)
    assert cta(x, g).shape == x.shape
    probe, ops, bins = cta.probe(x, g)
    assert probe.shape == x.shape and ops.shape == bins.shape == (10, 2)
    other = CTAugment()
    cta.weights[0, 0] = 0.2
    other.load_state_dict(cta.state_dict())
    assert other.weights[0, 0] == pytest.approx(0.2)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_bins"):
        CTAugment(num_bins=0)
    with pytest.raises(ValueError, match="decay"):
        CTAugment(decay=1.0)
    with pytest.raises(ValueError, match="threshold"):
        CTAugment(threshold=1.5)
    with pytest.raises(ValueError, match="depth"):
        CTAugment(depth=0)
    with pytest.raises(ValueError, match="ops must hold"):
        CTAugment(ops={})
    cta = CTAugment()
    with pytest.raises(ValueError, match="N x C x H x W"):
        cta(torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="ops and bins"):
        cta.apply(_images(2), torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="probs must be 2-D"):  # shapes only: a step calls it
        cta.update(torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long),
                   torch.tensor([0.5, 0.5]), torch.tensor([0]))
    with pytest.raises(ValueError, match="weights must have shape"):
        cta.load_state_dict({"weights": torch.ones(2, 2)})


def test_plot_weights_draws_the_policy_through_the_plot_module():
    """CTAugment.plot_weights (pages executed before the move) is plot.ctaugment_weights."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlcourse import plot
    from dlcourse.ctaugment import CTAugment

    cta = CTAugment()
    fig, (a, b) = plt.subplots(1, 2)
    cta.plot_weights(a, title="t")
    plot.ctaugment_weights(cta, b, title="t")
    assert (a.images[0].get_array() == b.images[0].get_array()).all()
    assert [t.get_text() for t in a.get_yticklabels()] == list(cta.names)
    plt.close(fig)
