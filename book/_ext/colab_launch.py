"""Colab launch: the button opens ``colab/NN_slug.ipynb``, and the site carries the wheels it installs.

sphinx-book-theme builds the Colab link (``html-page-context``, priority 501) as
``{colab_url}/github/{org}/{repo}/blob/{branch}/{page}.ipynb``, which is the chapter's own notebook,
raw MyST and all. A later handler points it at the generated Colab notebook. When the build
finishes, the wheels of the dlcourse code every chapter was executed with are written to
``_static/wheels/`` (see :mod:`tools.colab`), so publishing the site publishes them.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

from tools import colab

LOGGER = logging.getLogger(__name__)

CHAPTER_NOTEBOOK = re.compile(r"^(?P<head>.*/github/[^/]+/[^/]+/blob/[^/]+/)chapters/(?P<name>[^/?#]+\.ipynb)$")


def colab_url(url: str, colab_base: str) -> str:
    """The Colab link for the generated notebook, or ``url`` unchanged if it is no chapter link."""
    match = CHAPTER_NOTEBOOK.match(url) if colab_base and url.startswith(colab_base) else None
    return f"{match['head']}colab/{match['name']}" if match else url


def _rewrite(buttons, colab_base: str, missing: list[str]) -> None:
    for button in buttons:
        if isinstance(button, dict):
            if isinstance(button.get("url"), str):
                new = colab_url(button["url"], colab_base)
                if new != button["url"]:
                    name = new.rsplit("/", 1)[-1]
                    if not (colab.COLAB / name).exists():
                        missing.append(name)
                        continue
                    button["url"] = new
            _rewrite(button.get("buttons") or [], colab_base, missing)


def point_launch_button_at_colab_notebook(app, pagename, templatename, context, doctree):
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {})
    base = (launch.get("colab_url") or "").rstrip("/")
    missing: list[str] = []
    _rewrite(context.get("header_buttons") or [], base, missing)
    for name in missing:
        LOGGER.warning(f"colab/{name} does not exist: run python -m tools.colab build", location=pagename)


def write_wheels(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    wheels, problems = colab.write_wheels(Path(app.outdir) / colab.WHEELS_PATH)
    for wheel in wheels:
        LOGGER.info(f"colab_launch: wrote {wheel.name}")
    for problem in problems:  # a note: re-executing every chapter after a library change costs hours
        LOGGER.info(f"colab_launch: note: {problem}")


def setup(app):
    app.connect("html-page-context", point_launch_button_at_colab_notebook, priority=600)
    app.connect("build-finished", write_wheels)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
