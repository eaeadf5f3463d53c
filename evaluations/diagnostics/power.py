"""Minimum detectable effect size (MDES): the smallest effect, in standard deviations, that a
sample has an 80% chance of detecting at the 5% level (two-sided).

Planned (before the data are analysed) it comes from the group sizes, as in Bloom (1995) and
the EEF's padlock guidance; achieved (after) it comes from the analysis' own standard error,
so it reflects clustering, covariates and attrition as they turned out.
"""
from __future__ import annotations

import math

ALPHA, POWER = 0.05, 0.80

# scipy.special.ndtri at the two probabilities every MDES uses, as it returns them
# (tests/test_diagnostics.py holds them equal, bit for bit): `commonground check` then imports no
# scipy at all (scipy.special took 0.2-0.7 s of its 2 s goal, by machine load; issue 13)
_NORMAL_QUANTILES = {1 - ALPHA / 2: 1.959963984540054, POWER: 0.8416212335729143}
# Above this many degrees of freedom the Cornish-Fisher expansion to 1/df^4 is within 1e-15 of the
# t quantile at both probabilities; below it the exact series is short (at most 500 terms).
_SERIES_UP_TO = 1000


def _quantile(p: float, df: float | None) -> float:
    """The normal (df None) or Student t quantile at p, one of the two probabilities above."""
    z = _NORMAL_QUANTILES.get(p)
    if z is None or (df and not (float(df).is_integer() and df >= 1)):
        # imported here: a fractional df (Welch) comes only from an analysis, where scipy is loaded
        from scipy.special import ndtri, stdtrit
        return float(stdtrit(df, p)) if df else float(ndtri(p))
    if not df:
        return z
    return _t_quantile(p, int(df), z)


def _t_quantile(p: float, df: int, z: float) -> float:
    """Student's t quantile at p > 0.5 for whole df, from its normal quantile z, without scipy.

    Written here rather than taken from scipy.special.stdtrit because importing scipy.special costs
    `check` a third of its time; the planned MDES's df are whole numbers (people or clusters less
    one or two), for which the t distribution has exact finite formulas. Up to _SERIES_UP_TO, Newton's
    method on P(|T| < t) from Abramowitz & Stegun 26.7.3-4 (it starts below the root and the
    probability is concave in t, so it climbs to it); above, Cornish-Fisher (A&S 26.7.5). Within
    2e-14 of the exact quantile, relatively (mpmath at 40 digits), where stdtrit is off by up to 4e-11."""
    if df > _SERIES_UP_TO:
        g = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
             (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
             (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
        return z + sum(gk / df ** k for k, gk in enumerate(g, 1))
    inside = 2 * p - 1  # P(|T| < t) at the quantile
    log_density_at_0 = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    t = z
    for _ in range(50):
        density = math.exp(log_density_at_0 - (df + 1) / 2 * math.log1p(t * t / df))
        step = (_t_probability_within(t, df) - inside) / (2 * density)
        t -= step
        if abs(step) <= 1e-15 * t:
            break
    return t


def _t_probability_within(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with whole df > 0 (Abramowitz & Stegun 26.7.3 odd, 26.7.4 even)."""
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    term = total = math.cos(theta) if df % 2 else 1.0  # the series' first term: cos(theta) or 1
    k = df % 2  # the power of cos(theta) in `term`
    while k < df - 2:
        term *= (k + 1) / (k + 2) * cos2
        total += term
        k += 2
    if df % 2:
        return 2 / math.pi * (theta + (math.sin(theta) * total if df > 1 else 0.0))
    return math.sin(theta) * total


def multiplier(df: float | None = None) -> float:
    return _quantile(1 - ALPHA / 2, df) + _quantile(POWER, df)


def planned_mdes(n_treated: int, n_comparison: int, n_clusters: int | None = None, icc: float = 0.05,
                 r_squared: float = 0.0) -> float:
    """MDES for a two-group comparison; with clusters, people are assumed spread evenly over them."""
    n = n_treated + n_comparison
    if n_treated < 2 or n_comparison < 2:
        return math.inf
    p = n_treated / n
    if n_clusters and n_clusters > 2:
        m = n / n_clusters
        var = (icc + (1 - icc) * (1 - r_squared) / m) / (p * (1 - p) * n_clusters)
        return multiplier(n_clusters - 2) * math.sqrt(var)
    return multiplier() * math.sqrt((1 - r_squared) / (p * (1 - p) * n))


def planned_mdes_one_group(n: int, n_clusters: int | None = None, icc: float = 0.05) -> float:
    """MDES of a mean change in one group (before and after), in standard deviations of the change;
    with clusters, the design effect 1 + (m - 1) icc for m people per cluster."""
    if n < 2:
        return math.inf
    deff = 1 + (n / n_clusters - 1) * icc if n_clusters and n_clusters > 1 else 1.0
    df = (n_clusters - 1) if n_clusters and n_clusters > 1 else n - 1
    return multiplier(df) * math.sqrt(deff / n)


def achieved_mdes(effect_size_ci_low: float, effect_size_ci_high: float, df: float | None = None) -> float:
    """Achieved MDES of an estimate, from the width of its effect-size interval and the degrees of
    freedom that interval used (EffectEstimate.df; None for the normal reference)."""
    crit = _quantile(1 - ALPHA / 2, df)
    width = effect_size_ci_high - effect_size_ci_low
    if not math.isfinite(width) or width <= 0:
        return math.inf
    return multiplier(df) * width / (2 * crit)
