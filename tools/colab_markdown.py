"""Turn a chapter notebook's MyST markdown into plain notebook markdown that reads cleanly in Colab.

The book renders MyST (myst-nb, sphinx-exercise, sphinx-proof, sphinxcontrib-bibtex); Colab shows the
same cells as raw text. This module rewrites each markdown cell so a reader sees prose, not markup:

* ``{glue:text}`name:.2f``` → the glued value, formatted as myst-nb formats it; glued figures → the image
* ``{cite}`key``` → "(Ji et al., 2019)", ``{cite:t}`` → "Ji et al. (2019)", plus a References cell
* ``{term}`text <Term>``` → text; ``{ref}``, ``{numref}``, ``{eq}``, ``{doc}`` → plain text or book links
* exercises → ``#### Exercise N: title``; solutions → ``<details>`` (prose) or Colab form cells (code)
* admonitions and ``{prf:...}`` blocks → quoted blocks with a bold title; ``{math}`` → ``$$...$$``;
  ``{figure}`` → a markdown image with its caption; ``(label)=`` targets removed

``tools/colab.py`` calls :func:`convert_notebook`; the pieces are public so they can be tested alone.
"""


import ast
import copy
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

# ----------------------------------------------------------------------------------------------
# Bibliography: a small BibTeX reader (author, year, title, venue, url are all the notebook needs)
# ----------------------------------------------------------------------------------------------

_ENTRY_START = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
            "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
            "c": "\u0327", "r": "\u030a", "k": "\u0328"}
_LETTERS = {"AA": "Å", "aa": "å", "AE": "Æ", "ae": "æ", "OE": "Œ", "oe": "œ", "ss": "ß",
            "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ"}


def _matching_close(text: str, start: int, open_char: str, close_char: str) -> int:
    """Index of the ``close_char`` that balances the opener just before ``start``; -1 if none."""
    depth = 1
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "\\":
            continue
        if ch == open_char:
            depth += 1
        elif ch == close_char:
            depth -= 1
            if depth == 0:
                return i
    return -1


def clean_latex(text: str) -> str:
    """Plain Unicode text from a BibTeX field: accents resolved, escapes undone, braces dropped."""
    text = re.sub(r"\\([`'^\"~=.])\s*\{?\s*([A-Za-z]|\\i|\\j)\s*\}?",
                  lambda m: _accent(m.group(1), m.group(2)), text)
    text = re.sub(r"\\([uvHcrk])(?:\s*\{\s*([A-Za-z])\s*\}|\s+([A-Za-z]))",
                  lambda m: _accent(m.group(1), m.group(2) or m.group(3)), text)
    text = re.sub(r"\\(AA|aa|AE|ae|OE|oe|ss|o|O|l|L|i|j)(?![A-Za-z])\s*",
                  lambda m: _LETTERS[m.group(1)], text)
    text = re.sub(r"\\([%&$#_{}])", r"\1", text)
    text = text.replace("---", "\u2014").replace("--", "\u2013")
    text = text.replace("``", "\u201c").replace("''", "\u201d")
    text = re.sub(r"\\[A-Za-z]+\s*", "", text)  # any other macro (\emph, \textit): keep its argument
    text = text.replace("{", "").replace("}", "").replace("~", " ")
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())


