"""IIC: the loss against independent computations, the extra augmentations, the network's heads."""
import numpy as np
import pytest
import torch
from scipy.stats import entropy as scipy_entropy

from dlcourse import augment, info, models


def _softmax(b, c, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(2 * torch.randn(b, c, generator=g, dtype=torch.float64), dim=1)


def _reference(z1, z2, alpha):
    """-(alpha H(X) + alpha H(Y) - H(X,Y)) with the joint built by numpy, entropies by scipy."""
    a, b = z1.numpy(), z2.numpy()
    joint = a.T @ b / len(a)
    joint = (joint + joint.T) / 2
    joint /= joint.sum()
    h_x, h_y = scipy_entropy(joint.sum(1)), scipy_entropy(joint.sum(0))
    return -(alpha * h_x + alpha * h_y - scipy_entropy(joint.ravel()))


@pytest.mark.parametrize("seed", range(5))
def test_alpha_one_equals_minus_mutual_information(seed):
    z1, z2 = _softmax(256, 10, seed), _softmax(256, 10, seed + 100)
    expected = -info.mutual_information(info.joint_distribution(z1, z2)).item()
    assert info.iic_loss(z1, z2).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.5, 10.0])
def test_alpha_weights_the_marginal_entropies(alpha):
    z1, z2 = _softmax(128, 7, 1), _softmax(128, 7, 2)
    assert info.iic_loss(z1, z2, alpha=alpha).item() == pytest.approx(_reference(z1, z2, alpha), abs=1e-5)


def test_finite_gradient_at_one_hot_inputs_and_empty_clusters():
    labels = torch.tensor([0, 1, 1, 2] * 8)  # clusters 3..9 never used: zero marginals
    for alpha in (1.0, 10.0):
        z = torch.eye(10, dtype=torch.float32)[labels].requires_grad_()
        loss = info.iic_loss(z, z, alpha=alpha)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


def test_renaming_clusters_leaves_the_loss_unchanged():
    z1, z2 = _softmax(200, 6, 3), _softmax(200, 6, 4)
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(0))
    for alpha in (1.0, 10.0):
        assert info.iic_loss(z1[:, perm], z2[:, perm], alpha=alpha).item() == pytest.approx(
            info.iic_loss(z1, z2, alpha=alpha).item(), abs=1e-9)


def test_perfect_balanced_agreement_reaches_minus_log_c():
    z = torch.eye(5, dtype=torch.float64)[torch.arange(500) % 5]
    assert info.iic_loss(z, z).item() == pytest.approx(-np.log(5), abs=1e-6)


def test_runs_in_float32_under_half_precision_inputs():
    z1, z2 = _softmax(64, 10, 5).to(torch.bfloat16), _softmax(64, 10, 6).to(torch.bfloat16)
    assert info.iic_loss(z1, z2).dtype == torch.float32


@pytest.mark.parametrize("kwargs, name", [({"alpha": -1.0}, "alpha"), ({"eps": 0.0}, "eps")])
def test_bad_arguments(kwargs, name):
    z = _softmax(8, 3, 0)
    with pytest.raises(ValueError, match=name):
        info.iic_loss(z, z, **kwargs)


def test_non_probability_inputs_are_rejected():
    with pytest.raises(ValueError, match="z1"):
        info.iic_loss(torch.randn(8, 3), _softmax(8, 3, 0))


# ---- augmentations -------------------------------------------------------------------------

def _digits(n=16):
    g = torch.Generator().manual_seed(0)
    return (torch.rand(n, 1, 28, 28, generator=g) > 0.7).float() * torch.rand(n, 1, 1, 1, generator=g)


def test_crop_of_full_size_is_identity():
    x = _digits()
    assert torch.allclose(augment.random_crop(x, scale=(1.0, 1.0)), x, atol=1e-5)


def test_crop_zooms_in():
    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 12:16, 12:16] = 1.0  # a centred square grows when a smaller centred window is resized
    out = augment.random_crop(x, scale=(0.5, 0.5), generator=torch.Generator().manual_seed(0))
    assert out.sum() > 1.5 * x.sum()


def test_binarize_values_and_identity_on_binary_images():
    x = _digits()
    out = augment.binarize(x, threshold=(0.2, 0.8), generator=torch.Generator().manual_seed(1))
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    binary = (x > 0).float()
    assert torch.equal(augment.binarize(binary, 0.5), binary)


@pytest.mark.parametrize("ops", [["rotate"], ["skew"], ["crop"], ["binarize"], ["noise"],
                                 list(augment.VIEW_OPS)])
def test_make_view_shape_range_and_determinism(ops):
    x = _digits()
    a = augment.make_view(x, ops, generator=torch.Generator().manual_seed(7))
    b = augment.make_view(x, ops, generator=torch.Generator().manual_seed(7))
    c = augment.make_view(x, ops, generator=torch.Generator().manual_seed(8))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_make_view_with_no_ops_is_identity_and_unknown_op_fails():
    x = _digits()
    assert torch.equal(augment.make_view(x, []), x)
    with pytest.raises(ValueError, match="ops"):
        augment.make_view(x, ["flip"])


@pytest.mark.parametrize("call, name", [
    (lambda x: augment.random_crop(x, scale=(0.0, 1.0)), "scale"),
    (lambda x: augment.random_crop(x[0], scale=(0.5, 1.0)), "x"),
    (lambda x: augment.binarize(x, threshold=1.5), "threshold"),
    (lambda x: augment.binarize(x, threshold=(0.8, 0.2)), "threshold"),
])
def test_augmentation_arguments_are_checked(call, name):
    with pytest.raises(ValueError, match=name):
        call(_digits())


# ---- the network ----------------------------------------------------------------------------

def test_iicnet_heads_are_probability_vectors():
    model = models.IICNet(in_channels=1, num_clusters=10, overcluster_factor=5, num_subheads=3)
    main, over = model(torch.rand(6, 1, 28, 28))
    assert len(main) == len(over) == 3
    assert all(z.shape == (6, 10) for z in main) and all(z.shape == (6, 50) for z in over)
    for z in main + over:
        assert torch.allclose(z.sum(1), torch.ones(6), atol=1e-5) and (z >= 0).all()


def test_iicnet_subheads_differ_and_arguments_are_checked():
    main, _ = models.IICNet(num_subheads=2)(torch.rand(4, 1, 28, 28))
    assert not torch.allclose(main[0], main[1])
    with pytest.raises(ValueError, match="num_clusters"):
        models.IICNet(num_clusters=1)
