"""The change in the share of people giving an outcome's positive answers: an effect a reader can picture.

"11 more in every 100 participants agree that people from different backgrounds get on well" is
the design's own estimate on the outcome dichotomised at the measure's positive answers
(`positive_answers` in the measure bank, or in a charity's own measure): the same sample,
estimator, covariates, clusters and weights as the headline effect, read in percentage points.
It goes through the design object, so every design gets it without a branch on its type. Effects
by group are not repeated for it (the page pictures the overall effect only).

Beside it, the share giving the positive answers in the reference group (the comparison group
at the last wave; with no comparison group, participants at the first wave), so the page can say
where that group sits against the national figure of the same question where the bank records one.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluations.measure_model import MeasureCore

SHARE_UNITS = "percentage points"


@dataclass(frozen=True)
class ReferenceShare:
    outcome: str
    group: str  # "comparison" or "participants at baseline"
    percent: float  # 0-100
    positive: int  # people giving a positive answer
    answered: int  # people answering


def share_effects(panel: pd.DataFrame, manifest, measures: dict[str, MeasureCore], out) -> None:
    """Append each outcome's change in the positive share to out.shares, and its reference share to
    out.reference_shares, for every outcome whose measure names its positive answers."""
    from evaluations.designs import design_of
    from evaluations.estimators.plan import Impacts

    design = design_of(manifest.design)
    overall_only = manifest.model_copy(update={"design": manifest.design.model_copy(update={"declared_modifiers": []})})
    for o in manifest.outcomes:
        m = measures[o.column]
        if not m.positive_answers:
            continue
        dichotomised = panel.copy()
        dichotomised[o.column] = m.positive_share(panel[o.column])
        scratch = Impacts()
        design.estimate(dichotomised, o.column, overall_only, SHARE_UNITS, scratch)
        out.shares += [e for e in scratch.estimates if e.outcome == o.column][:1]
        ref = reference_share(dichotomised, o.column, design.has_comparison)
        if ref is not None:
            out.reference_shares.append(ref)


def reference_share(dichotomised: pd.DataFrame, outcome: str, has_comparison: bool) -> ReferenceShare | None:
    """The share (0-100) giving the positive answers in the comparison group at its last wave, or with no
    comparison group among participants at the first wave; None when no one in it answered."""
    rows = dichotomised[dichotomised["treated"] == 0] if has_comparison else dichotomised
    if rows.empty:
        return None
    wave = rows["period"].max() if has_comparison else rows["period"].min()
    answers = rows.loc[rows["period"] == wave, outcome].dropna()
    if answers.empty:
        return None
    positive = int((answers > 0).sum())
    return ReferenceShare(outcome=outcome, group="comparison" if has_comparison else "participants at baseline",
                          percent=100 * positive / len(answers), positive=positive, answered=len(answers))
