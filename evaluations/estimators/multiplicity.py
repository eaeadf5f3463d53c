"""Secondary outcomes' p-values adjusted for testing several of them (Romano & Wolf's step-down).

Why: an evaluation registers one or more primary outcomes and usually a few secondary ones. A primary
outcome is the registered question and is tested alone, at 5%. Tested the same way, five secondary
outcomes would give a 23% chance that at least one looks like an effect when the programme changed
none of them, and the page would call it one. So every secondary outcome also carries a p-value adjusted
for testing all the secondary outcomes together: it controls the family-wise error rate (the chance of
calling any null secondary effect real) at the level it is read at, and the page's words for a secondary
outcome follow it (publish/pages.py).

How (one place: `adjust`, called once by estimators/plan.py after every outcome is estimated):

- Romano & Wolf's (2005, 2016) step-down max-|t|, the procedure of Stata ``rwolf`` (Clarke, Romano & Wolf
  2020) and R ``wildrwolf``: order the outcomes by |t|; the largest is compared with the distribution of
  the maximum |t| over all of them under the null, the next with the maximum over those left, and so on;
  p-values are made monotone in that order (`stepdown`, with rwolf's (count + 1) / (draws + 1)).
- The null joint distribution of the secondary outcomes' statistics comes from the estimators' own
  per-person influence functions (result.Influence; each estimator that has one keeps it), stacked by
  person (summed by cluster when the standard errors allow for clusters), so outcomes measured on the same
  people are as correlated as their estimates are. Conditional on the data, a Gaussian multiplier
  bootstrap of the stacked influence functions is exactly the multivariate normal with their covariance
  (Chernozhukov, Chetverikov & Kato 2013, whose section 5 uses it for this step-down), so `DRAWS` seeded
  draws are taken from that normal, standardised to correlations: the cost is one n x k product and
  DRAWS x k normals, whatever the estimator, instead of re-running every estimator (a DoWhy matching
  fit, or a staggered roll-out's cells) thousands of times.
- Each outcome's observed statistic is its own p-value on the normal scale, z = Phi^-1(1 - p/2), which
  is |t| for a normal reference and keeps a t reference's extra width (cluster-robust t on G-1 df, Welch
  df) in the adjustment. An adjusted p-value is never below the outcome's own (`max` with it), which the
  step-down only breaks by Monte Carlo error.
- Holm's step-down instead, when a secondary outcome's estimator keeps no influence function (nearest-
  neighbour matching: its Abadie-Imbens variance is not a sum over people), or the outcomes' covariance
  is not usable. Holm controls the same error rate under any dependence, so it is valid, only less
  powerful; re-running matching in a bootstrap would cost a DoWhy fit per outcome per draw, and the plain
  bootstrap of a matching estimator is not valid anyway (Abadie & Imbens 2008).
- One secondary outcome: nothing to adjust for; its adjusted p-value is its own.

Validity (benchmarks/monte_carlo.py, families "secondary_null" and "secondary"; tests/test_multiplicity.py):
family-wise error rate under the global null near 5% and never above Bonferroni's, rejections at least
Holm's. The step-down itself gives exactly pyfixest's ``rwolf`` p-values when fed that package's own
wild-bootstrap draws (tests/test_multiplicity.py; a row of the book's parity table).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from evaluations.estimators.result import EffectEstimate, Influence

DRAWS = 9_999  # null draws of the secondary outcomes' statistics: p-values to 1/10,000, as rwolf's reps(9999)
ROMANO_WOLF = "romano_wolf"
HOLM = "holm"


def stepdown(statistics: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values from the observed statistics (S) and null draws (B x S).

    Both are taken in absolute value (two-sided tests). The outcome with the s-th largest statistic gets
    (1 + #{draws whose maximum over the outcomes not yet stepped past is >= its statistic}) / (B + 1),
    then the running maximum in that order (Romano & Wolf 2016, Algorithm 4.1; rwolf's plus-one).
    """
    t = np.abs(np.asarray(statistics, dtype=float))
    null = np.abs(np.asarray(draws, dtype=float))
    order = np.argsort(-t, kind="stable")
    raw = np.empty(len(t))
    for s, j in enumerate(order):
        maxima = null[:, order[s:]].max(axis=1)
        raw[s] = (np.count_nonzero(maxima >= t[j]) + 1) / (len(null) + 1)
    adjusted = np.empty(len(t))
    adjusted[order] = np.minimum(np.maximum.accumulate(raw), 1.0)
    return adjusted


