"""Chapter 6: trained 2-D flows, by number of couplings: density and samples."""
from __future__ import annotations

import torch

from ..flows import density_grid
from .core import live_figure


def coupling_explorer(flows: dict, data: torch.Tensor, limits=(-2.0, 3.0, -1.5, 2.0)):
    """A slider over trained 2-D flows keyed by their number of couplings: the learnt density
    beside samples drawn from it, with the training data for reference."""
    import ipywidgets as W

    if not flows:
        raise ValueError("flows must hold at least one trained flow")
    keys = sorted(flows)
    data = data.detach().cpu()
    cache = {}

    def draw(fig, k):
        if k not in cache:
            xs, ys, density = density_grid(flows[k], limits)
            dev = next(flows[k].parameters()).device
            gen = torch.Generator(device=dev).manual_seed(0)
            samples = flows[k].sample(1000, generator=gen).cpu()
            cache[k] = density, samples
        density, samples = cache[k]
        fig.clear()
        left, right = fig.subplots(1, 2)
        left.imshow(density.numpy(), origin="lower", extent=limits, cmap="magma", aspect="auto")
        left.set_title(f"learnt density, {k} coupling layer{'s' if k > 1 else ''}")
        right.scatter(data[:, 0], data[:, 1], s=2, color="0.75", label="data")
        right.scatter(samples[:, 0], samples[:, 1], s=2, color="tab:red", label="samples")
        right.set_xlim(limits[0], limits[1])
        right.set_ylim(limits[2], limits[3])
        right.set_title("samples from the flow")
        right.legend(loc="upper right", fontsize=8, markerscale=4)
        for ax in (left, right):
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        fig.tight_layout()

    slider = W.SelectionSlider(options=keys, value=keys[-1], description="couplings",
                               continuous_update=False)
    return live_figure([slider], draw, figsize=(10, 4))
