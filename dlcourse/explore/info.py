"""Chapter 1: the joint of two cluster assignments and its information terms."""
from __future__ import annotations

import torch

from .. import info, plot
from .core import live_figure


def _draw_joint(fig, joint: torch.Tensor) -> None:
    fig.clear()
    left, right = fig.subfigures(1, 2, width_ratios=(1, 1.25))
    plot.joint_with_marginals(joint, fig=left)
    h_x, h_y = info.entropy(joint.sum(1)).item(), info.entropy(joint.sum(0)).item()
    h_xy = info.entropy(joint.flatten()).item()
    ax = right.add_subplot(111)
    plot.information_bars(h_x, h_y, h_xy, ax=ax)
    ax.axvline(torch.log(torch.tensor(float(joint.shape[0]))).item(), color="k", linestyle=":", linewidth=1)
    ax.set_title(f"I(X;Y) = {h_x + h_y - h_xy:.3f} nats (max log C, dotted)", fontsize=10)


def joint_explorer(num_clusters: int = 5):
    """Sliders for dependence and marginal skew; redraws P, its marginals and H(X), H(Y), I(X;Y)."""
    import ipywidgets as W

    dependence = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="dependence d",
                               style={"description_width": "initial"}, continuous_update=False)
    skew = W.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description="marginal skew",
                         style={"description_width": "initial"}, continuous_update=False)
    return live_figure([dependence, skew],
                       lambda fig, d, s: _draw_joint(fig, info.morph_joint(d, s, num_clusters)),
                       figsize=(9, 3.8))
