"""Diagnostics: the evidence on whether to believe an estimate."""
from __future__ import annotations

import math

import pandas as pd

from evaluations.diagnostics.attrition import attrition
from evaluations.diagnostics.balance import IMBALANCE_SMD, standardised_mean_differences
from evaluations.diagnostics.power import achieved_mdes, planned_mdes
from evaluations.registry import Manifest


def _cluster_count(value) -> int | None:
    return int(value) if pd.notna(value) else None


def run_diagnostics(panel: pd.DataFrame, manifest: Manifest, estimates: pd.DataFrame) -> dict:
    """Everything the rating and the page need, as plain JSON-ready values.

    `estimates` is the tidy table from `Impacts.to_table()`.
    """
    d = manifest.design
    baseline = panel[panel["period"] == 1]
    balance_vars = list(d.covariates) + [o.column for o in manifest.outcomes]
    balance = standardised_mean_differences(baseline, balance_vars)
    att = attrition(panel, manifest)
    n_clusters = int(panel["cluster"].nunique()) if "cluster" in panel.columns else None
    n_t = int(baseline.loc[baseline["treated"] == 1, "unit"].nunique())
    n_c = int(baseline.loc[baseline["treated"] == 0, "unit"].nunique())
    primary = {o.column for o in manifest.primary_outcomes}
    overall = estimates[(estimates["kind"] == "overall") & estimates["outcome"].isin(primary)]
    tests = estimates[estimates["kind"].isin(["pre_trend_test", "heterogeneity_test"])]
    return {
        "balance": balance.to_dict(orient="records"),
        "max_abs_smd_covariates": _max_abs(balance[balance["variable"].isin(d.covariates)]["smd"]),
        "imbalance_threshold": IMBALANCE_SMD,
        "attrition": att,
        "n_clusters": n_clusters,
        "mdes_planned": planned_mdes(n_t, n_c, n_clusters),
        "mdes_achieved": {r.outcome: achieved_mdes(r.effect_size_ci_low, r.effect_size_ci_high,
                                                   _cluster_count(r.n_clusters))
                          for r in overall.itertuples()},
        "pre_trend_tests": {r.outcome: {"statistic": r.statistic, "df": int(r.df), "p_value": r.p_value}
                            for r in tests[tests["kind"] == "pre_trend_test"].itertuples()},
        "heterogeneity_tests": [{"outcome": r.outcome, "modifier": r.subgroup, "statistic": r.statistic,
                                 "df": int(r.df), "p_value": r.p_value}
                                for r in tests[tests["kind"] == "heterogeneity_test"].itertuples()],
    }


def _max_abs(values: pd.Series) -> float:
    return float(values.abs().max()) if len(values) else math.nan
