"""Sphinx post-transform: "exercise {ref}`ex-label`" reads "exercise 2.6", not "exercise Exercise 2.6".

sphinx-exercise shows a reference to an exercise as the word and its number ("Exercise 2.6"); where
the prose writes the word just before the reference, the reference keeps only the number.
``tools/colab_markdown.py`` applies the same rule to the Colab notebooks.
"""
from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

NUMBERED = re.compile(r"(?P<kind>[A-Z][a-z]+) (?P<number>\d+(\.\d+)*)")


def drop_repeated_word(document) -> None:
    """In every reference shown as "Kind N" right after the word "kind", keep only "N"."""
    for ref in list(document.findall(nodes.reference)):
        shown = NUMBERED.fullmatch(ref.astext())
        index = ref.parent.index(ref) if ref.parent is not None else 0
        before = ref.parent[index - 1] if index else None
        if not (shown and isinstance(before, nodes.Text)
                and re.search(rf"\b{shown['kind']}\s+$", before.astext(), re.I)):
            continue
        for leaf in list(ref.findall(nodes.Text)):
            leaf.parent.replace(leaf, nodes.Text(leaf.astext().replace(shown["kind"] + " ", "", 1)))


class DropRepeatedWord(SphinxPostTransform):
    default_priority = 20  # after Sphinx resolves the references (10)

    def run(self, **kwargs) -> None:
        drop_repeated_word(self.document)


def setup(app):
    app.add_post_transform(DropRepeatedWord)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
