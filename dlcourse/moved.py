"""Explorers that moved to :mod:`dlcourse.explore`, still found under their former module.

Pages executed before the move call ``iic.objective_explorer`` and the like; a maths module sets
``__getattr__ = moved.to_explore(__name__, [...])``, which imports the display code only when such
a name is asked for. New code imports :mod:`dlcourse.explore`.
"""
from __future__ import annotations


def to_explore(module: str, names):
    """A module ``__getattr__`` that finds ``names`` in :mod:`dlcourse.explore`."""
    names = frozenset(names)

    def __getattr__(name: str):
        if name in names:
            from . import explore
            return getattr(explore, name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__
