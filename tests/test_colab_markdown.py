"""The Colab edition's markdown shows prose, not MyST: each rule on hand-written text, then every chapter."""
import re
from pathlib import Path

import nbformat
import pytest
from pybtex.database import parse_string

from tools import colab_markdown as cm

ROOT = Path(__file__).resolve().parents[1]
URL = "https://example.org/book"
BIB = parse_string(r"""
@inproceedings{ji2019iic,
  author    = {Ji, Xu and Henriques, Jo{\~a}o F. and Vedaldi, Andrea},
  title     = {Invariant Information Clustering},
  booktitle = {ICCV},
  year      = {2019}
}
@comment{ignored, entirely}
@article{two,
  author  = "Bourlard, Herv{\'e} and Kamp, Yves",
  title   = "Auto-association by {M}ultilayer {P}erceptrons",
  journal = {Biological Cybernetics},
  year    = 1988
}
@misc{blog,
  title  = {A {CIFAR-10} blog: 85\% at ``best''},
  note   = {Japanese blog article},
  url    = {https://example.org/post},
  year   = {2019}
}
@article{vdo,
  author  = {A{\"a}ron van den Oord and {\AA}ke Bj{\"o}rck},
  title   = {A note},
  journal = {J},
  year    = {2016}
}
""", "bibtex")
GLUE = {"acc": {"text/plain": "0.91234"}, "n": {"text/plain": "65536"},
        "name": {"text/plain": "'mnist'"}}


def convert(text, state=None, glue=GLUE):
    state = state or cm.ConversionState(glue=glue, bibliography=BIB, book_url=URL, page="chapters/02_iic")
    return cm.to_plain(text, state)


def fresh(**more):
    return cm.ConversionState(glue=GLUE, bibliography=BIB, book_url=URL, page="chapters/02_iic", **more)


# --- bibliography (pybtex) -----------------------------------------------------------------------

def test_citation_labels_read_names_accents_and_titles():
    assert cm.citation(BIB.entries["ji2019iic"]) == "Ji et al., 2019"
    assert cm.citation(BIB.entries["two"]) == "Bourlard and Kamp, 1988"
    assert cm.citation(BIB.entries["vdo"]) == "van den Oord and Björck, 2016"
    assert cm.citation(BIB.entries["blog"]) == "*A CIFAR-10 blog: 85% at \u201cbest\u201d*, 2019"


def test_the_course_bibliography_loads_and_formats_every_entry():
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    bib = cm.load_bibliography(ROOT / "book" / "references.bib")
    assert len(bib.entries) == len(re.findall(r"^@\w+\{", text, re.M))
    references = cm.references_markdown(bib, list(bib.entries))
    assert references.count("\n- ") == len(bib.entries)
    for key, entry in bib.entries.items():
        label = cm.citation(entry)
        assert re.fullmatch(r"[^{}\\]+, \d{4}", label), (key, label)
    assert "{" not in references and not re.search(r"\\[A-Za-z]", references)  # no LaTeX left


def test_references_are_formatted_and_sorted_as_in_the_book():
    assert cm.references_markdown(BIB, ["ji2019iic", "two", "blog", "two"]) == (
        "## References\n\n"
        "- A CIFAR\\-10 blog: 85% at \u201cbest\u201d\\. 2019\\. Japanese blog article\\. "
        "URL: [https://example\\.org/post](https://example.org/post)\\.\n"
        "- Hervé Bourlard and Yves Kamp\\. Auto\\-association by Multilayer Perceptrons\\. "
        "*Biological Cybernetics*, 1988\\.\n"
        "- Xu Ji, João F\\. Henriques, and Andrea Vedaldi\\. Invariant information clustering\\. "
        "In *ICCV*\\. 2019\\.")


# --- inline roles -------------------------------------------------------------------------------

def test_citations_author_year_and_several_keys():
    state = fresh()
    assert convert("as shown {cite}`ji2019iic`.", state) == "as shown (Ji et al., 2019)."
    assert convert("{cite}`ji2019iic,two`", state) == "(Ji et al., 2019; Bourlard and Kamp, 1988)"
    assert convert("{cite}`blog`", state) == "(*A CIFAR-10 blog: 85% at \u201cbest\u201d*, 2019)"
    assert state.cited == ["ji2019iic", "two", "blog"]


