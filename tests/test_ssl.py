"""Tests of dlcourse.ssl: sharpening, MixUp, distribution alignment, rotations, EMA, the losses."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import models, ssl
from dlcourse.ctaugment import CTAugment


# --------------------------------------------------------------------------- sharpen

def test_sharpen_t1_is_identity_and_matches_the_power_formula():
    p = torch.softmax(torch.randn(5, 7, dtype=torch.float64), 1)
    assert torch.allclose(ssl.sharpen(p, 1.0), p, atol=1e-12)
    for T in (0.3, 0.5, 2.0):
        power = p.numpy() ** (1 / T)
        expected = power / power.sum(1, keepdims=True)
        assert np.allclose(ssl.sharpen(p, T).numpy(), expected, atol=1e-10)


def test_sharpen_t_to_zero_is_one_hot_at_the_argmax():
    p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.0, 0.45, 0.55]])
    q = ssl.sharpen(p, 1e-3)
    assert torch.allclose(q, F.one_hot(p.argmax(1), 3).float(), atol=1e-6)
    # sharpening never moves the argmax and lowers the entropy
    q = ssl.sharpen(p, 0.5)
    assert torch.equal(q.argmax(1), p.argmax(1))
    ent = lambda d: -(d * d.clamp_min(1e-12).log()).sum(1)
    assert (ent(q) < ent(p)).all()


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_sharpen_rejects_bad_temperature(bad):
    with pytest.raises(ValueError, match="T must be > 0"):
        ssl.sharpen(torch.tensor([0.5, 0.5]), bad)


def test_sharpen_rejects_non_probabilities():
    with pytest.raises(ValueError, match="p must lie in"):
        ssl.sharpen(torch.tensor([1.5, -0.5]), 0.5)


# --------------------------------------------------------------------------- mixup

def test_mixup_lambda_at_least_half_and_mixes_inputs_and_labels():
    torch.manual_seed(0)
    x1, x2 = torch.rand(500, 1, 4, 4), torch.rand(500, 1, 4, 4)
    y1 = F.one_hot(torch.randint(3, (500,)), 3).float()
    y2 = torch.softmax(torch.randn(500, 3), 1)
    x, y, lam = ssl.mixup(x1, y1, x2, y2, alpha=0.75)
    assert lam.shape == (500,) and (lam >= 0.5).all() and (lam <= 1).all()
    for i in (0, 17, 499):  # row by row, the definition
        assert torch.allclose(x[i], lam[i] * x1[i] + (1 - lam[i]) * x2[i], atol=1e-6)
        assert torch.allclose(y[i], lam[i] * y1[i] + (1 - lam[i]) * y2[i], atol=1e-6)
    assert torch.allclose(y.sum(1), torch.ones(500), atol=1e-5)  # still distributions


def test_mixup_lambda_distribution_alpha_one_is_max_of_uniform():
    torch.manual_seed(1)
    z = torch.zeros(20000, 1)
    _, _, lam = ssl.mixup(z, z, z, z, alpha=1.0)
    # Beta(1, 1) is uniform, so max(l, 1 - l) is uniform on [0.5, 1]: mean 0.75, var 1/48
    assert abs(lam.mean().item() - 0.75) < 0.005
    assert abs(lam.var().item() - 1 / 48) < 0.002


def test_mixup_rejects_bad_arguments():
    x, y = torch.zeros(4, 2), torch.zeros(4, 3)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        ssl.mixup(x, y, x, y, alpha=0)
    with pytest.raises(ValueError, match="same shape"):
        ssl.mixup(x, y, torch.zeros(5, 2), y, alpha=0.75)


# --------------------------------------------------------------------------- distribution alignment

def test_distribution_alignment_article_worked_example():
    """Dog seen 2/10 of the time against 1/10 expected: its probability is halved (before
    normalising); the cat, seen 1/10, is untouched."""
    dog, cat = 5, 3
    da = ssl.DistributionAlignment(10)  # uniform target p(y) = 1/10
    running = torch.full((10,), 0.7 / 8)
    running[dog], running[cat] = 0.2, 0.1
    da.running.copy_(running)
    q = torch.softmax(torch.randn(4, 10, dtype=torch.float64), 1).float()
    aligned = da(q, update=False)
    # unnormalised: q_dog * (1/10)/(2/10) = q_dog / 2, q_cat * 1 = q_cat
    ratio_before = q[:, dog] / q[:, cat]
    ratio_after = aligned[:, dog] / aligned[:, cat]
    assert torch.allclose(ratio_after, ratio_before / 2, rtol=1e-5)
    # the whole vector against a direct float64 computation
    raw = q.double() * (0.1 / running.double())
    assert torch.allclose(aligned.double(), raw / raw.sum(1, keepdim=True), atol=1e-6)
    assert torch.allclose(da.running, running)  # update=False left it alone


def test_distribution_alignment_running_average_and_target_from_counts():
    da = ssl.DistributionAlignment(3, target=[10, 30, 60], momentum=0.5)
    assert torch.allclose(da.target, torch.tensor([0.1, 0.3, 0.6]))
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    da(probs)  # batch mean (0.5, 0.5, 0)
    assert torch.allclose(da.running, 0.5 * torch.full((3,), 1 / 3)
                          + 0.5 * torch.tensor([0.5, 0.5, 0.0]))
    # a model whose running average equals the target is left unchanged
    da.running.copy_(da.target)
    q = torch.tensor([[0.2, 0.3, 0.5]])
    assert torch.allclose(da.align(q), q, atol=1e-6)


def test_distribution_alignment_window_is_the_mean_of_the_last_batches():
    """The default p~(y): the mean of the last ``window`` batch means, the window starting full
    of uniform rows (as the authors' code does), against a plain Python list."""
    torch.manual_seed(0)
    C, window = 4, 5
    da = ssl.DistributionAlignment(C, window=window)
    assert da.momentum is None and da.window == window
    means = [[1.0 / C] * C] * window  # what the window holds before any batch
    for n in range(1, 13):
        probs = torch.softmax(3 * torch.randn(7, C, dtype=torch.float64), 1).float()
        da.update(probs)
        means.append(probs.double().mean(0).tolist())
        last = means[-window:]
        expected = [sum(row[k] for row in last) / window for k in range(C)]
        assert torch.allclose(da.running.double(), torch.tensor(expected, dtype=torch.float64),
                              atol=1e-6), n
    # after ``window`` batches the uniform start is forgotten entirely
    assert not any(row == [1.0 / C] * C for row in means[-window:])


def test_distribution_alignment_window_state_resumes():
    torch.manual_seed(1)
    a, b = ssl.DistributionAlignment(3, window=4), ssl.DistributionAlignment(3, window=4)
    batches = [torch.softmax(torch.randn(6, 3), 1) for _ in range(9)]
    for p in batches[:6]:
        a.update(p)
    b.load_state_dict(a.state_dict())
    for p in batches[6:]:
        a.update(p)
        b.update(p)
    assert torch.equal(a.running, b.running)
    assert torch.allclose(a.running, torch.stack([p.mean(0) for p in batches[-4:]]).mean(0),
                          atol=1e-6)


def test_distribution_alignment_rejects_bad_arguments():
    with pytest.raises(ValueError, match="momentum"):
        ssl.DistributionAlignment(10, momentum=1.0)
    with pytest.raises(ValueError, match="target"):
        ssl.DistributionAlignment(3, target=[1, 2])
    with pytest.raises(ValueError, match="num_classes"):
        ssl.DistributionAlignment(1)
    with pytest.raises(ValueError, match="probs must have 3 classes"):
        ssl.DistributionAlignment(3).align(torch.full((2, 4), 0.25))


# --------------------------------------------------------------------------- rotations

def test_quarter_turns_match_numpy_rot90_and_labels_are_recoverable():
    torch.manual_seed(0)
    x = torch.rand(8, 2, 5, 5)
    r = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    out = ssl.quarter_turns(x, r)
    for i in range(8):  # numpy's rot90 rotates anticlockwise, k quarter turns
        expected = np.rot90(x[i].numpy(), k=int(r[i]), axes=(1, 2))
        assert np.allclose(out[i].numpy(), expected)
    rotated, labels = ssl.random_rotation(x, torch.Generator().manual_seed(3))
    assert set(labels.tolist()) <= {0, 1, 2, 3}
    assert torch.equal(ssl.quarter_turns(rotated, (4 - labels) % 4), x)


def test_quarter_turns_rejects_bad_arguments():
    with pytest.raises(ValueError, match="H = W"):
        ssl.quarter_turns(torch.zeros(2, 1, 4, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="r must hold"):
        ssl.quarter_turns(torch.zeros(2, 1, 4, 4), torch.tensor([0, 4]))


def test_rotation_net_has_two_heads():
    net = ssl.RotationNet(models.SmallConvNet(num_classes=10))
    logits, rot = net(torch.rand(3, 1, 28, 28), rotation=True)
    assert logits.shape == (3, 10) and rot.shape == (3, 4)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    with pytest.raises(ValueError, match="linear `head`"):
        ssl.RotationNet(torch.nn.Linear(3, 3))


# --------------------------------------------------------------------------- EMA, losses

def test_squared_error_against_a_loop_over_rows_and_classes():
    logits = torch.randn(5, 3, dtype=torch.float64)
    targets = torch.softmax(torch.randn(5, 3, dtype=torch.float64), 1).float()
    total = 0.0
    for i in range(5):
        p = [math.exp(v) for v in logits[i].tolist()]
        for k in range(3):
            total += (p[k] / sum(p) - targets[i, k].item()) ** 2
    assert ssl.squared_error(logits.float(), targets).item() == pytest.approx(total / 15, rel=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        ssl.squared_error(logits.float(), torch.zeros(5, 4))


def test_soft_cross_entropy_equals_cross_entropy_on_one_hot_targets():
    logits = torch.randn(6, 4)
    y = torch.randint(4, (6,))
    assert torch.allclose(ssl.soft_cross_entropy(logits, F.one_hot(y, 4).float()),
                          F.cross_entropy(logits, y))
    with pytest.raises(ValueError, match="same shape"):
        ssl.soft_cross_entropy(logits, torch.zeros(6, 3))


def test_rampup_is_linear_then_flat():
    assert [ssl.rampup(s, 10) for s in (0, 5, 10, 20)] == [0.0, 0.5, 1.0, 1.0]
    assert ssl.rampup(0, 0) == 1.0


def _tiny_data():
    torch.manual_seed(0)
    return torch.rand(8, 1, 28, 28), torch.arange(8) % 4, torch.rand(16, 1, 28, 28)


def test_remixmatch_loss_terms_and_warmup():
    x_l, y_l, x_u = _tiny_data()
    model = ssl.RotationNet(models.SmallConvNet(num_classes=4))
    method = ssl.ReMixMatch(4, K=2, warmup=100)
    before = method.cta.weights.clone()
    total, parts = method.loss(model, x_l, y_l, x_u, step=0)
    assert set(parts) == {"labelled", "unlabelled", "pre-mixup", "rotation", "raw_top",
                          "target_top"}
    # at step 0 the warm-up zeroes both unlabelled class terms
    assert torch.allclose(total, parts["labelled"] + 0.5 * parts["rotation"], atol=1e-5)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert not torch.equal(method.cta.weights, before)  # the probe updated CTAugment
    assert not torch.allclose(method.da.running, torch.full((4,), 0.25))  # and DA moved
    # a chance-level rotation head starts near log 4
    assert abs(parts["rotation"].item() - math.log(4)) < 0.5


def test_remixmatch_ablation_switches():
    x_l, y_l, x_u = _tiny_data()
    model = ssl.RotationNet(models.SmallConvNet(num_classes=4))
    method = ssl.ReMixMatch(4, K=1, lambda_r=0.0, align=False, strong=False,
                            cta=CTAugment(learn=False))
    total, parts = method.loss(model, x_l, y_l, x_u, step=50)
    assert parts["rotation"].item() == 0.0
    assert torch.allclose(method.da.running, torch.full((4,), 0.25))  # never updated
    with pytest.raises(ValueError, match="loss weights"):
        ssl.ReMixMatch(4, lambda_r=-1)
    with pytest.raises(ValueError, match="K must be"):
        ssl.ReMixMatch(4, K=0)


class _CountingNet(ssl.RotationNet):
    """A RotationNet that records the size of every batch it sees."""

    def __init__(self):
        super().__init__(models.SmallConvNet(num_classes=4))
        self.sizes = []

    def forward(self, x, rotation=False):
        self.sizes.append(len(x))
        return super().forward(x, rotation)


@pytest.mark.parametrize("mix_weak", [True, False])
def test_remixmatch_mixes_the_weak_view_with_the_strong_ones(mix_weak):
    """The authors' code mixes the weak view and the K strong views: the training batch holds
    B labelled + (K + 1) B unlabelled mixed rows, the first strong views and their rotations."""
    x_l, y_l, x_u = _tiny_data()
    K, b, n = 3, len(x_l), len(x_u)
    model = _CountingNet()
    method = ssl.ReMixMatch(4, K=K, warmup=0, mix_weak=mix_weak)
    method.loss(model, x_l, y_l, x_u, step=5)
    views = K + 1 if mix_weak else K
    # probe (labelled), guess (one view per unlabelled image), then the training batch
    assert model.sizes == [b, n, b + views * n + n + n]


def test_remixmatch_squared_error_and_strong_anchor():
    x_l, y_l, x_u = _tiny_data()
    model = ssl.RotationNet(models.SmallConvNet(num_classes=4))
    torch.manual_seed(0)
    method = ssl.ReMixMatch(4, K=2, warmup=0, lambda_u=75.0, lambda_u1=0.0, lambda_r=0.0,
                            unlabelled_loss="squared error")
    total, parts = method.loss(model, x_l, y_l, x_u, step=5)
    # a mean of squared differences of two distributions over 4 classes lies in [0, 1/2]
    assert 0 <= parts["unlabelled"].item() <= 0.5
    assert torch.allclose(total, parts["labelled"] + 75.0 * parts["unlabelled"], atol=1e-4)
    # the strong anchor guesses from a CTAugment view: the same seed, another target
    g = lambda: torch.Generator().manual_seed(3)
    weak_anchor = ssl.ReMixMatch(4, K=2, align=False, cta=CTAugment(learn=False))
    strong_anchor = ssl.ReMixMatch(4, K=2, align=False, anchor="strong",
                                   cta=CTAugment(learn=False))
    model.eval()
    view_w, _, _ = weak_anchor.guess(model, x_u, g())
    view_s, _, _ = strong_anchor.guess(model, x_u, g())
    assert torch.equal(view_w, weak_anchor.weak(x_u, generator=g()))
    assert not torch.equal(view_s, view_w)
    with pytest.raises(ValueError, match="unlabelled_loss"):
        ssl.ReMixMatch(4, unlabelled_loss="l2")
    with pytest.raises(ValueError, match="anchor"):
        ssl.ReMixMatch(4, anchor="medium")


def test_mixmatch_loss_runs_and_rejects_bad_arguments():
    x_l, y_l, x_u = _tiny_data()
    model = models.SmallConvNet(num_classes=4)
    total, parts = ssl.MixMatch(4, warmup=10).loss(model, x_l, y_l, x_u, step=0)
    assert torch.allclose(total, parts["labelled"])  # warm-up: lambda_u * 0
    assert 0 <= parts["unlabelled"].item() <= 1
    with pytest.raises(ValueError, match="K must be"):
        ssl.MixMatch(4, K=0)


def test_fit_ssl_resumes_exactly_from_a_checkpoint(tmp_path):
    x_l, y_l, x_u = _tiny_data()

    def run(steps, checkpoint=None):
        torch.manual_seed(0)
        model = ssl.RotationNet(models.SmallConvNet(num_classes=4))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        method = ssl.ReMixMatch(4, K=1, warmup=2)
        history, ema = ssl.fit_ssl(method, model, optimizer, (x_l, y_l), x_u, steps=steps,
                                   batch_size=4, eval_every=2, checkpoint=checkpoint,
                                   checkpoint_every=2, seed=5)
        return model, method, history

    straight, method_a, hist_a = run(4)
    path = tmp_path / "run.ckpt"
    run(2, path)
    resumed, method_b, hist_b = run(4, path)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(method_a.cta.weights, method_b.cta.weights)
    assert [h["step"] for h in hist_b] == [2, 4] and "p_tilde" in hist_b[-1]


def test_fit_ssl_evaluates_the_warmed_up_average_and_the_trained_weights():
    """The average evaluated is d_n = min(decay, (1 + n) / (10 + n)), d_0 = 0 (no random start
    left in it); the trained weights are evaluated too, under ``trained_``."""
    x_l, y_l, x_u = _tiny_data()
    torch.manual_seed(1)
    model = models.SmallConvNet(num_classes=4, widths=(2, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    trace = []  # the weights after every step
    optimizer.register_step_post_hook(lambda *_: trace.append(
        torch.cat([p.detach().flatten().clone() for p in model.parameters()])))

    def evaluate(m):
        return {"w": torch.cat([p.detach().flatten() for p in m.parameters()])}

    seen = {}

    def report(m):
        seen[len(seen)] = evaluate(m)["w"].clone()
        return {"norm": evaluate(m)["w"].norm()}

    history, ema = ssl.fit_ssl(ssl.Supervised(4), model, optimizer, (x_l, y_l), x_u, steps=4,
                               batch_size=4, ema_decay=0.999, evaluate=report, eval_every=4)
    expected = trace[0]
    for n, w in enumerate(trace[1:], start=1):
        d = min(0.999, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * w
    assert len(trace) == 4
    torch.testing.assert_close(seen[0], expected)  # the average is evaluated first
    torch.testing.assert_close(seen[1], trace[-1])  # then the trained weights
    assert history[-1]["norm"] == pytest.approx(expected.norm().item(), rel=1e-5)
    assert history[-1]["trained_norm"] == pytest.approx(trace[-1].norm().item(), rel=1e-5)
    assert not torch.allclose(expected, trace[-1])


def test_fit_ssl_rejects_bad_arguments():
    x_l, y_l, x_u = _tiny_data()
    model = models.SmallConvNet(num_classes=4)
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="one label per image"):
        ssl.fit_ssl(ssl.Supervised(4), model, optimizer, (x_l, y_l[:3]), x_u, steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        ssl.fit_ssl(ssl.Supervised(4), model, optimizer, (x_l, y_l), x_u, steps=1,
                    batch_size=0)
