"""The analysis panel: validated rows in the shape every estimator takes.

Columns: unit, wave, period (1..K in wave order), treated (0/1), first_treated (period a
unit's site started, 0 = never; staggered designs only), cluster, covariates, effect
modifiers, and the outcomes oriented so that higher is better. Binary outcomes are scaled
0/100 so that effects read in percentage points.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.intake.values import describe_value
from evaluations.measures import Measure
from evaluations.registry import Manifest

NEVER = {"", "0", "never", "none", "not treated", "nan"}


def build_panel(valid: pd.DataFrame, manifest: Manifest, measures: dict[str, Measure]) -> pd.DataFrame:
    d = manifest.design
    period = {label: i + 1 for i, label in enumerate(d.wave_labels)}
    panel = pd.DataFrame({
        "unit": valid[d.unit_id].astype(str),
        "wave": valid[d.wave].astype(str),
        "period": valid[d.wave].map(period).astype(int),
        "treated": valid[d.treatment].astype(int),
    })
    if d.staggered:
        start = valid[d.first_treated].astype(str).str.strip()
        unknown = ~start.str.lower().isin(NEVER) & ~start.isin(period)
        if unknown.any():
            # validated upstream by the contract; a guard so a bad label never becomes "never treated"
            raise ValueError(f"'{d.first_treated}' holds {describe_value(start[unknown].iloc[0])}, not a wave label")
        panel["first_treated"] = start.map(period).fillna(0).astype(int)
    if d.cluster:
        panel["cluster"] = valid[d.cluster].astype(str)
    for col in d.covariates:
        panel[col] = valid[col].astype(float)
    for col in d.effect_modifiers:
        if col not in panel.columns:
            panel[col] = valid[col]
    for o in manifest.outcomes:
        m = measures[o.measure]
        values = m.orient(valid[o.column].astype(float))
        panel[o.column] = values * 100 if m.response_type == "binary" else values
    return panel.sort_values(["unit", "period"]).reset_index(drop=True)


def post_period(manifest: Manifest) -> int:
    return len(manifest.design.wave_labels)


def two_period_wide(panel: pd.DataFrame, outcome: str, manifest: Manifest) -> pd.DataFrame:
    """One row per unit with the outcome at baseline (y0) and follow-up (y1); complete pairs only."""
    d = manifest.design
    base, follow = 1, len(d.wave_labels)
    keep = ["unit", "treated"] + [c for c in ("cluster",) if c in panel.columns] + list(
        dict.fromkeys(list(d.covariates) + list(d.effect_modifiers)))
    first = panel[panel["period"] == base].set_index("unit")
    last = panel[panel["period"] == follow].set_index("unit")
    both = first.index.intersection(last.index)
    wide = first.loc[both, [c for c in keep if c != "unit"]].copy()
    wide["y0"] = first.loc[both, outcome]
    wide["y1"] = last.loc[both, outcome]
    wide = wide.dropna(subset=["y0", "y1"])
    return wide.reset_index()
