"""Interactive explorers: sliders that redraw a figure live in Jupyter and Colab.

Display lives here, apart from the mathematics it shows (:mod:`dlcourse.info`,
:mod:`dlcourse.losses`, ...): each explorer draws with the library's own functions. A widget needs
a running kernel, so each is returned inside :class:`WithSnapshot`, whose PNG of the initial state
is what the static book shows.
"""
from .autoencoders import lambda_explorer
from .core import WithSnapshot, live_figure
from .flows import coupling_explorer
from .iic import objective_explorer
from .info import joint_explorer
from .losses import effective_number_explorer, focal_explorer
from .ssl import sharpening_explorer
from .superclass import superclass_explorer

__all__ = ["WithSnapshot", "coupling_explorer", "effective_number_explorer", "focal_explorer",
           "joint_explorer", "lambda_explorer", "live_figure", "objective_explorer",
           "sharpening_explorer", "superclass_explorer"]
