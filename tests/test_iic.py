"""IIC: the loss against independent computations, the extra augmentations, the network's heads,
the training loop, the evaluation protocol and the objective explorer."""
import numpy as np
import pytest
import torch
from scipy.stats import entropy as scipy_entropy

from dlcourse import augment, iic, info, models


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


def test_inputs_of_the_wrong_kind_are_rejected():
    """Shapes and dtypes; the values are not read (a training step calls iic_loss), while
    info.joint_distribution, called directly, checks them."""
    with pytest.raises(ValueError, match="z1"):
        info.iic_loss(torch.randn(8, 3).double(), _softmax(8, 3, 0).float())
    with pytest.raises(ValueError, match="z1"):
        info.iic_loss(torch.ones(8, 3, dtype=torch.long), _softmax(8, 3, 0))
    with pytest.raises(ValueError, match="z1"):
        info.joint_distribution(torch.randn(8, 3).double(), _softmax(8, 3, 0))


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


# ---- training and evaluation (dlcourse.iic) -------------------------------------------------

def test_paired_views_repeat_each_image_with_independent_transforms():
    x = _digits(4)
    first, second = iic.paired_views(x, repeats=3, generator=torch.Generator().manual_seed(0))
    assert first.shape == second.shape == (12, 1, 28, 28)
    assert torch.equal(first, x.repeat(3, 1, 1, 1))  # no first_ops: the images themselves
    copies = second.view(3, 4, 1, 28, 28)
    assert not torch.equal(copies[0], copies[1]) and not torch.equal(copies[1], copies[2])
    again = iic.paired_views(x, repeats=3, generator=torch.Generator().manual_seed(0))[1]
    assert torch.equal(second, again)


@pytest.mark.parametrize("repeats", [0, -1, 1.5])
def test_paired_views_rejects_bad_repeats(repeats):
    with pytest.raises(ValueError, match="repeats"):
        iic.paired_views(_digits(2), repeats=repeats)


def test_subhead_losses_are_the_loss_of_each_subhead():
    z1 = [_softmax(50, 4, s) for s in range(3)]
    z2 = [_softmax(50, 4, s + 10) for s in range(3)]
    losses = iic.subhead_losses(z1, z2, alpha=2.0)
    for k in range(3):
        assert losses[k].item() == pytest.approx(_reference(z1[k], z2[k], 2.0), abs=1e-6)
    with pytest.raises(ValueError, match="z1 and z2"):
        iic.subhead_losses(z1, z2[:2])


class _Oracle(torch.nn.Module):
    """Sub-head 0 knows each image's label (stored in a pixel) under renamed cluster ids;
    sub-head 1 puts two labels into each of five clusters; sub-head 2 is uniform noise."""

    def forward(self, x):
        label = (x[:, 0, 0, 0] * 10).round().long()
        perfect = torch.eye(10)[(label * 3 + 1) % 10]
        merged = torch.eye(10)[label // 2]
        noise = torch.softmax(torch.randn(len(x), 10, generator=torch.Generator().manual_seed(0)), 1)
        return [perfect, merged, noise], [perfect]


def test_evaluate_reports_the_lowest_loss_subhead_and_the_spread():
    y = torch.arange(200) % 10
    x = torch.zeros(200, 1, 4, 4)
    x[:, 0, 0, 0] = y / 10
    result = iic.evaluate(_Oracle(), x, y, ops=())
    assert result["best_head"] == 0 and result["accuracy"] == pytest.approx(1.0)
    # sub-head 1 gets one of each merged pair right: 0.5; noise is matched as well as it can be
    assert result["accuracies"][1] == pytest.approx(0.5)
    expected = np.array(result["accuracies"])
    assert result["mean"] == pytest.approx(expected.mean())
    assert result["std"] == pytest.approx(expected.std(ddof=1))
    assert result["losses"][0] == pytest.approx(-np.log(10), abs=1e-5)
    assert torch.allclose(result["joint"].diag(), torch.full((10,), 0.1), atol=1e-6)
    with pytest.raises(ValueError, match="one label per row of x"):
        iic.evaluate(_Oracle(), x, y[:5], ops=())


def _tiny_net():
    torch.manual_seed(0)
    return models.IICNet(num_subheads=2, widths=(4, 8))


def test_train_resumes_from_its_checkpoint_exactly(tmp_path):
    x = _digits(32)
    kwargs = dict(batch_size=8, repeats=2, every=2, seed=3)
    straight = _tiny_net()
    iic.train(straight, x, steps=4, **kwargs)
    resumed, path = _tiny_net(), tmp_path / "iic.pt"
    iic.train(resumed, x, steps=2, checkpoint=path, **kwargs)
    history = iic.train(resumed, x, steps=4, checkpoint=path, **kwargs)
    assert [r["step"] for r in history] == [2, 4]
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6)


