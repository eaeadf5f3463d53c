"""Synthesis across evaluations: random-effects meta-analysis of standardised effects.

DerSimonian-Laird (1986), the estimator of the Cochrane Handbook and RevMan: each study is
weighted by 1 / (its variance + tau^2), where tau^2 is the between-study variance of the
true effects. I^2 is the share of the spread in estimates due to real differences between
programmes rather than chance (Higgins & Thompson 2002). With few studies, tau^2 is poorly
estimated, so the prediction interval (where the next programme's effect may fall) uses a
t distribution on k - 2 degrees of freedom (Higgins, Thompson & Spiegelhalter 2009).

The interval and test of the pooled effect use the Hartung-Knapp-Sidik-Jonkman adjustment
(Hartung & Knapp 2001; Sidik & Jonkman 2002): the variance of the pooled effect is scaled by
the weighted spread of the studies around it, and the reference is t on k - 1 degrees of
freedom rather than the normal. With few studies the normal-based DerSimonian-Laird interval
covers the true mean far less often than 95% (IntHout, Ioannidis & Borm 2014); the adjusted
one keeps close to it. The scale factor is floored at 1 (Roever, Knapp & Friede 2015; R metafor's
`test="adhoc"`), so the adjusted interval is never narrower than the unadjusted one: without the
floor, a few studies that happen to agree closely would give an interval of almost no width. Where
the floor does not bind, the result is exactly metafor's `rma(..., test="knha")`.

Whether there are enough studies to pool at all is one rule, MIN_STUDIES_TO_POOL, below.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evaluations.record_model.record import Outcome, ShownEffect

Z_95 = float(stats.norm.ppf(0.975))

# Fewer than five studies are not pooled. With two to four studies the between-study variance tau^2
# cannot be estimated with any reliability, so a random-effects mean and its interval mean little:
# the Hartung-Knapp interval is then either uselessly wide or, when the few studies happen to agree,
# too narrow (Bender et al. 2018, "Methods for the meta-analysis of few studies", Research Synthesis
# Methods 9:382; Roever, Knapp & Friede 2015, BMC Med Res Methodol 15:99). Below it the book shows each
# evaluation's own result side by side and says why there is no pooled effect.
MIN_STUDIES_TO_POOL = 5


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
    df: int  # of the t reference of the Hartung-Knapp-Sidik-Jonkman interval and test: k - 1


def enough_to_pool(k: int) -> bool:
    """Whether k studies are enough for a pooled effect (MIN_STUDIES_TO_POOL and its reason above)."""
    return k >= MIN_STUDIES_TO_POOL


def too_few_to_pool(k: int) -> str:
    """The plain-words reason there is no pooled effect for k studies."""
    studies = "no evaluation has" if k == 0 else "one evaluation has" if k == 1 else f"only {k} evaluations have"
    return (f"No pooled effect: {studies} published a result on this measure. The library pools only when at "
            f"least {MIN_STUDIES_TO_POOL} evaluations have, because with fewer the spread between programmes cannot "
            "be estimated and a pooled effect and its interval would claim more than the evidence supports.")


def poolable(outcome: Outcome, measure_id: str) -> bool:
    """Whether a published record's outcome is a result on the bank measure `measure_id`, and so may be
    pooled with the others on it. A charity's own question never is, whatever it resembles: pooling
    rests on the same question asked the same way, which only the measure bank guarantees."""
    return not outcome.own_measure and outcome.measure == measure_id


def random_effects(estimates, variances) -> MetaAnalysis:
    """DerSimonian-Laird random-effects pooling of `estimates` with sampling `variances`, with the
    Hartung-Knapp-Sidik-Jonkman interval. Callers check `enough_to_pool` first; this needs two studies."""
    y, v = _checked(estimates, variances)
    k = len(y)
    w = 1 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - fixed) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c)
    return pool(y, v, tau2, q)


def pool(estimates, variances, tau2: float, q: float | None = None) -> MetaAnalysis:
    """The random-effects mean for a given between-study variance `tau2`, with the Hartung-Knapp-Sidik-
    Jonkman interval and test; `q` (Cochran's Q, computed when not given) gives I^2 and its test."""
    y, v = _checked(estimates, variances)
    k = len(y)
    if q is None:
        w = 1 / v
        q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    w_star = 1 / (v + tau2)
    pooled = float(np.sum(w_star * y) / np.sum(w_star))
    scale = max(1.0, float(np.sum(w_star * (y - pooled) ** 2)) / (k - 1))
    se = float(math.sqrt(scale / np.sum(w_star)))
    crit = float(stats.t.ppf(0.975, k - 1))
    i2 = max(0.0, (q - (k - 1)) / q) * 100 if q > 0 else 0.0
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + se**2)
        pred = (pooled - half, pooled + half)
    else:
        pred = (None, None)
    p_value = float(2 * stats.t.sf(abs(pooled / se), k - 1)) if se > 0 else 0.0
    return MetaAnalysis(k=k, estimate=pooled, std_error=se, ci_low=pooled - crit * se, ci_high=pooled + crit * se,
                        p_value=p_value, tau2=float(tau2), q=float(q), q_p_value=float(stats.chi2.sf(q, k - 1)),
                        i2=float(i2), prediction_low=pred[0], prediction_high=pred[1], df=k - 1)


def _checked(estimates, variances) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(estimates, float)
    v = np.asarray(variances, float)
    if len(y) < 2:
        raise ValueError("a meta-analysis needs at least two studies")
    if len(y) != len(v) or np.any(~np.isfinite(y)) or np.any(~(v > 0)):
        raise ValueError("every study needs a finite estimate and a positive variance")
    return y, v


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
