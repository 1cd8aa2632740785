"""Sphinx directive ``scoreboard``: every published claim a chapter tests, beside the course's own run.

The claims and their published numbers live in ``book/claims.yml`` (one place, with citations).
The course's numbers are read at build time from the executed notebooks, by the names the chapters
``glue`` them under, so the page can only show numbers that a run produced; a claim naming a glue
value that its notebook lacks stops the build. The verdict is computed from the numbers by
:func:`verdict`, whose rule the page states.
"""
from __future__ import annotations

import ast
import json
import math
import string
from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from tools.executed import glued, record

REPRODUCED = "reproduced"
CONSISTENT = "consistent within the noise"
NOT_AT_SCALE = "not reproduced at this scale"
CONTRADICTED = "contradicted"
NOT_RUN = "not yet run"

_FUNCTIONS = {"sqrt": math.sqrt, "abs": abs, "min": min, "max": max}
_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
              ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
              ast.Pow: lambda a, b: a ** b}


def verdict(ours, published, *, tolerance, spread=0.0, published_spread=0.0,
            higher_is_better=True, like_for_like=False) -> str:
    """The verdict on one claim, from the numbers alone.

    With gap = ours - published, counted positive when ours is better (sign flipped when lower is
    better) and noise = 2 sqrt(spread^2 + published_spread^2):

    1. no number of ours (``None`` or NaN): not yet run;
    2. gap >= -tolerance: reproduced (as good as published, or short by less than the tolerance);
    3. -gap <= noise: consistent within the noise;
    4. like_for_like (the published protocol on the published data): contradicted;
    5. otherwise: not reproduced at this scale.
    """
    for name, value in (("published", published), ("tolerance", tolerance)):
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not (tolerance >= 0):
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    for name, value in (("spread", spread), ("published_spread", published_spread)):
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return NOT_RUN
    if not math.isfinite(ours):
        raise ValueError(f"ours must be a finite number or None, got {ours!r}")
    gap = (ours - published) if higher_is_better else (published - ours)
    noise = 2 * math.hypot(spread, published_spread)
    if gap >= -tolerance:
        return REPRODUCED
    if -gap <= noise:
        return CONSISTENT
    return CONTRADICTED if like_for_like else NOT_AT_SCALE


def glued_values(notebook: dict) -> dict[str, object]:
    """Every ``glue(name, value)`` of an executed notebook: name -> value parsed from its text."""
    return {name: _parse(bundle.get("text/plain")) for name, bundle in glued(notebook).items()}


def _parse(text):
    """A glued number (int or float, NaN kept) or, failing that, the text itself."""
    if text is None:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def expression_names(expression) -> set[str]:
    """The glue names an expression of ``claims.yml`` reads."""
    if isinstance(expression, (int, float)):
        return set()
    tree = ast.parse(str(expression), mode="eval")
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id not in _FUNCTIONS}


def format_names(template: str) -> set[str]:
    """The glue names a ``budget`` format string reads."""
    return {field.split(".")[0].split("[")[0]
            for _, field, _, _ in string.Formatter().parse(template or "") if field}


def evaluate(expression, values: dict) -> float:
    """Arithmetic (+ - * / **, sqrt, abs, min, max) on numbers and glued values, nothing else."""
    if isinstance(expression, (int, float)):
        return float(expression)

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise KeyError(node.id)
            value = values[node.id]
            if not isinstance(value, (int, float)):
                raise ValueError(f"glued value {node.id!r} is not a number: {value!r}")
            return value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -walk(node.operand) if isinstance(node.op, ast.USub) else walk(node.operand)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCTIONS and not node.keywords):
            return _FUNCTIONS[node.func.id](*[walk(a) for a in node.args])
        raise ValueError(f"not allowed in a claims.yml expression: {ast.dump(node)}")

    return float(walk(ast.parse(str(expression), mode="eval")))


def claim_names(claim: dict) -> set[str]:
    """Every glue name a claim reads."""
    return (expression_names(claim["ours"]) | expression_names(claim.get("spread", 0))
            | format_names(claim.get("budget", "")))


def load_claims(path: Path) -> dict:
    """``claims.yml``, checked for the fields every claim needs."""
    book = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    required = {"id", "chapter", "claim", "cite", "unit", "published", "better", "tolerance",
                "data", "transfers", "protocol_profile", "profiles", "ours"}
    seen = set()
    for claim in book["claims"]:
        missing = required - set(claim)
        if missing:
            raise ValueError(f"claim {claim.get('id')!r} lacks {sorted(missing)}")
        if claim["id"] in seen:
            raise ValueError(f"claim id {claim['id']!r} appears twice")
        seen.add(claim["id"])
        if claim["better"] not in ("higher", "lower"):
            raise ValueError(f"claim {claim['id']!r}: better must be higher or lower, "
                             f"got {claim['better']!r}")
        if claim["data"] not in book["datasets"]:
            raise ValueError(f"claim {claim['id']!r}: unknown data {claim['data']!r}")
    return book


def missing_names(claim: dict, values: dict) -> set[str]:
    """Glue names the claim reads that the notebook does not hold."""
    return claim_names(claim) - set(values)


