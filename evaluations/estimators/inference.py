"""Inference shared by every estimator: one place for the variance formulas and the reference distribution.

- `interval`: the 95% interval and two-sided p-value, from t on `df` degrees of freedom when an
  estimator's variance has them (cluster-robust: G-1; small-sample OLS: n-k), else the normal.
  The df travels with the estimate (EffectEstimate.df) so meta-analysis, MDES and every later
  interval use the same distribution.
- `regression`: OLS or WLS with heteroskedasticity-robust (HC1/HC2) or cluster-robust (CR1)
  variance through statsmodels, returning the coefficient, its standard error and its df.
- `influence_se`: the standard error of an estimator from its per-unit influence function, summed
  within clusters when there are any (Sant'Anna & Zhao 2020; Callaway & Sant'Anna 2021).
- `wald`: the Wald test that a vector of contrasts is zero, chi-square, or F on (q, df) when a df is kept.
- `bootstrap_se`: the SD of a statistic over a seeded bootstrap, resampling treatment groups (or
  whole clusters) separately, for estimators with no usable analytic variance.
- survey weights (a positive `weight` column: sampling or non-response weights): `survey_weights`
  reads and checks them, `weighted_sd` and `welch_df` give the descriptive SD and the difference in
  means' degrees of freedom under them; `WEIGHTS_ASSUMPTION` is the sentence every weighted
  estimate carries.

Survey-weight convention (checked against R `survey` in tests/test_weights.py): the weighted fit's
sandwich is the design-based (linearisation) variance. R `svyglm`'s variance is the weighted HC0
sandwich times n/(n-1), or with primary sampling units (our clusters) the cluster sandwich times
G/(G-1). Ours is HC1 (times n/(n-k)), HC2 for a difference in means, or CR1 (times
G/(G-1) (n-1)/(n-k)); no strata and no finite-population correction (sampling with replacement).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

Z_95 = float(stats.norm.ppf(0.975))


def interval(estimate: float, std_error: float, df: float | None = None) -> tuple[float, float, float]:
    """95% interval and two-sided p-value, from the t distribution when `df` is given."""
    if not (std_error > 0 and math.isfinite(std_error)):
        return (math.nan, math.nan, math.nan)
    crit = float(stats.t.ppf(0.975, df)) if df else Z_95
    stat = estimate / std_error
    p = float(2 * (stats.t.sf(abs(stat), df) if df else stats.norm.sf(abs(stat))))
    return (estimate - crit * std_error, estimate + crit * std_error, p)


def cluster_codes(values: pd.Series | np.ndarray | None) -> np.ndarray | None:
    """Integer codes 0..G-1 for a cluster column (None stays None)."""
    if values is None:
        return None
    return pd.factorize(pd.Series(values).astype(str))[0]


@dataclass(frozen=True)
class Coefficient:
    estimate: float
    std_error: float
    df: float | None  # None: normal reference
    n_clusters: int | None
    fit: object  # the statsmodels results, for Wald tests on other coefficients


def regression(y: pd.Series, X: pd.DataFrame, term: str, *, weights: pd.Series | None = None,
               clusters: np.ndarray | None = None, robust: str = "HC1", df: str = "residual") -> Coefficient:
    """One coefficient of ``y ~ 1 + X`` with robust or cluster-robust (CR1) variance.

    With `weights` the fit is weighted least squares with the weights as survey (probability or
    non-response) weights: the sandwich uses the weighted scores, the design-based (linearisation)
    variance that R `survey::svyglm` reports up to its n/(n-1) factor. Cluster-robust inference
    uses t on G-1 df (Cameron & Miller 2015); otherwise `df` "residual" gives t on n-k, "normal" none.
    """
    import statsmodels.api as sm

    design = sm.add_constant(X.astype(float), has_constant="add")
    model = sm.WLS(y.astype(float), design, weights=np.asarray(weights, dtype=float)) if weights is not None \
        else sm.OLS(y.astype(float), design)
    if clusters is not None:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": clusters, "use_correction": True})
        g = int(clusters.max() + 1)
        return Coefficient(float(res.params[term]), float(res.bse[term]), g - 1, g, res)
    res = model.fit(cov_type=robust)
    dof = float(res.df_resid) if df == "residual" else None
    return Coefficient(float(res.params[term]), float(res.bse[term]), dof, None, res)


def regression_influence(coef: Coefficient, term: str) -> np.ndarray:
    """The influence function of one coefficient of a `regression` fit, one value per row fitted: the
    coefficient's error is its mean (row i's share is row i of (X'WX)^-1 X'W e). Its squares summed give
    the HC0 sandwich; estimators/multiplicity.py combines these across outcomes."""
    res = coef.fit
    column = list(res.model.exog_names).index(term)
    share = np.asarray(res.model.pinv_wexog)[column] * np.asarray(res.wresid, dtype=float)
    return share * len(share)


def influence_se(psi: np.ndarray, clusters: np.ndarray | None = None) -> tuple[float, int | None]:
    """Standard error of an estimator whose error is mean(psi) (psi: one influence value per unit).

    Without clusters: sqrt(sum psi^2) / n. With clusters the influence values are summed within each
    cluster first, since units in one cluster share shocks; no small-sample factor (as R `did` and
    `DRDID`). Returns (se, number of clusters or None).
    """
    psi = np.asarray(psi, dtype=float)
    n = len(psi)
    if clusters is None:
        return float(math.sqrt(np.sum(psi**2)) / n), None
    sums = np.bincount(clusters, weights=psi)
    return float(math.sqrt(np.sum(sums**2)) / n), int(len(sums))


def wald(contrasts: np.ndarray, covariance: np.ndarray, df: float | None = None) -> tuple[float, int, float]:
    """Wald statistic, its numerator df q, and p-value that every contrast is zero.

    Chi-square on q df, or with `df` (a cluster-robust variance on G-1 df) F on (q, df) with the
    statistic divided by q, which is less over-confident with few clusters.
    """
    diff = np.atleast_1d(np.asarray(contrasts, dtype=float))
    q = len(diff)
    stat = float(diff @ np.linalg.pinv(np.atleast_2d(covariance)) @ diff)
    if df:
        return stat / q, q, float(stats.f.sf(stat / q, q, df))
    return stat, q, float(stats.chi2.sf(stat, q))


WEIGHT = "weight"  # the column holding each person's survey weight
WEIGHTS_ASSUMPTION = ("Survey weights make the respondents represent the population they were drawn from; "
                      "standard errors allow for the weighting")


def survey_weights(df: pd.DataFrame, label: str) -> np.ndarray:
    """The `weight` column as floats, refusing what cannot be a sampling or non-response weight."""
    if WEIGHT not in df.columns:
        raise ValueError(f"{label}: survey weights were asked for but there is no {WEIGHT!r} column")
    w = pd.to_numeric(df[WEIGHT], errors="coerce").to_numpy(dtype=float)
    bad = int((~np.isfinite(w) | (w <= 0)).sum())
    if bad:
        raise ValueError(f"{label}: {bad} row(s) have a missing, non-numeric, zero or negative {WEIGHT!r}; "
                         "every survey weight must be a positive number")
    return w


def weighted_sd(x: np.ndarray, w: np.ndarray | None = None) -> float:
    """Weighted standard deviation, sqrt(sum w (x - xbar_w)^2 / sum w * n / (n-1)).

    The n/(n-1) factor makes equal weights give the ordinary sample SD (ddof=1), whatever their
    size, so weighting by a constant changes nothing (Stata's convention for analytic weights).
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 2:
        return math.nan
    if w is None:
        return float(np.std(x, ddof=1))
    w = np.asarray(w, dtype=float)
    mean = np.average(x, weights=w)
    return float(math.sqrt(np.sum(w * (x - mean) ** 2) / w.sum() * n / (n - 1)))


def welch_df(y: np.ndarray, treated: np.ndarray, weights: np.ndarray | None = None) -> float | None:
    """Welch-Satterthwaite degrees of freedom for a difference in (weighted) group means.

    Each group's variance part is its HC2 term, sum w^2 e^2 / (1 - w/W) / W^2 (s^2/n unweighted),
    with the Kish effective size (sum w)^2 / sum w^2, less one, as its df: equal weights give
    Welch's df exactly, and unequal weights fewer df, since they make the mean less stable.
    """
    y, d = np.asarray(y, dtype=float), np.asarray(treated)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    parts = []
    for g in (1, 0):
        yg, wg = y[d == g], w[d == g]
        total = wg.sum()
        e = yg - np.average(yg, weights=wg)
        parts.append((np.sum(wg**2 * e**2 / (1 - wg / total)) / total**2, total**2 / np.sum(wg**2) - 1))
    v = sum(p[0] for p in parts)
    if not v > 0:
        return None
    return float(v**2 / sum(p[0] ** 2 / p[1] for p in parts))


def bootstrap_se(statistic, treated: np.ndarray, n_bootstrap: int, seed: int,
                 clusters: np.ndarray | None = None) -> float:
    """SD of `statistic(positions)` over `n_bootstrap` seeded resamples of the units.

    Without clusters, participants (`treated` == 1) and comparison units are resampled separately,
    so every replicate keeps both groups at their sizes. With `clusters` (integer codes 0..G-1)
    whole clusters are resampled, within strata of clusters holding only participants, only
    comparison units, or both, so that shocks shared within a cluster enter the standard error.
    `statistic` receives the resampled positions and may return NaN for an unusable resample;
    NaN comes back when fewer than max(20, n_bootstrap // 2) replicates were usable.
    Hand-written: scipy.stats.bootstrap resamples observations without strata or clusters.
    """
    d = np.asarray(treated)
    rng = np.random.default_rng(seed)
    if clusters is None:
        strata = [np.flatnonzero(d == 1), np.flatnonzero(d == 0)]
        members = None
    else:
        order = np.argsort(clusters, kind="stable")
        bounds = np.flatnonzero(np.diff(clusters[order])) + 1
        members = np.split(order, bounds)  # positions of each cluster's people
        share = np.array([d[m].mean() for m in members])
        strata = [np.flatnonzero(share == 1), np.flatnonzero(share == 0), np.flatnonzero((share > 0) & (share < 1))]
        strata = [s for s in strata if len(s)]
    estimates = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        picked = np.concatenate([rng.choice(s, len(s)) for s in strata])
        estimates[b] = statistic(picked if members is None else np.concatenate([members[c] for c in picked]))
    estimates = estimates[np.isfinite(estimates)]
    if len(estimates) < max(20, n_bootstrap // 2):
        return math.nan
    return float(np.std(estimates, ddof=1))
