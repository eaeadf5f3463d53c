"""Before and after, with no comparison group: the mean change in an outcome.

Small charities often survey their own participants at joining and some months later, with no
comparison group. What such data measure is the **change**, not the programme's impact: without
a comparison group the change includes everything else that changed over the period (growing
up, the seasons, other programmes, people answering differently the second time), so the
estimand is "mean change" and every result says so.

Two kernels, both pure (DataFrame in, EffectEstimate out):

* `paired_change`: the same people answered both waves (columns ``y0``, ``y1``): the mean of each
  person's change, with the paired t interval on n - 1 df (an intercept-only regression of the
  change with HC1 variance is exactly that), or cluster-robust CR1 with t on G - 1 df; with
  ``weights`` the survey-weighted mean with its design-based (linearisation) sandwich variance.
* `cross_section_change`: different people answered each wave (columns ``y``, ``post``): the
  difference between the follow-up and baseline means, with the Welch/HC2 standard error and the
  Welch-Satterthwaite t interval, or CR1 with t on G - 1 df; weighted if asked.

Effect size: the change divided by the **baseline standard deviation**, with Hedges' small-sample
correction J = 1 - 3 / (4 (n - 1) - 1) on the n - 1 df of that SD (Becker 1988; Morris 2008's
d_ppc, the pre-test-SD standardiser). It is deliberately not d_z (change over the SD of the
changes), which grows with the correlation between the waves and so is not comparable with a
two-group effect size; standardising by the spread of the outcome itself puts a before-and-after
change on the same scale as the Hedges' g of a comparison-group design. The interval is the
change's own interval on the standardised scale.
"""
from __future__ import annotations

import math

import pandas as pd

from evaluations.estimators.checks import PERSON, require_labelled_columns, require_positive_weights
from evaluations.estimators.inference import (WEIGHTS_ASSUMPTION, cluster_codes, interval, regression,
                                              regression_influence, weighted_sd, welch_df)
from evaluations.estimators.result import EffectEstimate, Influence

__all__ = ["paired_change", "cross_section_change", "CHANGE_ASSUMPTIONS"]

CHANGE_ASSUMPTIONS = (
    "This is change, not impact: without a comparison group, the change includes everything else that changed "
    "over the period (maturation, seasons, other programmes)",
    "The answers measure the same thing at both waves (no change in how the questions were asked or understood)",
)
PAIRED_ASSUMPTION = "The people who answered both waves represent the participants (drop-out unrelated to the change)"
CROSS_SECTION_ASSUMPTION = ("Different people answered each wave; the respondents of each wave represent the same "
                            "population of participants (stable composition)")
CLUSTER_ASSUMPTION = ("People in one cluster share shocks: standard errors allow for it "
                      "(cluster-robust CR1, t on G-1 df)")
EFFECT_SIZE_NOTE = ("Effect size: the change divided by the baseline standard deviation, with Hedges' small-sample "
                    "correction (comparable with two-group effect sizes; not the SD of the changes)")


def _check(df: pd.DataFrame, outcome: str, columns: list[str], cluster: bool, weights: bool) -> pd.DataFrame:
    needed = columns + (["cluster"] if cluster else []) + (["weight"] if weights else [])
    require_labelled_columns(df, outcome, needed, who=PERSON)
    if weights:
        require_positive_weights(df, outcome, who=PERSON)
    data = df[needed].copy()
    if cluster:
        g = int(pd.Series(data["cluster"]).astype(str).nunique())
        if g < 2:
            raise ValueError(f"{outcome}: cluster-robust standard errors need at least 2 clusters; found {g}")
    return data


def _standardise(est: float, lo: float, hi: float, sd0: float, n0: int) -> tuple[float, float, float]:
    """Change / baseline SD with Hedges' correction J on the SD's n0 - 1 degrees of freedom (Becker 1988)."""
    df = n0 - 1
    if not (sd0 > 0) or df < 2:
        return (math.nan, math.nan, math.nan)
    j = 1 - 3 / (4 * df - 1)
    return (est / sd0 * j, lo / sd0 * j, hi / sd0 * j)


def _result(*, outcome, estimator, est, se, dof, n_people, n_clusters, units, g, assumptions,
            influence=None) -> EffectEstimate:
    lo, hi, p = interval(est, se, dof)
    es, es_lo, es_hi = _standardise(est, lo, hi, *g)
    return EffectEstimate(
        outcome=outcome, estimand="mean change", estimator=estimator, estimate=float(est), std_error=float(se),
        ci_low=lo, ci_high=hi, p_value=p, n_treated=int(n_people), n_comparison=0, effect_size=es,
        effect_size_ci_low=es_lo, effect_size_ci_high=es_hi, units=units, n_clusters=n_clusters,
        df=float(dof) if dof else None, assumptions=assumptions, influence=influence)


