"""Display code that moved out of the maths modules, still found under its former module.

Pages executed before the move call ``iic.objective_explorer`` or ``autoencoders.plot_codes``; a
maths module sets ``__getattr__ = moved.display(__name__, {"plot_codes": "plot.codes"})``, which
imports the display module only when such a name is asked for. New code imports
:mod:`dlcourse.explore` (sliders) and :mod:`dlcourse.plot` (figures).
"""
from __future__ import annotations

import importlib


def display(module: str, names: dict):
    """A module ``__getattr__`` that finds ``names[name]`` (``"explore.lambda_explorer"``,
    ``"plot.codes"``: a dlcourse module and an attribute of it)."""
    names = dict(names)

    def __getattr__(name: str):
        if name in names:
            where, attribute = names[name].rsplit(".", 1)
            return getattr(importlib.import_module(f"{__package__}.{where}"), attribute)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__
