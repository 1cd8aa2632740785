"""Tests of the imbalance-chapter explorers in dlcourse.widgets: they build, carry a PNG snapshot of
their initial state, redraw when the slider moves, and draw curves that match closed forms."""
import base64

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from dlcourse import widgets  # noqa: E402

COUNTS = [5000, 250, 5000, 5000, 250, 5000, 250, 5000, 5000, 5000]


def _is_png(snapshot) -> bool:
    return base64.b64decode(snapshot.png)[:8] == b"\x89PNG\r\n\x1a\n"


def test_focal_curves_match_the_closed_forms():
    p = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    for gamma in (0.0, 0.5, 2.0):
        loss, grad = widgets.focal_curves(gamma, p)
        assert torch.allclose(loss, -((1 - p) ** gamma) * p.log(), rtol=1e-10)
        closed = gamma * p * (1 - p) ** gamma * p.log() - (1 - p) ** (gamma + 1)
        assert torch.allclose(grad, closed, rtol=1e-8, atol=1e-14)


def test_focal_explorer_snapshot_and_redraw(monkeypatch):
    import matplotlib.pyplot as plt

    figures, make = [], plt.figure

    def catch(*args, **kwargs):  # the explorer's figure, caught as it is made
        figures.append(make(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(plt, "figure", catch)
    explorer = widgets.focal_explorer(gamma=2.0)
    assert isinstance(explorer, widgets.WithSnapshot) and _is_png(explorer)
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
    (figure,) = figures

    def focal_line():  # the red curve of the loss panel: (p_t, loss)
        (line,) = [ln for ln in figure.axes[0].lines if ln.get_color() == "tab:red"]
        return torch.as_tensor(line.get_xdata()), torch.as_tensor(line.get_ydata())

    p, loss = focal_line()
    assert torch.allclose(loss, -((1 - p) ** 2.0) * p.log(), rtol=1e-6)
    slider = explorer.widget.children[0].children[0]  # the controls row, then the slider
    slider.value = 0.0  # as a reader moves it: the figure redraws
    p, loss = focal_line()
    assert torch.allclose(loss, -p.log(), rtol=1e-6)  # gamma = 0: cross-entropy
    assert "gamma = 0" in figure._suptitle.get_text()


def test_effective_number_explorer_snapshot_and_redraw():
    names = [f"class {k}" for k in range(10)]
    explorer = widgets.effective_number_explorer(COUNTS, class_names=names)
    assert isinstance(explorer, widgets.WithSnapshot) and _is_png(explorer)
    slider = explorer.widget.children[0].children[0]  # controls row, then the slider
    values = [value for _, value in slider.options]
    assert values[0] == 0.0 and values[-1] == 1.0 and slider.value == 0.999
    for beta in (0.0, 0.9999, 1.0):
        slider.value = beta
    assert "image/png" in explorer._repr_mimebundle_()


def test_effective_number_explorer_validates_counts():
    with pytest.raises(ValueError, match="class 2 has no samples"):
        widgets.effective_number_explorer([10, 5, 0])
    with pytest.raises(ValueError, match="beta"):
        widgets.effective_number_explorer([10, 5], beta=1.5)


def test_snapshot_bundle_on_ipywidgets7_style_widget():
    """ipywidgets 7 (Colab's) widgets have no _repr_mimebundle_: the bundle is built like 7's
    _ipython_display_ builds it (a widget-view reference to the model), plus the PNG."""
    import matplotlib.pyplot as plt

    class Widget7:
        _view_name, _model_id, displayed = "VBoxView", "abc123", 0

        def _handle_displayed(self):
            self.displayed += 1

    widget, figure = Widget7(), plt.figure(figsize=(1, 1))
    plt.close(figure)
    bundle = widgets.WithSnapshot(widget, figure)._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"] == {
        "version_major": 2, "version_minor": 0, "model_id": "abc123"}
    assert bundle["image/png"] and "text/plain" in bundle
    assert widget.displayed == 1