def test_unknown_citation_key_is_recorded():
    state = fresh()
    convert("{cite}`nobody2020`", state)
    assert state.missing == ["citation key nobody2020"]


def test_glue_text_is_formatted_as_the_role_asks():
    assert convert("acc {glue:text}`acc:.1%`, {glue:text}`acc:.2f`") == "acc 91.2%, 0.91"
    assert convert("{glue:text}`n:,` steps and {glue:text}`n`") == "65,536 steps and 65536"
    assert convert("on {glue:text}`name`") == "on mnist"
    assert convert("{glue:text}`acc:+.1e`") == "+9.1e-01"


def test_missing_glue_name_is_recorded_and_shown():
    state = fresh()
    assert "missing value: nope" in convert("{glue:text}`nope:.2f`", state)
    assert state.missing == ["glue name nope"]


def test_terms_refs_doc_sup_roles():
    assert convert("the {term}`marginals <Marginal distribution>` and {term}`Entropy`") == \
        "the marginals and Entropy"
    assert convert("{ref}`An exercise <ex-1>`") == "An exercise"
    assert convert("2{sup}`20`") == "2<sup>20</sup>"
    titles = {"chapters/01_mutual_information": "Mutual information"}
    assert convert("see {doc}`01_mutual_information`", fresh(doc_titles=titles)) == \
        f"see [Mutual information]({URL}/chapters/01_mutual_information.html)"
    assert convert("see {doc}`the intro <../book/intro>`") == f"see [the intro]({URL}/book/intro.html)"


def test_code_spans_keep_their_text():
    assert convert("write `` {cite}`key` `` like `d = {k}` then {term}`x <X>`") == \
        "write `` {cite}`key` `` like `d = {k}` then x"


@pytest.mark.parametrize("text, named", [
    ("{cite:t}`two` showed", "{cite:t}"),
    ("{numref}`fig-a`", "{numref}"),
    ("{math}`x^2`", "{math}"),
    ("{glue:}`acc`", "{glue:}"),
    ("```{warning}\nCareful.\n```", "{warning}"),
    (":::{admonition} Why\nBecause.\n:::", "{admonition}"),
    ("```{figure} a.png\nA plot.\n```", "{figure}"),
    ("```{note}\n:class: dropdown\nHidden.\n```", "['class']"),
])
def test_a_construct_it_does_not_know_is_an_error_that_names_it(text, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        convert(text)


# --- block rules --------------------------------------------------------------------------------

def test_exercises_numbered_and_solution_spanning_cells_collapsed():
    state = fresh()
    first = convert("Text.\n\n```{exercise} Sharpen\n:label: ex-a\n\nDo {cite}`two`.\n```\n\n"
                    "```{solution-start} ex-a\n:class: dropdown\n```\n\nThe answer.", state)
    assert first == ("Text.\n\n#### Exercise 1: Sharpen\n\nDo (Bourlard and Kamp, 1988).\n\n"
                     "<details><summary>Solution</summary>\n\nThe answer.\n\n</details>")
    assert state.in_solution
    second = convert("More answer.\n\n```{solution-end}\n```\n\n```{exercise}\n:label: ex-b\n"
                     "Again.\n```\n\nAs {ref}`ex-a` showed.", state)
    assert second == ("<details><summary>Solution</summary>\n\nMore answer.\n\n</details>\n\n"
                      "#### Exercise 2\n\nAgain.\n\nAs Exercise 1 showed.")
    assert not state.in_solution


def test_a_reference_after_its_own_kind_word_shows_the_number_alone():
    """The chapters write "exercise {ref}`label`": that reads "exercise 2", not "exercise Exercise 2"."""
    state = fresh(labels={"ex-a": "Exercise 2", "lem-a": "Lemma 1", "sec-a": "Variational autoencoders"})
    assert convert("is\nexercise {ref}`ex-a`, and", state) == "is\nexercise 2, and"
    assert convert("Exercise {ref}`ex-a` and lemma {prf:ref}`lem-a`", state) == "Exercise 2 and lemma 1"
    assert convert("by {ref}`ex-a` and {prf:ref}`lem-a`", state) == "by Exercise 2 and Lemma 1"
    assert convert("the exercises {ref}`ex-a`; in {ref}`sec-a`", state) == \
        "the exercises Exercise 2; in Variational autoencoders"


def test_notes_and_proofs_are_bold_titled_quotes_and_refs_number_them():
    assert convert("```{note}\nRead this {cite}`two`.\n\nTwice.\n```") == \
        "> **Note**\n>\n> Read this (Bourlard and Kamp, 1988).\n>\n> Twice."
    out = convert("```{prf:theorem} The limits\n:label: thm-l\n\nIt holds.\n```\n\n"
                  "```{prf:proof}\nObvious.\n```\n\nBy {prf:ref}`thm-l`.")
    assert out == ("> **Theorem 1 (The limits).**\n>\n> It holds.\n\n> **Proof.** Obvious. ∎\n\n"
                   "By Theorem 1.")


def test_section_labels_and_plain_code_fences():
    out = convert("(sec-x)=\n## Section X\n\nSee {ref}`sec-x`.\n\n```python\n{cite}`not a role here`\n```")
    assert out == "## Section X\n\nSee Section X.\n\n```python\n{cite}`not a role here`\n```"


def test_state_must_be_a_conversion_state():
    with pytest.raises(ValueError, match="state"):
        cm.to_plain("x", state={})


def _glue_output(name, value):
    return nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": value},
        metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})