def _accent(mark: str, letter: str) -> str:
    base = {"\\i": "i", "\\j": "j"}.get(letter, letter)
    return unicodedata.normalize("NFC", base + _ACCENTS[mark])


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split ``text`` on the regex ``separator`` wherever it is outside braces."""
    parts, depth, last = [], 0, 0
    pattern = re.compile(separator)
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            m = pattern.match(text, i)
            if m and m.end() > m.start():
                parts.append(text[last:i])
                last = i = m.end()
                continue
        i += 1
    parts.append(text[last:])
    return [p.strip() for p in parts if p.strip()]


def parse_names(raw: str) -> list[dict]:
    """BibTeX names ("Last, First and First von Last") → [{"first": ..., "last": ...}], cleaned."""
    people = []
    for name in _split_top_level(raw, r"\s+and\s+"):
        pieces = _split_top_level(name, r",")
        if len(pieces) >= 2:
            last, first = pieces[0], pieces[-1]
        else:
            words = _split_top_level(name, r"\s+")
            cut = len(words) - 1
            while cut > 0 and words[cut - 1][:1].islower():  # "van den" belongs to the last name
                cut -= 1
            first, last = " ".join(words[:cut]), " ".join(words[cut:])
        people.append({"first": clean_latex(first), "last": clean_latex(last)})
    return people


def _parse_fields(body: str) -> dict[str, str]:
    fields, i = {}, 0
    name_re = re.compile(r"[\s,]*([A-Za-z][\w-]*)\s*=\s*")
    while True:
        m = name_re.match(body, i)
        if not m:
            break
        name, i = m.group(1).lower(), m.end()
        pieces = []
        while i < len(body):
            if body[i] == "{":
                end = _matching_close(body, i + 1, "{", "}")
                end = len(body) if end < 0 else end
                pieces.append(body[i + 1:end])
                i = end + 1
            elif body[i] == '"':
                end = i + 1
                depth = 0
                while end < len(body) and not (body[end] == '"' and depth == 0):
                    depth += {"{": 1, "}": -1}.get(body[end], 0)
                    end += 1
                pieces.append(body[i + 1:end])
                i = end + 1
            else:
                token = re.compile(r"[^,#\s}]+").match(body, i)
                if token is None:
                    break
                pieces.append(token.group(0))
                i = token.end()
            concat = re.compile(r"\s*#\s*").match(body, i)
            if not concat:
                break
            i = concat.end()
        fields[name] = "".join(pieces)
    return fields


def parse_bibtex(text: str) -> dict[str, dict]:
    """Entries of a BibTeX string: key → {"type", "key", "authors", "editors", cleaned fields}."""
    entries, i = {}, 0
    while True:
        m = _ENTRY_START.search(text, i)
        if m is None:
            return entries
        kind, opener = m.group(1).lower(), m.group(2)
        end = _matching_close(text, m.end(), opener, "}" if opener == "{" else ")")
        if end < 0:
            raise ValueError(f"unbalanced braces in the BibTeX entry at offset {m.start()}")
        body, i = text[m.end():end], end + 1
        if kind in ("comment", "preamble", "string"):
            continue
        key, _, rest = body.partition(",")
        raw = _parse_fields(rest)
        entry = {name: clean_latex(value) for name, value in raw.items()}
        entry.update(type=kind, key=key.strip(),
                     authors=parse_names(raw["author"]) if "author" in raw else [],
                     editors=parse_names(raw["editor"]) if "editor" in raw else [])
        entries[key.strip()] = entry


def load_bibliography(path) -> dict[str, dict]:
    """Read a ``.bib`` file into ``parse_bibtex``'s dictionary (key → entry)."""
    return parse_bibtex(Path(path).read_text(encoding="utf-8"))


