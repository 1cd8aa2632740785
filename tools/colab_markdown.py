"""Turn a chapter notebook's MyST markdown into plain notebook markdown that reads cleanly in Colab.

The book renders MyST (myst-nb, sphinx-exercise, sphinx-proof, sphinxcontrib-bibtex); Colab shows the
same cells as raw text. Each markdown cell is rewritten, for the constructs the chapters use and no
other (any other is an error that names it, never dropped in silence):

* ``{glue:text}`name:.2f``` → the glued value, formatted as myst-nb formats it
* ``{cite}`a,b``` → "(Ji et al., 2019; ...)", and a References cell: pybtex reads the ``.bib`` and
  formats each cited entry with the style the book's bibliography uses
* ``{ref}``, ``{prf:ref}`` → "Exercise 3", "Theorem 1" or the section's title; ``{doc}`` → a link to
  the book's page; ``{term}`text <Term>``` → text; ``{sup}`` → ``<sup>``
* ``{exercise}`` → ``#### Exercise N: title``; ``{solution-start}`` ... ``{solution-end}`` (across
  cells) → ``<details>`` for prose, Colab form cells without outputs for code
* ``{note}``, ``{prf:theorem}``, ``{prf:lemma}``, ``{prf:proposition}``, ``{prf:proof}`` → quoted
  blocks with a bold title; ``(label)=`` targets are removed (the label names the next heading)

Code cells keep their outputs, but for glue records and the book's kernel-free explorers (an empty
``<div class="dlc-...-explorer">`` that only the web page's ``explorers.js`` draws in), which become a
line pointing at the page and at the live widget. ``tools/colab.py`` calls :func:`convert_notebook`.
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from pybtex.backends.markdown import Backend as Markdown
from pybtex.backends.plaintext import Backend as PlainText
from pybtex.database import parse_file
from pybtex.richtext import Text
from pybtex.style.formatting.alpha import Style  # sphinxcontrib-bibtex's default: as in the book

from . import executed


# ---------------------------------------------------------------- bibliography (pybtex)


def load_bibliography(path):
    """The entries of a ``.bib`` file, as pybtex's ``BibliographyData``."""
    return parse_file(str(path), bib_format="bibtex")


def _plain(latex: str) -> str:
    return Text.from_latex(latex).render(PlainText())


def citation(entry) -> str:
    """"Ji et al., 2019": one or two surnames or the first and "et al.", then the year (the
    title in italics when there is no author)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_plain(" ".join(p.prelast_names + p.last_names)) for p in people]
    if not names:
        who = f"*{_plain(entry.fields.get('title', entry.key))}*"
    else:
        who = " and ".join(names) if len(names) <= 2 else f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def references_markdown(bibliography, keys) -> str:
    """The References cell: every cited entry, formatted and sorted as the book's bibliography."""
    formatted = Style().format_bibliography(bibliography, citations=list(dict.fromkeys(keys)))
    items = [" ".join(entry.text.render(Markdown()).split()) for entry in formatted]
    return "## References\n\n" + "\n".join(f"- {item}" for item in items)


# ---------------------------------------------------------------- glue


def format_glue_text(text: str, fmt_spec: str) -> str:
    """Format a glued ``text/plain`` value with a Python format spec, the way myst-nb does."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    kind = fmt_spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, fmt_spec)


# ---------------------------------------------------------------- the conversion


@dataclass
class ConversionState:
    """One notebook's conversion, carried from cell to cell.

    ``labels`` maps a MyST label to the text a reference shows ("Exercise 3", "Theorem 1", a section
    title); :func:`convert_notebook` fills it in a first pass, so forward references resolve.
    ``missing`` collects the glue names, citation keys and labels nothing defines.
    """

    glue: dict = field(default_factory=dict)        # name -> mime bundle (tools.executed.glued)
    bibliography: object = None                     # pybtex BibliographyData
    book_url: str = ""
    page: str = "chapters/"                         # the page in the book, e.g. "chapters/02_iic"
    doc_titles: dict = field(default_factory=dict)  # docname -> title, for {doc} links
    labels: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    cited: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    in_solution: bool = False
    pending_label: str | None = None

    def number(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]


PROOFS = {"prf:theorem": "Theorem", "prf:lemma": "Lemma", "prf:proposition": "Proposition"}
# every directive the conversion knows, with the options it may carry
DIRECTIVE_OPTIONS = {"exercise": {"label"}, "solution-start": {"class"}, "solution-end": set(),
                     "note": set(), "prf:proof": set(), **{name: {"label"} for name in PROOFS}}

_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*)$")
_PLAIN_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TARGET = re.compile(r"^ {0,3}\((?P<label>[^()\s]+)\)=\s*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_INLINE = re.compile(r"\{(?P<role>[A-Za-z][\w:.+-]*)\}`(?P<content>[^`]*)`"   # a role
                     r"|(?P<code>(?P<ticks>`+)[^`].*?(?P=ticks))")                # or a code span
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
_NUMBERED = re.compile(r"^(?P<kind>[A-Z][a-z]+) (?P<number>\d+)$")
_SOLUTION_START = "\x00solution-start\x00"
_SOLUTION_END = "\x00solution-end\x00"
_EXPLORER = re.compile(r'^\s*<div class="dlc-[\w-]+-explorer"[^>]*>\s*</div>\s*$')


def _split_title(content: str) -> tuple[str | None, str]:
    m = _TITLED.match(content)
    return (m.group("title"), m.group("target")) if m and m.group("title") else (None, content)


def _page_url(state: ConversionState, docname: str) -> str:
    return state.book_url.rstrip("/") + "/" + docname + ".html"


def _resolve_doc(target: str, state: ConversionState) -> str:
    """A ``{doc}`` target, relative to the current page or to the root ("/..."), as a docname."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts = state.page.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _cite(content: str, state: ConversionState) -> str:
    pieces = []
    for key in (k.strip() for k in content.split(",") if k.strip()):
        if key not in state.bibliography.entries:
            state.missing.append(f"citation key {key}")
            pieces.append(f"{key}?")
            continue
        if key not in state.cited:
            state.cited.append(key)
        pieces.append(citation(state.bibliography.entries[key]))
    return "(" + "; ".join(pieces) + ")"


