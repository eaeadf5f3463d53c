"""Cinelli & Hazlett (2020) sensitivity of a regression coefficient to an omitted confounder.

For the coefficient of taking part in a linear regression, "Making Sense of Sensitivity" measures
a hidden confounder Z by two partial R2s: of Z with taking part given the covariates (R2 D~Z|X)
and of Z with the outcome given taking part and the covariates (R2 Y~Z|D,X). Every quantity here
follows from the coefficient's classical OLS t statistic, its residual degrees of freedom and,
for benchmarks, the partial R2s of one observed covariate, exactly as the R package sensemakr
(0.1.6) computes them:

- `partial_r2`: R2 Y~D|X = t^2 / (t^2 + df);
- `robustness_value`: RV_q, the strength (equal on both sides) a confounder needs to move the
  estimate by q x 100 %, and RV_{q,alpha}, to make its interval reach the null (sensemakr's
  `robustness_value`, including the "extreme" case where the constraint does not bind);
- `benchmark_bounds`: the partial R2s of a confounder kd (ky) times as strong as an observed
  covariate (`ovb_partial_r2_bound`), and `adjusted` the estimate, SE, t and interval after
  removing the largest bias such a confounder could cause (`adjusted_estimate`, `adjusted_se`,
  `adjusted_t`, `adjusted_ci`);
- `times_as_strong`: how many times as strong as a covariate (kd = ky = k) a confounder must be
  to bring the estimate to zero: the k at which `adjusted` reaches zero (the adjusted estimate
  falls monotonically in k), by bisection;
- `ols_sensitivity`: all of it from a fitted OLS/WLS (statsmodels), benchmarking every covariate.

Written here rather than depending on PySensemakr: the formulas are a page, and
tests/test_robustness_value.py checks them against sensemakr's documented darfur example to its
printed precision. The classical t is the one these formulas are derived for (sensemakr uses
lm's); the published interval may use robust or cluster-robust errors, which RV_q (a function of
the partial correlation only) does not depend on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05  # the significance level of RV_{q,alpha}, as sensemakr's default


def partial_r2(t: float, dof: float) -> float:
    """The partial R2 of a regressor with the outcome, given the others, from its t statistic."""
    return t**2 / (t**2 + dof)


def robustness_value(t: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """RV_q (alpha None) or RV_{q,alpha}: the partial R2 a confounder needs with both taking part and the
    outcome to reduce the estimate by 100q % (or to make its 1-alpha interval reach that point)."""
    if dof < 2:
        raise ValueError("the robustness value needs at least 2 residual degrees of freedom")
    fq = q * abs(t / math.sqrt(dof))
    f_crit = 0.0 if alpha is None else abs(float(stats.t.ppf(alpha / 2, dof - 1))) / math.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if f_crit > 0 and fq > 1 / f_crit:  # the constraint does not bind: the "extreme" robustness value
        return (fq**2 - f_crit**2) / (1 + fq**2)
    return 2 / (1 + math.sqrt(1 + 4 / fqa**2))  # = (sqrt(fqa^4 + 4 fqa^2) - fqa^2) / 2, stably


def benchmark_bounds(r2dxj_x: float, r2yxj_dx: float, kd: float = 1.0, ky: float | None = None) -> tuple[float, float]:
    """(R2 D~Z|X, R2 Y~Z|D,X) of a confounder kd times as strong as covariate X_j with taking part and ky
    times with the outcome, from X_j's partial R2s (Cinelli & Hazlett 2020, sec. 6.1 and footnote 10)."""
    ky = kd if ky is None else ky
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz_x >= 1:
        raise ValueError(f"a confounder {kd:g} times as strong as this covariate would explain all of taking part")
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2zxj_xd >= 1:
        raise ValueError(f"a confounder {kd:g} times as strong as this covariate is impossible")
    r2yz_dx = ((math.sqrt(ky) + math.sqrt(r2zxj_xd)) / math.sqrt(1 - r2zxj_xd))**2 * (r2yxj_dx / (1 - r2yxj_dx))
    return r2dz_x, min(r2yz_dx, 1.0)  # sensemakr caps the outcome side at 1


@dataclass(frozen=True)
class Adjusted:
    """The estimate after removing the largest bias a confounder of the given strength could cause."""
    estimate: float
    std_error: float
    t: float
    ci_low: float
    ci_high: float


def adjusted(estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float,
             alpha: float = ALPHA) -> Adjusted:
    """sensemakr's bias-adjusted estimate (reduce = TRUE: the bias is taken towards zero), SE, t and interval.

    The interval uses t on the regression's df, as sensemakr's bounds table (`ovb_bounds`) prints it (its
    stand-alone `adjusted_ci` uses df - 1, the df of the regression with the confounder added)."""
    bias = _bias_factor(r2dz_x, r2yz_dx) * se * math.sqrt(dof)
    new = (-1 if estimate < 0 else 1) * (abs(estimate) - bias)
    new_se = math.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * se * math.sqrt(dof / (dof - 1))
    crit = float(stats.t.ppf(1 - alpha / 2, dof))
    t = new / new_se if new_se > 0 else math.copysign(math.inf, new)
    return Adjusted(new, new_se, t, new - crit * new_se, new + crit * new_se)