def holm(p_values: Iterable[float]) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: the s-th smallest times (S - s + 1), running maximum."""
    p = np.asarray(list(p_values), dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.empty(len(p))
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def correlation(influences: list[Influence]) -> np.ndarray:
    """The correlation of the estimates from their influence values, matched person by person (or cluster by
    cluster when clustered); a person missing from one outcome's sample adds nothing to it."""
    columns = []
    for inf in influences:
        key = inf.clusters if inf.clusters is not None else inf.units
        columns.append(pd.Series(inf.values, dtype=float).groupby(pd.Index(key)).sum())
    stacked = pd.concat(columns, axis=1, join="outer").fillna(0.0).to_numpy()
    cov = stacked.T @ stacked
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def normal_draws(corr: np.ndarray, seed: int, draws: int = DRAWS) -> np.ndarray:
    """`draws` seeded draws (draws x k) of a standard normal vector with correlation `corr`."""
    values, vectors = np.linalg.eigh(corr)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # a symmetric square root that tolerates rank deficiency
    return np.random.default_rng(seed).standard_normal((draws, len(corr))) @ root.T


def romano_wolf(p_values: np.ndarray, corr: np.ndarray, seed: int, draws: int = DRAWS) -> np.ndarray:
    """Adjusted p-values of two-sided tests with these p-values, whose statistics have correlation `corr`."""
    p = np.asarray(p_values, dtype=float)
    z = stats.norm.isf(p / 2)
    return np.maximum(stepdown(z, normal_draws(corr, seed, draws)), p)


@dataclasses.dataclass(frozen=True)
class Adjustment:
    method: str  # ROMANO_WOLF or HOLM
    p_values: dict[str, float]  # outcome -> adjusted p-value


def adjust_p_values(estimates: list[EffectEstimate], seed: int, draws: int = DRAWS) -> Adjustment:
    """The family's adjusted p-values, one per estimate (outcome), by Romano-Wolf or else Holm."""
    p = np.array([e.p_value for e in estimates], dtype=float)
    names = [e.outcome for e in estimates]
    if len(estimates) == 1:
        return Adjustment(ROMANO_WOLF, {names[0]: float(p[0])})
    if all(e.influence is not None for e in estimates):
        corr = correlation([e.influence for e in estimates])
        if np.isfinite(corr).all():
            return Adjustment(ROMANO_WOLF, dict(zip(names, map(float, romano_wolf(p, corr, seed, draws)))))
    return Adjustment(HOLM, dict(zip(names, map(float, holm(p)))))


def adjust(estimates: list[EffectEstimate], primary: Iterable[str], seed: int,
           draws: int = DRAWS) -> list[EffectEstimate]:
    """The overall estimates with every secondary outcome's adjusted p-value (`p_value_adjusted`), the
    method (`adjustment`) and how many secondary outcomes it allows for (`adjusted_for`); primary outcomes
    are returned as they are. A secondary outcome without a p-value is left out of the family."""
    primary = set(primary)
    family = [e for e in estimates if e.subgroup == "all" and e.outcome not in primary
              and e.p_value is not None and math.isfinite(e.p_value)]
    if not family:
        return list(estimates)
    result = adjust_p_values(family, seed, draws)
    done = {e.outcome for e in family}
    return [dataclasses.replace(e, p_value_adjusted=result.p_values[e.outcome], adjustment=result.method,
                                adjusted_for=len(family)) if e.outcome in done else e for e in estimates]
