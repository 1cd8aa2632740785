"""What an executed chapter notebook holds for the tools and the book: the ``dlcourse`` record in
its metadata, and the values it ``glue``d. The one reader of both; a notebook may be an
``nbformat`` node or the plain dictionary of its JSON."""
from __future__ import annotations


def record(notebook) -> dict:
    """The ``dlcourse`` metadata ``python -m tools.notebooks execute`` wrote (the dictionary
    itself, so an update is kept); empty when the notebook was never executed that way."""
    return notebook.get("metadata", {}).get("dlcourse", {})


def _scrap(output) -> dict:
    return output.get("metadata", {}).get("scrapbook") or {}


def hidden_glue(output) -> bool:
    """Whether an output is a glue record stored under a mime prefix (the book never shows it)."""
    return bool(_scrap(output).get("mime_prefix"))


def glued(notebook) -> dict[str, dict]:
    """name -> mime bundle of every value the notebook glued (myst-nb's ``scrapbook`` outputs),
    with the mime prefix removed and each value as one string."""
    values = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            scrap = _scrap(output)
            if "name" not in scrap:
                continue
            prefix = scrap.get("mime_prefix", "")
            values[scrap["name"]] = {
                mime.removeprefix(prefix): "".join(data) if isinstance(data, list) else data
                for mime, data in output.get("data", {}).items()}
    return values
