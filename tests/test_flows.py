"""dlcourse.flows: exact inverses, log-determinants against autograd Jacobians, preprocessing, bits/dim."""
import math

import pytest
import torch
from torch.autograd.functional import jacobian

from dlcourse import flows


def randomise(module, seed=0, std=0.3):
    """Non-trivial weights everywhere (the last conv of s/t starts at zero: overwrite it too) and
    non-trivial batch-norm running statistics."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        for m in module.modules():
            if isinstance(m, flows.BatchNormFlow):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
            if isinstance(m, flows.ActNorm):
                m.initialized.fill_(1.0)  # keep the random parameters
    return module.double().eval()


def logabsdet_autograd(fn, x):
    """log|det J| of ``fn`` at every sample of ``x``, one dense Jacobian per sample."""
    out = []
    for sample in x:
        j = jacobian(lambda v: fn(v.unsqueeze(0)).reshape(-1), sample)
        out.append(torch.linalg.slogdet(j.reshape(sample.numel(), sample.numel()))[1])
    return torch.stack(out)


def image_coupling(mask):
    c = mask.shape[1]
    return randomise(flows.AffineCoupling(mask, flows.ResidualST(c, 8, 1)))


LAYERS = {
    "checkerboard": lambda: image_coupling(
        flows.checkerboard_mask(4, 4).expand(1, 2, 4, 4).clone()),
    "channel": lambda: image_coupling(flows.channel_mask(2, invert=True)),
    "vector": lambda: randomise(flows.AffineCoupling(flows.half_mask(5), flows.MLPST(5, 16))),
    "batchnorm": lambda: randomise(flows.BatchNormFlow(2)),
    "actnorm": lambda: randomise(flows.ActNorm(2)),
    "invconv": lambda: randomise(flows.InvConv1x1(3)),
}
SHAPES = {"checkerboard": (2, 4, 4), "channel": (2, 4, 4), "vector": (5,), "batchnorm": (2, 4, 4),
          "actnorm": (2, 4, 4), "invconv": (3, 4, 4)}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_inverse_and_log_det(name):
    layer = LAYERS[name]()
    x = torch.randn((3,) + SHAPES[name], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y, log_det = layer(x)
    assert (y - x).abs().max() > 1e-2  # the random layer really transforms
    assert (layer.inverse(y) - x).abs().max() < 1e-4
    expected = logabsdet_autograd(lambda v: layer(v)[0], x)
    torch.testing.assert_close(log_det, expected, rtol=1e-8, atol=1e-8)


def test_coupling_keeps_masked_units_and_scale_is_bounded():
    mask = flows.checkerboard_mask(4, 4).expand(1, 2, 4, 4).clone()
    layer = image_coupling(mask)
    x = 100 * torch.randn(2, 2, 4, 4, dtype=torch.float64)
    y, _ = layer(x)
    assert torch.equal(y * mask, x * mask)
    s, _ = layer._scale_shift(x * mask)
    assert s.abs().max() <= layer.scale.abs().max() + 1e-12  # tanh keeps |s| <= |scale|


def test_checkerboard_and_channel_masks():
    m = flows.checkerboard_mask(3, 4)[0, 0]
    for i in range(3):
        for j in range(4):
            assert m[i, j] == (1.0 if (i + j) % 2 == 1 else 0.0)
    assert torch.equal(flows.checkerboard_mask(3, 4, invert=True), 1 - flows.checkerboard_mask(3, 4))
    assert flows.channel_mask(6).flatten().tolist() == [1, 1, 1, 0, 0, 0]
    assert flows.channel_mask(6, invert=True).flatten().tolist() == [0, 0, 0, 1, 1, 1]


def test_squeeze_matches_the_figure_and_round_trips():
    x = torch.arange(2 * 4 * 4, dtype=torch.float64).reshape(1, 2, 4, 4)
    s = flows.squeeze(x)
    assert s.shape == (1, 8, 2, 2)
    for c in range(2):  # channel 4c + 2a + b holds pixel (2i + a, 2j + b) of channel c
        for a in range(2):
            for b in range(2):
                for i in range(2):
                    for j in range(2):
                        assert s[0, 4 * c + 2 * a + b, i, j] == x[0, c, 2 * i + a, 2 * j + b]
    y = torch.randn(3, 3, 6, 8)
    assert torch.equal(flows.unsqueeze(flows.squeeze(y)), y)
    z = torch.randn(3, 12, 5, 7)
    assert torch.equal(flows.squeeze(flows.unsqueeze(z)), z)


def test_channel_mask_after_squeeze_differs_from_the_checkerboard():
    # the units the checkerboard transformed are not one channel half after squeezing
    checker = flows.squeeze(flows.checkerboard_mask(4, 4))
    for half in (flows.channel_mask(4), flows.channel_mask(4, invert=True)):
        assert not torch.equal(checker, half.expand_as(checker))


@pytest.mark.parametrize("norm", [None, "batchnorm", "actnorm"])
def test_multiscale_model_inverse_and_log_det(norm):
    model = randomise(flows.make_realnvp((1, 4, 4), num_scales=2, hidden=4, num_blocks=1,
                                         norm=norm), std=0.2)
    assert isinstance(model, flows.RealNVP)
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    z, log_det = model(x)
    assert z.shape == (2, 16)
    assert (model.inverse(z) - x).abs().max() < 1e-4
    expected = logabsdet_autograd(lambda v: model(v)[0], x)
    torch.testing.assert_close(log_det, expected, rtol=1e-7, atol=1e-7)


def test_glow_style_model_inverse_and_log_det():
    """1 x 1 convolutions and other numbers of couplings per scale: still exact."""
    model = randomise(flows.make_realnvp((1, 4, 4), num_scales=2, hidden=4, num_blocks=1,
                                         invconv=True, checker=2, channel=4), std=0.2)
    kinds = [type(m).__name__ for m in model.scales[0].channel]
    assert kinds.count("InvConv1x1") == 4 and kinds.count("AffineCoupling") == 4
    assert sum(isinstance(m, flows.AffineCoupling) for m in model.scales[0].checker) == 2
    assert sum(isinstance(m, flows.AffineCoupling) for m in model.scales[1].checker) == 3
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    z, log_det = model(x)
    assert (model.inverse(z) - x).abs().max() < 1e-4
    expected = logabsdet_autograd(lambda v: model(v)[0], x)
    torch.testing.assert_close(log_det, expected, rtol=1e-7, atol=1e-7)


def test_variational_dequantizer_density_against_autograd():
    """log q(u | x) = log N(eps) - log|det du/deps|, the Jacobian from autograd."""
    deq = randomise(flows.VariationalDequantizer((1, 4, 4), hidden=4, num_couplings=3),
                    std=0.2)
    x = torch.randint(0, 256, (2, 1, 4, 4), generator=torch.Generator().manual_seed(4)).double() / 255
    u, log_q = deq(x, generator=torch.Generator().manual_seed(5))
    assert ((u > 0) & (u < 1)).all()
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for i in range(2):
        def to_u(e, i=i):
            v = e.reshape(1, 1, 4, 4)
            for coupling in deq.couplings:
                v, _ = coupling(v, 2 * x[i:i + 1] - 1)
            return torch.sigmoid(v).reshape(-1)
        torch.testing.assert_close(to_u(eps[i]), u[i].reshape(-1))
        jac = jacobian(to_u, eps[i])
        normal = torch.distributions.Normal(0.0, 1.0).log_prob(eps[i]).sum()
        expected = normal - torch.linalg.slogdet(jac.reshape(16, 16))[1]
        torch.testing.assert_close(log_q[i], expected, rtol=1e-8, atol=1e-8)


def test_image_log_prob_with_a_dequantizer_is_log_p_minus_log_q():
    flow = randomise(flows.make_realnvp((1, 4, 4), num_scales=2, hidden=4, num_blocks=1), std=0.1)
    deq = randomise(flows.VariationalDequantizer((1, 4, 4), hidden=4), std=0.1)
    x = torch.randint(0, 256, (3, 1, 4, 4), generator=torch.Generator().manual_seed(6)).double() / 255
    got = flows.image_log_prob(flow, x, 1e-6, torch.Generator().manual_seed(7), dequantizer=deq)
    u, log_q = deq(x, generator=torch.Generator().manual_seed(7))
    y = torch.logit(1e-6 + (1 - 2e-6) * (torch.round(x * 255) + u) / 256)
    log_det = torch.log((1 - 2e-6) / 256 * torch.ones_like(y)) - torch.log(
        torch.sigmoid(y) * torch.sigmoid(-y))
    # log p on the [0, 1] scale: the flow at y plus log|dy/dx|, x = (k + u) / 256
    expected = flow.log_prob(y) + (log_det.sum((1, 2, 3)) + 16 * math.log(256)) - log_q
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_dequantized_flow_is_image_log_prob():
    flow = randomise(flows.make_realnvp((1, 4, 4), num_scales=2, hidden=4, num_blocks=1), std=0.1)
    deq = randomise(flows.VariationalDequantizer((1, 4, 4), hidden=4), std=0.1)
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    for noise in (None, deq):
        both = flows.DequantizedFlow(flow, noise)
        got = both.log_prob(x, 1e-6, torch.Generator().manual_seed(8))
        expected = flows.image_log_prob(flow, x, 1e-6, torch.Generator().manual_seed(8),
                                        dequantizer=noise)
        torch.testing.assert_close(got, expected)
    assert len(list(flows.DequantizedFlow(flow, deq).parameters())) == \
        len(list(flow.parameters())) + len(list(deq.parameters()))


def test_three_scales_and_log_prob_is_normal_plus_log_det():
    model = randomise(flows.make_realnvp((2, 8, 8), num_scales=3, hidden=4, num_blocks=1), std=0.1)
    assert model.factored == [(4, 4, 4), (8, 2, 2), (8, 2, 2)]
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64)
    z, log_det = model(x)
    assert (model.inverse(z) - x).abs().max() < 1e-4
    normal = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    torch.testing.assert_close(model.log_prob(x), normal + log_det)


def test_vector_stack_alternates_and_is_exact():
    model = randomise(flows.make_realnvp((4,), num_couplings=3, hidden=8, norm="batchnorm"))
    assert isinstance(model, flows.CouplingStack)
    masks = [layer.mask for layer in model.layers if isinstance(layer, flows.AffineCoupling)]
    assert [m.flatten().tolist() for m in masks] == [[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 0, 0]]
    x = torch.randn(4, 4, dtype=torch.float64)
    z, log_det = model(x)
    assert (model.inverse(z) - x).abs().max() < 1e-4
    torch.testing.assert_close(log_det, logabsdet_autograd(lambda v: model(v)[0], x))
    samples = model.sample(5, temperature=0.5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, 4)


def test_batchnorm_train_mode_uses_batch_statistics():
    layer = flows.BatchNormFlow(3)
    x = 5 + 2 * torch.randn(256, 3, 2, 2)
    y, log_det = layer(x)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    var = x.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(log_det[0], -0.5 * torch.log(var + layer.eps).sum() * 4)
    assert layer.running_mean.sum() > 0  # the running averages moved towards the batch


def test_actnorm_initialises_from_the_first_batch_then_stays_fixed():
    layer = flows.ActNorm(3)
    x = 5 + 2 * torch.randn(256, 3, 2, 2)
    y, log_det = layer(x)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=(0, 2, 3), unbiased=False), torch.ones(3),
                               atol=1e-4, rtol=0)
    y2, _ = layer(x + 1)  # a second batch does not re-initialise
    torch.testing.assert_close(y2 - y, torch.ones_like(y) * layer.log_scale.exp().view(1, 3, 1, 1))
    layer.eval()
    torch.testing.assert_close(layer(x)[0], y)  # the same map in evaluation mode


def test_logit_transform_log_det_and_inverse():
    alpha = 0.05
    x = torch.rand(3, 2, 2, 2, dtype=torch.float64)
    y, log_det = flows.logit_transform(x, alpha)
    torch.testing.assert_close(flows.inverse_logit_transform(y, alpha), x)
    expected = logabsdet_autograd(lambda v: flows.logit_transform(v, alpha)[0], x)
    torch.testing.assert_close(log_det, expected)
    # by hand for one value: d/dx logit(a + (1-2a)x) = (1-2a) / (p (1-p))
    p = alpha + (1 - 2 * alpha) * 0.3
    _, one = flows.logit_transform(torch.full((1, 1), 0.3, dtype=torch.float64), alpha)
    assert one.item() == pytest.approx(math.log((1 - 2 * alpha) / (p * (1 - p))))


def test_dequantize_stays_in_its_bin():
    k = torch.randint(0, 256, (1000,))
    x = k.float() / 255
    d = flows.dequantize(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.floor(d * 256).long(), k)


def test_bits_per_dim_uniform_and_piecewise_constant():
    # a uniform density on [0, 1]^D spends exactly 8 bits on each of 256 levels
    assert flows.bits_per_dim(torch.zeros(3), 10).tolist() == pytest.approx([8.0] * 3)
    # a density constant on each bin: level k has probability pi_k, density 256 pi_k
    gen = torch.Generator().manual_seed(0)
    pi = torch.softmax(torch.randn(256, generator=gen, dtype=torch.float64), 0)
    k = torch.randint(0, 256, (50, 6), generator=gen)
    log_density = torch.log(256 * pi[k]).sum(1)
    expected = -torch.log2(pi[k]).mean(1)  # the discrete code length, bits per dimension
    torch.testing.assert_close(flows.bits_per_dim(log_density, 6), expected)


def test_bits_per_dim_standard_normal_on_dequantised_data():
    """A standard normal in logit space, as a model of one 8-bit pixel: the dequantised bits/dim
    (a Monte Carlo average) is an upper bound on, and close to, the exact discrete code length
    -log2 P(k), P(k) integrating the density over the bin [k/256, (k+1)/256)."""
    alpha, k = 0.05, torch.tensor([3.0, 60.0, 128.0, 250.0], dtype=torch.float64)

    def log_density(x):  # density of x in [0, 1]: N(logit) times |d logit / dx|
        y, ld = flows.logit_transform(x.reshape(-1, 1), alpha)
        return -0.5 * y[:, 0] ** 2 - 0.5 * math.log(2 * math.pi) + ld

    u = (torch.arange(20000, dtype=torch.float64) + 0.5) / 20000  # midpoint rule in the bin
    for level in k:
        x = (level + u) / 256
        discrete_bits = -math.log2(log_density(x).exp().mean().item() / 256)
        dequantised = flows.bits_per_dim(log_density(x), 1).mean().item()
        assert dequantised >= discrete_bits - 1e-9
        assert dequantised - discrete_bits < 1e-3


def test_manifold_corners_are_the_four_latents():
    z = torch.randn(4, 7)
    grid = flows.manifold_latents(z, steps=5).reshape(5, 5, 7)
    torch.testing.assert_close(grid[0, 0], z[0])
    torch.testing.assert_close(grid[0, -1], z[1])
    torch.testing.assert_close(grid[-1, 0], z[2])
    torch.testing.assert_close(grid[-1, -1], z[3])


def test_bad_arguments():
    with pytest.raises(ValueError, match="channels"):
        flows.channel_mask(3)
    with pytest.raises(ValueError, match="height"):
        flows.checkerboard_mask(0, 4)
    with pytest.raises(ValueError, match="even"):
        flows.squeeze(torch.zeros(1, 1, 3, 4))
    with pytest.raises(ValueError, match="multiple of 4"):
        flows.unsqueeze(torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="shape"):
        flows.make_realnvp((1, 28))
    with pytest.raises(ValueError, match="squeezed"):
        flows.make_realnvp((1, 6, 6), num_scales=3)
    with pytest.raises(ValueError, match="mask"):
        flows.AffineCoupling(torch.full((1, 2), 0.5), flows.MLPST(2, 4))
    with pytest.raises(ValueError, match="alpha"):
        flows.logit_transform(torch.rand(2, 2), alpha=0.5)
    with pytest.raises(ValueError, match="x must lie"):
        flows.dequantize(torch.tensor([1.5]))
    with pytest.raises(ValueError, match="num_dims"):
        flows.bits_per_dim(torch.zeros(2), 0)
    with pytest.raises(ValueError, match="temperature"):
        flows.make_realnvp((2,)).sample(3, temperature=-1.0)
    with pytest.raises(ValueError, match="x must have shape"):
        flows.make_realnvp((1, 4, 4), hidden=4)(torch.zeros(2, 1, 4, 5))
    with pytest.raises(ValueError, match="norm"):
        flows.make_realnvp((1, 4, 4), norm="layernorm")
    with pytest.raises(ValueError, match="4 x D"):
        flows.manifold_latents(torch.zeros(3, 5))


