"""Chapter 5: a guessed label distribution before and after sharpening."""
from __future__ import annotations

import torch

from ..info import entropy
from ..ssl import sharpen
from .core import live_figure


def _draw_sharpen(fig, T: float, p: torch.Tensor) -> None:
    fig.clear()
    ax = fig.add_subplot(111)
    k = torch.arange(len(p))
    q = sharpen(p, T)
    ax.bar(k - 0.2, p.numpy(), width=0.4, color="0.6", label="guess p (mean of K views)")
    ax.bar(k + 0.2, q.numpy(), width=0.4, color="tab:red", label=f"Sharpen(p, T = {T:g})")
    ax.set_xticks(k.tolist())
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=9, loc="upper right")
    ax.set_title(f"entropy {entropy(p).item():.2f} nats before, {entropy(q).item():.2f} after",
                 fontsize=10)
    fig.tight_layout()


def sharpening_explorer(p=None, T: float = 0.5):
    """A temperature slider: a guessed label distribution before and after sharpening."""
    import ipywidgets as W

    if p is None:
        p = torch.tensor([0.05, 0.1, 0.35, 0.25, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03])
    p = torch.as_tensor(p, dtype=torch.float64).cpu()
    sharpen(p, T)  # validates p and T before drawing
    slider = W.FloatLogSlider(value=T, base=10, min=-1.5, max=0.5, step=0.05,
                              description="temperature T", continuous_update=False,
                              style={"description_width": "initial"})
    return live_figure([slider], lambda fig, t: _draw_sharpen(fig, t, p), figsize=(8, 3.4))
