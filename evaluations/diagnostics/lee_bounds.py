"""Lee (2009) trimming bounds: what attrition could do to an effect, assuming only that taking part
never stops anyone answering who would otherwise have answered (or never makes anyone answer).

When more people answer the follow-up in one group than in the other, the extra answers in the
better-answering group come from people who would not have answered had they been in the other
group. Lee (2009, Review of Economic Studies 76(3), 1071-1102) shows that, under monotonic
response, the effect among the people who would answer either way (the "always-responders")
lies between two numbers: drop the top share p of the better-answering group's answers and
compare, then drop the bottom share p and compare, with p = 1 - (response rate of the other
group) / (response rate of the better-answering group). The bounds are sharp: nothing tighter
follows without further assumptions.

What is bounded here is the design's own comparison without covariate adjustment: the mean
follow-up outcome (designs that analyse the follow-up score) or the mean change (change-score
designs), among people at baseline; `responded` says who has the follow-up answer. Survey
weights weight everything (the response rates, the trimming, the means).

Ties. Survey answers take few values, so trimming "the top p" usually cuts through a value held
by many people. The bound is then the mean of the lowest (or highest) 1 - p of the weighted
distribution, cutting the tied value's weight fractionally: the trimmed mean is
(1 / (1 - p)) times the integral of the quantile function over [0, 1 - p] (or [p, 1]), which is
what the sharp bound is for a discrete outcome. With distinct values and equal weights this is
Lee's estimator exactly.

Disclosure control (evaluations/disclosure.py, rule `least_trimmed`): when fewer than THRESHOLD
people would be trimmed, at least THRESHOLD are (a larger share), so that no published bound is
moved by the answers of fewer than THRESHOLD people; such bounds are wider than the sharp ones
and still valid, and say so (`widened`).

Inference. Each bound's standard error comes from its influence function: the trimmed mean's
(whose form, with the cut-off c, is ((y - c) 1{y <= c} + c t) / t - mu for the lower one, with
t = 1 - p, and needs no density), plus the effect of estimating t from the two response rates
(d mu / d t = (c - mu) / t), plus the other group's mean; summed over people with their weights
within each group, as a weighted (HC0-like) sandwich treats independent people. The 95%
interval is Imbens & Manski's (2004, Econometrica 72(6)) for the effect (not for the pair of
bounds), as Lee (2009) reports: [lower - C se_lower, upper + C se_upper] with C solving
Phi(C + (upper - lower) / max(se)) - Phi(-C) = 0.95. When the trimmed share is widened for
disclosure control it is a fixed number, and its estimation term is left out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

LEVEL = 0.95


@dataclass(frozen=True)
class LeeBounds:
    lower: float
    upper: float
    se_lower: float
    se_upper: float
    ci_low: float  # Imbens-Manski 95% interval for the effect among always-responders
    ci_high: float
    response_programme: float  # weighted shares of people at baseline with the follow-up answer
    response_comparison: float
    trimmed_group: str | None  # "programme" or "comparison"; None when both answered alike
    sharp_share: float  # p: the share of the trimmed group's answers the sharp bounds drop
    trimmed_share_lower: float  # the share dropped for each bound (larger than p when widened)
    trimmed_share_upper: float
    widened: bool
    n_programme: int  # people at baseline
    n_comparison: int
    responded_programme: int
    responded_comparison: int


def lee_bounds(y, treated, responded, weights=None, *, least_trimmed: int = 0) -> LeeBounds:
    """Lee bounds on the effect (programme minus comparison) among always-responders.

    `y` is the outcome (ignored where `responded` is false), `treated` 0/1, `responded` True where
    the follow-up answer exists, `weights` survey weights (or None), one per person at baseline.
    `least_trimmed`: when people are trimmed at all, at least this many are (disclosure control).
    """
    y = np.asarray(y, dtype=float)
    d = np.asarray(treated).astype(int) == 1
    s = np.asarray(responded).astype(bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    if not (len(y) == len(d) == len(s) == len(w)):
        raise ValueError("y, treated, responded and weights must have one value per person")
    if np.any(s & ~np.isfinite(y)):  # an infinite answer would make every bound NaN, silently
        raise ValueError("a person marked as responding has no outcome, or an infinite one")
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("weights must be non-negative numbers")
    groups = {"programme": d, "comparison": ~d}
    q = {g: float(np.sum(w[m] * s[m]) / np.sum(w[m])) for g, m in groups.items()}
    if min(q.values()) <= 0:
        raise ValueError("each group needs someone answering the follow-up")
    a = "programme" if q["programme"] >= q["comparison"] else "comparison"  # the group trimmed
    b = "comparison" if a == "programme" else "programme"
    sign = 1.0 if a == "programme" else -1.0
    t_sharp = q[b] / q[a]
    p = 1.0 - t_sharp
    ya, wa = y[groups[a] & s], w[groups[a] & s]
    yb, wb = y[groups[b] & s], w[groups[b] & s]
    m_b = float(np.average(yb, weights=wb))
    order = np.argsort(ya, kind="stable")
    ya, wa = ya[order], wa[order]

    share_low = _least_share(p, wa[::-1], least_trimmed)  # the lower bound drops the top answers
    share_up = _least_share(p, wa, least_trimmed)  # the upper bound drops the bottom answers
    widened = share_low > p + 1e-12 or share_up > p + 1e-12
    if max(share_low, share_up) >= 1.0 - 1e-12:
        raise ValueError(f"too few answers in the {a} group to trim {least_trimmed} people and keep anyone")
    mu_low, c_low = _tail_mean(ya, wa, 1.0 - share_low, lower=True)
    mu_up, c_up = _tail_mean(ya, wa, 1.0 - share_up, lower=False)
    # trimming the better-answering group's low (high) answers raises (lowers) its mean: which
    # difference is the upper bound depends on whether it is the programme group
    bounds = {}
    for key, mu, c, share, lower_tail in (("low", mu_low, c_low, share_low, True),
                                          ("up", mu_up, c_up, share_up, False)):
        estimate = sign * (mu - m_b)
        se = _standard_error(y, d, s, w, groups, a, b, q, mu, c, 1.0 - share, lower_tail, m_b, sign,
                             estimated_share=not (share > p + 1e-12))
        bounds[key] = (estimate, se)
    (lo, se_lo), (hi, se_hi) = sorted(bounds.values())
    ci_low, ci_high = imbens_manski(lo, hi, se_lo, se_hi)
    n = {g: int(m.sum()) for g, m in groups.items()}
    r = {g: int((m & s).sum()) for g, m in groups.items()}
    if p <= 1e-12:
        share_low = share_up = 0.0
    return LeeBounds(lower=lo, upper=hi, se_lower=se_lo, se_upper=se_hi, ci_low=ci_low, ci_high=ci_high,
                     response_programme=q["programme"], response_comparison=q["comparison"],
                     trimmed_group=a if p > 1e-12 else None, sharp_share=max(p, 0.0),
                     trimmed_share_lower=share_low if sign > 0 else share_up,
                     trimmed_share_upper=share_up if sign > 0 else share_low, widened=widened,
                     n_programme=n["programme"], n_comparison=n["comparison"],
                     responded_programme=r["programme"], responded_comparison=r["comparison"])


def _least_share(p: float, tail_weights: np.ndarray, least: int) -> float:
    """The share to trim from a tail (weights ordered from the tail inwards): p, or, when that trims
    someone but fewer than `least` people, the weight share of the `least` people at the tail."""
    if p <= 1e-12 or least <= 0:
        return max(p, 0.0)
    total = tail_weights.sum()
    cumulative = np.cumsum(tail_weights) / total
    touched = int(np.searchsorted(cumulative, p - 1e-12) + 1)  # people whose weight is (partly) trimmed
    if touched >= least:
        return p
    return float(cumulative[min(least, len(cumulative)) - 1])


def _tail_mean(y: np.ndarray, w: np.ndarray, keep: float, lower: bool) -> tuple[float, float]:
    """The weighted mean of the lowest (or highest) `keep` share of the distribution, cutting a tied
    value's weight fractionally, and the cut-off value (the quantile at `keep`, or at 1 - keep)."""
    if not lower:
        mean, cut = _tail_mean(-y[::-1], w[::-1], keep, lower=True)
        return -mean, -cut
    total = w.sum()
    target = keep * total
    before = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    kept = np.clip(target - before, 0.0, w)
    mean = float(np.sum(y * kept) / target)
    cut = float(y[np.nonzero(kept > 0)[0].max()]) if np.any(kept > 0) else float(y[0])
    return mean, cut


