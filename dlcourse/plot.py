"""Figures shared by the chapters and the widgets (matplotlib)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .checks import check_number


def _numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a)


def joint_with_marginals(joint, fig=None, title: str = "", cmap: str = "Blues", annotate: bool | None = None,
                         vmax: float | None = None):
    """Heat map of a joint matrix P with its row marginal (right) and column marginal (top).

    The colour scale runs from 0 to ``vmax``, by default 1/C: the entries of a perfectly balanced
    diagonal joint. Joints drawn side by side are then comparable; larger entries saturate.
    """
    from matplotlib.ticker import MaxNLocator

    if joint is None or isinstance(joint, (str, bytes)):
        raise ValueError(f"joint must be a 2-D matrix of probabilities, got {joint!r}")
    p = _numpy(joint)
    if p.ndim != 2 or not np.issubdtype(p.dtype, np.number):
        raise ValueError(f"joint must be a 2-D matrix of probabilities, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("joint must hold finite, non-negative entries")
    if vmax is not None:
        check_number(vmax, "vmax", low=0.0, low_open=True)
    vmax = vmax if vmax is not None else 1.0 / min(p.shape)
    fig = fig or plt.figure(figsize=(4.2, 4.2))
    grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.05, hspace=0.05)
    ax = fig.add_subplot(grid[1, 0])
    top = fig.add_subplot(grid[0, 0], sharex=ax)
    right = fig.add_subplot(grid[1, 1], sharey=ax)
    ax.imshow(p, cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    k = np.arange(p.shape[0]), np.arange(p.shape[1])
    if annotate is None:
        annotate = max(p.shape) <= 5
    if annotate:
        for (i, j), v in np.ndenumerate(p):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if v > 0.6 * vmax else "black")
    ax.set_xlabel("cluster of view 2 (j)")
    ax.set_ylabel("cluster of view 1 (i)")
    top.bar(k[1], p.sum(0), color="tab:orange")
    right.barh(k[0], p.sum(1), color="tab:green")
    top.set_ylabel("$P_j$")
    right.set_xlabel("$P_i$")
    top.tick_params(labelbottom=False)
    right.tick_params(labelleft=False)
    if title:
        top.set_title(title)
    return fig


def information_bars(h_x: float, h_y: float, h_xy: float, ax=None, unit: str = "nats"):
    """The information diagram as aligned bars: H(X), H(Y), H(X,Y) and the overlap I(X;Y)."""
    h_x, h_y = check_number(h_x, "h_x", low=0.0), check_number(h_y, "h_y", low=0.0)
    h_xy = check_number(h_xy, "h_xy", low=0.0)
    if h_xy < max(h_x, h_y) - 1e-5 * max(1.0, h_xy):  # float32 entropies round by ~1e-7
        raise ValueError(f"h_xy must be >= max(h_x, h_y) = {max(h_x, h_y):.4g}, got {h_xy:.4g}")
    ax = ax or plt.gca()
    mi = h_x + h_y - h_xy
    ax.barh(2, h_x, color="tab:green", alpha=0.7)
    ax.barh(1, h_y, left=h_x - mi, color="tab:orange", alpha=0.7)
    ax.barh(0, h_xy, color="tab:gray", alpha=0.5)
    ax.barh(1.5, mi, left=h_x - mi, height=1.8, fill=False, edgecolor="tab:red", linewidth=2, linestyle="--")
    ax.set_yticks([2, 1, 0], ["H(X)", "H(Y)", "H(X,Y)"])
    ax.text(h_x - mi / 2, 1.5, f"I = {mi:.3f}", ha="center", va="center", color="tab:red", fontsize=9,
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.8))
    ax.set_xlabel(unit)
    ax.set_xlim(0, max(h_xy, h_x + h_y - mi) * 1.05 + 1e-9)
    return ax


CLASS_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                 "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def codes(z, y, train_mask, ax=None, class_names=None, title: str = "", legend: bool = True):
    """Scatter of 2-D codes coloured by class: training points filled, held-out points hollow."""
    z = _numpy(z).astype(float)
    z = z.reshape(len(z), -1) if z.ndim else z
    labels, mask = _numpy(y), _numpy(train_mask).astype(bool)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"z must be N x 2, got shape {z.shape}")
    if len(labels) != len(z) or len(mask) != len(z):
        raise ValueError(f"y and train_mask must have {len(z)} entries, "
                         f"got {len(labels)} and {len(mask)}")
    ax = ax or plt.gca()
    for c in np.unique(labels):
        colour = CLASS_COLOURS[int(c) % len(CLASS_COLOURS)]
        name = class_names[c] if class_names is not None else str(c)
        seen, unseen = (labels == c) & mask, (labels == c) & ~mask
        ax.scatter(z[seen, 0], z[seen, 1], s=16, color=colour, label=name)
        ax.scatter(z[unseen, 0], z[unseen, 1], s=28, facecolors="none",
                   edgecolors=colour, linewidths=1.1)
    if legend:
        handles, names = ax.get_legend_handles_labels()
        handles += [plt.Line2D([], [], marker="o", linestyle="", color="k", markersize=4),
                    plt.Line2D([], [], marker="o", linestyle="", markersize=5,
                               markerfacecolor="none", markeredgecolor="k")]
        names += ["training", "held out"]
        ax.legend(handles, names, fontsize=7, loc="best", framealpha=0.8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def ctaugment_weights(cta, ax=None, title: str = "CTAugment bin weights"):
    """Heat map of a :class:`~dlcourse.ctaugment.CTAugment`'s weights: one row per operation,
    one column per magnitude bin."""
    ax = ax or plt.gca()
    image = ax.imshow(_numpy(cta.weights), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(cta.names)), cta.names, fontsize=8)
    ends = [0, (cta.num_bins - 1) / 2, cta.num_bins - 1]
    ax.set_xticks(ends, ["0", "0.5", "1"])
    ax.set_xlabel(f"magnitude m ({cta.num_bins} bins)")
    ax.set_title(title, fontsize=10)
    ax.figure.colorbar(image, ax=ax, label="weight", fraction=0.04)
    return ax
