"""Chapter 7: the 2-D code of the Iris autoencoder after fine-tuning, by the weight lambda."""
from __future__ import annotations

import numpy as np

from .. import plot
from ..autoencoders import _features
from .core import live_figure


def lambda_explorer(codes: dict, y, train_mask, class_names=None,
                    notes: dict | None = None):
    """A slider over precomputed fine-tuning runs.

    ``codes[lam]`` is the N x 2 code after fine-tuning with weight ``lam`` and
    ``notes[lam]`` an optional line under the title. The slider only redraws (nothing
    is trained), so it is instant; the axes stay fixed across lambda values.
    """
    import ipywidgets as W

    if not codes:
        raise ValueError("codes must hold at least one lambda")
    values = sorted(codes)
    everything = np.concatenate([_features(z) for z in codes.values()])
    pad = 0.05 * (everything.max(0) - everything.min(0)) + 1e-6
    low, high = everything.min(0) - pad, everything.max(0) + pad
    slider = W.SelectionSlider(options=[(f"{v:g}", v) for v in values],
                               value=values[0], description="λ",
                               continuous_update=True)

    def draw(figure, lam):
        figure.clear()
        ax = figure.add_subplot(111)
        title = f"code after fine-tuning, λ = {lam:g}"
        if notes and lam in notes:
            title += "\n" + notes[lam]
        plot.codes(codes[lam], y, train_mask, ax=ax, class_names=class_names,
                   title=title)
        ax.set(xlabel="$z_1$", ylabel="$z_2$", xlim=(low[0], high[0]),
               ylim=(low[1], high[1]))
        figure.tight_layout()

    return live_figure([slider], draw, figsize=(5.2, 4.6))
