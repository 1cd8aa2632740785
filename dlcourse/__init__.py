"""dlcourse: the helper package of the dlcourse book.

One module per idea; chapters import from here and never re-implement it.
"""
import os as _os
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("dlcourse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

if _os.environ.get("DLCOURSE_CODE_RECORD_FILE"):  # `make execute`: record the code that runs
    from . import sources as _sources
    _sources.session_record()

__all__ = ["__version__"]