def paired_change(wide: pd.DataFrame, *, outcome: str, cluster: bool = False, weights: bool = False,
                  units: str = "scale points") -> EffectEstimate:
    """Mean change y1 - y0 among people who answered both waves (one row per person).

    Paired t interval on n - 1 df; with ``cluster`` CR1 and t on G - 1 df; with ``weights`` the
    weighted mean change and its design-based sandwich SE. Not the programme's impact (no comparison).
    """
    data = _check(wide, outcome, ["y0", "y1"], cluster, weights)
    n = len(data)
    if n < 2:
        raise ValueError(f"{outcome}: a mean change needs at least 2 people who answered both waves; found {n}")
    change = (data["y1"] - data["y0"]).astype(float)
    # The intercept-only regression of the change: its coefficient is the (weighted) mean change, and its
    # HC1 variance is exactly s^2 / n, the paired t-test's (HC1's n/(n-1) turns the mean squared residual
    # into the sample variance), with n - 1 residual df; with clusters it is CR1 on G - 1 df.
    fit = regression(change, pd.DataFrame(index=data.index), "const",
                     weights=data["weight"] if weights else None,
                     clusters=cluster_codes(data["cluster"]) if cluster else None, robust="HC1")
    w = data["weight"].to_numpy(float) if weights else None
    name = ("Mean change, same people before and after" + (", survey-weighted" if weights else "")
            + (", cluster-robust SE (CR1)" if cluster else ", paired t interval"))
    assumptions = CHANGE_ASSUMPTIONS + (PAIRED_ASSUMPTION,) + ((CLUSTER_ASSUMPTION,) if cluster else ()) + (
        (WEIGHTS_ASSUMPTION,) if weights else ()) + (EFFECT_SIZE_NOTE,)
    if not fit.std_error > 0:
        assumptions += ("Everyone changed by exactly the same amount, so there is no sampling uncertainty to "
                        "estimate: no interval",)
    return _result(outcome=outcome, estimator=name, est=fit.estimate, se=fit.std_error, dof=fit.df, n_people=n,
                   n_clusters=fit.n_clusters, units=units,
                   g=(weighted_sd(data["y0"].to_numpy(float), w), n), assumptions=assumptions,
                   influence=Influence.of(wide.loc[data.index], regression_influence(fit, "const"), cluster))


def cross_section_change(df: pd.DataFrame, *, outcome: str, cluster: bool = False, weights: bool = False,
                         units: str = "scale points") -> EffectEstimate:
    """Mean at follow-up minus mean at baseline, different people each wave (one row per answer: y, post).

    Welch/HC2 standard error (for a two-group comparison HC2 is exactly Welch's) with the
    Welch-Satterthwaite df; with ``cluster`` CR1 and t on G - 1 df; with ``weights`` WLS (the difference
    of weighted means) with the HC2 sandwich, and Satterthwaite df on Kish's effective sample sizes.
    """
    data = _check(df, outcome, ["y", "post"], cluster, weights)
    if not set(pd.unique(data["post"].astype(float))) <= {0.0, 1.0}:
        raise ValueError(f"{outcome}: 'post' must be 0 (baseline) or 1 (follow-up) for every answer")
    pre, post = data[data["post"] == 0], data[data["post"] == 1]
    if len(pre) < 2 or len(post) < 2:
        raise ValueError(f"{outcome}: a change between two surveys needs at least 2 answers in each wave; found "
                         f"{len(pre)} at baseline and {len(post)} at follow-up")
    fit = regression(data["y"].astype(float), data[["post"]].astype(float), "post",
                     weights=data["weight"] if weights else None,
                     clusters=cluster_codes(data["cluster"]) if cluster else None, robust="HC2")
    dof = fit.df if cluster else welch_df(data["y"].to_numpy(float), data["post"].to_numpy(),
                                          data["weight"].to_numpy(float) if weights else None)
    w0 = pre["weight"].to_numpy(float) if weights else None
    name = ("Change in mean between two surveys of different people" + (", survey-weighted" if weights else "")
            + (", cluster-robust SE (CR1)" if cluster else ", Welch/HC2 SE"))
    assumptions = CHANGE_ASSUMPTIONS + (CROSS_SECTION_ASSUMPTION,) + ((CLUSTER_ASSUMPTION,) if cluster else ()) + (
        (WEIGHTS_ASSUMPTION,) if weights else ()) + (EFFECT_SIZE_NOTE,)
    return _result(outcome=outcome, estimator=name, est=fit.estimate, se=fit.std_error, dof=dof,
                   n_people=len(data), n_clusters=fit.n_clusters, units=units,
                   g=(weighted_sd(pre["y"].to_numpy(float), w0), len(pre)), assumptions=assumptions,
                   influence=Influence.of(df.loc[data.index], regression_influence(fit, "post"), cluster))
