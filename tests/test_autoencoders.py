"""Tests of dlcourse.autoencoders: model shapes, the denoising option, lambda = 0 fine-tuning,
PCA and principal angles.

Expected values come from independent computations: the article's formula written out with the
weights, hand-made noise from the same seed, a plain cross-entropy training loop, planes at a
known angle, scipy.linalg.subspace_angles and scikit-learn's PCA.
"""
import copy
import math

import matplotlib
import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from dlcourse import autoencoders as ae
from dlcourse import plot
from dlcourse.widgets import WithSnapshot

matplotlib.use("Agg")


# ------------------------------------------------------------------------------------ models


def test_mlp_autoencoder_is_the_article_network():
    """Default sizes 4 -> 2 -> 4: x_hat = W' sigmoid(W x + b) + b'."""
    torch.manual_seed(0)
    net = ae.MLPAutoencoder()
    x = torch.randn(7, 4)
    W, b = net.encoder[0].weight, net.encoder[0].bias
    W2, b2 = net.decoder[0].weight, net.decoder[0].bias
    assert W.shape == (2, 4) and W2.shape == (4, 2)
    z = 1 / (1 + torch.exp(-(x @ W.T + b)))
    assert torch.allclose(net.encode(x), z, atol=1e-6)
    assert torch.allclose(net(x), z @ W2.T + b2, atol=1e-6)
    assert torch.allclose(net.reconstruct(x), net(x))
    assert ((net.encode(x) > 0) & (net.encode(x) < 1)).all()
    assert len(net.encoder) == 2 and len(net.decoder) == 1