def _relation(claim_data: dict, run_data: str) -> str:
    if run_data in claim_data["same"]:
        return "same"
    if run_data in claim_data.get("subset", []):
        return "subset"
    return "stand-in"


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def row(claim: dict, profile: str, notebook: dict, datasets: dict) -> dict:
    """One scoreboard row: the claim at one profile, with the numbers the notebook holds for it."""
    meta = record(notebook)
    values = glued_values(notebook)
    digits = claim.get("digits", 1)
    claim_data = datasets[claim["data"]]
    result = {"claim": claim, "profile": profile, "ours": None, "spread": None, "data": "",
              "budget": "", "verdict": NOT_RUN, "why": ""}
    executed = meta.get("profile")
    if executed != profile:
        result["why"] = (f"the notebook holds {executed}-profile outputs" if executed
                         else "the notebook has no provenance")
        return result
    if claim.get("pending_glue"):
        result["why"] = "the chapter does not glue this number yet"
        return result
    missing = missing_names(claim, values)
    if missing:
        raise KeyError(f"claim {claim['id']!r}: {claim['chapter']}.ipynb glues no "
                       f"{', '.join(sorted(missing))}")
    ours = evaluate(claim["ours"], values)
    spread = evaluate(claim.get("spread", 0), values)
    if math.isnan(spread):
        spread = 0.0
    run_data = claim.get("run_data") or meta.get("dataset", "?")
    relation = _relation(claim_data, run_data)
    result["data"] = {"same": run_data,
                      "subset": f"{run_data} (a subset of {claim_data['name']})",
                      "stand-in": f"{run_data} (stand-in for {claim_data['name']})"}[relation]
    result["budget"] = claim.get("budget", "").format(**values)
    if not math.isnan(ours):
        result["ours"], result["spread"] = ours, spread
    run = meta.get("runs", {}).get(profile, {})
    result["run"] = str(run.get("device", ""))
    if relation == "stand-in" and not claim["transfers"]:
        result["why"] = f"not on {claim_data['name']}: this run used a stand-in"
        return result
    result["verdict"] = verdict(
        result["ours"], claim["published"], tolerance=claim["tolerance"], spread=spread,
        published_spread=claim.get("published_spread", 0.0),
        higher_is_better=claim["better"] == "higher",
        like_for_like=(relation == "same" and profile == claim["protocol_profile"]))
    if result["ours"] is not None:
        sign = 1 if claim["better"] == "higher" else -1
        gap = sign * (ours - claim["published"])
        noise = 2 * math.hypot(spread, claim.get("published_spread", 0.0))
        result["why"] = (f"gap {gap:+.{digits}f}; tolerance {claim['tolerance']:g}, "
                         f"noise ±{noise:.{digits}f}")
    return result


def rows(claims_path: Path, chapters_dir: Path, note_dependency=lambda path: None) -> list[dict]:
    """Every row of the scoreboard, in the order of ``claims.yml``."""
    note_dependency(str(claims_path))
    book = load_claims(claims_path)
    notebooks = {}
    table = []
    for claim in book["claims"]:
        path = Path(chapters_dir) / f"{claim['chapter']}.ipynb"
        if path not in notebooks:
            note_dependency(str(path))
            notebooks[path] = json.loads(path.read_text(encoding="utf-8"))
        for profile in claim["profiles"]:
            table.append(row(claim, profile, notebooks[path], book["datasets"]))
    return table


def markdown_lines(table: list[dict]) -> list[str]:
    """The scoreboard as MyST: per chapter a link ({doc}) and a table; citations with {cite}."""
    lines, chapter, previous = [], None, None
    for r in table:
        c = r["claim"]
        if c["chapter"] != chapter:
            chapter = c["chapter"]
            lines += ["", f"**{{doc}}`/chapters/{chapter}`**", "",
                      "| claim and source | published | this course | profile, data, budget | verdict |",
                      "| --- | ---: | ---: | --- | --- |"]
        digits = c.get("digits", 1)
        unit = c["unit"]
        published = _number(c["published"], max(digits, _decimals(c["published"])))
        if c.get("published_spread"):
            published += f" ± {c['published_spread']:g}"
        published += f" {unit}"
        if r["ours"] is None:
            ours = "–"
        else:
            ours = _number(r["ours"], digits)
            if r["spread"]:
                ours += f" ± {_number(r['spread'], digits)}"
            ours += f" {unit}"
            ours += f" <br>({c['spread_means']})" if c.get("spread_means") else ""
        where = "; ".join(x for x in (f"`{r['profile']}`", r.get("run", ""), r["data"],
                                      r["budget"]) if x)
        claim = f"{c['claim']} {{cite}}`{','.join(c['cite'])}`"
        if c.get("ref"):
            claim += f" (see {{ref}}`{c['ref']}`)"
        if previous == c["id"]:  # the same claim at another profile: say so rather than repeat it
            claim = "(same claim)"
        previous = c["id"]
        verdict_cell = f"**{r['verdict']}**" + (f" <br>{r['why']}" if r["why"] else "")
        lines.append("| " + " | ".join([claim, published, ours, where, verdict_cell]) + " |")
    return lines


def _decimals(value) -> int:
    text = repr(float(value)).rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


class Scoreboard(SphinxDirective):
    """Renders the table of claims beside the course's runs."""

    def run(self):
        root = Path(self.env.srcdir)
        table = rows(root / "book" / "claims.yml", root / "chapters", self.env.note_dependency)
        container = nodes.container()
        self.state.nested_parse(StringList(markdown_lines(table)), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("scoreboard", Scoreboard)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
