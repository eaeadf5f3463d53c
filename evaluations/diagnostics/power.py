"""Minimum detectable effect size (MDES): the smallest effect, in standard deviations, that a
sample has an 80% chance of detecting at the 5% level (two-sided).

Planned (before the data are analysed) it comes from the group sizes, as in Bloom (1995) and
the EEF's padlock guidance; achieved (after) it comes from the analysis' own standard error,
so it reflects clustering, covariates and attrition as they turned out.
"""
from __future__ import annotations

import math

ALPHA, POWER = 0.05, 0.80

# scipy.special.ndtri at the two probabilities every normal-reference MDES uses, as it returns them
# (tests/test_diagnostics.py holds them equal, bit for bit): `commonground check` of a sample with
# no clusters then imports no scipy at all (0.3-0.5 s of its 2 s goal, issue 13)
_NORMAL_QUANTILES = {1 - ALPHA / 2: 1.959963984540054, POWER: 0.8416212335729143}


def _quantile(p: float, df: float | None) -> float:
    if not df and p in _NORMAL_QUANTILES:
        return _NORMAL_QUANTILES[p]
    # imported here, not at the top: the quantile functions scipy.stats.t.ppf and norm.ppf call,
    # without importing scipy.stats (1.2 s); scipy.special itself is 0.3-0.5 s, paid only for a t quantile
    from scipy.special import ndtri, stdtrit

    return float(stdtrit(df, p)) if df else float(ndtri(p))


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
