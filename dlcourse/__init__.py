"""dlcourse: the helper package of the dlcourse book.

One module per idea; chapters import from here and never re-implement it.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("dlcourse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
