"""The "What reproduces" scoreboard: verdict rule, glue reading, and every claim backed by a glued value."""
import copy
import json
import math
import re
from pathlib import Path

import pytest

from book._ext import scoreboard as sb

ROOT = Path(__file__).resolve().parents[1]

CLAIMS = sb.load_claims(ROOT / "book" / "claims.yml")


def _notebook(profile="quick", dataset="mnist-5k", **glued):
    """A minimal executed notebook as myst-nb writes it: one scrapbook output per glued value."""
    outputs = [{"output_type": "display_data",
                "metadata": {"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}},
                "data": {"application/papermill.record/text/plain": repr(value)}}
               for name, value in glued.items()]
    return {"cells": [{"cell_type": "code", "outputs": outputs}],
            "metadata": {"dlcourse": {"profile": profile, "dataset": dataset,
                                      "runs": {profile: {"device": "cpu", "date": "today"}}}}}


def _claim(**changes):
    claim = {"id": "x", "chapter": "99_x", "claim": "c", "cite": ["k"], "unit": "%",
             "published": 90.0, "better": "higher", "tolerance": 1.0, "data": "mnist",
             "transfers": False, "protocol_profile": "full", "profiles": ["quick", "full"],
             "ours": "acc", "spread": "sd", "budget": "{steps} steps"}
    claim.update(changes)
    return claim


DATASETS = {"mnist": {"name": "MNIST", "same": ["mnist"], "subset": ["mnist-5k"]}}


# --- the verdict rule, on crafted numbers -------------------------------------------------------

@pytest.mark.parametrize("ours, spread, like, expected", [
    (None, 0.0, False, sb.NOT_RUN),
    (float("nan"), 0.0, False, sb.NOT_RUN),
    (95.0, 0.0, False, sb.REPRODUCED),          # better than published
    (89.0, 0.0, False, sb.REPRODUCED),          # short by exactly the tolerance
    (88.9, 0.0, False, sb.NOT_AT_SCALE),        # just beyond the tolerance, no spread
    (88.9, 0.0, True, sb.CONTRADICTED),         # same, in a like-for-like run
    (86.0, 2.0, True, sb.CONSISTENT),           # short by 4 = twice the spread
    (85.9, 2.0, True, sb.CONTRADICTED),         # short by 4.1 > 4
    (85.9, 2.0, False, sb.NOT_AT_SCALE),
])
def test_verdict_rule_higher_is_better(ours, spread, like, expected):
    assert sb.verdict(ours, 90.0, tolerance=1.0, spread=spread, like_for_like=like) == expected


def test_verdict_combines_both_spreads_in_quadrature():
    # noise = 2 * sqrt(3^2 + 4^2) = 10: a gap of 10 is within it, 10.5 is not
    assert sb.verdict(80.0, 90.0, tolerance=0.0, spread=3.0, published_spread=4.0) == sb.CONSISTENT
    assert sb.verdict(79.5, 90.0, tolerance=0.0, spread=3.0, published_spread=4.0) == sb.NOT_AT_SCALE


def test_verdict_lower_is_better_flips_the_gap():
    # bits/dim: 1.00 beats a published 1.06; 1.10 falls short by 0.04 < tolerance 0.05; 1.2 does not
    assert sb.verdict(1.00, 1.06, tolerance=0.05, higher_is_better=False) == sb.REPRODUCED
    assert sb.verdict(1.10, 1.06, tolerance=0.05, higher_is_better=False) == sb.REPRODUCED
    assert sb.verdict(1.20, 1.06, tolerance=0.05, higher_is_better=False) == sb.NOT_AT_SCALE
    # the same numbers read as higher-is-better would call 1.20 reproduced
    assert sb.verdict(1.20, 1.06, tolerance=0.05) == sb.REPRODUCED


@pytest.mark.parametrize("kwargs, name", [
    (dict(tolerance=-1.0), "tolerance"),
    (dict(tolerance=float("nan")), "tolerance"),
    (dict(tolerance=1.0, spread=float("nan")), "spread"),
    (dict(tolerance=1.0, spread=-0.1), "spread"),
    (dict(tolerance=1.0, published_spread=float("inf")), "published_spread"),
])
def test_verdict_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sb.verdict(80.0, 90.0, **kwargs)


def test_verdict_rejects_a_nan_published_number():
    with pytest.raises(ValueError, match="published"):
        sb.verdict(80.0, float("nan"), tolerance=1.0)


# --- reading glued values and expressions --------------------------------------------------------

def test_glued_values_are_read_from_the_scrapbook_outputs():
    nb = _notebook(acc=71.5, steps=600, label="text")
    nb["cells"][0]["outputs"].append({"output_type": "stream", "text": "acc=1"})
    assert sb.glued_values(nb) == {"acc": 71.5, "steps": 600, "label": "'text'"}


def test_expressions_compute_on_glued_values():
    values = {"a": 3.0, "b": 4.0, "n": 4}
    assert sb.evaluate("sqrt(a ** 2 + b ** 2) / sqrt(n)", values) == pytest.approx(2.5)
    assert sb.evaluate("(b - a) / 2", values) == pytest.approx(0.5)
    assert sb.evaluate(0, values) == 0.0
    assert sb.expression_names("sqrt(a ** 2 + b) / n") == {"a", "b", "n"}
    assert sb.format_names("{steps:,} steps x {n_seeds} seeds") == {"steps", "n_seeds"}


def test_expressions_refuse_anything_but_arithmetic():
    with pytest.raises(ValueError):
        sb.evaluate("__import__('os')", {})
    with pytest.raises(KeyError):
        sb.evaluate("missing + 1", {})


# --- rows -------------------------------------------------------------------------------------------

def test_a_row_reads_its_profile_and_judges_it():
    nb = _notebook(acc=85.0, sd=1.0, steps=600)
    quick = sb.row(_claim(), "quick", nb, DATASETS)
    assert quick["ours"] == 85.0 and quick["spread"] == 1.0
    assert quick["verdict"] == sb.NOT_AT_SCALE       # short by 5 > 2 x 1, on a subset: not full
    assert "subset of MNIST" in quick["data"] and quick["budget"] == "600 steps"
    full = sb.row(_claim(), "full", nb, DATASETS)
    assert full["verdict"] == sb.NOT_RUN and full["ours"] is None


def test_a_full_run_on_the_published_data_can_contradict():
    nb = _notebook(profile="full", dataset="mnist", acc=85.0, sd=1.0, steps=600)
    assert sb.row(_claim(), "full", nb, DATASETS)["verdict"] == sb.CONTRADICTED
    assert sb.row(_claim(protocol_profile=None), "full", nb, DATASETS)["verdict"] == sb.NOT_AT_SCALE


def test_a_stand_in_tests_only_claims_that_transfer():
    nb = _notebook(dataset="fashion-mnist", acc=95.0, sd=0.0, steps=1)
    absolute = sb.row(_claim(), "quick", nb, DATASETS)
    assert absolute["verdict"] == sb.NOT_RUN and "stand-in" in absolute["data"]
    relative = sb.row(_claim(transfers=True), "quick", nb, DATASETS)
    assert relative["verdict"] == sb.REPRODUCED


def test_a_missing_glue_name_stops_the_row():
    nb = _notebook(acc=85.0, steps=600)  # no "sd"
    with pytest.raises(KeyError, match="sd"):
        sb.row(_claim(), "quick", nb, DATASETS)


def test_a_nan_glued_value_means_not_run():
    nb = _notebook(acc=float("nan"), sd=float("nan"), steps=0)
    assert sb.row(_claim(), "quick", nb, DATASETS)["verdict"] == sb.NOT_RUN


def test_markdown_cites_links_and_never_invents_a_number():
    nb = _notebook(acc=85.0, sd=1.0, steps=600)
    table = [sb.row(_claim(), p, nb, DATASETS) for p in ("quick", "full")]
    lines = sb.markdown_lines(table)
    rows_ = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert "**{doc}`/chapters/99_x`**" in lines and len(rows_) == 2
    assert all(line.count(" | ") == 4 for line in rows_)
    assert "{cite}`k`" in rows_[0] and "85.0 ± 1.0 %" in rows_[0]
    assert "| – |" in rows_[1] and "not yet run" in rows_[1]
    assert rows_[1].startswith("| (same claim) |")


# --- the real claims against the committed notebooks --------------------------------------------

def _chapter_notebook(claim):
    return json.loads((ROOT / "chapters" / f"{claim['chapter']}.ipynb").read_text(encoding="utf-8"))


@pytest.mark.parametrize("claim", [c for c in CLAIMS["claims"] if not c.get("pending_glue")],
                         ids=lambda c: c["id"])
def test_every_claim_names_glued_values_that_exist(claim):
    values = sb.glued_values(_chapter_notebook(claim))
    assert not sb.missing_names(claim, values), (
        f"{claim['chapter']}.ipynb glues no {sorted(sb.missing_names(claim, values))}")


@pytest.mark.parametrize("claim", [c for c in CLAIMS["claims"] if c.get("pending_glue")],
                         ids=lambda c: c["id"])
def test_pending_claims_are_still_pending(claim):
    """Once the chapter glues these names, remove `pending_glue` so the row shows the number."""
    values = sb.glued_values(_chapter_notebook(claim))
    assert sb.missing_names(claim, values), f"{claim['id']}: its names are glued now"


def test_claims_cite_keys_of_the_bibliography_and_link_existing_chapters():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    for claim in CLAIMS["claims"]:
        assert set(claim["cite"]) <= keys, claim["id"]
        assert (ROOT / "chapters" / f"{claim['chapter']}.md").exists(), claim["id"]
        assert set(claim["profiles"]) <= {"quick", "full"}, claim["id"]
        if claim.get("ref"):
            text = (ROOT / "chapters" / f"{claim['chapter']}.md").read_text(encoding="utf-8")
            assert f"({claim['ref']})=" in text, claim["id"]


def test_the_page_rows_come_from_the_notebooks(tmp_path):
    """Every shown number equals the glued value it names, and a full-profile row says not yet run."""
    table = sb.rows(ROOT / "book" / "claims.yml", ROOT / "chapters")
    assert len(table) == sum(len(c["profiles"]) for c in CLAIMS["claims"])
    for r in table:
        nb = _chapter_notebook(r["claim"])
        executed = nb["metadata"]["dlcourse"]["profile"]
        if r["profile"] != executed:
            assert r["verdict"] == sb.NOT_RUN and r["ours"] is None
        name = r["claim"]["ours"]
        if r["ours"] is not None and re.fullmatch(r"\w+", str(name)):
            assert r["ours"] == pytest.approx(float(sb.glued_values(nb)[name]))


def test_a_notebook_executed_in_full_fills_the_full_row():
    claim = next(c for c in CLAIMS["claims"] if c["id"] == "realnvp-mnist-bpd")
    nb = copy.deepcopy(_chapter_notebook(claim))
    nb["metadata"]["dlcourse"]["profile"] = "full"
    nb["metadata"]["dlcourse"]["dataset"] = "mnist"
    full = sb.row(claim, "full", nb, CLAIMS["datasets"])
    quick = sb.row(claim, "quick", nb, CLAIMS["datasets"])
    assert full["ours"] is not None and not math.isnan(full["ours"])
    assert quick["verdict"] == sb.NOT_RUN
