"""The one result type every estimator returns."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from evaluations.estimators.inference import Z_95, interval  # noqa: F401  (Z_95 re-exported)


@dataclass(frozen=True)
class EffectEstimate:
    """One estimated effect of a programme on one outcome.

    `estimate` is on the outcome's own scale, oriented so that higher is better
    (the measure bank says which way each measure points). Binary outcomes are
    reported in percentage points.
    """

    outcome: str
    estimand: str  # "ATT", "ATE" or "CATE"
    estimator: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_comparison: int
    effect_size: float  # Hedges' g
    effect_size_ci_low: float
    effect_size_ci_high: float
    units: str = "scale points"
    subgroup: str = "all"  # "all", or "<modifier>=<level>" for a group average effect
    n_clusters: int | None = None
    df: float | None = None  # degrees of freedom of the t reference its interval used; None: normal
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    def as_row(self) -> dict:
        row = asdict(self)
        row["assumptions"] = "; ".join(self.assumptions)
        return row


def hedges_g(estimate: float, ci: tuple[float, float], sd_treated: float, sd_comparison: float,
             n_treated: int, n_comparison: int) -> tuple[float, float, float]:
    """Standardise an effect by the pooled standard deviation with Hedges' small-sample correction.

    The interval is the estimate's own interval on the standardised scale, so it carries
    whatever the estimator knew about clustering or matching.
    """
    n = n_treated + n_comparison
    if n < 3:
        return (math.nan, math.nan, math.nan)
    pooled = math.sqrt(((n_treated - 1) * sd_treated**2 + (n_comparison - 1) * sd_comparison**2) / (n - 2))
    if not pooled > 0:
        return (math.nan, math.nan, math.nan)
    j = 1 - 3 / (4 * n - 9)
    return (estimate / pooled * j, ci[0] / pooled * j, ci[1] / pooled * j)


def normal_inference(estimate: float, std_error: float, df: float | None = None) -> tuple[float, float, float]:
    """95% interval and two-sided p-value (kept for callers; the formula lives in inference.interval)."""
    return interval(estimate, std_error, df)
