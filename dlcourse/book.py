"""Small bridges between a chapter notebook and the rendered book.

``glue`` hands a number from the run to the prose (myst-nb); outside a book build — in Colab, say,
where myst-nb is not installed — it simply does nothing. ``show_source`` displays the library's
own code, so the book never carries a second copy that could drift from it.
"""
from __future__ import annotations

import inspect


def glue(name: str, value, display: bool = False):
    """Record ``value`` under ``name`` for ``{glue:text}`name`` in the prose; no-op without myst-nb."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=display)


def show_source(obj) -> None:
    """Display the source code of a function or class as a highlighted Python block."""
    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))
