"""Tests of dlcourse.augment: batched random affine transforms and Gaussian noise."""
import math

import numpy as np
import pytest
import torch

from dlcourse.augment import gaussian_noise, random_affine

H = W = 28


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _square(n=1, half=4, size=H):
    """Centred bright square of side 2 * half on a black background."""
    x = torch.zeros(n, 1, size, size)
    c = size // 2
    x[:, :, c - half:c + half, c - half:c + half] = 1.0
    return x


def _blob(n, row, col, sigma=1.5, size=H):
    """A Gaussian blob centred at pixel coordinates (row, col)."""
    r = torch.arange(size, dtype=torch.float32).view(-1, 1)
    c = torch.arange(size, dtype=torch.float32).view(1, -1)
    img = torch.exp(-((r - row) ** 2 + (c - col) ** 2) / (2 * sigma ** 2))
    return img.expand(n, 1, size, size).clone()


def _centroids(x):
    """Intensity-weighted centre (row, col) of every image, in pixel coordinates."""
    n, _, h, w = x.shape
    r = torch.arange(h, dtype=torch.float64).view(1, -1, 1)
    c = torch.arange(w, dtype=torch.float64).view(1, 1, -1)
    m = x[:, 0].double()
    total = m.sum((1, 2))
    return (m * r).sum((1, 2)) / total, (m * c).sum((1, 2)) / total


# ----------------------------------------------------------------------------- random_affine


def test_identity_when_all_ranges_zero():
    x = torch.rand(5, 3, 17, 23, generator=_gen(0))
    out = random_affine(x, degrees=0, scale=(1, 1), translate=0, shear=0, generator=_gen(1))
    assert out.shape == x.shape
    assert torch.allclose(out, x, atol=1e-5)


def test_identity_with_default_arguments():
    x = torch.rand(2, 1, H, W, generator=_gen(0))
    assert torch.allclose(random_affine(x), x, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (3, 3, 32, 32), (2, 2, 10, 14), (1, 1, 8, 8)])
def test_output_shape_and_dtype(shape):
    x = torch.rand(*shape, generator=_gen(0))
    out = random_affine(x, degrees=20, scale=(0.9, 1.1), translate=0.1, shear=10, generator=_gen(0))
    assert out.shape == x.shape and out.dtype == x.dtype


def test_scale_two_enlarges_centred_square():
    x = _square(half=4)  # 8 x 8 = 64 bright pixels
    out = random_affine(x, degrees=0, scale=(2, 2), generator=_gen(0))
    before = (x > 0.01).sum().item()
    after = (out > 0.01).sum().item()
    assert after > before
    # area grows by the square of the zoom: total intensity about 4 x 64
    assert out.sum().item() == pytest.approx(4 * x.sum().item(), rel=0.1)
    # still centred
    rows, cols = _centroids(out)
    assert rows.item() == pytest.approx((H - 1) / 2, abs=0.1)
    assert cols.item() == pytest.approx((W - 1) / 2, abs=0.1)


def test_scale_half_shrinks_centred_square():
    x = _square(half=8)
    out = random_affine(x, scale=(0.5, 0.5), generator=_gen(0))
    assert out.sum().item() == pytest.approx(x.sum().item() / 4, rel=0.1)


def test_scale_range_is_respected():
    x = _square(n=64, half=4)
    out = random_affine(x, scale=(1.2, 1.5), generator=_gen(3))
    ratio = out.sum((1, 2, 3)) / x.sum((1, 2, 3))  # = zoom ** 2
    assert (ratio > 1.2 ** 2 * 0.9).all() and (ratio < 1.5 ** 2 * 1.1).all()
    assert ratio.max() - ratio.min() > 0.2  # each image draws its own zoom


