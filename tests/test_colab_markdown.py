"""The Colab edition's markdown shows prose, not MyST: each rule on hand-written text, then every chapter."""
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("colab_markdown", ROOT / "tools" / "colab_markdown.py")
cm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cm)

URL = "https://example.org/book"
BIB = cm.parse_bibtex(r"""
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
  author = {Lucas Theis and A{\"a}ron van den Oord and {\AA}ke Bj{\"o}rck},
  title  = {A note},
  year   = {2016}
}
""")
GLUE = {"acc": {"text/plain": "0.91234"}, "n": {"text/plain": "65536"},
        "name": {"text/plain": "'mnist'"}, "fig": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}}


def convert(text, state=None, glue=GLUE):
    state = state or cm.ConversionState(page="chapters/02_iic")
    return cm.to_plain(text, glue=glue, bibliography=BIB, book_url=URL, state=state)


# --- bibliography -------------------------------------------------------------------------------

def test_bib_parser_reads_names_accents_and_plain_fields():
    assert set(BIB) == {"ji2019iic", "two", "blog", "vdo"}
    assert [p["last"] for p in BIB["ji2019iic"]["authors"]] == ["Ji", "Henriques", "Vedaldi"]
    assert BIB["ji2019iic"]["authors"][1]["first"] == "João F."
    assert BIB["two"]["authors"][0] == {"first": "Hervé", "last": "Bourlard"}
    assert BIB["two"]["title"] == "Auto-association by Multilayer Perceptrons"
    assert BIB["two"]["year"] == "1988"
    assert BIB["blog"]["title"] == "A CIFAR-10 blog: 85% at \u201cbest\u201d"
    assert [p["last"] for p in BIB["vdo"]["authors"]] == ["Theis", "van den Oord", "Björck"]
    assert BIB["vdo"]["authors"][2]["first"] == "Åke"


def test_the_course_bibliography_loads_every_entry():
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    bib = cm.load_bibliography(ROOT / "book" / "references.bib")
    assert len(bib) == len(re.findall(r"^@\w+\{", text, re.M))
    for entry in bib.values():
        assert entry["title"] and entry["year"].isdigit()
        assert "{" not in entry["title"] and "\\" not in str(entry)


def test_unbalanced_bib_entry_is_an_error():
    with pytest.raises(ValueError, match="unbalanced"):
        cm.parse_bibtex("@article{x, title = {open")


# --- inline roles -------------------------------------------------------------------------------

def test_citations_author_year_textual_and_several_keys():
    state = cm.ConversionState()
    assert convert("as shown {cite}`ji2019iic`.", state) == "as shown (Ji et al., 2019)."
    assert convert("{cite:t}`two` showed", state) == "Bourlard and Kamp (1988) showed"
    assert convert("{cite}`ji2019iic,two`", state) == "(Ji et al., 2019; Bourlard and Kamp, 1988)"
    assert convert("{cite:p}`blog`", state) == "(*A CIFAR-10 blog: 85% at \u201cbest\u201d*, 2019)"
    assert state.cited == ["ji2019iic", "two", "blog"]


def test_unknown_citation_key_is_recorded():
    state = cm.ConversionState()
    convert("{cite}`nobody2020`", state)
    assert state.missing_cites == ["nobody2020"]


def test_glue_text_is_formatted_as_the_role_asks():
    assert convert("acc {glue:text}`acc:.1%`, {glue:text}`acc:.2f`") == "acc 91.2%, 0.91"
    assert convert("{glue:text}`n:,` steps and {glue:text}`n`") == "65,536 steps and 65536"
    assert convert("on {glue:text}`name`") == "on mnist"
    assert convert("{glue:text}`acc:+.1e`") == "+9.1e-01"


def test_glued_figure_becomes_the_image():
    assert convert("{glue:}`fig`") == "![fig](data:image/png;base64,iVBORw0KGgo=)"
    out = convert("```{glue:figure} fig\n:name: fig-a\n\nThe *caption*.\n```\n\nSee {numref}`fig-a`.")
    assert out == ("![fig](data:image/png;base64,iVBORw0KGgo=)\n\n*Figure 1: The *caption*.*\n\n"
                   "See Figure 1.")


def test_missing_glue_name_is_recorded_and_shown():
    state = cm.ConversionState()
    assert "missing value: nope" in convert("{glue:text}`nope:.2f`", state)
    assert state.missing_glue == ["nope"]


def test_terms_refs_doc_sup_math_roles():
    assert convert("the {term}`marginals <Marginal distribution>` and {term}`Entropy`") == \
        "the marginals and Entropy"
    assert convert("{ref}`An exercise <ex-1>`") == "An exercise"
    assert convert("2{sup}`20` and {math}`x^2`") == "2<sup>20</sup> and $x^2$"
    assert convert("see {doc}`01_mutual_information`") == \
        f"see [Mutual information]({URL}/chapters/01_mutual_information.html)"
    assert convert("see {doc}`the intro <../book/intro>`") == f"see [the intro]({URL}/book/intro.html)"


def test_code_spans_keep_their_text():
    assert convert("write `` {cite}`key` `` like `d = {k}` then {term}`x <X>`") == \
        "write `` {cite}`key` `` like `d = {k}` then x"


# --- block rules --------------------------------------------------------------------------------

