"""Statistical disclosure control of every published number.

Rules (as in the UK Data Service / ONS output-checking practice for safe outputs):
- a count, mean, percentage or estimate from fewer than THRESHOLD people is suppressed;
- where a suppressed count could be worked out from a published total and its other
  cells, the next smallest cell is suppressed too (secondary suppression);
- no row-level data is ever published.
Suppressed values are replaced by None and the reason is kept next to them.

Why not ACRO (AI-SDC's output checker) at run time: for frequency tables its rule is this
threshold rule (it suppresses the same cells; tests/test_disclosure.py checks them side by
side), and its strength, a log of outputs for a human checker in a trusted research
environment, is not the publishing step here. The published numbers are model estimates
with their group sizes, which the threshold on n per group covers.
"""
from __future__ import annotations

import math

import pandas as pd

THRESHOLD = 10
SUPPRESSED = "fewer than 10"
ESTIMATE_FIELDS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size",
                   "effect_size_ci_low", "effect_size_ci_high")


def count(n: int | float | None) -> int | str | None:
    """A published count: exact from THRESHOLD up, zero is not a person, else suppressed."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    n = int(n)
    return n if n == 0 or n >= THRESHOLD else SUPPRESSED


def suppress_estimates(table: pd.DataFrame) -> pd.DataFrame:
    """Blank every estimate resting on fewer than THRESHOLD people in either group."""
    out = table.copy()
    out["suppressed"] = (out["n_treated"] < THRESHOLD) | ((out["n_comparison"] < THRESHOLD) & (out["n_comparison"] > 0))
    out["suppression_reason"] = out["suppressed"].map(
        {True: f"Not shown: based on {SUPPRESSED} people in a group.", False: ""})
    for col in ESTIMATE_FIELDS:
        if col in out.columns:
            out[col] = out[col].astype(object).where(~out["suppressed"], None)
    for col in ("n_treated", "n_comparison"):
        out[col] = out[col].map(count).astype(object)
    return out


def suppress_cells(cells: dict[str, int], total: int | None = None) -> dict[str, int | str]:
    """Primary and secondary suppression of counts that add up to a published total."""
    shown: dict[str, int | str] = {k: count(v) for k, v in cells.items()}
    hidden = [k for k, v in shown.items() if v == SUPPRESSED]
    if total is not None and len(hidden) == 1:
        # One hidden cell next to a total could be recovered by subtraction: hide the next smallest.
        others = sorted((v, k) for k, v in cells.items() if k not in hidden and v > 0)
        if others:
            shown[others[0][1]] = SUPPRESSED
    return shown


def check_no_small_numbers(record: dict, path: str = "") -> list[str]:
    """Find any count field below THRESHOLD left in a record (a guard run before publishing)."""
    problems = []
    if isinstance(record, dict):
        for k, v in record.items():
            where = f"{path}.{k}" if path else k
            if k.startswith("n_") or k in {"baseline", "follow_up", "both", "analysed", "read", "quarantined"}:
                if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < THRESHOLD:
                    problems.append(f"{where} = {v}")
            problems += check_no_small_numbers(v, where)
    elif isinstance(record, list):
        for i, v in enumerate(record):
            problems += check_no_small_numbers(v, f"{path}[{i}]")
    return problems
