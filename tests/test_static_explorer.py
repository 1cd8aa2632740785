"""The kernel-free JavaScript explorers draw the same formulas as dlcourse.losses and
dlcourse.superclass (run via Node)."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "book" / "_static" / "explorers.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is needed to run the book's JavaScript "
                                                     "(apt-get install nodejs); .ci/run installs it")
losses = pytest.importorskip("dlcourse.losses")

PS = [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999]
GAMMAS = [0.0, 0.5, 1.0, 1.5, 2.0, 5.0]
NS = [1, 2, 10, 250, 5000, 60000]
BETAS = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0]
COUNTS = [5000, 5000, 250, 5000, 250, 5000, 250, 5000, 5000, 5000]


@pytest.fixture(scope="module")
def js():
    program = f"""
    const m = require({json.dumps(str(SCRIPT))});
    const out = {{
      focal: {json.dumps(GAMMAS)}.map(g => {json.dumps(PS)}.map(p => m.focalLoss(p, g))),
      grad: {json.dumps(GAMMAS)}.map(g => {json.dumps(PS)}.map(p => m.focalGradLogit(p, g))),
      en: {json.dumps(BETAS)}.map(b => {json.dumps(NS)}.map(n => m.effectiveNumber(n, b))),
      weights: {json.dumps(BETAS)}.map(b => m.classBalancedWeights({json.dumps(COUNTS)}, b)),
    }};
    console.log(JSON.stringify(out));
    """
    result = subprocess.run([NODE, "-e", program], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


def _true_class_logits(p, num_classes=2):
    """Logits whose softmax gives the true class (index 0) probability p."""
    other = np.log((1 - p) / (num_classes - 1))
    return torch.tensor([[np.log(p)] + [other] * (num_classes - 1)], dtype=torch.float64,
                        requires_grad=True)


def test_focal_loss_and_its_logit_gradient_match_dlcourse(js):
    for gi, gamma in enumerate(GAMMAS):
        for pi, p in enumerate(PS):
            logits = _true_class_logits(p)
            loss = losses.focal_loss(logits, torch.tensor([0]), gamma=gamma)
            loss.backward()
            assert js["focal"][gi][pi] == pytest.approx(loss.item(), rel=1e-6, abs=1e-12)
            assert js["grad"][gi][pi] == pytest.approx(logits.grad[0, 0].item(), rel=1e-5, abs=1e-9)


def test_focal_explorer_axes_hold_the_whole_curves():
    """The push axis of the kernel-free focal explorer grows with the curve: at gamma = 5 the push
    peaks near 1.32, above the fixed top of 1.25 the explorer once had, and nothing is clipped."""
    gammas = [round(0.1 * k, 1) for k in range(51)]  # the slider: 0 to 5 in steps of 0.1
    program = f"""
    const m = require({json.dumps(str(SCRIPT))});
    const gammas = {json.dumps(gammas)};
    console.log(JSON.stringify({{
      ps: m.FOCAL_PS,
      top: gammas.map(g => m.focalPushTop(g)),
      peak: gammas.map(g => Math.max(...m.FOCAL_PS.map(p => -m.focalGradLogit(p, g)))),
      loss: Math.max(...m.FOCAL_PS.map(p => m.focalLoss(p, 0))),
    }}));
    """
    out = json.loads(subprocess.run([NODE, "-e", program], capture_output=True, text=True,
                                    check=True, timeout=60).stdout)
    ps = torch.tensor(out["ps"], dtype=torch.float64)
    for gamma, top, peak in zip(gammas, out["top"], out["peak"]):
        _, grad = losses.focal_curves(gamma, ps)  # the same curve, from dlcourse
        assert peak == pytest.approx(grad.abs().max().item(), rel=1e-6)
        assert peak <= top <= 1.05 * peak + 0.25
        assert top % 0.25 == 0
    assert out["peak"][-1] > 1.3 and out["top"][-1] >= 1.5
    assert out["loss"] < 6  # the loss axis (0 to 6) holds cross-entropy's curve on the grid


def test_effective_number_and_weights_match_dlcourse(js):
    for bi, beta in enumerate(BETAS):
        expected = losses.effective_number(torch.tensor(NS, dtype=torch.float64), beta)
        np.testing.assert_allclose(js["en"][bi], expected.numpy(), rtol=1e-9)
        weights = losses.class_balanced_weights(torch.tensor(COUNTS), beta)
        np.testing.assert_allclose(js["weights"][bi], weights.double().numpy(), rtol=1e-5)


def test_theme_colors_follow_the_theme_variables():
    """Dark mode: the canvas takes its text/grid colours from pydata-sphinx-theme's CSS variables;
    a variable the theme does not set falls back to the light-mode default."""
    program = f"""
    const m = require({json.dumps(str(SCRIPT))});
    const dark = {{"--pst-color-text-base": " #ced6dd", "--pst-color-border": "#48566b"}};
    console.log(JSON.stringify({{dark: m.themeColors(n => dark[n] || ""), none: m.themeColors(n => "")}}));
    """
    out = json.loads(subprocess.run([NODE, "-e", program], capture_output=True, text=True, check=True,
                                    timeout=60).stdout)
    assert out["dark"]["text"] == "#ced6dd" and out["dark"]["grid"] == "#48566b"
    assert out["dark"]["ref"] == "#7f7f7f"  # not given: the fallback
    assert out["none"]["text"] == "#222" and out["none"]["grid"] == "#e5e5e5"
    assert out["none"]["main"] == out["dark"]["main"] == "#1f77b4"


def test_superclass_pushes_match_dlcourse():
    superclass = pytest.importorskip("dlcourse.superclass")
    points = [[0.0, 0.5, 1.0], [2.0, -1.0, 0.3], [-3.0, 4.0, 1.5]]
    program = f"""
    const m = require({json.dumps(str(SCRIPT))});
    const points = {json.dumps(points)};
    console.log(JSON.stringify({{
      cls: points.map(z => m.classTermGradient(z, 0)),
      grp: points.map(z => m.groupTermGradient(z, 0, [[0, 1], [2]])),
    }}));
    """
    out = json.loads(subprocess.run([NODE, "-e", program], capture_output=True, text=True, check=True,
                                    timeout=60).stdout)
    for k, z in enumerate(points):
        class_grad, group_grad = superclass.toy_gradients(z, weight=1.0)
        np.testing.assert_allclose(out["cls"][k], class_grad[0].numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(out["grp"][k], group_grad[0].numpy(), rtol=1e-9, atol=1e-12)