def times_as_strong(estimate: float, se: float, dof: float, r2dxj_x: float, r2yxj_dx: float,
                    tol: float = 1e-10) -> float | None:
    """The k for which a confounder k times as strong as covariate X_j (kd = ky = k) brings the estimate to
    zero; None when no confounder bounded this way can (X_j is unrelated to taking part)."""
    if estimate == 0:
        return 0.0
    if r2dxj_x <= 0:
        return None

    def left(k: float) -> float:  # what is left of |estimate| after the bias of a k-times confounder
        return adjusted(estimate, se, dof, *benchmark_bounds(r2dxj_x, r2yxj_dx, k)).estimate * np.sign(estimate)

    lo, hi = 0.0, (1 - r2dxj_x) / r2dxj_x  # as k approaches hi, R2 D~Z|X approaches 1 and the bias grows without bound
    crossed = False  # unless X_j is unrelated to the outcome too, when no multiple of it biases anything
    for _ in range(200):
        mid = (lo + hi) / 2
        if left(mid) > 0:
            lo = mid
        else:
            hi, crossed = mid, True
        if hi - lo <= tol * max(1.0, hi):
            break
    return (lo + hi) / 2 if crossed else None


# --------------------------------------------------------------------------- from a regression


@dataclass(frozen=True)
class Benchmark:
    """A confounder as strong as one observed covariate (kd = ky = 1), and the multiple needed to explain
    the estimate away."""
    covariate: str
    r2dz_x: float
    r2yz_dx: float
    adjusted: Adjusted
    times_as_strong: float | None


@dataclass(frozen=True)
class RegressionSensitivity:
    estimate: float
    std_error: float  # classical OLS (or WLS), as the formulas need
    t: float
    dof: float
    partial_r2: float  # R2 Y~D|X
    rv: float  # RV_{q=1}
    rv_alpha: float  # RV_{q=1, alpha=0.05}
    benchmarks: tuple[Benchmark, ...]  # one per covariate that could be benchmarked, strongest first

    @property
    def strongest(self) -> Benchmark | None:
        return self.benchmarks[0] if self.benchmarks else None


def ols_sensitivity(y: pd.Series, X: pd.DataFrame, treatment: str, covariates: list[str],
                    weights: np.ndarray | None = None) -> RegressionSensitivity:
    """Refit ``y ~ 1 + X`` by OLS (WLS with `weights`) and measure the `treatment` coefficient's sensitivity,
    benchmarked against each of `covariates` (columns of X).

    A covariate's strength is the bias a confounder as strong as it (kd = ky = 1) could cause; the
    benchmarks are sorted strongest first. A covariate so tied to taking part that a confounder as strong
    is impossible (R2 D~X_j|X >= 1/2) cannot be benchmarked and is left out, as sensemakr refuses it.
    """
    import statsmodels.api as sm

    design = sm.add_constant(X.astype(float), has_constant="add")
    w = None if weights is None else np.asarray(weights, dtype=float)
    fit = (sm.OLS(y.astype(float), design) if w is None else sm.WLS(y.astype(float), design, weights=w)).fit()
    est, se, t, dof = (float(fit.params[treatment]), float(fit.bse[treatment]), float(fit.tvalues[treatment]),
                       float(fit.df_resid))
    benchmarks = []
    if covariates:
        others = design.drop(columns=[treatment])
        d = X[treatment].astype(float)
        fit_d = (sm.OLS(d, others) if w is None else sm.WLS(d, others, weights=w)).fit()
        for c in covariates:
            r2dxj = partial_r2(float(fit_d.tvalues[c]), float(fit_d.df_resid))
            r2yxj = partial_r2(float(fit.tvalues[c]), dof)
            if not (math.isfinite(r2dxj) and math.isfinite(r2yxj)):  # collinear with the others: no strength of its own
                continue
            try:
                r2dz, r2yz = benchmark_bounds(r2dxj, r2yxj)
            except ValueError:
                continue
            benchmarks.append(Benchmark(c, r2dz, r2yz, adjusted(est, se, dof, r2dz, r2yz),
                                        times_as_strong(est, se, dof, r2dxj, r2yxj)))
    benchmarks.sort(key=lambda b: (-_bias_factor(b.r2dz_x, b.r2yz_dx), b.covariate))
    return RegressionSensitivity(est, se, t, dof, partial_r2(t, dof), robustness_value(t, dof),
                                 robustness_value(t, dof, alpha=ALPHA), tuple(benchmarks))


def _bias_factor(r2dz_x: float, r2yz_dx: float) -> float:
    """The bias a confounder of these strengths can cause, in units of se x sqrt(df) (sensemakr's `bf`)."""
    return math.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x))