def _role(role: str, content: str, before: str, state: ConversionState) -> str:
    """Markdown for one inline role; ``before`` is the prose just before it."""
    if role == "glue:text":
        name, _, fmt = content.partition(":")
        bundle = state.glue.get(name.strip())
        if bundle is None:
            state.missing.append(f"glue name {name.strip()}")
            return f"**[missing value: {name.strip()}]**"
        return format_glue_text(bundle.get("text/plain", ""), fmt)
    if role == "cite":
        return _cite(content, state)
    title, target = _split_title(content)
    if role == "term":
        return title or target
    if role == "sup":
        return f"<sup>{content}</sup>"
    if role == "doc":
        docname = _resolve_doc(target, state)
        return f"[{title or state.doc_titles.get(docname, docname)}]({_page_url(state, docname)})"
    if role in ("ref", "prf:ref"):
        if title:
            return title
        if target not in state.labels:
            state.missing.append(f"label {target}")
            return target
        shown = state.labels[target]
        numbered = _NUMBERED.match(shown)
        if numbered and re.search(rf"\b{numbered['kind']}\s+$", before, re.I):
            return numbered["number"]  # "exercise {ref}`ex-a`" reads "exercise 6", not "exercise Exercise 6"
        return shown
    raise ValueError(f"unknown MyST role {{{role}}}`{content}`: teach tools/colab_markdown.py to render it")


def convert_inline(text: str, state: ConversionState) -> str:
    """Render every inline role of one block of prose; code spans are left untouched."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(text[last:m.start()])
        last = m.end()
        out.append(m.group(0) if m.group("code")
                   else _role(m.group("role"), m.group("content"), "".join(out), state))
    return "".join(out) + text[last:]


def _quote(title: str, body: str) -> str:
    lines = ([f"**{title}**", ""] if title else []) + body.strip("\n").split("\n")
    return "\n".join("> " + line if line.strip() else ">" for line in lines)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def _directive(name: str, arg: str, options: dict, body: str, state: ConversionState) -> str:
    """Markdown for one fenced directive (its body converted first)."""
    if name not in DIRECTIVE_OPTIONS:
        raise ValueError(f"unknown MyST directive {{{name}}}: teach tools/colab_markdown.py to render it")
    unknown = set(options) - DIRECTIVE_OPTIONS[name]
    if unknown:
        raise ValueError(f"directive {{{name}}} has options {sorted(unknown)} that tools/colab_markdown.py "
                         f"does not render")
    inner = _convert_blocks(body, state).strip()
    title = convert_inline(arg, state).strip()
    if name == "exercise":
        number = state.number("exercise")
        if "label" in options:
            state.labels[options["label"]] = f"Exercise {number}"
        heading = f"#### Exercise {number}" + (f": {title}" if title else "")
        return heading + (f"\n\n{inner}" if inner else "")
    if name == "solution-start":
        state.in_solution = True
        return _SOLUTION_START
    if name == "solution-end":
        return _SOLUTION_END
    if name == "note":
        return _quote("Note", inner)
    if name == "prf:proof":
        return _quote("", f"**Proof.** {inner} ∎")
    word = PROOFS[name]
    number = state.number(name)
    if "label" in options:
        state.labels[options["label"]] = f"{word} {number}"
    return _quote(f"{word} {number}" + (f" ({title})" if title else "") + ".", inner)


def _read_options(lines: list[str], i: int) -> tuple[dict, int]:
    """The ``:key: value`` lines right after a directive's opening fence."""
    options = {}
    while i < len(lines) and (m := _OPTION.match(lines[i].strip())):
        options[m.group("key")] = m.group("value").strip()
        i += 1
    return options, i


