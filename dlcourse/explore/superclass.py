"""Chapter 4: the superclass term's weight on a three-class toy (A, B | C, the true class A)."""
from __future__ import annotations

import torch

from ..superclass import TOY_GROUPS, TOY_POINT, group_log_probs, toy_gradients
from .core import WithSnapshot


def _draw_toy(fig, weight: float, span: float = 4.0) -> None:
    import numpy as np

    fig.clear()
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.15, 1)})
    grid = torch.linspace(-span, span, 81, dtype=torch.float64)
    zb, zc = torch.meshgrid(grid, grid, indexing="xy")
    z = torch.stack([torch.zeros_like(zb), zb, zc], dim=-1).reshape(-1, 3)
    y = torch.zeros(z.shape[0], dtype=torch.int64)
    ce = torch.nn.functional.cross_entropy(z, y, reduction="none")
    group = -group_log_probs(z, TOY_GROUPS)[:, 0]
    total = (ce + weight * group).reshape(zb.shape)
    levels = np.linspace(0, float(total.max()), 16)
    left.contourf(zb.numpy(), zc.numpy(), total.numpy(), levels=levels, cmap="viridis")
    left.contour(zb.numpy(), zc.numpy(), total.numpy(), levels=levels, colors="white",
                 linewidths=0.4)
    coarse = torch.linspace(-span * 0.9, span * 0.9, 9, dtype=torch.float64)
    cb, cc = torch.meshgrid(coarse, coarse, indexing="xy")
    points = torch.stack([torch.zeros_like(cb), cb, cc], dim=-1).reshape(-1, 3)
    g_class, g_group = toy_gradients(points, weight)
    g = -(g_class + g_group)  # descent direction; A's logit is held at 0 (softmax shift)
    left.quiver(cb.numpy(), cc.numpy(), g[:, 1].reshape(cb.shape).numpy(),
                g[:, 2].reshape(cb.shape).numpy(), color="white", angles="xy",
                scale_units="xy", scale=6.0)  # a fixed scale: lengths compare across weights
    left.plot(TOY_POINT[1], TOY_POINT[2], "o", color="tab:red", markersize=6)
    left.set_xlabel("logit of B (same group as the true class A)")
    left.set_ylabel("logit of C (the other group)")
    left.set_title(f"CE + {weight:.2f} x group term; arrows: descent", fontsize=10)
    left.set_aspect("equal")
    g_class, g_group = (g.flatten() for g in toy_gradients(TOY_POINT, weight))
    x = np.arange(3)
    right.bar(x - 0.2, -g_class.numpy(), width=0.4, label="class term", color="tab:blue")
    right.bar(x + 0.2, -g_group.numpy(), width=0.4, label="group term", color="tab:orange")
    right.axhline(0, color="k", linewidth=0.8)
    right.set_xticks(x, ["A (true)", "B (same group)", "C (other group)"])
    right.set_ylabel("minus the gradient: push on the logit")
    right.set_title("at the red point: logits (0, 0.5, 1)", fontsize=10)
    limit = max(3.0, 1.15 * float(max(g_class.abs().max(), g_group.abs().max())))
    right.set_ylim(-limit, limit)
    right.legend(fontsize=8, loc="lower left")


def superclass_explorer(weight: float = 1.0):
    """A slider for the group term's weight on a 3-class toy (A, B | C, the true class A).

    Left: the total loss over the logits of B and C (A's logit fixed at 0) with descent arrows;
    right: the push of each term on each logit at one point. Returned inside
    :class:`dlcourse.explore.WithSnapshot`, so the static page shows the initial state.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not 0 <= weight <= 5:
        raise ValueError(f"weight must be in [0, 5], got {weight}")
    slider = W.FloatSlider(value=weight, min=0.0, max=5.0, step=0.25,
                           description="group-term weight",
                           style={"description_width": "initial"}, continuous_update=False)
    out = W.Output()
    figure = plt.figure(figsize=(10, 4.2))
    plt.close(figure)  # drawn through the Output widget, never by the inline backend

    def redraw(_=None):
        _draw_toy(figure, slider.value)
        figure.tight_layout()
        with out:
            out.clear_output(wait=True)
            display(figure)

    slider.observe(redraw, names="value")
    redraw()
    return WithSnapshot(W.VBox([slider, out]), figure)
