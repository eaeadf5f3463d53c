"""Randomised designs: difference in means and ANCOVA on the baseline score.

When a lottery decided who took part, the groups differ only by chance, and the average
effect (ATE) is the difference in mean follow-up outcomes. Adjusting for the baseline score
(ANCOVA: ``y1 ~ treated + y0 + covariates``) removes chance imbalance and, because the
baseline explains much of the follow-up, narrows the interval: it is the analysis the EEF
and most trial statisticians pre-specify, and it is never less precise than a change-score
(DiD) analysis in large samples (Frison & Pocock 1992). Under randomisation the ANCOVA
estimate is consistent for the ATE even if the linear model is wrong (Yang & Tsiatis 2001;
Lin 2013), with heteroskedasticity-robust standard errors.

Standard errors:

* difference in means: HC2, which for a two-group comparison is exactly the Welch
  (unequal-variance) standard error, with the Welch-Satterthwaite degrees of freedom;
* ANCOVA: HC1 with a t distribution on n - k degrees of freedom (as Stata's
  ``regress, vce(robust)``);
* when people are randomised (or merely grouped) in clusters: cluster-robust CR1 with a
  t distribution on G - 1 degrees of freedom, for both;
* with survey weights (``weights=True``, a positive ``weight`` column): weighted means or
  weighted least squares, with the same sandwich formulas on the weighted scores, which is the
  design-based (linearisation) variance (see evaluations.estimators.inference); Hedges' g then
  uses weighted SDs, while n_treated / n_comparison stay counts of people.

All of them fit through evaluations.estimators.inference, and the estimate carries the df its
interval used.

People with a follow-up answer but no baseline answer are kept in the ANCOVA by the
missing-indicator method (their baseline is set to the mean and a 0/1 indicator added),
which is unbiased and efficient under randomisation (White & Thompson 2005); the number so
treated is stated in the assumptions. Pure: DataFrame in, EffectEstimate out, no I/O.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from evaluations.estimators.checks import PERSON, require_labelled_columns
from evaluations.estimators.inference import (WEIGHTS_ASSUMPTION, Coefficient, cluster_codes, interval, regression,
                                              regression_influence, survey_weights, weighted_sd, welch_df)
from evaluations.estimators.result import EffectEstimate, Influence, hedges_g

__all__ = ["difference_in_means", "ancova", "RCT_ASSUMPTIONS"]

RCT_ASSUMPTIONS = (
    "Random assignment: who took part was decided by chance, so the groups differ only by chance and the "
    "programme (the average effect on everyone randomised equals the effect on participants)",
    "SUTVA: one person's participation does not change anyone else's outcome",
    "Missing follow-ups are unrelated to the outcome in the same way in both groups (no differential attrition)",
)
CLUSTER_ASSUMPTION = "People in one cluster share shocks: standard errors allow for it (cluster-robust, t on G-1 df)"


def _check(df: pd.DataFrame, outcome: str, columns: list[str]) -> None:
    require_labelled_columns(df, outcome, columns, who=PERSON, complete=False)
    d = df["treated"]
    if not set(pd.unique(d.dropna())) <= {0, 1} or d.isna().any():
        raise ValueError(f"{outcome}: 'treated' must be 0 or 1 for every person")
    n_t, n_c = int((d == 1).sum()), int((d == 0).sum())
    if n_t < 2 or n_c < 2:
        raise ValueError(f"{outcome}: a randomised comparison needs at least 2 people in each group; "
                         f"found {n_t} randomised to the programme and {n_c} to the control group")


def _design(data: pd.DataFrame, outcome: str, cluster: bool, weights: bool) -> tuple:
    """Cluster codes and survey weights of the analysed rows (None when not asked for)."""
    clusters = cluster_codes(data["cluster"]) if cluster else None
    return clusters, (survey_weights(data, outcome) if weights else None)


def _result(*, outcome, estimator, coef: Coefficient, df, y, w, units, assumptions) -> EffectEstimate:
    lo, hi, p = interval(coef.estimate, coef.std_error, coef.df)
    t, c = (df["treated"] == 1).to_numpy(), (df["treated"] == 0).to_numpy()
    n_t, n_c = int(t.sum()), int(c.sum())  # people, weighted or not
    # Standardised by the follow-up SDs (the EEF's convention for trials), weighted when the estimate is.
    yv = df[y].to_numpy(dtype=float)
    sd_t, sd_c = (weighted_sd(yv[m], None if w is None else w[m]) for m in (t, c))
    g, g_lo, g_hi = hedges_g(coef.estimate, (lo, hi), sd_t, sd_c, n_t, n_c)
    return EffectEstimate(
        outcome=outcome, estimand="ATE", estimator=estimator, estimate=coef.estimate, std_error=coef.std_error,
        ci_low=lo, ci_high=hi, p_value=p, n_treated=n_t, n_comparison=n_c, effect_size=g, effect_size_ci_low=g_lo,
        effect_size_ci_high=g_hi, units=units, n_clusters=coef.n_clusters, df=coef.df, assumptions=assumptions,
        influence=Influence.of(df, regression_influence(coef, "treated"), cluster=coef.n_clusters is not None))


def _extra(cluster: bool, weights: bool) -> tuple[str, ...]:
    return ((CLUSTER_ASSUMPTION,) if cluster else ()) + ((WEIGHTS_ASSUMPTION,) if weights else ())


def difference_in_means(df: pd.DataFrame, *, outcome: str, y: str = "y1", cluster: bool = False,
                        weights: bool = False, units: str = "scale points") -> EffectEstimate:
    """ATE as the difference in mean `y` (follow-up) between the randomised groups.

    Welch/HC2 standard error and Welch-Satterthwaite t interval; with ``cluster`` a
    cluster-robust (CR1) standard error and a t interval on G-1 degrees of freedom. With
    ``weights`` the means are weighted by the `weight` column (survey weights) and the standard
    error is the weighted sandwich (design-based), with Kish-effective-size Welch df.
    """
    _check(df, outcome, [y, "treated"] + (["cluster"] if cluster else []))
    data = df[df[y].notna()]
    clusters, w = _design(data, outcome, cluster, weights)
    coef = regression(data[y], data[["treated"]], "treated", weights=w, clusters=clusters, robust="HC2",
                      df="normal")
    if clusters is None:  # HC2 is Welch's SE; its df are Welch-Satterthwaite's, not n-k
        coef = replace(coef, df=welch_df(data[y].to_numpy(), data["treated"].to_numpy(), w))
    name = ("Difference in means (" + ("cluster-robust SE" if cluster else "Welch/HC2 SE") + ")"
            + (", survey-weighted" if weights else ""))
    return _result(outcome=outcome, estimator=name, coef=coef, df=data, y=y, w=w, units=units,
                   assumptions=RCT_ASSUMPTIONS + _extra(cluster, weights))


def ancova(df: pd.DataFrame, *, outcome: str, y: str = "y1", baseline: str = "y0", covariates: list[str] = (),
           cluster: bool = False, weights: bool = False, units: str = "scale points") -> EffectEstimate:
    """ATE from the regression ``y ~ treated + baseline + covariates`` (ANCOVA).

    HC1 standard error with a t interval on n-k df; with ``cluster`` CR1 and t on G-1 df.
    With ``weights`` a weighted regression on the `weight` column (survey weights) with the
    weighted sandwich (design-based) variance. People with a missing `baseline` are kept by
    the missing-indicator method.
    """
    covariates = [c for c in covariates if c not in (y, baseline, "treated")]
    _check(df, outcome, [y, baseline, "treated"] + list(covariates) + (["cluster"] if cluster else []))
    data = df[df[y].notna()].copy()
    bad = [c for c in covariates if data[c].isna().any()]
    if bad:
        raise ValueError(f"{outcome}: covariate(s) {', '.join(map(repr, bad))} have missing values; quarantine or "
                         "impute them before the analysis (rows are never dropped silently)")
    n_no_baseline = int(data[baseline].isna().sum())
    if n_no_baseline == len(data):
        raise ValueError(f"{outcome}: no one has a baseline score; use difference_in_means")
    terms = ["treated", baseline]
    extra = ()
    if n_no_baseline:
        data["_baseline_missing"] = data[baseline].isna().astype(float)
        data[baseline] = data[baseline].fillna(data[baseline].mean())
        terms.append("_baseline_missing")
        extra = (f"{n_no_baseline} people without a baseline score were kept with the missing-indicator method "
                 "(baseline set to the mean, plus an indicator)",)
    covs = [c for c in covariates if data[c].nunique() > 1]
    terms += covs
    clusters, w = _design(data, outcome, cluster, weights)
    coef = regression(data[y], data[terms], "treated", weights=w, clusters=clusters, robust="HC1")
    name = ("ANCOVA on the baseline score" + (" and covariates" if covs else "")
            + (", cluster-robust SE" if cluster else ", robust SE (HC1)") + (", survey-weighted" if weights else ""))
    return _result(outcome=outcome, estimator=name, coef=coef, df=data, y=y, w=w, units=units,
                   assumptions=RCT_ASSUMPTIONS + _extra(cluster, weights) + extra)
