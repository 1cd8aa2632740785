"""Chapter 2: the IIC objective's terms on a toy joint, and the price of uneven clusters."""
from __future__ import annotations

import torch

from .. import info, plot
from ..iic import objective_terms
from .core import live_figure


def _draw_objective(fig, alpha: float, dependence: float, skew: float,
                    num_clusters: int) -> None:
    fig.clear()
    left, middle, right = fig.subfigures(1, 3, width_ratios=(1, 1.1, 1.1))
    joint = info.morph_joint(dependence, skew, num_clusters)
    plot.joint_with_marginals(joint, fig=left, title="toy joint P")
    terms = objective_terms(joint, alpha)
    ax = middle.add_subplot(111)
    names = ["alpha H(X)", "alpha H(Y)", "- H(X,Y)", "- loss"]
    values = [alpha * terms["H(X)"], alpha * terms["H(Y)"], -terms["H(X,Y)"], -terms["loss"]]
    colours = ["tab:green", "tab:orange", "tab:gray", "tab:red"]
    ax.barh(range(4)[::-1], values, color=colours)
    ax.set_yticks(range(4)[::-1], names)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("nats")
    ax.set_title(f"alpha = {alpha:g}: I = {terms['I']:.3f}, loss = {terms['loss']:.2f}",
                 fontsize=10)
    ax = right.add_subplot(111)
    skews = torch.linspace(0, 2, 41)
    for a, style in ((1.0, dict(color="k", linestyle=":")), (alpha, dict(color="tab:red"))):
        curve = [objective_terms(info.morph_joint(dependence, float(s), num_clusters), a)
                 for s in skews]
        rise = [c["loss"] - curve[0]["loss"] for c in curve]
        ax.plot(skews, rise, label=f"alpha = {a:g}", **style)
    ax.axvline(skew, color="tab:blue", linewidth=1)
    ax.set_xlabel("marginal skew")
    ax.set_ylabel("loss minus loss at skew 0")
    ax.set_title("the price of uneven clusters", fontsize=10)
    ax.legend(fontsize=8)


def objective_explorer(alpha: float = 1.0, num_clusters: int = 5):
    """Sliders for ``alpha``, the dependence and the marginal skew of a toy joint
    (:func:`dlcourse.info.morph_joint`); redraws ``P``, the objective's terms and how the
    loss grows with uneven clusters for this ``alpha`` against ``alpha = 1``."""
    import ipywidgets as W

    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    style = {"description_width": "initial"}
    controls = [
        W.FloatSlider(value=alpha, min=0.0, max=10.0, step=0.5, description="alpha",
                      style=style, continuous_update=False),
        W.FloatSlider(value=0.8, min=0.0, max=1.0, step=0.05, description="dependence d",
                      style=style, continuous_update=False),
        W.FloatSlider(value=0.5, min=0.0, max=2.0, step=0.1, description="marginal skew",
                      style=style, continuous_update=False)]
    return live_figure(
        controls, lambda fig, a, d, s: _draw_objective(fig, a, d, s, num_clusters),
        figsize=(13, 3.8))
