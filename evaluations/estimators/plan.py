"""Pick the estimators an evaluation's design calls for and run them on its panel.

Defaults by design (what a methodologist would reach for first):
- rct: difference-in-differences on the two waves (equivalent to a change-score analysis);
- did with two waves: regression DiD on each person's change, adjusting for the covariates,
  cluster-robust when a cluster is named;
- matched_did: doubly robust DiD (Sant'Anna & Zhao 2020): comparison people re-weighted by
  propensity score to resemble participants, plus an outcome regression, on each person's
  change; seeded bootstrap standard errors;
- did with a staggered roll-out: Callaway-Sant'Anna group-time effects, never-treated comparison;
- effect modifiers: group average effects per level with a test of heterogeneity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evaluations.estimators.did import HeterogeneityTest, did_two_period, doubly_robust_did, subgroup_effects
from evaluations.estimators.result import EffectEstimate
from evaluations.estimators.staggered import StaggeredResult, staggered_effect
from evaluations.intake.panel import two_period_wide
from evaluations.measures import Measure
from evaluations.registry import DesignType, Manifest


TABLE_COLUMNS = ["outcome", "kind", "subgroup", "estimand", "estimator", "estimate", "std_error", "ci_low",
                 "ci_high", "p_value", "statistic", "df", "n_treated", "n_comparison", "effect_size",
                 "effect_size_ci_low", "effect_size_ci_high", "units", "n_clusters", "assumptions"]


@dataclass
class Impacts:
    estimates: list[EffectEstimate] = field(default_factory=list)
    subgroups: list[EffectEstimate] = field(default_factory=list)
    heterogeneity: list[tuple[str, HeterogeneityTest]] = field(default_factory=list)  # (outcome, test)
    staggered: dict[str, StaggeredResult] = field(default_factory=dict)  # outcome -> group-time detail

    def to_table(self) -> pd.DataFrame:
        """One tidy table (like broom's): effects, subgroup effects, event-time effects and tests.

        `kind` says what a row is: overall, subgroup, event_time, group_time, heterogeneity_test
        or pre_trend_test. Tests carry statistic, df and p_value; effects carry the rest.
        """
        rows = [{**e.as_row(), "kind": "overall"} for e in self.estimates]
        rows += [{**e.as_row(), "kind": "subgroup"} for e in self.subgroups]
        for outcome, test in self.heterogeneity:
            rows.append({"outcome": outcome, "kind": "heterogeneity_test", "subgroup": test.modifier,
                         "statistic": test.statistic, "df": test.df, "p_value": test.p_value})
        for outcome, detail in self.staggered.items():
            for a in detail.by_event_time:
                if a.label.startswith("e="):
                    rows.append({"outcome": outcome, "kind": "event_time", "subgroup": a.label, "estimate": a.estimate,
                                 "std_error": a.std_error, "ci_low": a.ci_low, "ci_high": a.ci_high})
            for c in detail.group_time:
                rows.append({"outcome": outcome, "kind": "group_time", "subgroup": f"g={c.group},t={c.time}",
                             "estimate": c.att, "std_error": c.std_error, "ci_low": c.ci_low, "ci_high": c.ci_high,
                             "n_treated": c.n_group, "n_comparison": c.n_control})
            if detail.pre_trend_test is not None:
                t = detail.pre_trend_test
                rows.append({"outcome": outcome, "kind": "pre_trend_test", "subgroup": "all",
                             "statistic": t.statistic, "df": t.df, "p_value": t.p_value})
        return pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)


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
        if d.type == DesignType.matched_did:
            out.estimates.append(doubly_robust_did(wide, outcome=o.column, covariates=d.covariates, seed=manifest.seed,
                                             units=units))
        else:
            out.estimates.append(did_two_period(wide, outcome=o.column, covariates=d.covariates,
                                                cluster=clustered, units=units))
        for modifier in d.effect_modifiers:
            subs, test = subgroup_effects(wide, outcome=o.column, modifier=modifier, covariates=d.covariates,
                                          cluster=clustered, units=units)
            out.subgroups.extend(subs)
            if test:
                out.heterogeneity.append((o.column, test))
    return out
