"""Chapter 3: the focal loss against p_t, and the class-balanced weights against beta."""
from __future__ import annotations

import torch

from ..losses import (FOCAL_GRID, class_balanced_weights, effective_number, focal_curves,
                      inverse_frequency_weights)
from .core import live_figure


def _draw_focal(fig, gamma: float) -> None:
    fig.clear()
    left, right = fig.subplots(1, 2)
    p = FOCAL_GRID.numpy()
    ce_loss, ce_grad = (t.numpy() for t in focal_curves(0.0))
    loss, grad = (t.numpy() for t in focal_curves(gamma))
    left.plot(p, ce_loss, color="0.5", linestyle="--", label="cross-entropy ($\\gamma = 0$)")
    left.plot(p, loss, color="tab:red", linewidth=2, label=f"focal, $\\gamma = {gamma:g}$")
    left.set_ylim(0, 5)
    left.set_xlabel("probability of the true class $p_t$")
    left.set_ylabel("loss")
    left.legend(fontsize=9)
    right.plot(p, abs(ce_grad), color="0.5", linestyle="--", label="cross-entropy: $1 - p_t$")
    right.plot(p, abs(grad), color="tab:red", linewidth=2, label=f"focal, $\\gamma = {gamma:g}$")
    right.set_xlabel("probability of the true class $p_t$")
    right.set_ylabel("$|\\partial L / \\partial z_t|$, true-class logit")
    right.set_ylim(0, 1.1 * max(1.0, abs(grad).max()))
    right.legend(fontsize=9)
    factor = 0.1 ** gamma
    fig.suptitle(f"$\\gamma = {gamma:g}$: an easy example ($p_t = 0.9$) keeps a fraction "
                 f"$(1 - p_t)^\\gamma$ = {factor:.3g} of its cross-entropy loss", fontsize=10)
    fig.tight_layout()


def focal_explorer(gamma: float = 2.0):
    """A gamma slider: the focal loss and its gradient against ``p_t``, cross-entropy for reference."""
    import ipywidgets as W

    slider = W.FloatSlider(value=gamma, min=0.0, max=5.0, step=0.25, description="focusing γ",
                           style={"description_width": "initial"}, continuous_update=False)
    return live_figure([slider], _draw_focal, figsize=(10, 3.8))


BETA_CHOICES = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998,
                0.9999, 0.99995, 0.99998, 0.99999, 1.0)


def _draw_effective(fig, counts: torch.Tensor, beta: float, class_names) -> None:
    fig.clear()
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1, 1.2)})
    top = max(10 * float(counts.max()), 1e3)
    n = torch.logspace(0, torch.log10(torch.tensor(top)).item(), 300, dtype=torch.float64)
    left.loglog(n.numpy(), n.numpy(), color="0.5", linestyle=":", label="$\\beta = 1$: $E_n = n$")
    left.loglog(n.numpy(), effective_number(n, beta).clamp_min(1).numpy(), color="tab:blue",
                linewidth=2,
                label=f"$\\beta = {beta:g}$")
    if 0 < beta < 1:
        left.axhline(1 / (1 - beta), color="tab:blue", linestyle="--", linewidth=1,
                     label="$N = 1/(1-\\beta)$")
    distinct = torch.unique(counts)
    left.plot(distinct.numpy(), effective_number(distinct, beta).clamp_min(1).numpy(), "o",
              color="tab:red",
              label="the class counts")
    left.set_xlabel("number of samples $n$")
    left.set_ylabel("effective number $E_n$")
    left.set_ylim(0.8, top * 1.5)
    left.legend(fontsize=8, loc="upper left")
    weights = class_balanced_weights(counts, beta).numpy()
    inverse = inverse_frequency_weights(counts).numpy()
    k = range(len(counts))
    right.bar(k, weights, color="tab:blue", label=f"class-balanced, $\\beta = {beta:g}$")
    right.bar(k, inverse, fill=False, edgecolor="k", linestyle="--",
              label="inverse frequency ($\\beta = 1$)")
    right.axhline(1, color="0.5", linestyle=":", label="cross-entropy ($\\beta = 0$)")
    names = class_names if class_names is not None else [str(i) for i in k]
    right.set_xticks(list(k), names, rotation=45 if max(map(len, names)) > 3 else 0,
                     ha="right" if max(map(len, names)) > 3 else "center", fontsize=8)
    right.set_ylabel("class weight (sum = number of classes)")
    right.set_ylim(0, 1.4 * max(inverse.max(), weights.max()))
    right.legend(fontsize=8, loc="upper center", ncol=2)
    rare, common = int(counts.argmin()), int(counts.argmax())
    ratio = weights[rare] / weights[common]
    right.set_title(f"rarest / commonest class weight = {ratio:.2f}", fontsize=10)
    left.set_title(f"$E_n$ for $\\beta = {beta:g}$", fontsize=10)
    fig.tight_layout()


def effective_number_explorer(counts, class_names=None, beta: float = 0.999):
    """A beta slider: ``E_n`` against ``n`` (log axes) and the class-balanced weights of ``counts``."""
    import ipywidgets as W

    counts = torch.as_tensor(counts, dtype=torch.float64).cpu()
    class_balanced_weights(counts, beta)  # validates the counts (and beta) before drawing
    choices = sorted(set(BETA_CHOICES) | {float(beta)})
    slider = W.SelectionSlider(options=[(f"{b:g}", b) for b in choices], value=float(beta),
                               description="β", continuous_update=False,
                               layout=W.Layout(width="420px"))
    return live_figure([slider], lambda fig, b: _draw_effective(fig, counts, b, class_names),
                       figsize=(11, 4))
