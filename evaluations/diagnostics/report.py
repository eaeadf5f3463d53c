"""Every diagnostic of one evaluation, for the rating and the page: the evidence on whether to believe an estimate."""
from __future__ import annotations

import math

import pandas as pd

from evaluations.diagnostics import attrition_boundary, equivalence, lee_bounds, response_weighting
from evaluations.diagnostics.attrition import attrition
from evaluations.diagnostics.balance import att_odds_weights, balance_before_after, standardised_mean_differences
from evaluations.diagnostics.overlap import overlap as propensity_overlap
from evaluations.diagnostics.power import achieved_mdes
from evaluations.diagnostics.refutation import failed as failed_refutations
from evaluations.diagnostics.refutation import refutations
from evaluations.designs import design_of
from evaluations.record_model.diagnostics import Diagnostics
from evaluations.record_model.values import clean
from evaluations.registry import Manifest


def run_diagnostics(panel: pd.DataFrame, manifest: Manifest, estimates: pd.DataFrame) -> Diagnostics:
    """See `_diagnostics`; counts published from here (overlap) count the evaluation's units."""
    from evaluations import disclosure

    with disclosure.counting(manifest.design.units.value):
        return Diagnostics.model_validate(clean(_diagnostics(panel, manifest, estimates)))


def _diagnostics(panel: pd.DataFrame, manifest: Manifest, estimates: pd.DataFrame) -> dict:
    """Everything the rating and the page need (run_diagnostics types it as `Diagnostics`).

    `estimates` is the tidy table from `Impacts.to_table()`.

    Besides balance at baseline, attrition, clusters, MDES and the tests, it reports:
    `overlap` (propensity-score histogram safe to publish, people outside common support,
    Crump trimming counts, and whether overlap is `limited`), `balance_after` (love-plot
    data: SMDs before and after the estimator's weights, for re-weighting designs),
    `refutations` and `failed_refutations` (DoWhy's refuters of selection-on-observables
    estimates), the unpublished DiD cross-check of the subgroup analysis, and `hidden_bias`: each overall
    effect's sensitivity to unmeasured confounding (evaluations/sensitivity/hidden_bias.py).
    """
    d = manifest.design
    design = design_of(d)
    baseline = panel[panel["period"] == 1]
    # every level of a categorical covariate that someone is at (its reference included), by its name
    shown = [c for c in d.balance_covariates if c in d.numeric_covariates or baseline[c].any()]
    balance_vars = shown + [o.column for o in manifest.outcomes]
    balance = standardised_mean_differences(baseline, balance_vars,
                                            baseline["weight"] if "weight" in baseline.columns else None)
    att = attrition(panel, manifest)
    n_clusters = int(panel["cluster"].nunique()) if "cluster" in panel.columns else None
    n_t = int(baseline.loc[baseline["treated"] == 1, "unit"].nunique())
    n_c = int(baseline.loc[baseline["treated"] == 0, "unit"].nunique())
    primary = {o.column for o in manifest.primary_outcomes}
    overall = estimates[(estimates["kind"] == "overall") & estimates["outcome"].isin(primary)]
    tests = estimates[estimates["kind"].isin(["pre_trend_test", "heterogeneity_test", "heterogeneity_check"])]

    primary_column = manifest.primary_outcomes[0].column
    samples = {o: design.sample(panel, o, manifest) for o in sorted(primary)}  # what the estimator analysed
    sample = samples[primary_column]
    covs = [c for c in d.covariates if c in sample.columns]
    overlap = propensity_overlap(sample, covs) if covs and design.has_comparison else None
    if overlap is not None:  # named by the manifest's covariates: a small category's name is never published
        overlap["covariates"] = [c for c in d.covariate_columns if c in d.categorical_covariates
                                 or c in overlap["covariates"]]
        overlap["sample"] = f"people analysed for the primary outcome ({primary_column})"
        overlap["applies"] = design.rests_on_overlap
    balance_after, weights_used = [], None
    if design.reweights_comparison and covs:
        baseline_outcomes = baseline.drop_duplicates("unit").set_index("unit")[[o.column for o in manifest.outcomes]]
        frame = sample.join(baseline_outcomes, on="unit", rsuffix="_baseline")
        variables = [c for c in shown if c in frame.columns] + [o.column for o in manifest.outcomes
                                                                 if o.column in frame.columns]
        survey = frame["weight"].to_numpy(float) if "weight" in frame.columns else None
        table = balance_before_after(frame, variables, att_odds_weights(frame, covs, survey), survey)
        balance_after = table.to_dict(orient="records")
        weights_used = ("ATT odds weights e/(1-e) for comparison people from the doubly robust estimator's "
                        f"propensity score on {', '.join(covs)}, in the sample analysed for {primary_column}")
    refuted = refutations(samples, manifest)
    heterogeneity = tests[tests["kind"] == "heterogeneity_test"]
    checks = tests[tests["kind"] == "heterogeneity_check"]
    # The max |SMD| here uses every variable, small groups included: it feeds the rating, a judgement
    # that is not itself a published statistic. The record publishes its own max over the rows that
    # pass disclosure control (records.build_record). Rows carry n per group for that decision.
    return {
        "balance": balance.to_dict(orient="records"),
        "max_abs_smd_covariates": _max_abs(balance[balance["variable"].isin(d.balance_covariates)]["smd"]),
        "attrition": att,
        "n_clusters": n_clusters,
        "mdes_planned": design.planned_mdes(n_t, n_c, n_clusters),
        "mdes_achieved": {r.outcome: achieved_mdes(r.effect_size_ci_low, r.effect_size_ci_high,
                                                   float(r.df) if pd.notna(r.df) else None)
                          for r in overall.itertuples()},
        "pre_trend_tests": {r.outcome: {"statistic": r.statistic, "df": int(r.df), "p_value": r.p_value}
                            for r in tests[tests["kind"] == "pre_trend_test"].itertuples()},
        "heterogeneity_tests": [{"outcome": r.outcome, "modifier": r.subgroup, "statistic": r.statistic,
                                 "df": int(r.df), "p_value": r.p_value, "method": _text(r.estimator)}
                                for r in heterogeneity.itertuples()],
        "heterogeneity_checks": [_check_row(r, heterogeneity) for r in checks.itertuples()],
        "subgroups_skipped": [{"outcome": r.outcome, "subgroup": r.subgroup, "reason": r.estimator}
                              for r in estimates[estimates["kind"] == "subgroup_skipped"].itertuples()],
        "overlap": overlap,
        "balance_after": balance_after,
        "balance_after_weights": weights_used,
        "max_abs_smd_covariates_after": _max_abs(pd.Series([r["smd_after"] for r in balance_after
                                                            if r["variable"] in d.balance_covariates],
                                                           dtype=float)),
        "refutations": refuted,
        "failed_refutations": failed_refutations(refuted),
        # the What Works Clearinghouse rules, and what attrition could do to each effect (Lee bounds)
        "baseline_equivalence": equivalence.judge(sample, manifest, design),
        "wwc_attrition": attrition_boundary.judge(att, design),
        "attrition_bounds": lee_bounds.by_outcome(panel, manifest, least_trimmed=_least_trimmed()),
        # and the same effect with those who answered weighted to look like everyone who started
        "response_weighting": response_weighting.by_outcome(panel, manifest, estimates),
        "hidden_bias": _hidden_bias(panel, manifest, estimates, samples),
    }


