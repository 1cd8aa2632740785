"""Interactive explorers (ipywidgets) that redraw live in Jupyter and Colab.

A widget needs a running kernel: on the static HTML book its sliders cannot redraw anything. Each
explorer is therefore returned inside :class:`WithSnapshot`, which adds a PNG of the widget's
initial state to its output, so the rendered page shows a real picture rather than a frozen control.
"""
from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import torch

from . import info, plot


class WithSnapshot:
    """Display a widget together with a PNG of its initial state (for the static book)."""

    def __init__(self, widget, figure):
        self.widget = widget
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        self.png = base64.b64encode(buffer.getvalue()).decode("ascii")

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle)
        bundle["image/png"] = self.png
        return bundle


def morph_joint(dependence: float, skew: float = 0.0, num_clusters: int = 5) -> torch.Tensor:
    """A joint matrix between independence and perfect agreement.

    P = d * diag(m) + (1 - d) * m m^T, with both marginals equal to m, where m_k is proportional to
    exp(-skew * k): ``skew = 0`` gives balanced clusters, larger values pile mass on cluster 0.
    """
    if not 0.0 <= dependence <= 1.0:
        raise ValueError(f"dependence must be in [0, 1], got {dependence}")
    if skew < 0:
        raise ValueError(f"skew must be >= 0, got {skew}")
    if num_clusters < 2:
        raise ValueError(f"num_clusters must be >= 2, got {num_clusters}")
    m = torch.softmax(-skew * torch.arange(num_clusters, dtype=torch.float64), dim=0)
    return dependence * torch.diag(m) + (1 - dependence) * torch.outer(m, m)


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
    from IPython.display import display

    dependence = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="dependence d",
                               style={"description_width": "initial"}, continuous_update=False)
    skew = W.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description="marginal skew",
                         style={"description_width": "initial"}, continuous_update=False)
    out = W.Output()
    figure = plt.figure(figsize=(9, 3.8))
    plt.close(figure)  # drawn through the Output widget, never by the inline backend

    def redraw(_=None):
        _draw_joint(figure, morph_joint(dependence.value, skew.value, num_clusters))
        with out:
            out.clear_output(wait=True)
            display(figure)

    dependence.observe(redraw, names="value")
    skew.observe(redraw, names="value")
    redraw()
    return WithSnapshot(W.VBox([W.HBox([dependence, skew]), out]), figure)