def _surnames(people: list[dict]) -> str:
    names = [p["last"] for p in people]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _full_names(people: list[dict]) -> str:
    names = [" ".join(x for x in (p["first"], p["last"]) if x) for p in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def citation_author(entry: dict, *, full: bool = False) -> str:
    """The author part of an author–year citation, as sphinxcontrib-bibtex picks it."""
    people = entry.get("authors") or entry.get("editors")
    if people and full:
        names = [p["last"] for p in people]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if people:
        return _surnames(people)
    return f"*{entry.get('title', entry.get('key', '?'))}*"


def citation_year(entry: dict) -> str:
    return entry.get("year", "n.d.")


def reference_line(entry: dict) -> str:
    """One References item: authors (year). *Title*. Venue. Note. URL."""
    people = entry.get("authors") or entry.get("editors")
    title = f"*{entry['title']}*" if entry.get("title") else ""
    if people:
        parts = [f"{_full_names(people)} ({citation_year(entry)})", title]
    else:
        parts = [f"{title or entry['key']} ({citation_year(entry)})"]
    venue = next((entry[k] for k in ("journal", "booktitle", "publisher", "institution",
                                     "school", "howpublished") if entry.get(k)), "")
    parts += [venue, entry.get("note", "")]
    link = entry.get("url") or (f"https://doi.org/{entry['doi']}" if entry.get("doi") else "")
    text = ". ".join(p.rstrip(".") for p in parts if p) + "."
    return f"{text} <{link}>" if link else text


# ----------------------------------------------------------------------------------------------
# Glue: the values myst-nb pastes into the prose, read from the executed notebook's outputs
# ----------------------------------------------------------------------------------------------

def glue_values(notebook) -> dict[str, dict]:
    """name → mime bundle of every ``glue``d value (myst-nb's ``scrapbook`` outputs), prefix removed."""
    values = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            book = output.get("metadata", {}).get("scrapbook")
            if not book or "name" not in book:
                continue
            prefix = book.get("mime_prefix", "")
            values[book["name"]] = {mime[len(prefix):] if mime.startswith(prefix) else mime: data
                                    for mime, data in output.get("data", {}).items()}
    return values


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


def _as_text(data) -> str:
    return "".join(data) if isinstance(data, list) else str(data)


def render_glue_bundle(bundle: dict, name: str) -> str:
    """Markdown for a glued object: an image as a data URI (as Colab stores pasted images), else text."""
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in bundle:
            return f"![{name}](data:{mime};base64,{_as_text(bundle[mime]).strip()})"
    if "image/svg+xml" in bundle:
        return _as_text(bundle["image/svg+xml"])
    for mime in ("text/markdown", "text/html"):
        if mime in bundle:
            return _as_text(bundle[mime])
    if "text/latex" in bundle:
        return _as_text(bundle["text/latex"])
    return format_glue_text(_as_text(bundle.get("text/plain", "")), "")


# ----------------------------------------------------------------------------------------------
# The conversion state and the rules
# ----------------------------------------------------------------------------------------------

@dataclass
class ConversionState:
    """What one notebook's conversion carries from cell to cell.

    ``labels`` maps a MyST label to the text a reference shows ("Exercise 3", "Theorem 1", a
    section title); :func:`convert_notebook` fills it in a first pass so forward references work.
    """

    page: str = "chapters/"                 # the notebook's page in the book, e.g. "chapters/02_iic"
    doc_titles: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    cited: list = field(default_factory=list)
    missing_glue: list = field(default_factory=list)
    missing_cites: list = field(default_factory=list)
    in_solution: bool = False
    pending_label: str | None = None

    def number(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]


ADMONITION_TITLES = {"note": "Note", "tip": "Tip", "important": "Important", "warning": "Warning",
                     "caution": "Caution", "attention": "Attention", "danger": "Danger",
                     "error": "Error", "hint": "Hint", "seealso": "See also", "todo": "To do",
                     "versionadded": "New in version", "versionchanged": "Changed in version",
                     "deprecated": "Deprecated", "margin": "", "sidebar": "", "epigraph": "",
                     "topic": "", "admonition": ""}
PROOF_TITLES = {"theorem": "Theorem", "lemma": "Lemma", "proposition": "Proposition",
                "corollary": "Corollary", "definition": "Definition", "axiom": "Axiom",
                "conjecture": "Conjecture", "criterion": "Criterion", "example": "Example",
                "remark": "Remark", "property": "Property", "observation": "Observation",
                "algorithm": "Algorithm", "assumption": "Assumption", "proof": "Proof"}
DROPPED = {"toctree", "tableofcontents", "bibliography", "index", "solution-end", "exercise-end",
           "meta", "highlight"}
CODE_BLOCKS = {"code-block", "code", "sourcecode", "code-cell", "ipython"}

_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*)$")
_PLAIN_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TARGET = re.compile(r"^ {0,3}\((?P<label>[^()\s]+)\)=\s*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_DOLLAR_LABEL = re.compile(r"^(?P<head>.*\$\$)\s*\((?P<label>[^()\s]+)\)\s*$")
_INLINE = re.compile(r"\{(?P<role>[A-Za-z][\w:.+-]*)\}`(?P<content>[^`]*)`"   # a role
                     r"|(?P<code>(?P<ticks>`+)[^`].*?(?P=ticks))")                # or a code span
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
# what tests and tools search for: MyST that survived the conversion
LEFTOVER_MYST = re.compile(r"\{[A-Za-z][\w:.+-]*\}`|^ {0,3}(`{3,}|:{3,})\{|^ {0,3}\([^()\s]+\)=\s*$",
                           re.M)


def _split_title(content: str) -> tuple[str | None, str]:
    m = _TITLED.match(content)
    return (m.group("title"), m.group("target")) if m and m.group("title") else (None, content)


def _link(book_url: str, path: str) -> str:
    return book_url.rstrip("/") + "/" + path.lstrip("/") if book_url else path


def _page_dir(state: ConversionState) -> str:
    return state.page.rsplit("/", 1)[0] + "/" if "/" in state.page else ""


def _resolve_doc(target: str, state: ConversionState) -> str:
    """A ``{doc}`` target relative to the current page → the docname from the book's root."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts = []
    for piece in (_page_dir(state) + target).split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _doc_title(docname: str, state: ConversionState) -> str:
    if docname in state.doc_titles:
        return state.doc_titles[docname]
    slug = re.sub(r"^\d+[_-]", "", docname.rsplit("/", 1)[-1])
    return slug.replace("_", " ").replace("-", " ").capitalize()


def _cite(role: str, content: str, bibliography: dict, state: ConversionState) -> str:
    keys = [k.strip() for k in content.split(",") if k.strip()]
    kind = role.split(":", 1)[1] if ":" in role else "p"
    full = kind.endswith("s") and kind not in ("s",)
    kind = kind[:-1] if full else kind
    pieces = []
    for key in keys:
        entry = bibliography.get(key)
        if entry is None:
            state.missing_cites.append(key)
            pieces.append(f"{key}?")
            continue
        if key not in state.cited:
            state.cited.append(key)
        author, year = citation_author(entry, full=full), citation_year(entry)
        pieces.append({"t": f"{author} ({year})", "author": author, "authorpar": author,
                       "year": year, "yearpar": year, "alt": f"{author} {year}",
                       "label": f"{author}, {year}", "labelpar": f"{author}, {year}",
                       "text": f"{author} ({year})"}.get(kind, f"{author}, {year}"))
    text = "; ".join(pieces)
    return f"({text})" if kind in ("p", "cite", "authorpar", "yearpar", "labelpar") else text


def _reference(role: str, content: str, state: ConversionState, book_url: str) -> str:
    title, target = _split_title(content)
    if role == "doc":
        docname = _resolve_doc(target, state)
        return f"[{title or _doc_title(docname, state)}]({_link(book_url, docname + '.html')})"
    if role == "download":
        return f"[{title or target}]({_link(book_url, _resolve_doc(target, state))})"
    known = state.labels.get(target)
    if role == "eq":
        return f"({known})" if known else f"({target})"
    if title and role == "numref" and known:
        number = known.rsplit(" ", 1)[-1]
        return title.replace("%s", number).replace("{number}", number)
    if title:
        return title
    return known or target


def _inline_role(role: str, content: str, *, glue, bibliography, book_url, state) -> str:
    if role == "glue:text" or role.startswith("glue"):
        key, fmt = (content.rsplit(":", 1) + ["s"])[:2] if ":" in content else (content, "s")
        bundle = glue.get(key.strip())
        if bundle is None:
            state.missing_glue.append(key.strip())
            return f"**[missing value: {key.strip()}]**"
        if role == "glue:text":
            return format_glue_text(_as_text(bundle.get("text/plain", "")), fmt)
        if role == "glue:md" and "text/markdown" in bundle:
            return _as_text(bundle["text/markdown"])
        return render_glue_bundle(bundle, key.strip())
    if role == "cite" or role.startswith("cite:"):
        return _cite(role, content, bibliography, state)
    if role in ("ref", "numref", "eq", "doc", "download", "prf:ref", "any", "std:ref"):
        return _reference(role.replace("prf:", "").replace("std:", ""), content, state, book_url)
    if role in ("sup", "sub"):
        return f"<{role}>{content}</{role}>"
    if role in ("math", "m"):
        return f"${content}$"
    if role in ("code", "literal", "samp", "file", "kbd", "command", "py:func", "py:class",
                "func", "class", "mod", "meth", "attr", "py:mod", "py:meth", "py:attr"):
        return f"`{content}`"
    if role == "abbr":
        return re.sub(r"\s*\(.*\)\s*$", "", content)
    title, _ = _split_title(content)          # {term}, {index}, {guilabel}, anything else
    return title if title is not None else content


def convert_inline(text: str, *, glue, bibliography, book_url, state) -> str:
    """Apply every inline-role rule to one block of prose; code spans are left untouched."""
    def replace(m):
        if m.group("code"):
            return m.group(0)
        return _inline_role(m.group("role"), m.group("content"), glue=glue,
                            bibliography=bibliography, book_url=book_url, state=state)
    return _INLINE.sub(replace, text)


def _quote(title: str, body: str) -> str:
    lines = ([f"**{title}**", ""] if title else []) + body.strip("\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join("> " + line if line.strip() else ">" for line in lines)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def _caption_block(kind: str, options: dict, caption: str, state: ConversionState) -> str:
    number = state.number(kind)
    label = options.get("name") or options.get("label")
    if label:
        state.labels[label] = f"{kind.capitalize()} {number}"
    return f"*{kind.capitalize()} {number}: {caption}*" if caption else f"*{kind.capitalize()} {number}*"


def _directive(name, arg, options, body, *, glue, bibliography, book_url, state) -> str:
    """Markdown for one fenced directive; the body is converted recursively first."""
    def inner(text):
        return _convert_blocks(text, glue=glue, bibliography=bibliography, book_url=book_url,
                               state=state)

    label = options.get("label") or options.get("name")
    if name in DROPPED:
        return ""
    if name in ("exercise", "exercise-start"):
        number = state.number("exercise")
        if label:
            state.labels[label] = f"Exercise {number}"
        title = convert_inline(arg, glue=glue, bibliography=bibliography, book_url=book_url,
                               state=state).strip()
        heading = f"#### Exercise {number}" + (f": {title}" if title else "")
        return heading + ("\n\n" + inner(body).strip() if body.strip() else "")
    if name == "solution-start":
        state.in_solution = True
        return _SOLUTION_START
    if name == "solution":
        return _details("Solution", inner(body))
    if name.startswith("prf:"):
        kind = name.split(":", 1)[1]
        word = PROOF_TITLES.get(kind, kind.capitalize())
        title = convert_inline(arg, glue=glue, bibliography=bibliography, book_url=book_url,
                               state=state).strip()
        if kind == "proof":
            return _quote("", f"**Proof.** {inner(body).strip()} ∎")
        number = state.number("prf:" + kind) if "nonumber" not in options else None
        head = word + (f" {number}" if number else "") + (f" ({title})" if title else "")
        if label:
            state.labels[label] = word + (f" {number}" if number else f" ({title})")
        return _quote(f"{head}.", inner(body))
    if name in ("math", "math:"):
        number = ""
        if label:
            state.labels[label] = str(state.number("equation"))
            number = "" if "\\begin" in body else f" \\tag{{{state.labels[label]}}}"
        return f"$$\n{body.strip()}{number}\n$$"
    if name in CODE_BLOCKS:
        return f"```{arg.strip()}\n{body.rstrip()}\n```"
    if name in ("figure", "image"):
        alt = options.get("alt", "")
        url = arg.strip() if re.match(r"^[a-z]+:", arg.strip()) else \
            _link(book_url, _resolve_doc(arg.strip(), state))
        image = f"![{alt}]({url})"
        if name == "image":
            return image
        caption = inner(body).strip()
        return image + "\n\n" + _caption_block("figure", options, caption, state)
    if name in ("glue:figure", "glue:", "glue", "glue:any", "glue:math", "glue:md"):
        key = arg.strip()
        bundle = glue.get(key)
        if bundle is None:
            state.missing_glue.append(key)
            return f"**[missing value: {key}]**"
        if name == "glue:math":
            return f"$$\n{_as_text(bundle.get('text/latex', '')).strip().strip('$')}\n$$"
        shown = render_glue_bundle(bundle, key)
        if name == "glue:figure":
            return shown + "\n\n" + _caption_block("figure", options, inner(body).strip(), state)
        return shown
    if name in ("table", "list-table", "csv-table"):
        caption = convert_inline(arg, glue=glue, bibliography=bibliography, book_url=book_url,
                                 state=state).strip()
        return _caption_block("table", options, caption, state) + "\n\n" + inner(body).strip()
    if name in ("raw", "only", "div", "container", "card", "grid-item", "grid", "tab-item",
                "tab-set", "centered", "rst-class", "cssclass"):
        return inner(body).strip()
    if name == "dropdown" or "dropdown" in options.get("class", "").split():
        title = convert_inline(arg, glue=glue, bibliography=bibliography, book_url=book_url,
                               state=state).strip() or ADMONITION_TITLES.get(name) or "Details"
        return _details(title, inner(body))
    title = ADMONITION_TITLES.get(name, name.replace("-", " ").capitalize())
    title_arg = convert_inline(arg, glue=glue, bibliography=bibliography, book_url=book_url,
                               state=state).strip()
    if title_arg:
        title = f"{title}: {title_arg}" if title and name != "admonition" else title_arg
    return _quote(title, inner(body))


_SOLUTION_START = "\x00solution-start\x00"
_SOLUTION_END = "\x00solution-end\x00"


def _read_options(lines: list[str], i: int) -> tuple[dict, int]:
    """Directive options: ``:key: value`` lines, or a ``---`` YAML block, right after the opener."""
    options = {}
    if i < len(lines) and lines[i].strip() == "---":
        j = i + 1
        while j < len(lines) and lines[j].strip() != "---":
            key, _, value = lines[j].partition(":")
            options[key.strip()] = value.strip()
            j += 1
        return options, j + 1
    while i < len(lines) and (m := _OPTION.match(lines[i].strip())):
        options[m.group("key")] = m.group("value").strip()
        i += 1
    return options, i


def _convert_blocks(text: str, *, glue, bibliography, book_url, state) -> str:
    """Rewrite the directives, targets and labelled maths of ``text``, then its inline roles."""
    lines, out, prose, i = text.split("\n"), [], [], 0

    def flush():
        if prose:
            out.append(convert_inline("\n".join(prose), glue=glue, bibliography=bibliography,
                                      book_url=book_url, state=state))
            prose.clear()

    while i < len(lines):
        line = lines[i]
        opened = _OPEN.match(line)
        if opened:
            fence = opened.group("fence")
            closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
            options, j = _read_options(lines, i + 1)
            body_start = j
            while j < len(lines) and not closing.match(lines[j]):
                j += 1
            flush()
            name = opened.group("name")
            if name == "solution-end":
                out.append(_SOLUTION_END)
            else:
                out.append(_directive(name, opened.group("arg"), options,
                                      "\n".join(lines[body_start:j]), glue=glue,
                                      bibliography=bibliography, book_url=book_url, state=state))
            i = j + 1
            continue
        plain = _PLAIN_FENCE.match(line)
        if plain:                                   # an ordinary code block: copied untouched
            flush()
            ticks = plain.group(1)
            closing = re.compile(r"^ {0,3}" + re.escape(ticks[0]) + "{" + str(len(ticks)) + r",}\s*$")
            j = i + 1
            while j < len(lines) and not closing.match(lines[j]):
                j += 1
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
        labelled = _DOLLAR_LABEL.match(line)
        if labelled:
            number = state.number("equation")
            state.labels[labelled.group("label")] = str(number)
            head = labelled.group("head")
            line = head[:-2].rstrip() + f" \\tag{{{number}}}\n$$" if "\\begin" not in text else head
        prose.append(line)
        i += 1
    flush()
    return "\n".join(out)


def to_plain(markdown: str, *, glue: dict, bibliography: dict, book_url: str,
             state: ConversionState) -> str:
    """One markdown cell's MyST → plain Colab markdown.

    Solutions can span cells: ``state.in_solution`` says whether this cell starts inside one; the
    part of the cell inside a solution comes back wrapped in its own ``<details>`` element.
    """
    if not isinstance(state, ConversionState):
        raise ValueError(f"state must be a ConversionState, got {type(state).__name__}")
    starts_inside = state.in_solution
    converted = _convert_blocks(markdown, glue=glue, bibliography=bibliography,
                                book_url=book_url, state=state)
    pieces, inside = [], starts_inside
    for chunk in re.split(f"({_SOLUTION_START}|{_SOLUTION_END})", converted):
        if chunk == _SOLUTION_START:
            inside = True
        elif chunk == _SOLUTION_END:
            inside = False
        elif chunk.strip():
            pieces.append(_details("Solution", chunk) if inside else chunk.strip("\n"))
    state.in_solution = inside
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(pieces)).strip()


def references_markdown(bibliography: dict, keys) -> str:
    """The References cell: every cited entry, sorted by author and year."""
    entries = sorted((bibliography[k] for k in dict.fromkeys(keys) if k in bibliography),
                     key=lambda e: (citation_author(e).lower().strip("*"), citation_year(e)))
    return "## References\n\n" + "\n".join(f"- {reference_line(e)}" for e in entries)


def _convert_cells(nb, *, bibliography, book_url, state) -> list:
    glue = glue_values(nb)
    cells = []
    for cell in nb.cells:
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            cell.source = to_plain(cell.source, glue=glue, bibliography=bibliography,
                                   book_url=book_url, state=state)
            if not cell.source.strip():
                continue
        elif cell.cell_type == "code":
            # glue records with a mime prefix are invisible in the book, and unrenderable in Colab
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not o.get("metadata", {}).get("scrapbook", {}).get("mime_prefix")]
            if state.in_solution:
                if not cell.source.lstrip().startswith("#@title"):
                    cell.source = "#@title Solution\n" + cell.source
                cell.metadata["cellView"] = "form"
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


def convert_notebook(nb, *, bibliography: dict, book_url: str, page: str = "chapters/",
                     doc_titles: dict | None = None, strict: bool = True):
    """A new notebook whose markdown reads cleanly in Colab; ``nb`` itself is left unchanged.

    ``page`` is the notebook's docname in the book (``"chapters/02_iic"``), used to resolve
    relative ``{doc}`` links; ``doc_titles`` maps docnames to the titles those links show.
    With ``strict`` a glue name or citation key that cannot be resolved raises ``ValueError``.
    """
    if not isinstance(book_url, str):
        raise ValueError(f"book_url must be a string, got {book_url!r}")
    first = ConversionState(page=page, doc_titles=dict(doc_titles or {}))
    _convert_cells(nb, bibliography=bibliography, book_url=book_url, state=first)
    if first.in_solution:
        raise ValueError("nb has a solution-start without its solution-end")
    if strict and (first.missing_glue or first.missing_cites):
        raise ValueError(f"nb has unresolved glue names {sorted(set(first.missing_glue))} "
                         f"or citation keys {sorted(set(first.missing_cites))}")
    # second pass: every label (exercises, theorems, sections) is known, so forward refs resolve
    state = ConversionState(page=page, doc_titles=dict(doc_titles or {}), labels=first.labels)
    out = nbformat.from_dict(copy.deepcopy(dict(nb)))
    out.cells = _convert_cells(nb, bibliography=bibliography, book_url=book_url, state=state)
    if state.cited:
        references = nbformat.v4.new_markdown_cell(references_markdown(bibliography, state.cited))
        references.id = "references"  # a fixed id: the same chapter converts to the same bytes
        out.cells.append(references)
    return out