def test_train_records_losses_and_calls_back():
    seen = []
    history = iic.train(_tiny_net(), _digits(16), steps=3, batch_size=8, every=2,
                        callback=lambda step, record: seen.append(step) or {"extra": 1.0})
    assert seen == [2, 3] and [r["extra"] for r in history] == [1.0, 1.0]
    assert all(np.isfinite(r["loss_main"]) and np.isfinite(r["loss_over"]) for r in history)


def _first_step_loss(separate_views):
    """``loss_main`` of iic.train's first step (lr 0: the weights stay as they are)."""
    model = _tiny_net()
    record = iic.train(model, _digits(16), steps=1, batch_size=8, repeats=2, lr=0.0, seed=5,
                       every=1, separate_views=separate_views)[-1]
    return model, record["loss_main"]


@pytest.mark.parametrize("separate", [False, True])
def test_train_puts_the_views_through_batch_norm_together_or_apart(separate):
    """The first step's loss, recomputed by hand: the same draw of images and views, then
    one forward pass of both views (``separate_views=False``) or one pass per view."""
    model, loss = _first_step_loss(separate)
    x = _digits(16)
    index = torch.randperm(16, generator=torch.Generator().manual_seed(5))[:8]
    first, second = iic.paired_views(x[index], 2, generator=torch.Generator().manual_seed(6))
    model.train()
    with torch.no_grad():
        if separate:
            z1, z2 = model(first)[0], model(second)[0]
        else:
            main = model(torch.cat([first, second]))[0]
            z1, z2 = [z[:16] for z in main], [z[16:] for z in main]
        expected = torch.stack([info.iic_loss(a, b) for a, b in zip(z1, z2)]).mean().item()
    assert loss == pytest.approx(expected, rel=1e-3, abs=1e-10)  # a fresh net: a tiny loss
    assert loss != pytest.approx(_first_step_loss(not separate)[1], rel=0.1)


