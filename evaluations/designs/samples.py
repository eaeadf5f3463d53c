"""The analysis samples, built once per outcome from the analysis panel (evaluations/intake/panel.py).

Each is one row per person (or place) analysed, in the columns the estimator kernels take:
- `two_period_wide`: y0 and y1 for units answering both waves (change-score estimators);
- `follow_up_wide`: everyone followed up, y1 and y0 where they answered at baseline;
- `cross_sections`: every answer at baseline or follow-up, with `post` (different people each wave);
- the long panel itself for staggered roll-outs.
Covariates, effect modifiers, cluster and weight travel with each row. A categorical covariate travels as
the 0/1 indicator of each of its levels (encoded once, in the analysis panel: evaluations/covariates.py), so
every estimator is given numbers (`design.covariates`, every level but the reference) and balance can show
each level (`design.balance_covariates`).
"""
from __future__ import annotations

import pandas as pd

from evaluations.registry import Manifest

CARRIED = ("cluster", "weight", "people")  # optional panel columns every sample keeps


def _kept(panel: pd.DataFrame, manifest: Manifest) -> list[str]:
    d = manifest.design
    return ["treated"] + [c for c in CARRIED if c in panel.columns] + list(
        dict.fromkeys(d.balance_covariates + list(d.effect_modifiers)))


def two_period_wide(panel: pd.DataFrame, outcome: str, manifest: Manifest) -> pd.DataFrame:
    """One row per unit with the outcome at baseline (y0) and follow-up (y1); complete pairs only.

    Characteristics (and the weight) are the baseline row's."""
    follow = len(manifest.design.wave_labels)
    keep = _kept(panel, manifest)
    first = panel[panel["period"] == 1].set_index("unit")
    last = panel[panel["period"] == follow].set_index("unit")
    both = first.index.intersection(last.index)
    wide = first.loc[both, keep].copy()
    wide["y0"] = first.loc[both, outcome]
    wide["y1"] = last.loc[both, outcome]
    wide = wide.dropna(subset=["y0", "y1"])
    return wide.reset_index()


def follow_up_wide(panel: pd.DataFrame, outcome: str, manifest: Manifest) -> pd.DataFrame:
    """One row per unit with a follow-up answer: y1, and y0 where they answered at baseline (else NaN).

    A trial analyses everyone followed up, not only complete pairs; characteristics come from the
    baseline row where there is one, else from the follow-up row.
    """
    follow = len(manifest.design.wave_labels)
    keep = _kept(panel, manifest)
    first = panel[panel["period"] == 1].drop_duplicates("unit").set_index("unit")
    last = panel[(panel["period"] == follow) & panel[outcome].notna()].drop_duplicates("unit").set_index("unit")
    wide = last[keep].copy()
    wide.update(first[keep].reindex(wide.index), overwrite=True)
    wide["y0"] = first[outcome].reindex(wide.index)
    wide["y1"] = last[outcome]
    return wide.reset_index()


def cross_sections(panel: pd.DataFrame, outcome: str, manifest: Manifest) -> pd.DataFrame:
    """Every answer at baseline (post 0) or follow-up (post 1) with the outcome, one row per answer:
    the people of one wave are not the people of the other, so nothing is linked."""
    follow = len(manifest.design.wave_labels)
    rows = panel[panel["period"].isin([1, follow]) & panel[outcome].notna()]
    out = rows[["unit"] + _kept(panel, manifest)].copy()
    out["post"] = (rows["period"] == follow).astype(int).to_numpy()
    out["y"] = rows[outcome].to_numpy()
    return out.reset_index(drop=True)


def baseline_rows(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per unit at the first wave (with y0 = y1 = nothing to compare): the people a
    staggered roll-out's characteristics are described on."""
    return panel[panel["period"] == 1].drop_duplicates("unit").reset_index(drop=True)