def _standard_error(y, d, s, w, groups, a, b, q, mu, c, t, lower_tail, m_b, sign, estimated_share) -> float:
    """The bound's standard error from its influence function (module docstring)."""
    variance = 0.0
    for g in (a, b):
        m = groups[g]
        yg, sg, wg = np.where(s[m], y[m], 0.0), s[m].astype(float), w[m]
        if g == a:
            tail = (yg <= c) if lower_tail else (yg >= c)
            conditional = ((yg - c) * tail + c * t) / t - mu
            phi = sg * conditional / q[a]
            if estimated_share:
                phi = phi - (c - mu) * (sg - q[a]) / q[a]
        else:
            phi = -sg * (yg - m_b) / q[b]
            if estimated_share:
                phi = phi + (c - mu) * (sg - q[b]) / q[b]
        variance += float(np.sum((wg * phi) ** 2) / wg.sum() ** 2)
    return math.sqrt(variance) * abs(sign)


def imbens_manski(lower: float, upper: float, se_lower: float, se_upper: float,
                  level: float = LEVEL) -> tuple[float, float]:
    """Imbens & Manski's (2004) interval covering the effect (a point of [lower, upper]) with `level`."""
    width = max(upper - lower, 0.0)
    scale = max(se_lower, se_upper)
    if not scale > 0:
        return lower, upper
    z_one, z_two = stats.norm.ppf(level), stats.norm.ppf(0.5 + level / 2)
    gap = width / scale
    critical = optimize.brentq(lambda x: stats.norm.cdf(x + gap) - stats.norm.cdf(-x) - level,
                               z_one - 1e-9, z_two + 1e-9)
    return lower - critical * se_lower, upper + critical * se_upper


