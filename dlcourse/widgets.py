"""The former home of the explorers, for pages executed before they moved: new code imports
:mod:`dlcourse.explore` (display) and finds ``morph_joint`` in :mod:`dlcourse.info` and
``focal_curves`` in :mod:`dlcourse.losses` (mathematics)."""
from .explore import (WithSnapshot, effective_number_explorer, focal_explorer,  # noqa: F401
                      joint_explorer, live_figure)
from .info import morph_joint  # noqa: F401
from .losses import FOCAL_GRID, focal_curves  # noqa: F401
