"""Run every outcome through its design's estimator and gather one tidy table.

Which estimator a design uses, and how it is called, is decided in the design's own module
(evaluations/designs/). The defaults (what a methodologist would reach for first):
- rct: ANCOVA of the follow-up score on the baseline score and covariates (robust, or
  cluster-robust with t on G-1 df), estimand ATE; a plain difference in means when no one
  has a baseline score. The difference in means is also kept as a sensitivity row;
- did with two waves: regression DiD on each person's change, adjusting for the covariates,
  cluster-robust when a cluster is named;
- matched_did: doubly robust DiD (Sant'Anna & Zhao 2020): comparison people re-weighted by
  propensity score to resemble participants, plus an outcome regression, on each person's
  change; seeded bootstrap standard errors (resampling whole clusters when a cluster is named);
- did / matched_did with `sample: repeated_cross_section` (different people each wave):
  regression DiD on group-by-wave means, or Sant'Anna & Zhao's doubly robust DiD for repeated
  cross-sections with its influence-function standard error;
- matching (a comparison group observed after the programme only): propensity-score
  nearest-neighbour matching on the covariates for the ATT of the follow-up outcome, with
  Abadie-Imbens standard errors (1:1, caliper 0.2 SD, with replacement unless the manifest's
  design.matching says otherwise);
- did with a staggered roll-out: Callaway-Sant'Anna group-time effects, doubly robust on the
  covariates, never-treated comparison; effect modifiers as group-time effects within each level;
- pre_post: the mean paired change (or the change between two cross-sections): change, not impact;
- design.estimator in the manifest overrides these defaults within what the design allows;
  survey weights (design.weights) reach every estimator that takes them (designs/base.py lists them);
- effect modifiers (two-period designs): EconML group average effects per level of each
  modifier with a test that they differ (heterogeneity.py): LinearDML, saturated in the
  modifier, with linear nuisance models below 2,000 people and gradient boosting from 2,000.
  These are the published subgroup rows (kind "subgroup", "heterogeneity_test"). Beside
  them, unpublished cross-checks (kind "subgroup_check", "heterogeneity_check"): subgroup
  DiD regressions per level with the DiD interaction Wald test, and from 2,000 people the
  CausalForestDML's doubly robust group averages with their Wald test.
  Why these are published (benchmarks/monte_carlo.py, 500 replications each; see
  benchmarks/README.md): with linear trends LinearDML GATEs and subgroup DiD agree (same
  RMSE, coverage 93-95%, test size 4%); when trends and selection are non-linear in the
  covariates, subgroup DiD and LinearDML with linear nuisances are biased (by about 0.31)
  while LinearDML with boosting nuisances is not (at 2,000 people, as the median of 5
  cross-fitting splits, estimators/heterogeneity.py: coverage 94.2-96.5% in 1,000 replications,
  test size 4.7%); the forest's doubly robust GATEs are valid but over-cover
  (97-99%) with intervals 60-67% wider, so they are kept as a cross-check.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evaluations.designs import design_of
from evaluations.designs.samples import follow_up_wide  # noqa: F401  (built there; kept importable here)
from evaluations.designs.staggered import TrendDriftBounds
from evaluations.designs.two_wave import DOWHY_METHOD, FOREST_CHECK_MAX  # noqa: F401  (decided there)
from evaluations.estimators import multiplicity
from evaluations.estimators.did import HeterogeneityTest
from evaluations.estimators.result import EffectEstimate
from evaluations.estimators.shares import ReferenceShare, share_effects
from evaluations.estimators.staggered import StaggeredResult
from evaluations.measures import Measure, outcome_measures
from evaluations.registry import Manifest


TABLE_COLUMNS = ["outcome", "kind", "subgroup", "estimand", "estimator", "estimate", "std_error", "ci_low",
                 "ci_high", "p_value", "statistic", "df", "n_treated", "n_comparison", "effect_size",
                 "effect_size_ci_low", "effect_size_ci_high", "units", "n_clusters", "assumptions",
                 "p_value_adjusted", "adjustment", "adjusted_for"]


@dataclass
class Impacts:
    estimates: list[EffectEstimate] = field(default_factory=list)
    subgroups: list[EffectEstimate] = field(default_factory=list)  # published: EconML group average effects
    heterogeneity: list[tuple[str, HeterogeneityTest]] = field(default_factory=list)  # (outcome, test)
    staggered: dict[str, StaggeredResult] = field(default_factory=dict)  # outcome -> group-time detail
    # staggered designs: relative-magnitudes bounds on each outcome's event study (designs/staggered.py)
    trend_drift: list[TrendDriftBounds] = field(default_factory=list)
    subgroup_checks: list[EffectEstimate] = field(default_factory=list)  # subgroup DiD per level
    heterogeneity_checks: list[tuple[str, HeterogeneityTest]] = field(default_factory=list)  # DiD interaction test
    sensitivity: list[EffectEstimate] = field(default_factory=list)  # e.g. the trial's difference in means
    skipped_subgroups: list[tuple[str, str, str]] = field(default_factory=list)  # (outcome, modifier, level)
    shares: list[EffectEstimate] = field(default_factory=list)  # change in the positive share (shares.py)
    reference_shares: list[ReferenceShare] = field(default_factory=list)  # where the reference group sits
    # overall estimates of secondary outcomes carry p_value_adjusted (multiplicity.adjust, in estimate_impacts)

    def to_table(self) -> pd.DataFrame:
        """One tidy table (like broom's): effects, subgroup effects, event-time effects and tests.

        `kind` says what a row is: overall, subgroup, event_time, cohort (by starting wave),
        calendar_time, group_time, heterogeneity_test, pre_trend_test, trend_drift (HonestDiD bounds: ci_low/ci_high
        the robust interval, statistic the breakdown Mbar; designs/staggered.py), share (an overall effect as the change
        in the share giving the positive answers), reference_share (that share in the comparison group:
        estimate in percent, statistic and n_comparison the people positive and answering); and rows that are not published: subgroup_check and heterogeneity_check
        (the DiD cross-check of the EconML subgroup rows), sensitivity (another estimator of an
        overall effect) and subgroup_skipped (a level with fewer than 10 people in a group, no
        numbers). Tests carry statistic, df, p_value and the test's name in `estimator`;
        effects carry the rest.
        """
        rows = [{**e.as_row(), "kind": "overall"} for e in self.estimates]
        rows += [{**e.as_row(), "kind": "subgroup"} for e in self.subgroups]
        rows += [{**e.as_row(), "kind": "subgroup_check"} for e in self.subgroup_checks]
        rows += [{**e.as_row(), "kind": "sensitivity"} for e in self.sensitivity]
        rows += [{**e.as_row(), "kind": "share"} for e in self.shares]
        # the reference group's positive share: estimate in percent, statistic the people giving a positive
        # answer, n_comparison those answering (disclosure control reads both counts)
        rows += [{"outcome": r.outcome, "kind": "reference_share", "subgroup": r.group, "estimate": r.percent,
                  "statistic": r.positive, "n_comparison": r.answered} for r in self.reference_shares]
        for kind, tests in (("heterogeneity_test", self.heterogeneity), ("heterogeneity_check", self.heterogeneity_checks)):
            for outcome, test in tests:
                rows.append({"outcome": outcome, "kind": kind, "subgroup": test.modifier, "estimator": test.method,
                             "statistic": test.statistic, "df": test.df, "p_value": test.p_value})
        for outcome, modifier, level in self.skipped_subgroups:
            rows.append({"outcome": outcome, "kind": "subgroup_skipped", "subgroup": f"{modifier}={level}",
                         "estimator": "not estimated: fewer than 10 people in a group"})
        for outcome, detail in self.staggered.items():
            for kind, aggregates, prefix in (("event_time", detail.by_event_time, "e="),
                                             ("cohort", detail.by_group, "g="),
                                             ("calendar_time", detail.by_calendar_time, "t=")):
                rows += [{"outcome": outcome, "kind": kind, "subgroup": a.label, "estimate": a.estimate,
                          "std_error": a.std_error, "ci_low": a.ci_low, "ci_high": a.ci_high}
                         for a in aggregates if a.label.startswith(prefix)]
            for c in detail.group_time:
                rows.append({"outcome": outcome, "kind": "group_time", "subgroup": f"g={c.group},t={c.time}",
                             "estimate": c.att, "std_error": c.std_error, "ci_low": c.ci_low, "ci_high": c.ci_high,
                             "n_treated": c.n_group, "n_comparison": c.n_control})
            if detail.pre_trend_test is not None:
                t = detail.pre_trend_test
                rows.append({"outcome": outcome, "kind": "pre_trend_test", "subgroup": "all",
                             "statistic": t.statistic, "df": t.df, "p_value": t.p_value})
        rows += [b.as_row() for b in self.trend_drift]
        return pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)


def estimate_impacts(panel: pd.DataFrame, manifest: Manifest, measures: dict[str, Measure]) -> Impacts:
    """Every outcome's effects by its design's estimator (evaluations/designs/ decides which and how)."""
    design = design_of(manifest.design)
    resolved = outcome_measures(manifest, measures)  # the bank's, or the charity's own
    out = Impacts()
    for o in manifest.outcomes:
        design.estimate(panel, o.column, manifest, resolved[o.column].units, out)
    # the primary outcome is tested alone; the secondary ones together (multiplicity.py says how and why)
    out.estimates = multiplicity.adjust(out.estimates, [o.column for o in manifest.primary_outcomes], manifest.seed)
    share_effects(panel, manifest, resolved, out)  # the same effects as changes in the positive share
    return out