def by_outcome(panel, manifest, least_trimmed: int) -> list[dict]:
    """Bounds for each outcome of a design with `bounds_attrition`, where someone at baseline has no
    follow-up answer: on the follow-up score, or on the change for change-score estimators (then among
    people with a baseline answer). Survey weights are the baseline row's."""
    import pandas as pd

    from evaluations.designs import design_of
    from evaluations.designs.base import CHANGE_SCORE_ESTIMATORS

    d = manifest.design
    if not design_of(d).bounds_attrition:
        return []
    change = d.analysis_estimator in CHANGE_SCORE_ESTIMATORS
    first = panel[panel["period"] == 1].drop_duplicates("unit").set_index("unit")
    last = panel[panel["period"] == len(d.wave_labels)].drop_duplicates("unit").set_index("unit")
    out = []
    for o in manifest.outcomes:
        base = first[first[o.column].notna()] if change else first
        y1 = pd.to_numeric(last[o.column], errors="coerce").reindex(base.index)
        responded = y1.notna().to_numpy()
        if responded.all() or not responded.any():
            continue  # no one lost: nothing to bound (or no one to compare)
        y = (y1 - pd.to_numeric(base[o.column], errors="coerce")) if change else y1
        weights = base["weight"].to_numpy(dtype=float) if "weight" in base.columns else None
        try:
            b = lee_bounds(y.to_numpy(dtype=float), base["treated"].to_numpy(), responded, weights,
                           least_trimmed=least_trimmed)
        except ValueError:
            continue  # a group with no answers, or too few to trim: the page shows no bounds
        out.append({"outcome": o.column, "compared": "change" if change else "follow-up score",
                    **{k: v for k, v in b.__dict__.items()}})
    return out