def _hidden_bias(panel: pd.DataFrame, manifest: Manifest, estimates: pd.DataFrame, samples: dict) -> dict:
    """Each overall effect's sensitivity to hidden bias, on the sample its estimator analysed (sensitivity/)."""
    from evaluations.sensitivity.hidden_bias import hidden_bias

    design = design_of(manifest.design)
    out = {}
    for r in estimates[estimates["kind"] == "overall"].itertuples():
        if not design.rests_on_covariates:
            out[r.outcome] = None
            continue
        sample = samples[r.outcome] if r.outcome in samples else design.sample(panel, r.outcome, manifest)
        out[r.outcome] = hidden_bias(sample, manifest, r)
    return {k: (v.model_dump() if v is not None else None) for k, v in out.items()}


def _least_trimmed() -> int:
    """Lee bounds trim 0 or at least this many people (disclosure control's rule `least_trimmed`)."""
    from evaluations import disclosure

    return disclosure.least_trimmed()


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _check_row(r, published: pd.DataFrame) -> dict:
    """The DiD interaction test beside the published EconML test: do they reach the same verdict at 5%?"""
    match = published[(published["outcome"] == r.outcome) & (published["subgroup"] == r.subgroup)]
    agrees = None
    if len(match):
        agrees = bool((match["p_value"].iloc[0] < 0.05) == (r.p_value < 0.05))
    return {"outcome": r.outcome, "modifier": r.subgroup, "statistic": r.statistic, "df": int(r.df),
            "p_value": r.p_value, "method": _text(r.estimator), "same_verdict_as_published": agrees}


def _max_abs(values: pd.Series) -> float:
    return float(values.abs().max()) if len(values) else math.nan
