"""The one result type every estimator returns."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from evaluations.estimators.inference import Z_95, interval  # noqa: F401  (Z_95 re-exported)


@dataclass(frozen=True)
class Influence:
    """Each analysed unit's share of an estimate's error, kept so estimates of several outcomes can be
    combined (estimators/multiplicity.py): estimate - truth is approximately values.sum().

    `values` is the estimator's influence function divided by the units it analysed; `units` the panel's
    unit ids (the same person carries the same id in every outcome's sample); `clusters` the cluster
    labels (not codes, which differ between samples) when the standard error allows for clusters.
    Not published and not in the estimates table.
    """

    units: np.ndarray
    values: np.ndarray
    clusters: np.ndarray | None = None

    @classmethod
    def of(cls, frame, psi, cluster: bool | str | None = False) -> Influence:
        """From an estimator's influence function `psi` (its error is mean(psi)) over the rows of `frame`
        (which holds `unit`, else its index stands in, and the cluster column when clustered: `cluster`
        names it, or True for "cluster")."""
        psi = np.asarray(psi, dtype=float)
        units = frame["unit"] if "unit" in frame.columns else frame.index
        return cls(np.asarray(units), psi / len(psi),
                   np.asarray(frame["cluster" if cluster is True else cluster].astype(str)) if cluster else None)


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
    # a secondary outcome's p-value adjusted for testing `adjusted_for` secondary outcomes, and how
    # ("romano_wolf" or "holm"): set by multiplicity.adjust; None for primary outcomes and other rows
    p_value_adjusted: float | None = None
    adjustment: str | None = None
    adjusted_for: int | None = None
    # for adjusting secondary outcomes' p-values together (multiplicity.py); None where the estimator has none
    influence: Influence | None = field(default=None, compare=False, repr=False)

    def as_row(self) -> dict:
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "influence"}
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
