"""What every explorer is built from: controls above one figure that they redraw, and the PNG
snapshot of its first drawing that the static book shows."""
from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt


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

    Every explorer but ``superclass_explorer`` (the same layout, written out) is built this way;
    the figure lives in an ``Output`` widget
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
