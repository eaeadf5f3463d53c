"""Covariate balance: standardised mean differences between the groups at baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.estimators.inference import weighted_sd

# Whether the groups are equivalent is judged by the What Works Clearinghouse rule on its own statistic, in
# diagnostics/equivalence.py; the SMDs here describe balance (the love plot), they do not judge it.


def standardised_mean_differences(df: pd.DataFrame, columns: list[str], weights: str | np.ndarray | None = None, *,
                                  balancing_weights: np.ndarray | None = None) -> pd.DataFrame:
    """SMD = (mean treated - mean comparison) / sqrt((var treated + var comparison) / 2).

    Two kinds of weights:

    * `weights`, survey (sampling or non-response) weights, a column name or one value per row:
      they make the respondents represent a population, so they weight the means and the
      variances. Convention: the pooled SD from the two groups' weighted variances,
      sqrt((s2_t,w + s2_c,w) / 2), with s2_w = sum w (x - xbar_w)^2 / sum w * n / (n-1), so equal
      weights give the usual sample variance and the unweighted SMD.
    * `balancing_weights`, matching or inverse-probability weights: they weight the means only
      (times any survey weights). The denominator keeps the variances the groups had before
      balancing, so that SMDs before and after matching or weighting are on the same scale (as
      MatchIt and cobalt report them; with survey weights, cobalt's s.weights convention).

    Each row also carries the people answering in each group (`n_treated`, `n_comparison`,
    counts of people, never weighted) and, for a 0/1 variable, `smallest_category`: the fewest
    people with one value in one group (0 does not count), because such a mean times its n is a
    count. Disclosure control publishes a row only when these are large enough
    (`disclosure.balance_rows`).
    """
    sw = _row_weights(df, weights)
    w = _row_weights(df, balancing_weights) * sw
    t = (df["treated"] == 1).to_numpy()
    rows = []
    for col in columns:
        x = df[col].astype(float).to_numpy()
        ok = ~np.isnan(x)
        groups = [(x[m], w[m], sw[m]) for m in (t & ok, ~t & ok)]
        if any(len(xg) < 2 or wg.sum() == 0 or swg.sum() == 0 for xg, wg, swg in groups):
            continue
        (xt, wt, swt), (xc, wc, swc) = groups
        sd = np.sqrt((weighted_sd(xt, swt) ** 2 + weighted_sd(xc, swc) ** 2) / 2)
        mt, mc = np.average(xt, weights=wt), np.average(xc, weights=wc)
        rows.append({"variable": col, "mean_treated": float(mt), "mean_comparison": float(mc),
                     "smd": float((mt - mc) / sd) if sd > 0 else 0.0,
                     "n_treated": int(len(xt)), "n_comparison": int(len(xc)),
                     "smallest_category": _smallest_category(xt, xc)})
    return pd.DataFrame(rows, columns=["variable", "mean_treated", "mean_comparison", "smd", *SIZE_COLUMNS])


def _row_weights(df: pd.DataFrame, weights: str | np.ndarray | None) -> np.ndarray:
    """One weight per row: ones, a named column, or the given values; never negative or missing."""
    if weights is None:
        return np.ones(len(df))
    w = (df[weights] if isinstance(weights, str) else pd.Series(np.asarray(weights))).astype(float).to_numpy()
    if len(w) != len(df) or not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("balance weights must be one non-negative number per row, none missing")
    return w


SIZE_COLUMNS = ["n_treated", "n_comparison", "smallest_category"]


def _smallest_category(*groups: np.ndarray) -> int | None:
    """For a 0/1 variable, the fewest people holding one value in one group (ignoring 0); else None."""
    values = np.concatenate(groups)
    if not np.isin(values, (0.0, 1.0)).all():
        return None
    sizes = [int(n) for g in groups for n in ((g == 1).sum(), (g == 0).sum()) if n > 0]
    return min(sizes) if sizes else None


def att_odds_weights(df: pd.DataFrame, covariates: list[str], survey_weights: np.ndarray | None = None) -> np.ndarray:
    """The doubly robust / IPW estimators' ATT weights: 1 for participants, e/(1-e) for comparison people.

    `e` is the same logistic propensity score on the covariates that
    evaluations.estimators.matching fits, survey-weighted as theirs is (so balance after weighting
    is the balance those estimators achieved); the survey weights themselves multiply in later
    (balance_before_after's `survey_weights`).
    """
    from evaluations.diagnostics.overlap import propensity_scores

    ps = propensity_scores(df, covariates, survey_weights=survey_weights)
    treated = (df["treated"] == 1).to_numpy()
    return np.where(treated, 1.0, ps / (1 - ps))


def balance_before_after(df: pd.DataFrame, columns: list[str], weights: np.ndarray,
                         survey_weights: str | np.ndarray | None = None) -> pd.DataFrame:
    """Love-plot data: each variable's SMD before and after the balancing `weights`, on the same SD scale.

    With `survey_weights` both are population (survey-weighted) balance, on survey-weighted SDs.
    """
    before = standardised_mean_differences(df, columns, survey_weights)
    after = standardised_mean_differences(df, columns, survey_weights, balancing_weights=weights)
    merged = before.merge(after, on="variable", suffixes=("_before", "_after"))
    merged = merged.rename(columns={"mean_treated_before": "mean_treated"})
    merged = merged.rename(columns={f"{c}_before": c for c in SIZE_COLUMNS})  # the same people before and after
    return merged[["variable", "mean_treated", "mean_comparison_before", "mean_comparison_after", "smd_before",
                   "smd_after", *SIZE_COLUMNS]]
