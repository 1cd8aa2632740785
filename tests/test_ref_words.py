"""The book shows "exercise 2.6" where a chapter writes "exercise {ref}`ex-label`" (not the word twice)."""
import pytest

pytest.importorskip("sphinx")
from docutils import nodes  # noqa: E402
from docutils.utils import new_document  # noqa: E402

from book._ext.ref_words import drop_repeated_word  # noqa: E402


def _paragraph(before, shown, after=", and"):
    reference = nodes.reference("", "", nodes.inline("", shown), refid="x")
    return nodes.paragraph("", "", nodes.Text(before), reference, nodes.Text(after))


def test_the_word_before_a_reference_is_not_repeated():
    document = new_document("test")
    cases = [("is\nexercise ", "Exercise 2.6", "is\nexercise 2.6, and"),
             ("see Exercise ", "Exercise 4", "see Exercise 4, and"),
             ("By ", "Lemma 3.1", "By Lemma 3.1, and"),                 # no word before: kept
             ("the exercises ", "Exercise 2.6", "the exercises Exercise 2.6, and"),
             ("in exercise ", "Variational autoencoders", "in exercise Variational autoencoders, and")]
    for before, shown, _ in cases:
        document += _paragraph(before, shown)
    drop_repeated_word(document)
    assert [p.astext() for p in document.children] == [expected for _, _, expected in cases]