def test_exercises_numbered_and_solution_spanning_cells_collapsed():
    state = cm.ConversionState()
    first = convert("Text.\n\n```{exercise} Sharpen\n:label: ex-a\n\nDo {cite:t}`two`.\n```\n\n"
                    "```{solution-start} ex-a\n:class: dropdown\n```\n\nThe answer.", state)
    assert first == ("Text.\n\n#### Exercise 1: Sharpen\n\nDo Bourlard and Kamp (1988).\n\n"
                     "<details><summary>Solution</summary>\n\nThe answer.\n\n</details>")
    assert state.in_solution
    second = convert("More answer.\n\n```{solution-end}\n```\n\n```{exercise}\n:label: ex-b\n"
                     "Again.\n```\n\nAs {ref}`ex-a` showed.", state)
    assert second == ("<details><summary>Solution</summary>\n\nMore answer.\n\n</details>\n\n"
                      "#### Exercise 2\n\nAgain.\n\nAs Exercise 1 showed.")
    assert not state.in_solution


def test_admonitions_become_quoted_blocks():
    assert convert("```{note}\nRead this {cite}`two`.\n\nTwice.\n```") == \
        "> **Note**\n>\n> Read this (Bourlard and Kamp, 1988).\n>\n> Twice."
    assert convert(":::{admonition} Why it works\nBecause.\n:::") == "> **Why it works**\n>\n> Because."
    assert convert("````{warning}\n```python\nx = 1\n```\n````") == \
        "> **Warning**\n>\n> ```python\n> x = 1\n> ```"
    assert convert("```{dropdown} Details\nHidden.\n```") == \
        "<details><summary>Details</summary>\n\nHidden.\n\n</details>"


def test_proof_directives_are_bold_titled_quotes_and_refs_number_them():
    out = convert("```{prf:theorem} The limits\n:label: thm-l\n\nIt holds.\n```\n\n"
                  "```{prf:proof}\nObvious.\n```\n\nBy {prf:ref}`thm-l`.")
    assert out == ("> **Theorem 1 (The limits).**\n>\n> It holds.\n\n> **Proof.** Obvious. ∎\n\n"
                   "By Theorem 1.")


def test_math_figure_labels_and_plain_code_fences():
    out = convert("(sec-x)=\n## Section X\n\n```{math}\n:label: eq-a\na = b\n```\n\n"
                  "Equation {eq}`eq-a` in {ref}`sec-x`.\n\n```python\n{cite}`not a role here`\n```")
    assert out == ("## Section X\n\n$$\na = b \\tag{1}\n$$\n\nEquation (1) in Section X.\n\n"
                   "```python\n{cite}`not a role here`\n```")
    fig = convert("```{figure} ../book/_static/a.png\n:name: fig-a\n:alt: A plot\n\nLoss curve.\n```")
    assert fig == f"![A plot]({URL}/book/_static/a.png)\n\n*Figure 1: Loss curve.*"


def test_state_must_be_a_conversion_state():
    with pytest.raises(ValueError, match="state"):
        cm.to_plain("x", glue={}, bibliography={}, book_url=URL, state={})


def test_convert_notebook_forms_code_references_and_leaves_input_alone():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("See {ref}`ex-a` and {cite}`ji2019iic`."),
        nbformat.v4.new_code_cell("glue('acc', 0.5)", outputs=[nbformat.v4.new_output(
            "display_data", data={"application/papermill.record/text/plain": "0.5"},
            metadata={"scrapbook": {"name": "acc", "mime_prefix": "application/papermill.record/"}})]),
        nbformat.v4.new_markdown_cell("```{exercise} E\n:label: ex-a\nAcc {glue:text}`acc:.0%`.\n```\n"
                                      "```{solution-start} ex-a\n```"),
        nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```"),
        nbformat.v4.new_code_cell("after = 1"),
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
    assert sources[4] == "after = 1" and "cellView" not in out.cells[4].metadata
    assert sources[5] == ("## References\n\n- Xu Ji, João F. Henriques and Andrea Vedaldi (2019). "
                          "*Invariant Information Clustering*. ICCV.")


def test_convert_notebook_strict_rejects_unresolved_names():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("{glue:text}`gone` {cite}`nobody`")]
    with pytest.raises(ValueError, match="gone"):
        cm.convert_notebook(nb, bibliography=BIB, book_url=URL)
    out = cm.convert_notebook(nb, bibliography=BIB, book_url=URL, strict=False)
    assert "missing value: gone" in out.cells[0].source


def test_reference_line_for_entry_without_author():
    assert cm.reference_line(BIB["blog"]) == ("*A CIFAR-10 blog: 85% at \u201cbest\u201d* (2019). "
                                              "Japanese blog article. <https://example.org/post>")


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
    # the glued values appear, formatted: count roles in the source, formatted values in the output
    glue = cm.glue_values(nb)
    for name, fmt in re.findall(r"\{glue:text\}`([^`:]+):?([^`]*)`", source):
        value = format(eval(glue[name]["text/plain"]), fmt)   # independent: plain Python formatting
        assert value in text
    # every cited key is in the References cell, which is last
    keys = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]*)`", source)
            for k in group.split(",")}
    assert markdown[-1].startswith("## References")
    for key in keys:
        assert cm.reference_line(bibliography[key]) in markdown[-1]
    assert markdown[-1].count("\n- ") == len(keys)
    # exercises numbered 1..N in order, each solution wrapped or collapsed
    numbers = [int(n) for n in re.findall(r"^#### Exercise (\d+)", text, re.M)]
    assert numbers == list(range(1, source.count("{exercise}") + 1)) and len(numbers) >= 3
    assert text.count("<details><summary>Solution</summary>") == text.count("</details>") >= 3
    assert "{solution" not in text
    solution_code = [c for c in out.cells if c.cell_type == "code" and c.metadata.get("cellView")]
    assert all(c.source.startswith("#@title Solution") for c in solution_code)
    tags = [c.metadata.get("tags") for c in nb.cells if c.cell_type == "code"]
    assert [c.metadata.get("tags") for c in out.cells if c.cell_type == "code"] == tags