@pytest.mark.parametrize("degrees", [10.0, 45.0])
def test_rotation_angle_stays_within_degrees(degrees):
    """A blob 8 px right of the centre keeps its distance to the centre and turns by at most
    ``degrees`` (which also checks that degrees are converted to radians)."""
    n, centre = 200, (H - 1) / 2
    x = _blob(n, centre, centre + 8)
    out = random_affine(x, degrees=degrees, generator=_gen(5))
    rows, cols = _centroids(out)
    radius = torch.hypot(rows - centre, cols - centre)
    assert torch.allclose(radius, torch.full_like(radius, 8.0), atol=0.3)
    angle = torch.rad2deg(torch.atan2(rows - centre, cols - centre)).abs()
    assert angle.max().item() <= degrees + 0.5
    assert angle.max().item() >= 0.8 * degrees  # uniform over the range: the extremes are reached
    assert angle.std().item() > 0.1 * degrees  # every image has its own angle


def test_rotation_keeps_distances_on_non_square_images():
    h, w, n = 28, 56, 200
    r = torch.arange(h, dtype=torch.float32).view(-1, 1)
    c = torch.arange(w, dtype=torch.float32).view(1, -1)
    cr, cc = (h - 1) / 2, (w - 1) / 2
    x = torch.exp(-((r - cr) ** 2 + (c - cc - 8) ** 2) / (2 * 1.5 ** 2)).expand(n, 1, h, w).clone()
    out = random_affine(x, degrees=60, generator=_gen(0))
    rows, cols = _centroids(out)
    radius = torch.hypot(rows - cr, cols - cc)
    assert torch.allclose(radius, torch.full_like(radius, 8.0), atol=0.3)


def test_translation_is_a_fraction_of_image_size():
    n, centre, translate = 300, (H - 1) / 2, 0.25
    x = _blob(n, centre, centre)
    out = random_affine(x, translate=translate, generator=_gen(6))
    rows, cols = _centroids(out)
    limit = translate * W  # 7 px
    for shift in (rows - centre, cols - centre):
        assert shift.abs().max().item() <= limit + 0.3
        assert shift.abs().max().item() >= 0.85 * limit
        assert abs(shift.mean().item()) < 1.0  # symmetric range


def test_shear_preserves_centre_and_moves_pixels():
    x = _square(n=8, half=6)
    out = random_affine(x, shear=30, generator=_gen(7))
    rows, cols = _centroids(out)
    assert torch.allclose(rows, torch.full_like(rows, (H - 1) / 2), atol=0.2)
    assert torch.allclose(cols, torch.full_like(cols, (W - 1) / 2), atol=0.2)
    assert not torch.allclose(out, x, atol=1e-2)


def test_same_seed_same_output_different_seed_different():
    x = torch.rand(6, 1, H, W, generator=_gen(0))
    kwargs = dict(degrees=30, scale=(0.8, 1.2), translate=0.1, shear=10)
    a = random_affine(x, **kwargs, generator=_gen(42))
    b = random_affine(x, **kwargs, generator=_gen(42))
    c = random_affine(x, **kwargs, generator=_gen(43))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c, atol=1e-3)


def test_global_rng_used_without_generator():
    x = torch.rand(3, 1, H, W, generator=_gen(0))
    torch.manual_seed(0)
    a = random_affine(x, degrees=30)
    torch.manual_seed(0)
    b = random_affine(x, degrees=30)
    assert torch.equal(a, b)


def test_input_not_modified():
    x = torch.rand(3, 1, H, W, generator=_gen(0))
    copy = x.clone()
    random_affine(x, degrees=30, scale=(0.5, 2), translate=0.2, shear=5, generator=_gen(0))
    assert torch.equal(x, copy)


@pytest.mark.parametrize("shape", [(1, 28, 28), (28, 28), (1, 1, 1, 28, 28)])
def test_rejects_wrong_ndim(shape):
    with pytest.raises(ValueError, match="x"):
        random_affine(torch.zeros(shape))


@pytest.mark.parametrize("kwargs", [
    dict(degrees=-1), dict(translate=-0.1), dict(shear=-5),
    dict(scale=(0, 1)), dict(scale=(1.2, 1.0)), dict(scale=(-1, 1)),
])
def test_rejects_bad_ranges(kwargs):
    with pytest.raises(ValueError):
        random_affine(torch.zeros(1, 1, 8, 8), **kwargs)