def _convert_blocks(text: str, state: ConversionState) -> str:
    """Render the directives and targets of ``text``, and the inline roles of its prose."""
    lines, out, prose, i = text.split("\n"), [], [], 0

    def flush():
        if prose:
            out.append(convert_inline("\n".join(prose), state))
            prose.clear()

    while i < len(lines):
        line = lines[i]
        opened, plain = _OPEN.match(line), _PLAIN_FENCE.match(line)
        if opened or plain:
            fence = opened.group("fence") if opened else plain.group(1)
            closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
            options, j = _read_options(lines, i + 1) if opened else ({}, i + 1)
            body_start = j
            while j < len(lines) and not closing.match(lines[j]):
                j += 1
            flush()
            if opened:
                out.append(_directive(opened.group("name"), opened.group("arg"), options,
                                      "\n".join(lines[body_start:j]), state))
            else:                                   # an ordinary code block: copied untouched
                out.append("\n".join(lines[i:j + 1]))
            i = j + 1
            continue
        target = _TARGET.match(line)
        if target:
            state.pending_label = target.group("label")
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading and state.pending_label:
            state.labels.setdefault(state.pending_label, heading.group(1))
            state.pending_label = None
        prose.append(line)
        i += 1
    flush()
    return "\n".join(out)


def to_plain(markdown: str, state: ConversionState) -> str:
    """One markdown cell's MyST → plain Colab markdown.

    Solutions can span cells: ``state.in_solution`` says whether this cell starts inside one; the
    part of the cell inside a solution comes back wrapped in its own ``<details>`` element.
    """
    if not isinstance(state, ConversionState):
        raise ValueError(f"state must be a ConversionState, got {type(state).__name__}")
    inside = state.in_solution
    converted = _convert_blocks(markdown, state)
    pieces = []
    for chunk in re.split(f"({_SOLUTION_START}|{_SOLUTION_END})", converted):
        if chunk in (_SOLUTION_START, _SOLUTION_END):
            inside = chunk == _SOLUTION_START
        elif chunk.strip():
            pieces.append(_details("Solution", chunk) if inside else chunk.strip("\n"))
    state.in_solution = inside
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(pieces)).strip()


def _explorer_note(state: ConversionState):
    """The output that stands for a kernel-free explorer, which Colab cannot draw."""
    link = _page_url(state, state.page)
    html = (f'<p><em>This explorer draws in the browser on <a href="{link}">the book\'s page</a>. '
            f"Here, run the cell above and move its slider.</em></p>")
    return nbformat.v4.new_output("display_data", data={
        "text/html": html, "text/plain": "This explorer draws on the book's page; here, run the cell "
                                         "above and move its slider."})


def _convert_cells(nb, state: ConversionState) -> list:
    cells = []
    for index, cell in enumerate(nb.cells):
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            try:
                cell.source = to_plain(cell.source, state)
            except ValueError as error:
                raise ValueError(f"{state.page}, cell {index}: {error}") from None
            if not cell.source.strip():
                continue
        elif cell.cell_type == "code":
            cell.outputs = [_explorer_note(state) if _EXPLORER.match(o.get("data", {}).get("text/html", ""))
                            else o for o in cell.get("outputs", []) if not executed.hidden_glue(o)]
            if state.in_solution:  # collapsed, and nothing to read before the reader runs it
                if not cell.source.lstrip().startswith("#@title"):
                    cell.source = "#@title Solution\n" + cell.source
                cell.metadata["cellView"] = "form"
                cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    return cells


def page_titles(root) -> dict[str, str]:
    """docname → first ``# `` heading of every chapter notebook under ``root`` (for ``{doc}`` links)."""
    titles = {}
    for path in sorted(Path(root).glob("chapters/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            m = re.search(r"^# (.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
            if m:
                titles[f"chapters/{path.stem}"] = m.group(1).strip()
                break
    return titles


def convert_notebook(nb, *, bibliography, book_url: str, page: str = "chapters/",
                     doc_titles: dict | None = None, strict: bool = True):
    """A new notebook whose markdown reads cleanly in Colab; ``nb`` itself is left unchanged.

    ``page`` is the notebook's docname in the book (``"chapters/02_iic"``), used to resolve
    relative ``{doc}`` links; ``doc_titles`` maps docnames to the titles those links show.
    A construct it does not know raises ``ValueError``; with ``strict``, so does a glue name,
    citation key or label that nothing defines.
    """
    if not isinstance(book_url, str):
        raise ValueError(f"book_url must be a string, got {book_url!r}")

    def state(**more):
        return ConversionState(glue=executed.glued(nb), bibliography=bibliography, book_url=book_url,
                               page=page, doc_titles=dict(doc_titles or {}), **more)

    first = state()
    _convert_cells(nb, first)
    if first.in_solution:
        raise ValueError(f"{page}: a solution-start has no solution-end")
    # second pass: every label (exercises, theorems, sections) is known, so forward refs resolve
    second = state(labels=first.labels)
    out = nbformat.from_dict(copy.deepcopy(dict(nb)))
    out.cells = _convert_cells(nb, second)
    if strict and second.missing:
        raise ValueError(f"{page}: nothing defines {', '.join(dict.fromkeys(second.missing))}")
    if second.cited:
        references = nbformat.v4.new_markdown_cell(references_markdown(bibliography, second.cited))
        references.id = "references"  # a fixed id: the same chapter converts to the same bytes
        out.cells.append(references)
    return out