def test_network_has_the_articles_dense_subheads():
    torch.manual_seed(0)
    model = iic.network(num_clusters=10, overcluster_factor=5, num_subheads=2, widths=(4, 8),
                        hidden=(128, 64))
    for head, k in ((model.main[0], 10), (model.over[1], 50)):
        linears = [m for m in head if isinstance(m, torch.nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == [(8, 128), (128, 64), (64, k)]
        assert sum(isinstance(m, torch.nn.ReLU) for m in head) == 2
    main, over = model(torch.rand(5, 1, 28, 28))
    assert all(torch.allclose(z.sum(1), torch.ones(5), atol=1e-5) for z in main + over)
    linear = iic.network(num_subheads=2, widths=(4, 8), hidden=())
    assert all(isinstance(m, torch.nn.Linear) for m in linear.main)  # IICNet's own
    with pytest.raises(ValueError, match="hidden"):
        iic.network(widths=(4, 8), hidden=(0,))


@pytest.mark.parametrize("kwargs, name", [
    ({"steps": -1, "batch_size": 4}, "steps"),
    ({"steps": 1, "batch_size": 0}, "batch_size"),
    ({"steps": 1, "batch_size": 99}, "batch_size"),
    ({"steps": 1, "batch_size": 4, "every": -1}, "every"),
])
def test_train_arguments_are_checked(kwargs, name):
    with pytest.raises(ValueError, match=name):
        iic.train(_tiny_net(), _digits(16), **kwargs)


def test_matched_confusion_puts_a_renamed_perfect_clustering_on_the_diagonal():
    y = torch.arange(60) % 6
    clusters = (y * 5 + 2) % 6  # a bijection of the ids
    counts = iic.matched_confusion(y, clusters, 6)
    assert torch.equal(counts, torch.diag(torch.full((6,), 10)))
    over = iic.matched_confusion(y, clusters, 9)  # extra, empty clusters come last
    assert over.shape == (6, 9) and over[:, 6:].sum() == 0 and over.trace() == 60


@pytest.mark.parametrize("alpha", [1.0, 3.0, 10.0])
def test_objective_terms_on_a_balanced_diagonal_and_against_iic_loss(alpha):
    c = 5
    terms = iic.objective_terms(torch.eye(c, dtype=torch.float64) / c, alpha)
    assert terms["I"] == pytest.approx(np.log(c))
    assert terms["loss"] == pytest.approx(-(2 * alpha - 1) * np.log(c))
    z1, z2 = _softmax(300, c, 7), _softmax(300, c, 8)
    joint = info.joint_distribution(z1, z2)
    assert iic.objective_terms(joint, alpha)["loss"] == pytest.approx(
        info.iic_loss(z1, z2, alpha=alpha).item(), abs=1e-9)
    with pytest.raises(ValueError, match="alpha"):
        iic.objective_terms(joint, -1.0)


def test_objective_explorer_has_a_snapshot_and_redraws():
    import matplotlib
    matplotlib.use("Agg")
    from dlcourse import widgets

    explorer = iic.objective_explorer(alpha=2.0)
    assert isinstance(explorer, widgets.WithSnapshot) and explorer.png
    alpha_slider = explorer.widget.children[0].children[0]
    alpha_slider.value = 8.0  # redraws without error
    with pytest.raises(ValueError, match="alpha"):
        iic.objective_explorer(alpha=-1.0)


# ---- the views of iic.make_view: one resampling for rotation, shear and crop ---------------

def _blob(n=3, size=28):
    """Centred round Gaussian blobs: a rotation about the centre leaves them unchanged."""
    r = torch.linspace(-1, 1, size)
    d2 = r.view(-1, 1) ** 2 + r.view(1, -1) ** 2
    return torch.exp(-d2 / 0.1).expand(n, 1, size, size).clone()


def test_make_view_without_ops_is_the_image_or_its_bilinear_resize():
    x = _digits(4)
    assert torch.equal(iic.make_view(x, ()), x)
    small = iic.make_view(x, (), size=20)
    expected = torch.nn.functional.interpolate(x, size=(20, 20), mode="bilinear",
                                               align_corners=False)
    assert small.shape == (4, 1, 20, 20) and torch.allclose(small, expected, atol=1e-5)


def test_make_view_rotation_keeps_a_round_blob_and_shear_does_not():
    x = _blob()
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(iic.make_view(x, ("rotate",), g), x, atol=0.02)
    sheared = iic.make_view(x, ("skew",), torch.Generator().manual_seed(0))
    assert (sheared - x).abs().max() > 0.05


def test_make_view_crops_stay_inside_the_image():
    """A crop only zooms into the image: a constant image stays constant, at any size (but
    for the outermost ring of pixels, which may sample up to half a pixel beyond the edge)."""
    ones = torch.ones(50, 1, 28, 28)
    for size in (None, 20):
        view = iic.make_view(ones, ("crop",), torch.Generator().manual_seed(1), size)
        inner = view[..., 1:-1, 1:-1]
        assert torch.allclose(inner, torch.ones_like(inner), atol=1e-5)
        assert view.min() >= 0.5


def test_make_view_is_repeatable_and_checks_its_arguments():
    x = _digits(6)
    a = iic.make_view(x, tuple(augment.VIEW_OPS), torch.Generator().manual_seed(3), 20)
    b = iic.make_view(x, tuple(augment.VIEW_OPS), torch.Generator().manual_seed(3), 20)
    assert torch.equal(a, b) and a.shape == (6, 1, 20, 20)
    assert set(iic.make_view(x, ("binarize",), torch.Generator()).unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="ops"):
        iic.make_view(x, ("flip",))
    with pytest.raises(ValueError, match="size"):
        iic.make_view(x, (), size=2)


def test_train_lr_end_decays_to_it_on_the_last_step():
    """With ``lr_end=0`` the last of two steps has learning rate 0: the parameters after two
    steps are those after the first step alone (trained with the constant ``lr``)."""
    x = _digits(16)
    kwargs = dict(batch_size=8, repeats=2, seed=4, lr=1e-2)
    one, two = _tiny_net(), _tiny_net()
    iic.train(one, x, steps=1, **kwargs)
    iic.train(two, x, steps=2, lr_end=0.0, **kwargs)
    for a, b in zip(one.parameters(), two.parameters()):
        assert torch.allclose(a, b, atol=1e-7)
    three = _tiny_net()
    iic.train(three, x, steps=2, **kwargs)  # constant lr: the second step moves them
    assert any(not torch.allclose(a, b) for a, b in zip(one.parameters(), three.parameters()))
    with pytest.raises(ValueError, match="lr_end"):
        iic.train(_tiny_net(), x, steps=1, lr_end=1.0, **kwargs)


def test_cosine_lr_runs_from_lr_to_lr_end_through_the_midpoint():
    assert iic.cosine_lr(0, 11, 1e-2, 1e-4) == pytest.approx(1e-2)
    assert iic.cosine_lr(10, 11, 1e-2, 1e-4) == pytest.approx(1e-4)
    assert iic.cosine_lr(5, 11, 1e-2, 1e-4) == pytest.approx((1e-2 + 1e-4) / 2)
    assert iic.cosine_lr(2, 11, 1.0, 0.0) == pytest.approx(np.cos(np.pi * 0.2) / 2 + 0.5)


def test_cosine_lr_holds_the_rate_before_the_decay():
    assert iic.cosine_lr(5, 20, 1e-2, 1e-4, hold=0.5) == pytest.approx(1e-2)
    assert iic.cosine_lr(10, 20, 1e-2, 1e-4, hold=0.5) == pytest.approx(1e-2)
    assert iic.cosine_lr(19, 20, 1e-2, 1e-4, hold=0.5) == pytest.approx(1e-4)
    # after the hold, the cosine of the remaining steps
    assert iic.cosine_lr(12, 20, 1.0, 0.0, hold=0.5) == pytest.approx(iic.cosine_lr(2, 10, 1.0, 0.0))


@pytest.mark.parametrize("bad", [-0.1, 1.0, "0.5", True])
def test_cosine_lr_rejects_a_bad_hold(bad):
    with pytest.raises(ValueError, match="hold"):
        iic.cosine_lr(0, 10, 1e-2, 1e-4, hold=bad)


@pytest.mark.parametrize("bad", [-0.1, 1.0, "0.5", True])
def test_train_rejects_a_bad_lr_hold(bad):
    model = iic.network(1, 10, num_subheads=1, widths=(4, 4), hidden=())
    with pytest.raises(ValueError, match="lr_hold"):
        iic.train(model, torch.rand(8, 1, 28, 28), steps=1, batch_size=4, lr_end=0.0, lr_hold=bad)
