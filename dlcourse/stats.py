"""The statistics every chapter reports with: one implementation of each, used by every page.

* :func:`mean_sd` — mean and sample standard deviation (``n - 1``) of a few runs.
* :func:`paired_interval` — runs that share seeds and data: the mean paired difference, its t
  interval and two-sided p value.
* :func:`welch_interval` — independent runs: Welch's interval and test for a difference of means.
* :func:`holm` — Holm's step-down correction of several p values from one page.
* :func:`markdown_table` — rows of numbers as a Markdown table (what a page displays).

An interval is a dict with ``diff``, ``low``, ``high``, ``t``, ``df`` and ``p``; "not significant"
means the interval holds zero, never that the two are equal.
"""
from __future__ import annotations

import math

import torch

from .checks import check_number, checked, sequence
from .checks import check_numbers as _values


def mean_sd(values) -> tuple[float, float]:
    """``(mean, sd)`` of ``values``, the standard deviation with ``n - 1`` (0.0 for one value)."""
    t = _values(values, "values")
    if t.numel() == 0:
        raise ValueError("values must hold at least one number, got none")
    return t.mean().item(), (t.std().item() if t.numel() > 1 else 0.0)


def _interval(diff: float, se: float, df: float, confidence: float) -> dict:
    from scipy import stats

    if se == 0:
        return {"diff": diff, "low": diff, "high": diff,
                "t": math.copysign(math.inf, diff) if diff else math.nan, "df": df,
                "p": 0.0 if diff else 1.0}
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    t = diff / se
    return {"diff": diff, "low": diff - half, "high": diff + half, "t": t, "df": df,
            "p": float(2 * stats.t.sf(abs(t), df))}


def welch_interval(a, b, confidence: float = 0.95) -> dict:
    """Difference of means ``mean(a) - mean(b)`` of independent runs with its Welch interval.

    The standard error is ``sqrt(s_a^2 / n_a + s_b^2 / n_b)`` (sample variances, unequal
    variances allowed), the degrees of freedom those of Welch and Satterthwaite.
    """
    a, b = _values(a, "a"), _values(b, "b")
    for name, v in (("a", a), ("b", b)):
        if v.numel() < 2:
            raise ValueError(f"{name} needs at least two values, got {v.numel()}")
    check_number(confidence, "confidence", 0.0, 1.0, low_open=True, high_open=True)
    va, vb = a.var().item() / a.numel(), b.var().item() / b.numel()
    diff = (a.mean() - b.mean()).item()
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.numel() - 1) + vb ** 2 / (b.numel() - 1)) if se else math.nan
    return _interval(diff, se, df, confidence)


def paired_interval(a, b, confidence: float = 0.95) -> dict:
    """Mean of the paired differences ``a[i] - b[i]`` with its t interval and test.

    For runs that share a seed (the same initial weights and minibatches), whatever the seed does
    to both runs cancels in the difference. The standard error is ``sd(d) / sqrt(n)`` with
    ``n - 1`` degrees of freedom; ``sd`` (of the differences) is returned too.
    """
    a, b = _values(a, "a"), _values(b, "b")
    if a.numel() != b.numel():
        raise ValueError(f"a and b must pair up, got {a.numel()} and {b.numel()} values")
    if a.numel() < 2:
        raise ValueError(f"a needs at least two values, got {a.numel()}")
    check_number(confidence, "confidence", 0.0, 1.0, low_open=True, high_open=True)
    d = a - b
    n, sd = d.numel(), d.std().item()
    return {**_interval(d.mean().item(), sd / math.sqrt(n), n - 1, confidence), "sd": sd}


def holm(p_values) -> list[float]:
    """Holm's adjusted p values, in the order given: the ``k``-th smallest of ``m`` is multiplied
    by ``m - k + 1``, made non-decreasing along that order, and capped at 1. A comparison is
    significant at level ``a`` over the whole page when its adjusted p value is below ``a``."""
    p = _values(p_values, "p_values").tolist()
    if any(not 0 <= v <= 1 for v in p):
        raise ValueError(f"p_values must lie in [0, 1], got {p_values!r}")
    m, adjusted, running = len(p), [0.0] * len(p), 0.0
    for rank, index in enumerate(sorted(range(m), key=p.__getitem__)):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def _cell(value, name: str, arguments=None):
    return value


def _rows_of_header(rows, name: str, arguments: dict) -> list[list]:
    """Spec: rows of cells, each with one cell per column of ``header``, as lists."""
    rows = sequence(sequence(_cell, min_length=0), min_length=0)(rows, name, arguments)
    width = len(arguments["header"])
    if any(len(r) != width for r in rows):
        raise ValueError(f"{name} must each have {width} cells (one per header), got "
                         f"{[len(r) for r in rows]}")
    return [list(r) for r in rows]


@checked(header=sequence(_cell), rows=_rows_of_header)
def markdown_table(header, rows) -> str:
    """A Markdown table: ``header`` (column titles) and ``rows`` (lists of cells, already
    formatted as strings or numbers). Numbers right-aligned, text left-aligned; a ``|`` in a cell
    (``H(X|Y)``) is escaped."""
    header = [str(h) for h in header]
    numeric = [all(isinstance(r[k], (int, float)) and not isinstance(r[k], bool) for r in rows)
               and rows for k in range(len(header))]
    align = ["---:" if n else "---" for n in numeric]
    def cell(value) -> str:  # a "|" inside a cell would end it
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(map(cell, r)) + " |" for r in rows]
    return "\n".join(lines)
