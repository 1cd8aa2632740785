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
from .checks import check_in_range, check_int, check_number, check_tensor


class WithSnapshot:
    """Display a widget together with a PNG of its initial state (for the static book)."""

    def __init__(self, widget, figure):
        self.widget = widget
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        self.png = base64.b64encode(buffer.getvalue()).decode("ascii")

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(_widget_bundle(self.widget, include, exclude))
        bundle["image/png"] = self.png
        return bundle


def _widget_bundle(widget, include=None, exclude=None) -> dict:
    """The widget's own mime bundle, on ipywidgets 8 and on 7 (which Colab ships).

    ipywidgets 8 gives widgets ``_repr_mimebundle_``; 7 only has ``_ipython_display_``, which
    displays this same bundle (a widget-view reference to the model, plus plain text) itself.
    """
    if hasattr(widget, "_repr_mimebundle_"):
        return widget._repr_mimebundle_(include=include, exclude=exclude) or {}
    bundle = {"text/plain": repr(widget)[:110]}
    if getattr(widget, "_view_name", None) is not None:
        bundle["application/vnd.jupyter.widget-view+json"] = {
            "version_major": 2, "version_minor": 0, "model_id": widget._model_id}
        widget._handle_displayed()
    return bundle


def live_figure(controls, draw, figsize) -> WithSnapshot:
    """An explorer: ``controls`` (ipywidgets) above one matplotlib figure that
    ``draw(figure, *values)`` redraws whenever a control changes.

    Every explorer in the course is built this way; the figure lives in an ``Output`` widget
    (never shown by the inline backend) and its first drawing is the snapshot the book shows.
    """
    import ipywidgets as W
    from IPython.display import display

    controls = list(controls)
    out = W.Output()
    figure = plt.figure(figsize=figsize)
    plt.close(figure)

    def redraw(_=None):
        draw(figure, *(control.value for control in controls))
        with out:
            out.clear_output(wait=True)
            display(figure)

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return WithSnapshot(W.VBox([W.HBox(controls), out]), figure)


def morph_joint(dependence: float, skew: float = 0.0, num_clusters: int = 5) -> torch.Tensor:
    """A joint matrix between independence and perfect agreement.

    P = d * diag(m) + (1 - d) * m m^T, with both marginals equal to m, where m_k is proportional to
    exp(-skew * k): ``skew = 0`` gives balanced clusters, larger values pile mass on cluster 0.
    """
    dependence = check_number(dependence, "dependence", 0.0, 1.0)
    skew = check_number(skew, "skew", low=0.0)
    check_int(num_clusters, "num_clusters", low=2)
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

    dependence = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="dependence d",
                               style={"description_width": "initial"}, continuous_update=False)
    skew = W.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description="marginal skew",
                         style={"description_width": "initial"}, continuous_update=False)
    return live_figure([dependence, skew],
                       lambda fig, d, s: _draw_joint(fig, morph_joint(d, s, num_clusters)),
                       figsize=(9, 3.8))


# --------------------------------------------------------------------------- imbalanced losses

FOCAL_GRID = torch.linspace(0.002, 0.998, 250, dtype=torch.float64)


def focal_curves(gamma: float, p_t: torch.Tensor = FOCAL_GRID) -> tuple[torch.Tensor, torch.Tensor]:
    """The focal loss and its gradient with respect to the true-class logit, as functions of ``p_t``.

    Both come from :func:`dlcourse.losses.focal_loss` and autograd on two-class logits
    ``(log p_t, log(1 - p_t))``, whose softmax is exactly ``(p_t, 1 - p_t)``. The gradient with
    respect to the true-class logit depends on ``p_t`` only, whatever the number of classes.
    """
    from .losses import focal_loss

    check_number(gamma, "gamma", low=0.0)
    check_in_range(check_tensor(p_t, "p_t", ndim=1, floating=True), "p_t", 0.0, 1.0)
    if p_t.numel() and not bool(((p_t > 0) & (p_t < 1)).all()):
        raise ValueError("p_t must lie strictly between 0 and 1 (log p_t and log(1 - p_t) are taken)")
    logits = torch.stack([p_t.log(), (1 - p_t).log()], dim=1).requires_grad_(True)
    target = torch.zeros(len(p_t), dtype=torch.int64)
    loss = focal_loss(logits, target, gamma=gamma, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    return loss.detach(), grad[:, 0]


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
    from .losses import class_balanced_weights, effective_number, inverse_frequency_weights

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

    from .losses import class_balanced_weights

    counts = torch.as_tensor(counts, dtype=torch.float64).cpu()
    class_balanced_weights(counts, beta)  # validates the counts (and beta) before drawing
    choices = sorted(set(BETA_CHOICES) | {float(beta)})
    slider = W.SelectionSlider(options=[(f"{b:g}", b) for b in choices], value=float(beta),
                               description="β", continuous_update=False,
                               layout=W.Layout(width="420px"))
    return live_figure([slider], lambda fig, b: _draw_effective(fig, counts, b, class_names),
                       figsize=(11, 4))