def test_convert_notebook_forms_code_references_and_leaves_input_alone():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("See {ref}`ex-a` and {cite}`ji2019iic`."),
        nbformat.v4.new_code_cell("glue('acc', 0.5)", outputs=[_glue_output("acc", "0.5")]),
        nbformat.v4.new_markdown_cell("```{exercise} E\n:label: ex-a\nAcc {glue:text}`acc:.0%`.\n```\n"
                                      "```{solution-start} ex-a\n```"),
        nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["hide-input"]}, execution_count=3,
                                  outputs=[nbformat.v4.new_output("stream", text="42\n")]),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```"),
        nbformat.v4.new_code_cell("after = 1", execution_count=4,
                                  outputs=[nbformat.v4.new_output("stream", text="1\n")]),
    ]
    before = nbformat.writes(nb)
    out = cm.convert_notebook(nb, bibliography=BIB, book_url=URL)
    assert nbformat.writes(nb) == before
    sources = [c.source for c in out.cells]
    assert sources[0] == "See Exercise 1 and (Ji et al., 2019)."   # forward reference resolved
    assert out.cells[1].outputs == []                               # hidden glue record dropped
    assert sources[2] == "#### Exercise 1: E\n\nAcc 50%."
    assert sources[3] == "#@title Solution\nanswer = 42"
    assert out.cells[3].metadata == {"tags": ["hide-input"], "cellView": "form"}
    assert out.cells[3].outputs == [] and out.cells[3].execution_count is None  # collapsed: no answer shown
    assert sources[4] == "after = 1" and "cellView" not in out.cells[4].metadata
    assert out.cells[4].outputs == nb.cells[5].outputs
    assert sources[5] == ("## References\n\n- Xu Ji, João F\\. Henriques, and Andrea Vedaldi\\. "
                          "Invariant information clustering\\. In *ICCV*\\. 2019\\.")


def test_kernel_free_explorer_becomes_a_line_pointing_at_the_page():
    div = '<div class="dlc-cb-explorer" data-counts="5,2"></div>'
    other = nbformat.v4.new_output("display_data", data={"text/html": "<b>table</b>", "text/plain": "t"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("display(HTML(div))", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": div, "text/plain": "<HTML>"}), other])])
    out = cm.convert_notebook(nb, bibliography=BIB, book_url=URL, page="chapters/03_x")
    shown, kept = out.cells[0].outputs
    assert kept == other
    assert "dlc-cb-explorer" not in str(shown)
    assert f'href="{URL}/chapters/03_x.html"' in shown.data["text/html"]
    assert "run the cell above" in shown.data["text/plain"]


def test_convert_notebook_strict_rejects_unresolved_names():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("{glue:text}`gone` {cite}`nobody` {ref}`nowhere`")]
    with pytest.raises(ValueError, match="glue name gone, citation key nobody, label nowhere"):
        cm.convert_notebook(nb, bibliography=BIB, book_url=URL)
    out = cm.convert_notebook(nb, bibliography=BIB, book_url=URL, strict=False)
    assert "missing value: gone" in out.cells[0].source


def test_unknown_construct_names_the_page_and_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("ok"),
                                         nbformat.v4.new_markdown_cell("{eq}`e1`")])
    with pytest.raises(ValueError, match=r"chapters/09_x, cell 1: unknown MyST role \{eq\}"):
        cm.convert_notebook(nb, bibliography=BIB, book_url=URL, page="chapters/09_x", strict=False)


# --- every chapter ------------------------------------------------------------------------------

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
ROLE = re.compile(r"\{[\w:.+-]+\}`")
FENCE = re.compile(r"^\s*(`{3,}|:{3,})\{", re.M)
TARGET = re.compile(r"^\s*\([^()\s]+\)=\s*$", re.M)


