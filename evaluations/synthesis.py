"""Synthesis across evaluations: random-effects meta-analysis of standardised effects.

DerSimonian-Laird (1986), the estimator of the Cochrane Handbook and RevMan: each study is
weighted by 1 / (its variance + tau^2), where tau^2 is the between-study variance of the
true effects. I^2 is the share of the spread in estimates due to real differences between
programmes rather than chance (Higgins & Thompson 2002). With few studies, tau^2 is poorly
estimated, so the prediction interval (where the next programme's effect may fall) uses a
t distribution on k - 2 degrees of freedom (Higgins, Thompson & Spiegelhalter 2009).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evaluations.record_model.record import Outcome, ShownEffect

Z_95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class MetaAnalysis:
    k: int
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    q: float
    q_p_value: float
    i2: float  # percent
    prediction_low: float | None
    prediction_high: float | None


def poolable(outcome: Outcome, measure_id: str) -> bool:
    """Whether a published record's outcome is a result on the bank measure `measure_id`, and so may be
    pooled with the others on it. A charity's own question never is, whatever it resembles: pooling
    rests on the same question asked the same way, which only the measure bank guarantees."""
    return not outcome.own_measure and outcome.measure == measure_id


def random_effects(estimates, variances) -> MetaAnalysis:
    """DerSimonian-Laird random-effects pooling of `estimates` with sampling `variances`."""
    y = np.asarray(estimates, float)
    v = np.asarray(variances, float)
    if len(y) < 2:
        raise ValueError("a meta-analysis needs at least two studies")
    if np.any(~np.isfinite(y)) or np.any(~(v > 0)):
        raise ValueError("every study needs a finite estimate and a positive variance")
    k = len(y)
    w = 1 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - fixed) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c)
    w_star = 1 / (v + tau2)
    pooled = float(np.sum(w_star * y) / np.sum(w_star))
    se = float(math.sqrt(1 / np.sum(w_star)))
    i2 = max(0.0, (q - (k - 1)) / q) * 100 if q > 0 else 0.0
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + se**2)
        pred = (pooled - half, pooled + half)
    else:
        pred = (None, None)
    return MetaAnalysis(k=k, estimate=pooled, std_error=se, ci_low=pooled - Z_95 * se, ci_high=pooled + Z_95 * se,
                        p_value=float(2 * stats.norm.sf(abs(pooled / se))), tau2=float(tau2), q=q,
                        q_p_value=float(stats.chi2.sf(q, k - 1)), i2=float(i2),
                        prediction_low=pred[0], prediction_high=pred[1])


def effect_size_variance(ci_low: float, ci_high: float, df: float | None = None) -> float:
    """Sampling variance of an effect size recovered from its 95% interval (as the record publishes it),
    on the reference the interval was built on: t on `df`, or the normal when df is None."""
    crit = float(stats.t.ppf(0.975, df)) if df else Z_95
    return ((ci_high - ci_low) / (2 * crit)) ** 2


def reference_df(effect: ShownEffect) -> float | None:
    """The df of a published effect's interval. Where the record hides it (beside a hidden group size),
    the cluster-robust G-1 is used when there are clusters, else the normal: the group has at least
    THRESHOLD people, and only few clusters make the t reference much wider than the normal."""
    if not isinstance(effect.df, str):
        return effect.df
    return (effect.n_clusters - 1) if effect.n_clusters else None


def heterogeneity_words(i2: float) -> str:
    """Cochrane Handbook's rough guide to I^2."""
    if i2 < 40:
        return "little sign that the programmes' effects really differ"
    if i2 < 60:
        return "moderate differences between programmes"
    if i2 < 75:
        return "substantial differences between programmes"
    return "considerable differences between programmes"
