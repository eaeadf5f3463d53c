"""E-values (VanderWeele & Ding 2017): the minimum strength of association, on the risk-ratio scale,
that an unmeasured confounder would need with both taking part and the outcome to explain away an
effect, for the point estimate and for the interval limit nearer the null.

Our outcomes are mean differences, so an effect size d (Hedges' g here) is first put on the
approximate risk-ratio scale as RR = exp(0.91 d), with the interval exp(0.91 d -/+ 1.78 SE(d))
(VanderWeele 2017; Chinn 2000), exactly as the R package EValue's `evalues.MD` does. Written here
rather than called: there is no maintained Python implementation, and the formula is three lines;
tests/test_evalue.py checks it against EValue's documented examples and the paper's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MD_TO_LOG_RR = 0.91  # log risk ratio per SD of a dichotomised normal outcome (VanderWeele 2017)
MD_SE_TO_LOG_RR = 1.78  # the multiplier EValue applies to SE(d) for the interval (1.96 x 0.91)


@dataclass(frozen=True)
class EValue:
    point: float  # E-value of the point estimate
    limit: float  # E-value of the interval limit nearer the null (1 when the interval includes it)
    rr: float  # the estimate on the (approximate) risk-ratio scale
    rr_low: float | None
    rr_high: float | None


def _threshold(rr: float) -> float:
    """E-value of one risk ratio against a null of 1: RR + sqrt(RR (RR - 1)), after taking RR < 1 as 1/RR."""
    if not rr > 0 or not math.isfinite(rr):
        return math.nan
    x = rr if rr >= 1 else 1 / rr
    return x + math.sqrt(x * (x - 1))


def risk_ratio_evalue(rr: float, low: float | None = None, high: float | None = None) -> EValue:
    """E-values for a risk ratio and its interval (EValue's `evalues.RR` with true = 1)."""
    if low is not None and high is not None and not low <= rr <= high:
        raise ValueError("the estimate must lie inside its interval")
    point = _threshold(rr)
    if rr == 1:
        limit = 1.0
    elif rr > 1:
        limit = 1.0 if low is None or low <= 1 else _threshold(low)
    else:
        limit = 1.0 if high is None or high >= 1 else _threshold(high)
    if (rr > 1 and low is None) or (rr < 1 and high is None):
        limit = math.nan  # no interval given: nothing to say about it
    return EValue(point, limit, rr, low, high)


def standardised_effect_evalue(d: float, low: float, high: float) -> EValue:
    """E-values for a standardised effect d with its own 95% interval (low, high), each put on the risk-ratio
    scale as exp(0.91 x). The published interval carries the estimator's reference distribution (t on its df,
    clusters); for a normal interval d -/+ 1.96 SE this is `mean_difference_evalue`, with 0.91 x 1.96 in place
    of EValue's rounded 1.78."""
    return risk_ratio_evalue(math.exp(MD_TO_LOG_RR * d), math.exp(MD_TO_LOG_RR * low), math.exp(MD_TO_LOG_RR * high))


def mean_difference_evalue(d: float, se: float) -> EValue:
    """E-values for a standardised mean difference d with standard error `se` (EValue's `evalues.MD`)."""
    if se < 0:
        raise ValueError("a standard error cannot be negative")
    rr = math.exp(MD_TO_LOG_RR * d)
    return risk_ratio_evalue(rr, math.exp(MD_TO_LOG_RR * d - MD_SE_TO_LOG_RR * se),
                             math.exp(MD_TO_LOG_RR * d + MD_SE_TO_LOG_RR * se))