def test_rejects_negative_degrees_mentions_degrees():
    with pytest.raises(ValueError, match="degrees"):
        random_affine(torch.zeros(1, 1, 8, 8), degrees=-10)


# ----------------------------------------------------------------------------- gaussian_noise


def test_noise_std_zero_returns_input():
    x = torch.rand(4, 1, H, W, generator=_gen(0))
    assert torch.equal(gaussian_noise(x, 0.0, generator=_gen(1)), x)


def test_noise_output_clamped():
    x = torch.rand(4, 3, 16, 16, generator=_gen(0))
    out = gaussian_noise(x, 0.5, generator=_gen(1))
    assert out.min().item() >= 0.0 and out.max().item() <= 1.0
    assert (out == 0).any() and (out == 1).any()  # large noise really got clamped
    unclamped = gaussian_noise(x, 0.5, generator=_gen(1), clamp=False)
    assert unclamped.min().item() < 0.0 and unclamped.max().item() > 1.0
    assert torch.equal(out, unclamped.clamp(0, 1))


def test_noise_empirical_std_on_mid_grey():
    x = torch.full((16, 1, 64, 64), 0.5)
    out = gaussian_noise(x, 0.05, generator=_gen(2))
    diff = (out - x).double().numpy().ravel()
    assert diff.std() == pytest.approx(0.05, rel=0.02)
    assert abs(diff.mean()) < 0.05 * 4 / math.sqrt(diff.size)
    # roughly normal: about 68 % within one standard deviation
    assert np.mean(np.abs(diff) < 0.05) == pytest.approx(0.6827, abs=0.01)


def test_noise_repeatable_with_generator():
    x = torch.full((2, 1, 8, 8), 0.5)
    a = gaussian_noise(x, 0.1, generator=_gen(3))
    b = gaussian_noise(x, 0.1, generator=_gen(3))
    c = gaussian_noise(x, 0.1, generator=_gen(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype


def test_noise_rejects_negative_std():
    with pytest.raises(ValueError, match="std"):
        gaussian_noise(torch.zeros(1, 1, 2, 2), -0.1)


# ----------------------------------------------------------------------------- every view op


from dlcourse import augment  # noqa: E402


@pytest.mark.parametrize("call, binary", [
    (lambda x, g: random_affine(x, degrees=0, scale=(1, 1), translate=0, shear=0, generator=g), False),
    (lambda x, g: augment.random_crop(x, scale=(1.0, 1.0), generator=g), False),
    (lambda x, g: gaussian_noise(x, 0.0, generator=g), False),
    (lambda x, g: augment.binarize(x, threshold=(0.3, 0.7), generator=g), True),
    (lambda x, g: augment.make_view(x, [], generator=g), False),
], ids=["affine", "crop", "noise", "binarize-binary", "no-ops"])
def test_zero_magnitude_is_identity(call, binary):
    """No rotation/shear/shift/zoom, a full-size crop, zero noise, no ops: the input comes back;
    binarisation leaves an already binary image alone."""
    x = torch.rand(6, 1, H, W, generator=_gen(0))
    if binary:
        x = (x > 0.5).float()
    assert torch.allclose(call(x, _gen(1)), x, atol=1e-5)


@pytest.mark.parametrize("name", list(augment.VIEW_OPS))
def test_each_view_op_keeps_shape_range_and_is_seeded(name):
    x = torch.rand(32, 1, H, W, generator=_gen(0))
    op = augment.VIEW_OPS[name]
    a, b, c = op(x, _gen(5)), op(x, _gen(5)), op(x, _gen(6))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min().item() >= 0.0 and a.max().item() <= 1.0
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a, x, atol=1e-3)  # it does change the images
    # every image draws its own parameters: the change differs from image to image
    change = (a - x).abs().flatten(1).mean(1)
    assert change.std().item() > 0
