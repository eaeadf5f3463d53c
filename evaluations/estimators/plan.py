"""Pick the estimators an evaluation's design calls for and run them on its panel.

Defaults by design (what a methodologist would reach for first):
- rct: difference-in-differences on the two waves (equivalent to a change-score analysis);
- did / matched_did with two waves: regression DiD on each person's change, adjusting for
  the covariates, cluster-robust when a cluster is named;
- did with a staggered roll-out: Callaway-Sant'Anna group-time effects, never-treated comparison;
- effect modifiers: group average effects per level with a test of heterogeneity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evaluations.estimators.did import HeterogeneityTest, did_two_period, subgroup_effects
from evaluations.estimators.result import EffectEstimate
from evaluations.estimators.staggered import StaggeredResult, staggered_effect
from evaluations.intake.panel import two_period_wide
from evaluations.measures import Measure
from evaluations.registry import Manifest


@dataclass
class Impacts:
    estimates: list[EffectEstimate] = field(default_factory=list)
    subgroups: list[EffectEstimate] = field(default_factory=list)
    heterogeneity: list[tuple[str, HeterogeneityTest]] = field(default_factory=list)  # (outcome, test)
    staggered: dict[str, StaggeredResult] = field(default_factory=dict)  # outcome -> group-time detail

    def estimates_table(self) -> pd.DataFrame:
        return pd.DataFrame([e.as_row() for e in self.estimates + self.subgroups])


def estimate_impacts(panel: pd.DataFrame, manifest: Manifest, measures: dict[str, Measure]) -> Impacts:
    d = manifest.design
    out = Impacts()
    clustered = d.cluster is not None
    for o in manifest.outcomes:
        units = measures[o.measure].units
        if d.staggered:
            est, detail = staggered_effect(panel, outcome=o.column, unit="unit", time="period",
                                           first_treated="first_treated",
                                           cluster="cluster" if clustered else None, units=units)
            out.estimates.append(est)
            out.staggered[o.column] = detail
            continue
        wide = two_period_wide(panel, o.column, manifest)
        out.estimates.append(did_two_period(wide, outcome=o.column, covariates=d.covariates, cluster=clustered,
                                            units=units))
        for modifier in d.effect_modifiers:
            subs, test = subgroup_effects(wide, outcome=o.column, modifier=modifier, covariates=d.covariates,
                                          cluster=clustered, units=units)
            out.subgroups.extend(subs)
            if test:
                out.heterogeneity.append((o.column, test))
    return out
