"""Property fuzz of dlcourse's argument validation.

For every function and constructor in ``tests/api_cases.py`` (a valid baseline call each), every
argument is replaced in turn by every kind of bad value listed for it, the call is made, and the
outcome is classified:

* ``named``       ValueError whose message names the argument (the goal)
* ``unnamed``     ValueError that does not name it
* ``other:<Exc>`` any other exception (usually deep inside torch)
* ``silent-nan``  a result came back and it holds NaN
* ``silent``      a result came back

Usage, from the repository root: ``python -m tools.fuzz_api [--json out.json] [--details]``. Exit status 1 when any invalid
call is not a ``named`` ValueError, or a baseline call fails.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import torch

from tests.api_cases import CASES, bad_value, kind_label, names_arg

CLASSES = ("named", "unnamed", "other", "silent-nan", "silent")


def _has_nan(result) -> bool:
    if torch.is_tensor(result):
        return result.is_floating_point() and bool(torch.isnan(result).any())
    if isinstance(result, float):
        return math.isnan(result)
    if isinstance(result, (tuple, list)):
        return any(_has_nan(r) for r in result)
    if isinstance(result, dict):
        return any(_has_nan(r) for r in result.values())
    return False


def classify(case, arg, kind) -> tuple[str, str]:
    """Run one invalid call: ``(outcome class, detail)``."""
    kwargs = case.kwargs()
    kwargs[arg] = bad_value(kind, kwargs.get(arg))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = case.call(**kwargs)
    except ValueError as error:
        message = str(error)
        return ("named" if names_arg(message, arg) else "unnamed"), message[:160]
    except Exception as error:  # noqa: BLE001 - classifying every failure is the point
        return "other", f"{type(error).__name__}: {str(error)[:140]}"
    return ("silent-nan" if _has_nan(result) else "silent"), ""


def check_baselines() -> list[str]:
    failures = []
    for case in CASES:
        try:
            case.call(**case.kwargs())
        except Exception as error:  # noqa: BLE001
            failures.append(f"{case.name}: {type(error).__name__}: {error}")
    return failures


def run() -> list[dict]:
    rows = []
    for case in CASES:
        for arg, kind in case.invalid_calls():
            outcome, detail = classify(case, arg, kind)
            rows.append({"case": case.name, "module": case.name.split(".")[0], "arg": arg,
                         "kind": kind_label(kind), "outcome": outcome, "detail": detail})
    return rows


def summary(rows: list[dict]) -> str:
    total = len(rows)
    counts = Counter(r["outcome"] for r in rows)
    lines = [f"{total} invalid calls over {len(CASES)} functions/constructors", "",
             f"{'outcome':<12}{'count':>7}{'%':>8}"]
    for c in CLASSES:
        lines.append(f"{c:<12}{counts[c]:>7}{100 * counts[c] / max(total, 1):>7.1f}%")
    others = Counter(r["detail"].split(":")[0] for r in rows if r["outcome"] == "other")
    if others:
        lines.append("  other = " + ", ".join(f"{k} {v}" for k, v in others.most_common()))
    lines += ["", f"{'module':<14}{'calls':>6}" + "".join(f"{c:>11}" for c in CLASSES)]
    by_module = defaultdict(Counter)
    for r in rows:
        by_module[r["module"]][r["outcome"]] += 1
    for module, c in sorted(by_module.items()):
        lines.append(f"{module:<14}{sum(c.values()):>6}" + "".join(f"{c[k]:>11}" for k in CLASSES))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every call and its outcome here")
    parser.add_argument("--details", action="store_true", help="list every call that is not 'named'")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    broken = check_baselines()
    for line in broken:
        print("BASELINE FAILS:", line)
    rows = run()
    print(summary(rows))
    if args.details:
        print()
        for r in rows:
            if r["outcome"] != "named":
                print(f"{r['outcome']:<11} {r['case']}({r['arg']}={r['kind']}) {r['detail']}")
    if args.json:
        args.json.write_text(json.dumps({"baseline_failures": broken, "calls": rows}, indent=1))
    return int(bool(broken) or any(r["outcome"] != "named" for r in rows))


if __name__ == "__main__":
    sys.exit(main())