@pytest.mark.parametrize("hidden", [(), (8,), (16, 8)])
@pytest.mark.parametrize("code", [1, 3])
def test_mlp_autoencoder_sizes(hidden, code):
    net = ae.MLPAutoencoder(in_features=10, code_size=code, hidden=hidden,
                            code_activation="linear")
    x = torch.randn(5, 10)
    assert net.encode(x).shape == (5, code)
    assert net(x).shape == (5, 10)
    linear = [m for m in net.encoder if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [*hidden, code]


def test_mlp_autoencoder_validation():
    with pytest.raises(ValueError, match="code_activation"):
        ae.MLPAutoencoder(code_activation="softmax")
    with pytest.raises(ValueError, match="code_size"):
        ae.MLPAutoencoder(code_size=0)
    with pytest.raises(ValueError, match="hidden"):
        ae.MLPAutoencoder(hidden=(4, -1))
    net = ae.MLPAutoencoder()
    with pytest.raises(ValueError, match="x must be N x 4"):
        net(torch.randn(3, 5))
    with pytest.raises(ValueError, match="z must be N x 2"):
        net.decode(torch.randn(3))


@pytest.mark.parametrize("code", [2, 16])
def test_conv_autoencoder_shapes(code):
    torch.manual_seed(0)
    net = ae.ConvAutoencoder(code, widths=(4, 8)).eval()
    x = torch.rand(3, 1, 28, 28)
    assert net.encode(x).shape == (3, code)
    out = net(x)
    assert out.shape == x.shape
    assert ((out >= 0) & (out <= 1)).all()
    colour = ae.ConvAutoencoder(5, in_channels=3, widths=(4, 8), image_size=32)
    assert colour(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_conv_autoencoder_validation():
    with pytest.raises(ValueError, match="image_size"):
        ae.ConvAutoencoder(image_size=30)
    with pytest.raises(ValueError, match="widths"):
        ae.ConvAutoencoder(widths=(8,))
    net = ae.ConvAutoencoder(4, widths=(4, 8))
    with pytest.raises(ValueError, match="x must be N x 1 x 28 x 28"):
        net(torch.rand(2, 1, 32, 32))


def test_classifier_head_on_encoder():
    torch.manual_seed(0)
    base = ae.MLPAutoencoder(4, 2)
    clf = ae.AutoencoderClassifier(base, 3)
    x = torch.randn(6, 4)
    logits = clf(x)
    assert logits.shape == (6, 3)
    assert torch.allclose(logits, base.encode(x) @ clf.head.weight.T + clf.head.bias)
    assert torch.allclose(clf.reconstruct(x), base(x))
    assert clf.autoencoder is base  # used as given, not copied
    conv = ae.AutoencoderClassifier(ae.ConvAutoencoder(8, widths=(4, 8)), 10)
    assert conv(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="num_classes"):
        ae.AutoencoderClassifier(base, 1)
    with pytest.raises(ValueError, match="autoencoder"):
        ae.AutoencoderClassifier(torch.nn.Linear(4, 2), 3)


# --------------------------------------------------------------------------------- denoising


class Identity(torch.nn.Module):
    """A 'reconstruction' that returns its input and remembers every input it saw."""

    code_size = 4

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.seen = []

    def encode(self, x):
        self.seen.append(x.detach().clone())
        return self.scale * x

    def decode(self, z):
        return z

    def reconstruct(self, x):
        return self.decode(self.encode(x))

    forward = reconstruct


def test_denoising_noise_is_on_the_input_only():
    """An identity network reconstructs its input exactly, so the loss is the noise energy
    when only the input is corrupted; it would be 0 if the target were corrupted as well."""
    x = torch.rand(50, 4)
    before = x.clone()
    std = 0.3
    loss = ae.reconstruction_loss(Identity(), x, noise_std=std,
                                  generator=torch.Generator().manual_seed(5))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    assert loss.item() == pytest.approx((std * noise).pow(2).mean().item(), rel=1e-5)
    assert torch.equal(x, before)  # the clean input is untouched
    assert ae.reconstruction_loss(Identity(), x).item() == 0.0  # no noise: no error


def test_corrupt_clips_images_and_rejects_negative_std():
    x = torch.rand(10, 1, 4, 4)
    noisy = ae.corrupt(x, 2.0, torch.Generator().manual_seed(0), clip=True)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, x)
    with pytest.raises(ValueError, match="noise_std"):
        ae.corrupt(x, -0.1)


def test_pretrain_and_finetune_feed_noise_to_the_encoder_only_for_reconstruction():
    x = torch.rand(20, 4)
    spy = Identity()
    ae.pretrain(spy, x, epochs=1, batch_size=20, noise_std=0.5, lr=1e-3)
    assert len(spy.seen) == 1
    assert not torch.allclose(spy.seen[0].sort(0).values, x.sort(0).values)
    assert (spy.seen[0] - x[torch.argsort(spy.seen[0][:, 0])]).abs().max() > 0

    # fine-tuning: the classifier sees the clean batch, the reconstruction a noisy copy
    spy = Identity()
    clf = ae.AutoencoderClassifier(spy, 2)
    y = torch.arange(20) % 2
    ae.finetune(clf, x, y, lam=1.0, epochs=1, batch_size=20, noise_std=0.5)
    clean, noisy = spy.seen
    rows = {tuple(r.tolist()) for r in x}
    assert all(tuple(r.tolist()) in rows for r in clean)
    assert not any(tuple(r.tolist()) in rows for r in noisy)


# ---------------------------------------------------------------------------- fine-tuning


def _iris_like(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 4, generator=g, dtype=torch.float64) + 2.0 * F.one_hot(y, 4).double()
    return x, y


def test_finetune_loss_matches_a_direct_computation():
    torch.manual_seed(0)
    clf = ae.AutoencoderClassifier(ae.MLPAutoencoder(4, 2).double(), 3).double()
    x, y = _iris_like()
    with torch.no_grad():
        z = torch.sigmoid(x @ clf.autoencoder.encoder[0].weight.T + clf.autoencoder.encoder[0].bias)
        logits = z @ clf.head.weight.T + clf.head.bias
        ce = -(logits - logits.exp().sum(1, keepdim=True).log())[torch.arange(len(y)), y].mean()
        x_hat = z @ clf.autoencoder.decoder[0].weight.T + clf.autoencoder.decoder[0].bias
        mse = ((x_hat - x) ** 2).sum() / x.numel()
        for lam in (0.0, 0.5, 3.0):
            got = ae.finetune_loss(clf, x, y, lam).item()
            assert got == pytest.approx((ce + lam * mse).item(), rel=1e-10)
    with pytest.raises(ValueError, match="lam"):
        ae.finetune_loss(clf, x, y, -1.0)


def test_lambda_zero_is_plain_finetuning():
    """finetune(lam=0) against a hand-written cross-entropy loop with the same optimiser:
    identical weights afterwards, and the decoder left exactly as pre-trained."""
    x, y = _iris_like()
    torch.manual_seed(0)
    pretrained = ae.MLPAutoencoder(4, 2).double()
    ae.pretrain(pretrained, x, epochs=30, batch_size=60, lr=0.01)
    torch.manual_seed(1)
    ours = ae.AutoencoderClassifier(copy.deepcopy(pretrained), 3).double()
    plain = copy.deepcopy(ours)
    ae.finetune(ours, x, y, lam=0.0, epochs=40, batch_size=len(x), lr=0.01)

    encoder, head = plain.autoencoder.encoder, plain.head
    opt = torch.optim.Adam(plain.parameters(), lr=0.01)
    for _ in range(40):
        loss = F.cross_entropy(head(encoder(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for (name, a), b in zip(ours.named_parameters(), plain.parameters()):
        assert torch.allclose(a, b, atol=1e-10, rtol=0), name
    for a, b in zip(ours.autoencoder.decoder.parameters(), pretrained.decoder.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(ours.autoencoder.encoder[0].weight, pretrained.encoder[0].weight)

    # and a positive lambda does train the decoder and changes the encoder's path
    other = ae.AutoencoderClassifier(copy.deepcopy(pretrained), 3).double()
    other.head.load_state_dict(copy.deepcopy(plain.head.state_dict()))
    ae.finetune(other, x, y, lam=1.0, epochs=5, batch_size=len(x), lr=0.01)
    assert not torch.equal(other.autoencoder.decoder[0].weight, pretrained.decoder[0].weight)


def test_reconstruction_term_keeps_the_code_readable():
    """With a large lambda the pre-trained decoder still reconstructs; with lambda = 0 the
    fine-tuned code drifts away from what the decoder can read."""
    x, y = _iris_like(90)
    torch.manual_seed(0)
    pretrained = ae.MLPAutoencoder(4, 2).double()
    ae.pretrain(pretrained, x, epochs=300, batch_size=90, lr=0.02)
    errors = {}
    for lam in (0.0, 10.0):
        torch.manual_seed(1)
        clf = ae.AutoencoderClassifier(copy.deepcopy(pretrained), 3).double()
        ae.finetune(clf, x, y, lam=lam, epochs=300, batch_size=90, lr=0.02)
        errors[lam] = ae.reconstruction_error(clf, x)
    assert errors[10.0] < errors[0.0]


def test_training_validation():
    x, y = _iris_like()
    clf = ae.AutoencoderClassifier(ae.MLPAutoencoder(4, 2).double(), 3).double()
    with pytest.raises(ValueError, match="lam"):
        ae.finetune(clf, x, y, lam=float("nan"), epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="one per row of x"):
        ae.finetune(clf, x, y[:5], lam=0.0, epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="noise_std"):
        ae.pretrain(clf.autoencoder, x, epochs=1, batch_size=8, noise_std=-1)
    with pytest.raises(ValueError, match="lr"):
        ae.pretrain(clf.autoencoder, x, epochs=1, batch_size=8, lr=0)


# ------------------------------------------------------------------- PCA and principal angles


def _rotation(n, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q


@pytest.mark.parametrize("theta", [1e-9, 1e-4, 0.3, math.pi / 4, 1.2, math.pi / 2])
def test_two_planes_at_a_known_angle(theta):
    """span{e1, e2} and span{e1, cos t e2 + sin t e3} in R^3 meet at angles (t, 0)."""
    a = torch.tensor([[1.0, 0], [0, 1], [0, 0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 0], [0, math.cos(theta)], [0, math.sin(theta)]],
                     dtype=torch.float64)
    angles = ae.principal_angles(a, b)
    assert angles[0].item() == pytest.approx(theta, rel=1e-7)
    assert angles[1].item() == pytest.approx(0.0, abs=1e-12)


def test_known_angles_survive_rotation_and_change_of_basis():
    n, thetas = 12, np.array([1.1, 0.5, 1e-3, 1e-7])
    k = len(thetas)
    a = np.eye(n)[:, :k]
    b = np.eye(n)[:, :k] * np.cos(thetas) + np.eye(n)[:, k:2 * k] * np.sin(thetas)
    q = _rotation(n, 0)
    mix = np.random.default_rng(1).standard_normal((k, k)) + 3 * np.eye(k)  # invertible
    angles = ae.principal_angles(torch.from_numpy(q @ a @ mix), torch.from_numpy(q @ b))
    assert np.allclose(angles.numpy(), np.sort(thetas)[::-1], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("ka,kb", [(3, 3), (5, 2), (2, 6), (1, 1)])
def test_principal_angles_match_scipy(ka, kb):
    rng = np.random.default_rng(ka * 10 + kb)
    a, b = rng.standard_normal((9, ka)), rng.standard_normal((9, kb))
    ours = ae.principal_angles(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert ours.shape == (min(ka, kb),)
    assert np.allclose(ours, scipy.linalg.subspace_angles(a, b), atol=1e-10)
    assert np.allclose(ours, ae.principal_angles(torch.from_numpy(b), torch.from_numpy(a)))
    float32 = ae.principal_angles(torch.from_numpy(a).float(), torch.from_numpy(b).float())
    assert np.allclose(float32.numpy(), ours, atol=1e-5)


def test_principal_angles_validation():
    a = torch.randn(5, 2)
    with pytest.raises(ValueError, match="same number of rows"):
        ae.principal_angles(a, torch.randn(4, 2))
    with pytest.raises(ValueError, match="b must have full column rank"):
        ae.principal_angles(a, torch.cat([a[:, :1], 2 * a[:, :1]], 1))
    with pytest.raises(ValueError, match="a must be a 2-D tensor"):
        ae.principal_angles(torch.randn(5), a)
    with pytest.raises(ValueError, match="b must have between 1 and 5 columns"):
        ae.principal_angles(a, torch.randn(5, 6))


def test_pca_matches_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6)) @ rng.standard_normal((6, 6)) + 3.0
    images = torch.from_numpy(x).reshape(200, 1, 2, 3)  # flattened internally
    mean, components = ae.pca(images, 3)
    assert components.shape == (6, 3)
    assert torch.allclose(components.T @ components, torch.eye(3, dtype=torch.float64))
    reference = PCA(3).fit(x)
    assert np.allclose(mean.numpy(), reference.mean_)
    assert ae.principal_angles(components, torch.from_numpy(reference.components_.T)).max() < 1e-8
    ours = ae.pca_reconstruct(images, mean, components)
    assert ours.shape == images.shape
    assert np.allclose(ours.reshape(200, 6).numpy(),
                       reference.inverse_transform(reference.transform(x)))
    with pytest.raises(ValueError, match="k must be at most"):
        ae.pca(images, 7)
    with pytest.raises(ValueError, match="mean must have 6"):
        ae.pca_reconstruct(images, mean[:3], components)


def test_linear_autoencoder_finds_the_principal_subspace():
    """Bourlard and Kamp / Baldi and Hornik, numerically: trained on data with a clear
    eigengap, the decoder's columns span the top-2 principal subspace."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5)) * np.array([3.0, 2.0, 0.5, 0.3, 0.1])
    x = torch.from_numpy(x @ _rotation(5, 2).T).float()
    torch.manual_seed(0)
    net = ae.MLPAutoencoder(5, 2, code_activation="linear")
    ae.pretrain(net, x, epochs=600, batch_size=300, lr=0.02)
    _, components = ae.pca(x, 2)
    angle = ae.principal_angles(net.decoder[0].weight, components).max()
    assert math.degrees(angle) < 1.0


# ------------------------------------------------------------------- evaluation and pictures


def test_stratified_mask_takes_half_of_every_class():
    y = torch.repeat_interleave(torch.arange(3), 50)
    masks = [ae.stratified_mask(y, 0.5, seed) for seed in (0, 0, 1)]
    assert masks[0].sum() == 75
    assert [int(masks[0][y == c].sum()) for c in range(3)] == [25, 25, 25]
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])
    with pytest.raises(ValueError, match="fraction"):
        ae.stratified_mask(y, 1.0)
    with pytest.raises(ValueError, match="y must be"):
        ae.stratified_mask(y.float())


def test_probe_and_kmeans_on_separable_blobs():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = rng.standard_normal((120, 2)) * 0.1 + np.array([[0, 0], [5, 0], [0, 5]])[y]
    assert ae.linear_probe(x[::2], y[::2], x[1::2], y[1::2]) == 1.0
    assert ae.kmeans_accuracy(torch.from_numpy(x), torch.from_numpy(y)) == 1.0
    with pytest.raises(ValueError, match="columns"):
        ae.linear_probe(x, y, x[:, :1], y)


def test_reconstruction_error_and_encode():
    net = ae.MLPAutoencoder(4, 2)
    x = torch.randn(30, 4)
    with torch.no_grad():
        expected = ((net(x) - x) ** 2).mean().item()
    assert ae.reconstruction_error(net, x, batch_size=7) == pytest.approx(expected, rel=1e-6)
    assert torch.allclose(ae.encode(net, x, batch_size=4), net.encode(x).detach())


def test_decoder_sweep_layout():
    torch.manual_seed(0)
    net = ae.ConvAutoencoder(2, widths=(4, 8)).eval()
    mosaic = ae.decoder_sweep(net, (-1, -2), (1, 2), steps=3)
    assert mosaic.shape == (84, 84)
    with torch.no_grad():
        top_left = net.decode(torch.tensor([[-1.0, 2.0]]))[0, 0]
        bottom_right = net.decode(torch.tensor([[1.0, -2.0]]))[0, 0]
    assert torch.allclose(mosaic[:28, :28], top_left, atol=1e-6)
    assert torch.allclose(mosaic[-28:, -28:], bottom_right, atol=1e-6)
    with pytest.raises(ValueError, match="code_size"):
        ae.decoder_sweep(ae.ConvAutoencoder(3, widths=(4, 8)), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="low < high"):
        ae.decoder_sweep(net, (1, 0), (0, 1))


def test_lambda_explorer_and_plot_codes():
    y = torch.arange(12) % 3
    mask = torch.arange(12) < 6
    codes = {0.0: torch.rand(12, 2), 1.0: torch.rand(12, 2)}
    explorer = ae.lambda_explorer(codes, y, mask, ["a", "b", "c"], notes={0.0: "note"})
    assert isinstance(explorer, WithSnapshot) and explorer.png
    with pytest.raises(ValueError, match="z must be N x 2"):
        plot.codes(torch.rand(12, 3), y, mask)
    with pytest.raises(ValueError, match="train_mask"):
        plot.codes(torch.rand(12, 2), y, mask[:5])
    with pytest.raises(ValueError, match="codes"):
        ae.lambda_explorer({}, y, mask)
    assert ae.plot_codes is plot.codes  # pages executed before the move call it there


def test_small_cpu_models_train_on_one_thread_and_the_setting_is_restored():
    before = torch.get_num_threads()
    seen = []
    x = torch.randn(16, 4)
    try:
        torch.set_num_threads(2)
        ae.pretrain(ae.MLPAutoencoder(), x, epochs=2, batch_size=8,
                    on_epoch_end=lambda e, r: seen.append(torch.get_num_threads()))
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
        big = ae.ConvAutoencoder(8, widths=(8, 16))  # about 16,000 weights
        seen.clear()
        ae.pretrain(big, torch.rand(4, 1, 28, 28), epochs=1, batch_size=4,
                    on_epoch_end=lambda e, r: seen.append(torch.get_num_threads()))
        assert seen == [2]
    finally:
        torch.set_num_threads(before)


def test_small_models_train_without_mixed_precision(monkeypatch):
    seen = []
    real_fit = ae.train.fit

    def spy(*args, **kwargs):
        seen.append(kwargs.get("amp"))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(ae.train, "fit", spy)
    ae.pretrain(ae.MLPAutoencoder(), torch.randn(8, 4), epochs=1, batch_size=8)
    ae.pretrain(ae.ConvAutoencoder(8, widths=(8, 16)), torch.rand(2, 1, 28, 28),
                epochs=1, batch_size=2)
    assert seen == [False, None]  # None: train.fit decides (mixed precision on CUDA)


# ------------------------------------------------------------------- variational autoencoder


def test_gaussian_kl_matches_torch_distributions_and_monte_carlo():
    from torch.distributions import Normal, kl_divergence

    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(6, 3, generator=g, dtype=torch.float64)
    ours = ae.gaussian_kl(mu, logvar)
    assert ours.shape == (6,)
    q, p = Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)
    exact = kl_divergence(q, p).sum(-1)
    assert torch.allclose(ours, exact, rtol=1e-12)
    # Monte Carlo: KL = E_q[log q(z) - log p(z)], to within 5 standard errors
    z = q.sample((200_000,))
    terms = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    estimate, stderr = terms.mean(0), terms.std(0) / math.sqrt(len(terms))
    assert ((estimate - ours).abs() < 5 * stderr).all()
    assert ae.gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0
    with pytest.raises(ValueError, match="same shape"):
        ae.gaussian_kl(mu, logvar[:, :2])


def test_reparameterised_sample_has_the_right_moments_and_carries_gradients():
    mu = torch.tensor([[1.5, -2.0, 0.0]], dtype=torch.float64).expand(100_000, 3)
    logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.01)]], dtype=torch.float64)
    logvar = logvar.expand(100_000, 3)
    z = ae.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert torch.allclose(z.mean(0), mu[0], atol=5 * 2 / math.sqrt(len(z)))
    assert torch.allclose(z.var(0), logvar[0].exp(), rtol=0.03)

    mu = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    z = ae.reparameterize(mu, logvar, torch.Generator().manual_seed(2))
    eps = torch.randn(5, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(z, mu + (0.5 * logvar).exp() * eps)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    # dz/dlogvar = eps * sigma / 2
    assert torch.allclose(logvar.grad, 0.5 * eps * (0.5 * logvar.detach()).exp())
    with pytest.raises(ValueError, match="same shape"):
        ae.reparameterize(mu, logvar[:, :1])


def test_vae_loss_is_bernoulli_nll_plus_kl_by_hand():
    torch.manual_seed(0)
    vae = ae.VAE(latent_size=2, hidden=8, image_size=4).double()
    x = torch.rand(7, 1, 4, 4, dtype=torch.float64)
    terms = ae.vae_loss(vae, x, torch.Generator().manual_seed(3), beta=0.5)
    with torch.no_grad():
        first, last = vae.encoder[1], vae.encoder[3]
        out = torch.relu(x.reshape(7, 16) @ first.weight.T + first.bias) @ last.weight.T + last.bias
        mu, logvar = out[:, :2], out[:, 2:]
        eps = torch.randn(7, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        z = mu + (0.5 * logvar).exp() * eps
        d1, d2 = vae.decoder[0], vae.decoder[2]
        p = torch.sigmoid(torch.relu(z @ d1.weight.T + d1.bias) @ d2.weight.T + d2.bias)
        nll = -(x.reshape(7, 16) * p.log() + (1 - x.reshape(7, 16)) * (1 - p).log()).sum(1)
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
    assert terms["reconstruction"].item() == pytest.approx(nll.mean().item(), rel=1e-10)
    assert terms["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-10)
    assert terms["loss"].item() == pytest.approx((nll + 0.5 * kl).mean().item(), rel=1e-10)
    assert torch.allclose(vae.encode(x), mu)
    assert torch.allclose(vae.reconstruct(x).reshape(7, 16),
                          torch.sigmoid(torch.relu(mu @ d1.weight.T + d1.bias) @ d2.weight.T
                                        + d2.bias))
    with pytest.raises(ValueError, match="beta"):
        ae.vae_loss(vae, x, beta=float("nan"))
    with pytest.raises(ValueError, match="x must be N x 1 x 4 x 4"):
        ae.vae_loss(vae, x.reshape(7, 16))


def test_training_a_vae_raises_the_elbo_and_its_plane_can_be_swept():
    g = torch.Generator().manual_seed(0)
    prototypes = (torch.rand(3, 1, 8, 8, generator=g) > 0.5).float()
    x = prototypes[torch.arange(60) % 3] * 0.9 + 0.05
    torch.manual_seed(0)
    vae = ae.VAE(latent_size=2, hidden=16, image_size=8)
    history = ae.train_vae(vae, x, epochs=40, batch_size=20, lr=1e-2, seed=0)
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    assert ae.decoder_sweep(vae, (-1, -1), (1, 1), steps=3).shape == (24, 24)
    with pytest.raises(ValueError, match="latent_size"):
        ae.VAE(latent_size=0)
    with pytest.raises(ValueError, match="lr"):
        ae.train_vae(vae, x, epochs=1, batch_size=4, lr=-1.0)


def test_pretrain_resumes_from_its_checkpoint(tmp_path):
    """pretrain passes checkpoint on to train.fit: asking for more epochs continues the saved run
    (the full profile trains for hours; a Colab disconnect must not start it over)."""
    from dlcourse import autoencoders as ae

    def net():
        torch.manual_seed(0)
        return ae.MLPAutoencoder(4, 2)

    x = torch.rand(32, 4, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "ae.pt"
    first = ae.pretrain(net(), x, epochs=1, batch_size=8, seed=3, checkpoint=path)
    resumed = ae.pretrain(net(), x, epochs=3, batch_size=8, seed=3, checkpoint=path)
    straight = ae.pretrain(net(), x, epochs=3, batch_size=8, seed=3)
    assert path.exists() and len(resumed) == 3
    assert resumed[0]["loss"] == first[0]["loss"]
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in straight])


class _Stop(Exception):
    pass


_STOP_AFTER = {"epochs": None}


def _stop(epoch, record):
    """A callback whose code and closure stay the same between the two calls (both are part of
    the run's settings); the epoch to stop after is read from a module-level dict."""
    if epoch + 1 == _STOP_AFTER["epochs"]:
        raise _Stop


def test_denoising_pretrain_resumes_bit_for_bit(tmp_path):
    """The noise generator travels in the checkpoint: stopped after 2 of 4 epochs and resumed,
    the weights equal those of an uninterrupted run exactly."""
    x = torch.rand(48, 64, generator=torch.Generator().manual_seed(0))

    def run(path, stop_after=None):
        _STOP_AFTER["epochs"] = stop_after
        torch.manual_seed(0)
        model = ae.MLPAutoencoder(64, 4)
        try:
            ae.pretrain(model, x, epochs=4, batch_size=16, noise_std=0.3, clip=True,
                        on_epoch_end=_stop, checkpoint=path)
        except _Stop:
            return None
        return model

    whole = run(tmp_path / "whole.pt")
    assert run(tmp_path / "part.pt", stop_after=3) is None  # the record of epoch 2 is saved
    resumed = run(tmp_path / "part.pt")
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_grid_counts_match_a_count_around_every_grid_point():
    """Each count is the number of codes within half a grid spacing of the point decoder_sweep
    decodes there (row 0 at the largest z_2), computed here point by point."""
    g = torch.Generator().manual_seed(0)
    z = torch.rand(500, 2, generator=g, dtype=torch.float64) * torch.tensor([4.0, 2.0]) - 1.5
    low, high, steps = (-1.0, -0.5), (2.0, 0.5), 5
    counts = ae.grid_counts(z, low, high, steps)
    dx, dy = (high[0] - low[0]) / (steps - 1), (high[1] - low[1]) / (steps - 1)
    for r in range(steps):
        for c in range(steps):
            u, v = low[0] + c * dx, high[1] - r * dy
            near = ((z[:, 0] - u).abs() < dx / 2) & ((z[:, 1] - v).abs() < dy / 2)
            assert counts[r, c] == int(near.sum())
    assert counts.sum() < len(z)  # codes outside the grid count nowhere