@pytest.fixture(scope="module")
def bibliography():
    return cm.load_bibliography(ROOT / "book" / "references.bib")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_converts_to_plain_markdown(path, bibliography):
    nb = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    out = cm.convert_notebook(nb, bibliography=bibliography, book_url=URL,
                              page=f"chapters/{path.stem}", doc_titles=cm.page_titles(ROOT))
    markdown = [c.source for c in out.cells if c.cell_type == "markdown"]
    text = "\n".join(markdown)
    assert not ROLE.search(text), ROLE.search(text)
    assert not FENCE.search(text) and not TARGET.search(text)
    assert "missing value" not in text
    assert not re.search(r"(?i)\bexercise\s+exercise\b", text)
    # the glued values appear, formatted: count roles in the source, formatted values in the output
    glue = {}
    for cell in nb.cells:  # read independently of tools.executed
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap:
                glue[scrap["name"]] = output["data"][scrap.get("mime_prefix", "") + "text/plain"]
    for name, fmt in re.findall(r"\{glue:text\}`([^`:]+):?([^`]*)`", source):
        value = format(eval(glue[name]), fmt)   # independent: plain Python formatting
        assert value in text
    # every cited key is in the References cell, which is last, with its year and first surname
    keys = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]*)`", source)
            for k in group.split(",")}
    assert markdown[-1].startswith("## References")
    items = markdown[-1].split("\n- ")[1:]
    assert len(items) == len(keys)
    for key in keys:
        entry = bibliography.entries[key]
        first_word = cm.citation(entry).split()[0].strip("*,")   # a surname or the title's first word
        assert any(entry.fields["year"] in item and first_word in item for item in items), key
    # exercises numbered 1..N in order, each solution wrapped or collapsed without outputs
    numbers = [int(n) for n in re.findall(r"^#### Exercise (\d+)", text, re.M)]
    least = 0 if path.stem.endswith("_lab") else 3  # a lab page holds evidence; the class, exercises
    assert numbers == list(range(1, source.count("{exercise}") + 1)) and len(numbers) >= least
    assert text.count("<details><summary>Solution</summary>") == text.count("</details>") >= least
    assert "{solution" not in text
    solution_code = [c for c in out.cells if c.cell_type == "code" and c.metadata.get("cellView")]
    assert all(c.source.startswith("#@title Solution") and not c.outputs for c in solution_code)
    tags = [c.metadata.get("tags") for c in nb.cells if c.cell_type == "code"]
    assert [c.metadata.get("tags") for c in out.cells if c.cell_type == "code"] == tags
    assert 'class="dlc-' not in str([c.get("outputs") for c in out.cells if c.cell_type == "code"])
