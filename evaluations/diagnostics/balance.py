"""Covariate balance: standardised mean differences between the groups at baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd

IMBALANCE_SMD = 0.25  # the usual threshold (Stuart 2010; What Works Clearinghouse adjusts above 0.05, rejects above 0.25)


def standardised_mean_differences(df: pd.DataFrame, columns: list[str], weights: np.ndarray | None = None) -> pd.DataFrame:
    """SMD = (mean treated - mean comparison) / sqrt((var treated + var comparison) / 2).

    The denominator always uses the unweighted variances, so that SMDs before and after
    matching or weighting are on the same scale (as MatchIt and cobalt report them).

    Each row also carries the people answering in each group (`n_treated`, `n_comparison`)
    and, for a 0/1 variable, `smallest_category`: the fewest people with one value in one
    group (0 does not count), because such a mean times its n is a count. Disclosure control
    publishes a row only when these are large enough (`disclosure.balance_rows`).
    """
    w = np.ones(len(df)) if weights is None else np.asarray(weights, float)
    t = (df["treated"] == 1).to_numpy()
    rows = []
    for col in columns:
        x = df[col].astype(float).to_numpy()
        ok = ~np.isnan(x)
        xt, xc, wt, wc = x[t & ok], x[~t & ok], w[t & ok], w[~t & ok]
        if len(xt) < 2 or len(xc) < 2 or wt.sum() == 0 or wc.sum() == 0:
            continue
        sd = np.sqrt((xt.var(ddof=1) + xc.var(ddof=1)) / 2)
        diff = np.average(xt, weights=wt) - np.average(xc, weights=wc)
        rows.append({"variable": col, "mean_treated": float(np.average(xt, weights=wt)),
                     "mean_comparison": float(np.average(xc, weights=wc)),
                     "smd": float(diff / sd) if sd > 0 else 0.0,
                     "n_treated": int(len(xt)), "n_comparison": int(len(xc)),
                     "smallest_category": _smallest_category(xt, xc)})
    return pd.DataFrame(rows, columns=["variable", "mean_treated", "mean_comparison", "smd", *SIZE_COLUMNS])


SIZE_COLUMNS = ["n_treated", "n_comparison", "smallest_category"]


def _smallest_category(*groups: np.ndarray) -> int | None:
    """For a 0/1 variable, the fewest people holding one value in one group (ignoring 0); else None."""
    values = np.concatenate(groups)
    if not np.isin(values, (0.0, 1.0)).all():
        return None
    sizes = [int(n) for g in groups for n in ((g == 1).sum(), (g == 0).sum()) if n > 0]
    return min(sizes) if sizes else None


def att_odds_weights(df: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """The doubly robust / IPW estimators' ATT weights: 1 for participants, e/(1-e) for comparison people.

    `e` is the same logistic propensity score on the covariates that
    evaluations.estimators.matching fits (so balance after weighting is the balance those
    estimators achieved).
    """
    from evaluations.diagnostics.overlap import propensity_scores

    ps = propensity_scores(df, covariates)
    treated = (df["treated"] == 1).to_numpy()
    return np.where(treated, 1.0, ps / (1 - ps))


def balance_before_after(df: pd.DataFrame, columns: list[str], weights: np.ndarray) -> pd.DataFrame:
    """Love-plot data: each variable's SMD before and after weighting, on the same SD scale."""
    before = standardised_mean_differences(df, columns)
    after = standardised_mean_differences(df, columns, weights)
    merged = before.merge(after, on="variable", suffixes=("_before", "_after"))
    merged = merged.rename(columns={"mean_treated_before": "mean_treated"})
    merged = merged.rename(columns={f"{c}_before": c for c in SIZE_COLUMNS})  # the same people before and after
    return merged[["variable", "mean_treated", "mean_comparison_before", "mean_comparison_after", "smd_before",
                   "smd_after", *SIZE_COLUMNS]]
