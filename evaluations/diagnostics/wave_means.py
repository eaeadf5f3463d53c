"""Group means by wave: the table a methodologist reads first, before any estimator.

For each outcome, each survey wave and each group (programme, comparison): how many answered the
question at that wave and their average answer, from the analysis panel (outcomes oriented so that
higher is better, a yes/no question as a percentage; survey weights applied where the design has
them). It describes the data; it estimates nothing. The rows are raw here: disclosure control
(evaluations/disclosure.py: `group_means_rows`, and the record's count families) decides what is
published.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.registry import Manifest


def _mean(values: pd.Series, weights: pd.Series | None) -> float | None:
    if values.empty:
        return None
    if weights is None:
        return float(values.mean())
    w = weights.loc[values.index]
    return float(np.average(values, weights=w)) if w.sum() > 0 else None


def _smallest_category(values: pd.Series, binary: bool) -> int | None:
    """For a yes/no question, the fewer of the yes and no answers (the mean times n would count them)."""
    if not binary or values.empty:
        return None
    yes = int((values > 0).sum())
    return min(yes, len(values) - yes)


def wave_means(panel: pd.DataFrame, manifest: Manifest, binary: set[str] | None = None) -> list[dict]:
    """One row per outcome and wave (in wave order): mean and n answering in each group.

    `binary`: the outcome columns that are yes/no questions (scaled 0/100 in the panel). A design
    with no comparison group has n_comparison 0 and no comparison mean."""
    binary = binary or set()
    weights = panel["weight"] if "weight" in panel.columns else None
    labels = list(manifest.design.wave_labels)
    rows = []
    for o in manifest.outcomes:
        answered = panel[panel[o.column].notna()]
        for period, wave in enumerate(labels, start=1):
            at = answered[answered["period"] == period]
            row = {"outcome": o.column, "wave": str(wave), "period": period}
            smallest = []
            for group, flag in (("treated", 1), ("comparison", 0)):
                values = at.loc[at["treated"] == flag, o.column]
                row[f"mean_{group}"] = _mean(values, weights)
                row[f"n_{group}"] = int(values.index.size)
                s = _smallest_category(values, o.column in binary)
                if s is not None and values.size:
                    smallest.append(s)
            row["smallest_category"] = min(smallest) if smallest else None
            rows.append(row)
    return rows


def published_wave_means(panel: pd.DataFrame, manifest: Manifest, measures) -> list[dict]:
    """`wave_means` with the yes/no questions found from the measures (the bank's, or the charity's own)."""
    from evaluations.measures import outcome_measures

    resolved = outcome_measures(manifest, measures)
    binary = {o.column for o in manifest.outcomes if resolved[o.column].response_type == "binary"}
    return wave_means(panel, manifest, binary)
