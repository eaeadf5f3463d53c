"""Pick the estimators an evaluation's design calls for and run them on its panel.

Defaults by design (what a methodologist would reach for first):
- rct: ANCOVA of the follow-up score on the baseline score and covariates (robust, or
  cluster-robust with t on G-1 df), estimand ATE; a plain difference in means when no one
  has a baseline score. The difference in means is also kept as a sensitivity row;
- did with two waves: regression DiD on each person's change, adjusting for the covariates,
  cluster-robust when a cluster is named;
- matched_did: doubly robust DiD (Sant'Anna & Zhao 2020): comparison people re-weighted by
  propensity score to resemble participants, plus an outcome regression, on each person's
  change; seeded bootstrap standard errors (resampling whole clusters when a cluster is named);
- matching (a comparison group observed after the programme only): propensity-score
  nearest-neighbour matching on the covariates for the ATT of the follow-up outcome, with
  Abadie-Imbens standard errors (1:1, caliper 0.2 SD, with replacement unless the manifest's
  design.matching says otherwise);
- did with a staggered roll-out: Callaway-Sant'Anna group-time effects, never-treated comparison;
- design.estimator in the manifest overrides these defaults (did, doubly_robust_did, ancova,
  difference_in_means, ps_matching, ipw, doubly_robust);
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
  while LinearDML with boosting nuisances is not, though its intervals run a little narrow
  (90-94%); the forest's doubly robust GATEs are valid but over-cover (97-99%) with
  intervals 60-67% wider, so they are kept as a cross-check.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from evaluations.estimators.did import HeterogeneityTest, did_two_period, doubly_robust_did, subgroup_effects
from evaluations.estimators.heterogeneity import SMALL_SAMPLE, group_average_effects
from evaluations.estimators.rct import ancova, difference_in_means
from evaluations.estimators.result import EffectEstimate
from evaluations.estimators.staggered import StaggeredResult, staggered_effect
from evaluations.intake.panel import two_period_wide
from evaluations.measures import Measure
from evaluations.registry import SELECTION_ON_OBSERVABLES, Estimator, Manifest


TABLE_COLUMNS = ["outcome", "kind", "subgroup", "estimand", "estimator", "estimate", "std_error", "ci_low",
                 "ci_high", "p_value", "statistic", "df", "n_treated", "n_comparison", "effect_size",
                 "effect_size_ci_low", "effect_size_ci_high", "units", "n_clusters", "assumptions"]


# The estimators fitted through estimators.matching (DoWhy), by the method name it takes; the
# doubly robust DiD is its doubly robust ATT of each person's change.
DOWHY_METHOD = {Estimator.ps_matching: "matching", Estimator.ipw: "ipw", Estimator.doubly_robust: "doubly_robust",
                Estimator.doubly_robust_did: "doubly_robust"}
FOREST_CHECK_MAX = 100_000  # people: the unpublished forest cross-check runs on a subsample above this


@dataclass
class Impacts:
    estimates: list[EffectEstimate] = field(default_factory=list)
    subgroups: list[EffectEstimate] = field(default_factory=list)  # published: EconML group average effects
    heterogeneity: list[tuple[str, HeterogeneityTest]] = field(default_factory=list)  # (outcome, test)
    staggered: dict[str, StaggeredResult] = field(default_factory=dict)  # outcome -> group-time detail
    subgroup_checks: list[EffectEstimate] = field(default_factory=list)  # subgroup DiD per level
    heterogeneity_checks: list[tuple[str, HeterogeneityTest]] = field(default_factory=list)  # DiD interaction test
    sensitivity: list[EffectEstimate] = field(default_factory=list)  # e.g. the trial's difference in means
    skipped_subgroups: list[tuple[str, str, str]] = field(default_factory=list)  # (outcome, modifier, level)

    def to_table(self) -> pd.DataFrame:
        """One tidy table (like broom's): effects, subgroup effects, event-time effects and tests.

        `kind` says what a row is: overall, subgroup, event_time, group_time, heterogeneity_test,
        pre_trend_test; and rows that are not published: subgroup_check and heterogeneity_check
        (the DiD cross-check of the EconML subgroup rows), sensitivity (another estimator of an
        overall effect) and subgroup_skipped (a level with fewer than 10 people in a group, no
        numbers). Tests carry statistic, df, p_value and the test's name in `estimator`;
        effects carry the rest.
        """
        rows = [{**e.as_row(), "kind": "overall"} for e in self.estimates]
        rows += [{**e.as_row(), "kind": "subgroup"} for e in self.subgroups]
        rows += [{**e.as_row(), "kind": "subgroup_check"} for e in self.subgroup_checks]
        rows += [{**e.as_row(), "kind": "sensitivity"} for e in self.sensitivity]
        for kind, tests in (("heterogeneity_test", self.heterogeneity), ("heterogeneity_check", self.heterogeneity_checks)):
            for outcome, test in tests:
                rows.append({"outcome": outcome, "kind": kind, "subgroup": test.modifier, "estimator": test.method,
                             "statistic": test.statistic, "df": test.df, "p_value": test.p_value})
        for outcome, modifier, level in self.skipped_subgroups:
            rows.append({"outcome": outcome, "kind": "subgroup_skipped", "subgroup": f"{modifier}={level}",
                         "estimator": "not estimated: fewer than 10 people in a group"})
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
        chosen = d.analysis_estimator
        if chosen in (Estimator.ancova, Estimator.difference_in_means):
            trial = follow_up_wide(panel, o.column, manifest)
            if chosen == Estimator.ancova and trial["y0"].notna().any():
                out.estimates.append(ancova(trial, outcome=o.column, covariates=d.covariates, cluster=clustered,
                                            units=units))
                out.sensitivity.append(difference_in_means(trial, outcome=o.column, cluster=clustered, units=units))
            else:
                out.estimates.append(difference_in_means(trial, outcome=o.column, cluster=clustered, units=units))
        elif chosen in SELECTION_ON_OBSERVABLES:
            out.estimates.append(selection_on_observables(panel, o.column, manifest, units))
        elif chosen == Estimator.doubly_robust_did:
            out.estimates.append(doubly_robust_did(wide, outcome=o.column, covariates=d.covariates, seed=manifest.seed,
                                                   units=units, cluster=clustered))
        else:
            out.estimates.append(did_two_period(wide, outcome=o.column, covariates=d.covariates,
                                                cluster=clustered, units=units))
        if not d.effect_modifiers:
            continue
        for result in group_average_effects(wide, outcome=o.column, modifiers=d.effect_modifiers,
                                            covariates=d.covariates, cluster=clustered, seed=manifest.seed,
                                            units=units):
            out.subgroups.extend(result.gates)
            if result.test:
                out.heterogeneity.append((o.column, result.test))
            out.skipped_subgroups += [(o.column, result.modifier, level) for level in result.skipped_levels]
        for modifier in d.effect_modifiers:
            subs, test = subgroup_effects(wide, outcome=o.column, modifier=modifier, covariates=d.covariates,
                                          cluster=clustered, units=units)
            out.subgroup_checks.extend(subs)
            if test:
                out.heterogeneity_checks.append((o.column, test))
        if len(wide) >= SMALL_SAMPLE:
            checked, note = wide, ""
            if len(wide) > FOREST_CHECK_MAX:  # the forest took over 300 s at a million people (benchmarks/)
                checked = wide.sample(n=FOREST_CHECK_MAX, random_state=manifest.seed)
                note = f"; on a random subsample of {FOREST_CHECK_MAX:,} people"
            for result in group_average_effects(checked, outcome=o.column, modifiers=d.effect_modifiers,
                                                covariates=d.covariates, cluster=clustered, seed=manifest.seed,
                                                units=units, method="forest"):
                out.subgroup_checks += [dataclasses.replace(g, estimator=g.estimator + note) for g in result.gates]
                if result.test:
                    out.heterogeneity_checks.append((o.column, result.test))
    return out


def selection_on_observables(panel: pd.DataFrame, outcome: str, manifest: Manifest, units: str) -> EffectEstimate:
    """The ATT on the follow-up outcome by matching, IPW or doubly robust AIPW (through DoWhy).

    For an after-only comparison (the `matching` design): everyone followed up, compared on
    the covariates. The matching options (k, caliper, replacement) come from the manifest.
    """
    from evaluations.estimators.matching import estimate_att  # DoWhy is slow to import; only this path needs it

    d = manifest.design
    data = follow_up_wide(panel, outcome, manifest)
    est = estimate_att(data, outcome="y1", treatment="treated", covariates=list(d.covariates),
                       method=DOWHY_METHOD[d.analysis_estimator],
                       k=d.matching.k, caliper=d.matching.caliper, replace=d.matching.replace, seed=manifest.seed,
                       units=units, cluster="cluster" if d.cluster else None)
    return dataclasses.replace(est, outcome=outcome)


def follow_up_wide(panel: pd.DataFrame, outcome: str, manifest: Manifest) -> pd.DataFrame:
    """One row per person with a follow-up answer: y1, and y0 where they answered at baseline (else NaN).

    A trial analyses everyone followed up, not only complete pairs; covariates come from the
    baseline row where there is one, else from the follow-up row.
    """
    d = manifest.design
    base, follow = 1, len(d.wave_labels)
    keep = ["treated"] + [c for c in ("cluster",) if c in panel.columns] + list(
        dict.fromkeys(list(d.covariates) + list(d.effect_modifiers)))
    first = panel[panel["period"] == base].drop_duplicates("unit").set_index("unit")
    last = panel[(panel["period"] == follow) & panel[outcome].notna()].drop_duplicates("unit").set_index("unit")
    wide = last[keep].copy()
    wide.update(first[keep].reindex(wide.index), overwrite=True)
    wide["y0"] = first[outcome].reindex(wide.index)
    wide["y1"] = last[outcome]
    return wide.reset_index()
