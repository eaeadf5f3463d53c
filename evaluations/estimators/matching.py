"""Selection-on-observables estimators of the average effect on the treated (ATT).

Three estimators, each run through DoWhy's model -> identify -> estimate -> refute flow:

``"matching"``
    Nearest-neighbour matching on the logit of an estimated propensity score, ``k``
    comparison units per participant, with or without replacement, with a caliper in
    standard deviations of the logit propensity score. DoWhy 0.14's own
    ``backdoor.propensity_score_matching`` has neither a caliper nor ``k`` (it takes the
    single nearest neighbour on the probability scale), so the matching itself is
    implemented here, as :class:`PropensityScoreMatchingATT`, a DoWhy
    ``PropensityScoreEstimator`` subclass. DoWhy still builds the causal model,
    identifies the back-door estimand and runs the refuters, which re-fit this estimator.
    Ties are kept: every comparison unit exactly as close as the k-th nearest one is
    used, with the weight shared (as in Abadie et al.'s ``nnmatch`` and R's ``Matching``).

``"ipw"``
    DoWhy's ``backdoor.propensity_score_weighting`` with ``target_units="att"``:
    participants get weight 1, comparison units the odds ``e(x) / (1 - e(x))``, both
    normalised to sum to one (the Hajek form). DoWhy clips propensity scores to
    [0.05, 0.95] by default, which silently changes the estimand when, as with the
    LaLonde-CPS data, most comparison units have scores near 0; clipping is switched off
    here and a lack of overlap is reported as an error instead.

``"doubly_robust"``
    DoWhy 0.14's ``DoublyRobustEstimator`` supports only the ATE, so the augmented IPW
    estimator for the ATT is implemented here, as :class:`AIPWATTEstimator`::

        tau = mean_{D=1}(Y - m0(X)) - sum_{D=0} w (Y - m0(X)) / sum_{D=0} w,  w = e/(1-e)

    where ``m0`` is a linear regression of the outcome on the covariates among comparison
    units and ``e`` the logistic propensity score. It is consistent when either ``m0`` or
    ``e`` is correctly specified (Moodie, Saarela and Stephens 2018; the cross-section
    case of Sant'Anna and Zhao 2020).

Propensity score: a logistic regression on the covariates as given (add squares,
interactions or indicators as columns when balance needs them, as Dehejia and Wahba did),
fitted by Newton-Raphson on standardised covariates with a negligible ridge penalty
(``RIDGE``) that only matters under (quasi-)separation. Columns are put in sorted order
before fitting, so results do not depend on the order DoWhy happens to list the
adjustment set in.

Standard errors (never the naive ones):

* Matching: the Abadie-Imbens (2006) variance of the matching estimator for the
  population ATT, with replacement, with conditional variances estimated by matching
  each comparison unit to its ``J = 2`` nearest comparison units (``ai_neighbours``),
  plus an adjustment for having estimated the propensity score in the spirit of
  Abadie and Imbens (2016): ``V = V_AI - a' H^-1 a + d' H^-1 d``, where ``H`` is the
  logit's information matrix, ``a`` the covariance between the estimator's linear
  representation and the logit score, and ``d`` the derivative of the ATT with respect to
  the logit coefficients. The terms follow from the same local-alternative argument as
  theirs and are estimated here with local means from matching on the score; their
  paper's own estimator of the terms was not at hand, so this implementation was checked
  by Monte Carlo instead (tests/test_matching.py, and larger runs during development:
  with n = 8000 the adjusted SE was within 1% of the sampling SD where plain AI 2006 was
  25% too wide, and within about 5% elsewhere). For the ATT the adjustment can widen or
  narrow the interval. ``ps_adjustment=False`` gives plain Abadie-Imbens (2006), which
  treats the score as known. The bootstrap is not used for matching: it is invalid for
  nearest-neighbour matching with a fixed number of matches (Abadie and Imbens 2008).
  Without replacement the same formulas are applied with every match count 0 or 1, a
  conventional approximation.
* IPW and doubly robust: a seeded non-parametric bootstrap (``n_bootstrap`` replicates,
  resampling participants and comparison units separately) that re-estimates the
  propensity score (and the outcome model) in every replicate; the interval is
  estimate +/- 1.96 bootstrap SE.

Effect size: Hedges' g from the outcome's SD among the analysed participants and its
(matching- or odds-)weighted SD among the comparison units.

Everything here is pure: DataFrame and spec in, frozen results out, no I/O.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
from dowhy import CausalModel
from dowhy.causal_estimator import CausalEstimate
from dowhy.causal_estimators.propensity_score_estimator import PropensityScoreEstimator
from dowhy.causal_refuters import refute_data_subset, refute_placebo_treatment, refute_random_common_cause
from dowhy.causal_refuters.placebo_treatment_refuter import PlaceboType
from scipy.special import expit

from evaluations.estimators.result import EffectEstimate, hedges_g, normal_inference

__all__ = [
    "METHODS",
    "MatchedSample",
    "Refutation",
    "LogitPropensityModel",
    "PropensityScoreMatchingATT",
    "AIPWATTEstimator",
    "estimate_att",
    "matched_sample",
    "refute",
]

METHODS = ("matching", "ipw", "doubly_robust")
RIDGE = 1e-6  # ridge penalty on standardised logit coefficients; negligible unless separation
PS_COLUMN = "_cg_propensity_score"  # never clashes with a user's column
_MODULE = __name__

_DOWHY_METHOD = {
    "matching": f"backdoor.{_MODULE}.PropensityScoreMatchingATT",
    "ipw": "backdoor.propensity_score_weighting",
    "doubly_robust": f"backdoor.{_MODULE}.AIPWATTEstimator",
}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Refutation:
    """One DoWhy refutation of an estimate, with a verdict in plain English."""

    name: str  # "placebo treatment", "random common cause", "data subset"
    method: str
    original_effect: float
    new_effect: float
    p_value: float
    verdict: str  # "passed" or "failed"
    explanation: str
    n_simulations: int = 0


@dataclass(frozen=True)
class MatchedSample:
    """The matched sample behind a matching estimate, for balance checks and a matched DiD.

    ``weights`` has one entry per input row (same index): 1 for a matched participant,
    0 for a participant with no comparison unit inside the caliper (``trimmed``), and for
    a comparison unit the number of participants it stands in for (a unit that is one of
    two matches of one participant counts 0.5). Weighted comparison means are therefore
    the matched counterfactual means. ``pairs`` lists every match: participant row label,
    comparison row label and the match weight.
    """

    weights: pd.Series
    propensity_score: pd.Series
    logit_propensity_score: pd.Series
    trimmed: pd.Series  # bool per row, True for participants dropped by the caliper
    pairs: pd.DataFrame
    n_treated: int
    n_treated_matched: int
    n_trimmed: int
    n_comparison: int
    n_comparison_matched: int
    k: int
    caliper: Optional[float]
    caliper_width: Optional[float]  # caliper in logit units (caliper * SD of the logit PS)
    replace: bool
    covariates: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- validation


def _validate(df: pd.DataFrame, *, treatment: str, covariates, outcome: Optional[str] = None,
              need_covariates: bool = True) -> pd.DataFrame:
    """Check the inputs and return a float copy with just the needed columns."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    if not covariates and need_covariates:
        raise ValueError("No covariates given: selection-on-observables needs at least one covariate.")
    names = ([outcome] if outcome is not None else []) + [treatment] + covariates
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(
            f"Column(s) {', '.join(repr(c) for c in missing)} not found in the data; "
            f"available columns: {', '.join(map(str, df.columns))}."
        )
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise ValueError(f"Column(s) {', '.join(map(repr, dupes))} used more than once (outcome, treatment, covariates).")
    if PS_COLUMN in names:
        raise ValueError(f"Column name {PS_COLUMN!r} is reserved; rename that column.")
    for c in names:
        s = df[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValueError(
                f"Column {c!r} is not numeric (dtype {s.dtype}); encode it as numbers or indicator columns first."
            )
        n_na = int(s.isna().sum())
        if n_na:
            raise ValueError(
                f"Column {c!r} has {n_na} missing value(s); impute them or quarantine those rows "
                "before estimating (rows are never dropped silently)."
            )
        if not np.isfinite(s.to_numpy(dtype=float)).all():
            raise ValueError(f"Column {c!r} has infinite values.")
    t = df[treatment].astype(float)
    levels = set(np.unique(t.to_numpy()))
    if not levels <= {0.0, 1.0}:
        shown = sorted(levels)[:6]
        raise ValueError(
            f"Treatment column {treatment!r} must be binary 0/1 (1 = took part); found values {shown}."
        )
    if levels != {0.0, 1.0}:
        which = "participants (1)" if 1.0 not in levels else "comparison units (0)"
        raise ValueError(f"Treatment column {treatment!r} has no {which}; both groups are needed.")
    out = df[names].astype(float).copy()
    out[treatment] = out[treatment].astype(int)
    d = out[treatment].to_numpy()
    if d.sum() < 2 or (1 - d).sum() < 2:
        raise ValueError(f"Treatment column {treatment!r} needs at least two participants and two comparison units.")
    # A covariate whose participant and comparison ranges do not even touch means no overlap.
    for c in covariates:
        x = out[c].to_numpy()
        x1, x0 = x[d == 1], x[d == 0]
        if x1.min() > x0.max() or x1.max() < x0.min():
            raise ValueError(
                f"No overlap in covariate {c!r}: participants range {x1.min():g} to {x1.max():g}, "
                f"comparison units {x0.min():g} to {x0.max():g}. No comparison unit resembles a "
                "participant; choose another comparison group or restrict the sample."
            )
    return out


# --------------------------------------------------------------------------- propensity model


class LogitPropensityModel:
    """Logistic regression for the propensity score with the scikit-learn interface DoWhy uses.

    Fitted by Newton-Raphson on standardised covariates (columns in sorted order when given
    a DataFrame) with a ridge penalty of ``ridge`` on the non-intercept coefficients, which
    keeps the fit finite under separation and is otherwise negligible.
    """

    def __init__(self, ridge: float = RIDGE, max_iter: int = 100, tol: float = 1e-10):
        self.ridge = ridge
        self.max_iter = max_iter
        self.tol = tol

    # scikit-learn conventions, so DoWhy (and clone-like copies) can handle it
    def get_params(self, deep: bool = True) -> dict:
        return {"ridge": self.ridge, "max_iter": self.max_iter, "tol": self.tol}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _matrix(self, X, fitting: bool = False) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            cols = sorted(map(str, X.columns))
            X = X.rename(columns=str)
            if fitting:
                self.columns_ = cols
            elif getattr(self, "columns_", None) is not None and cols != self.columns_:
                raise ValueError(f"Propensity model was fitted on {self.columns_}, got {cols}.")
            return X[cols].to_numpy(dtype=float)
        if fitting:
            self.columns_ = None
        return np.asarray(X, dtype=float).reshape(len(X), -1)

    def design(self, X) -> np.ndarray:
        """Standardised design matrix [1, (X - mean) / sd] used by the fit."""
        A = self._matrix(X)
        return np.column_stack([np.ones(len(A)), (A - self.mean_) / self.scale_])

    def fit(self, X, y):
        A = self._matrix(X, fitting=True)
        y = np.asarray(y, dtype=float).ravel()
        self.mean_ = A.mean(axis=0)
        sd = A.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = np.column_stack([np.ones(len(A)), (A - self.mean_) / self.scale_])
        start = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        beta = np.zeros(Z.shape[1])
        beta[0] = math.log(start / (1 - start))
        self.coef_std_ = _newton_logit(Z, y, beta, self.ridge, self.max_iter, self.tol)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X) -> np.ndarray:
        return self.design(X) @ self.coef_std_

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])


def _penalty(ridge: float, p: int) -> np.ndarray:
    pen = np.full(p, ridge)
    pen[0] = 0.0
    return pen


def _newton_logit(Z: np.ndarray, y: np.ndarray, beta: np.ndarray, ridge: float, max_iter: int = 100,
                  tol: float = 1e-10) -> np.ndarray:
    pen = _penalty(ridge, Z.shape[1])

    def objective(b):
        eta = Z @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * np.sum(pen * b * b))

    obj = objective(beta)
    for _ in range(max_iter):
        p = expit(Z @ beta)
        grad = Z.T @ (y - p) - pen * beta
        hess = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(pen)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = beta + t * step
            new = objective(cand)
            if new >= obj - 1e-12 or t < 1e-8:
                break
            t /= 2
        beta, obj = cand, new
        if np.max(np.abs(t * step)) < tol:
            break
    return beta


# --------------------------------------------------------------------------- matching core


@dataclass
class _Match:
    """Internal result of matching on the logit propensity score (positions, not labels)."""

    t_pos: np.ndarray  # positions of participants in the sample
    c_pos: np.ndarray  # positions of comparison units
    pair_t: np.ndarray  # index into t_pos, one per match
    pair_c: np.ndarray  # position in the sample of the matched comparison unit
    pair_w: np.ndarray  # weight of that match (1 / number of matches of that participant)
    matched: np.ndarray  # bool per participant (len t_pos)
    caliper_width: Optional[float]
    estimate: float = math.nan


def _window_kth_distance(sorted_vals: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each x to its k-th nearest value in sorted_vals (1-D, vectorised)."""
    n = len(sorted_vals)
    pos = np.searchsorted(sorted_vals, x)
    offs = np.arange(-k, k)
    cand = pos[:, None] + offs[None, :]
    valid = (cand >= 0) & (cand < n)
    vals = sorted_vals[np.clip(cand, 0, n - 1)]
    dist = np.where(valid, np.abs(vals - x[:, None]), np.inf)
    return np.partition(dist, k - 1, axis=1)[:, k - 1]


def _nn_match(lp: np.ndarray, d: np.ndarray, k: int, caliper: Optional[float], replace: bool) -> _Match:
    t_pos = np.flatnonzero(d == 1)
    c_pos = np.flatnonzero(d == 0)
    caliper_width = None if caliper is None else float(caliper) * float(np.std(lp, ddof=1))
    order = np.argsort(lp[c_pos], kind="stable")
    s = lp[c_pos][order]
    c_sorted = c_pos[order]
    x = lp[t_pos]
    n1, n0 = len(t_pos), len(c_pos)
    if replace:
        kk = min(k, n0)
        dk = _window_kth_distance(s, x, kk)
        r = dk + 1e-10 * (1.0 + np.abs(x))  # keep exact ties with the k-th neighbour
        if caliper_width is not None:
            r = np.minimum(r, caliper_width)
        lo = np.searchsorted(s, x - r, side="left")
        hi = np.searchsorted(s, x + r, side="right")
        counts = np.maximum(hi - lo, 0)
        total = int(counts.sum())
        pair_t = np.repeat(np.arange(n1), counts)
        starts = np.repeat(lo, counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        pair_c = c_sorted[starts + within]
        pair_w = 1.0 / np.repeat(counts, counts).astype(float)
        matched = counts > 0
    else:
        available = np.ones(n0, dtype=bool)
        pt, pc, pw = [], [], []
        matched = np.zeros(n1, dtype=bool)
        limit = np.inf if caliper_width is None else caliper_width
        # greedy, highest propensity score first (MatchIt's default order)
        for i in np.argsort(-x, kind="stable"):
            xi = x[i]
            pos = int(np.searchsorted(s, xi))
            left, right = pos - 1, pos
            chosen = []
            while len(chosen) < k:
                while left >= 0 and not available[left]:
                    left -= 1
                while right < n0 and not available[right]:
                    right += 1
                dl = xi - s[left] if left >= 0 else np.inf
                dr = s[right] - xi if right < n0 else np.inf
                if min(dl, dr) > limit or (dl == np.inf and dr == np.inf):
                    break
                if dl <= dr:
                    chosen.append(left)
                    available[left] = False
                    left -= 1
                else:
                    chosen.append(right)
                    available[right] = False
                    right += 1
            if chosen:
                matched[i] = True
                pt.extend([i] * len(chosen))
                pc.extend(c_sorted[chosen].tolist())
                pw.extend([1.0 / len(chosen)] * len(chosen))
        order_pairs = np.lexsort((np.asarray(pc, dtype=int), np.asarray(pt, dtype=int))) if pt else np.array([], int)
        pair_t = np.asarray(pt, dtype=int)[order_pairs]
        pair_c = np.asarray(pc, dtype=int)[order_pairs]
        pair_w = np.asarray(pw, dtype=float)[order_pairs]
    return _Match(t_pos, c_pos, pair_t, pair_c, pair_w, matched, caliper_width)


def _imputed_y0(m: _Match, y: np.ndarray) -> np.ndarray:
    return np.bincount(m.pair_t, weights=m.pair_w * y[m.pair_c], minlength=len(m.t_pos))


def _matching_estimate(m: _Match, y: np.ndarray) -> float:
    if not m.matched.any():
        return math.nan
    y0 = _imputed_y0(m, y)
    return float(np.mean(y[m.t_pos][m.matched] - y0[m.matched]))


def _local_means(lp: np.ndarray, y: np.ndarray, group: np.ndarray, query: np.ndarray, L: int) -> np.ndarray:
    """Mean outcome of the L units of `group` (positions) nearest in lp to each query position,
    leaving the query unit itself out when it belongs to the group."""
    g_order = np.argsort(lp[group], kind="stable")
    gs = group[g_order]
    s = lp[gs]
    n = len(s)
    L = min(L, n - 1) if np.isin(query, group).any() else min(L, n)
    xq = lp[query]
    pos = np.searchsorted(s, xq)
    offs = np.arange(-L - 1, L + 1)
    cand = pos[:, None] + offs[None, :]
    valid = (cand >= 0) & (cand < n)
    cidx = np.clip(cand, 0, n - 1)
    self_hit = gs[cidx] == query[:, None]
    dist = np.where(valid & ~self_hit, np.abs(s[cidx] - xq[:, None]), np.inf)
    # drop duplicated candidates produced by clipping
    dup = np.zeros_like(valid)
    dup[:, 1:] = cidx[:, 1:] == cidx[:, :-1]
    dist = np.where(dup, np.inf, dist)
    nearest = np.argpartition(dist, L - 1, axis=1)[:, :L]
    picked = np.take_along_axis(cidx, nearest, axis=1)
    return y[gs[picked]].mean(axis=1)


def _abadie_imbens_variance(m: _Match, y: np.ndarray, lp: np.ndarray, J: int = 2) -> tuple[float, np.ndarray, np.ndarray]:
    """Abadie-Imbens (2006) variance of the matching estimator of the population ATT.

    Returns the variance, the per-comparison-unit match weights K_j/M and the estimated
    residuals Y_j - E[Y | W=0, p_j] for comparison units (zero where unused)."""
    n = len(y)
    tm = m.t_pos[m.matched]
    n1 = len(tm)
    y0 = _imputed_y0(m, y)[m.matched]
    tau = float(np.mean(y[tm] - y0))
    kw = np.bincount(m.pair_c, weights=m.pair_w, minlength=n)
    kw2 = np.bincount(m.pair_c, weights=m.pair_w**2, minlength=n)
    used = np.flatnonzero(kw > 0)
    resid = np.zeros(n)
    sigma2 = np.zeros(n)
    if len(m.c_pos) > 1 and len(used):
        mu = _local_means(lp, y, m.c_pos, used, J)
        Jeff = min(J, len(m.c_pos) - 1)
        resid[used] = y[used] - mu
        sigma2[used] = Jeff / (Jeff + 1.0) * resid[used] ** 2
    first = np.sum((y[tm] - y0 - tau) ** 2)
    second = np.sum((kw**2 - kw2) * sigma2)
    return float((first + second) / n1**2), kw, resid


def _ps_adjustment(m: _Match, y: np.ndarray, d: np.ndarray, ps: np.ndarray, lp: np.ndarray, Z: np.ndarray,
                   kw: np.ndarray, resid_c: np.ndarray, ridge: float, J: int = 2) -> float:
    """Adjustment of the ATT matching variance for the estimated score (cf. Abadie-Imbens 2016).

    V_adj = V_AI - a' H^-1 a + d' H^-1 d, with H the logit information matrix, a the
    covariance between the estimator's linear representation and the logit score, and d
    the derivative of the ATT with respect to the logit coefficients."""
    n = len(y)
    tm = m.t_pos[m.matched]
    n1 = len(tm)
    y0 = _imputed_y0(m, y)
    tau = float(np.mean(y[tm] - y0[m.matched]))
    f = ps * (1 - ps)
    # linear representation of tau_hat - tau
    phi = np.zeros(n)
    phi[tm] = (y[tm] - y0[m.matched] - tau) / n1
    phi -= kw * resid_c / n1  # comparison units: - K_j/M * (Y_j - mu0(p_j)) / N1
    score = Z * (d - ps)[:, None]
    a = score.T @ phi
    # derivative of the ATT in the propensity-score coefficients
    all_pos = np.arange(n)
    mu1 = _local_means(lp, y, m.t_pos, all_pos, J)
    mu0 = _local_means(lp, y, m.c_pos, all_pos, J)
    eps = np.where(d == 1, y - mu1, y - mu0)
    g = f * (mu1 - mu0 - tau) + np.where(d == 1, (1 - ps) * eps, -ps * eps)
    deriv = Z.T @ g / n1
    H = (Z * f[:, None]).T @ Z + np.diag(_penalty(ridge, Z.shape[1]))
    Hinv_a = np.linalg.lstsq(H, a, rcond=None)[0]
    Hinv_d = np.linalg.lstsq(H, deriv, rcond=None)[0]
    return float(-a @ Hinv_a + deriv @ Hinv_d)


# --------------------------------------------------------------------------- DoWhy estimators


def _covariate_frame(estimator: PropensityScoreEstimator, data: pd.DataFrame) -> pd.DataFrame:
    cols = estimator._target_estimand.get_adjustment_set()
    return estimator._encode(data[cols], "observed_common_causes")


class PropensityScoreMatchingATT(PropensityScoreEstimator):
    """DoWhy estimator: k-nearest-neighbour matching on the logit propensity score, with a
    caliper (in SDs of the logit score) and with or without replacement. ATT only.

    Used through ``CausalModel.estimate_effect(method_name="backdoor.<this module>.
    PropensityScoreMatchingATT", target_units="att", method_params={...})``, so DoWhy's
    refuters can re-fit it. It does not write into the data it is given.
    """

    def __init__(self, identified_estimand, *args, k: int = 1, caliper: Optional[float] = 0.2,
                 replace: bool = True, propensity_score_model: Optional[Any] = None,
                 propensity_score_column: str = PS_COLUMN, **kwargs):
        # CausalModel adds "<package>_estimator" to the params of estimators outside DoWhy
        kwargs = {key: v for key, v in kwargs.items() if not key.endswith("_estimator")}
        super().__init__(identified_estimand, *args,
                         propensity_score_model=propensity_score_model or LogitPropensityModel(),
                         propensity_score_column=propensity_score_column, **kwargs)
        self.k = int(k)
        self.caliper = caliper
        self.replace = bool(replace)
        self.match_: Optional[_Match] = None

    def fit(self, data: pd.DataFrame, effect_modifier_names=None):
        super().fit(data, effect_modifier_names=effect_modifier_names)
        self.symbolic_estimator = self.construct_symbolic_estimator(self._target_estimand)
        return self

    def estimate_effect(self, data: pd.DataFrame, treatment_value: Any = 1, control_value: Any = 0,
                        target_units=None, **_):
        if target_units not in ("att", None):
            raise ValueError("PropensityScoreMatchingATT estimates the ATT only (target_units='att').")
        self._target_units = "att"
        self._treatment_value = treatment_value
        self._control_value = control_value
        treatment = self._target_estimand.treatment_variable[0]
        outcome = self._target_estimand.outcome_variable[0]
        lp = self.propensity_score_model.decision_function(_covariate_frame(self, data))
        d = data[treatment].to_numpy().astype(int)
        y = data[outcome].to_numpy(dtype=float)
        m = _nn_match(lp, d, self.k, self.caliper, self.replace)
        m.estimate = _matching_estimate(m, y)
        self.match_ = m
        estimate = CausalEstimate(
            data=data,
            treatment_name=self._target_estimand.treatment_variable,
            outcome_name=self._target_estimand.outcome_variable,
            estimate=m.estimate,
            control_value=control_value,
            treatment_value=treatment_value,
            target_estimand=self._target_estimand,
            realized_estimand_expr=self.symbolic_estimator,
            propensity_scores=pd.Series(expit(lp), index=data.index),
        )
        estimate.add_estimator(self)
        return estimate

    def construct_symbolic_estimator(self, estimand):
        return "b: " + ",".join(estimand.outcome_variable) + "~" + "+".join(
            estimand.treatment_variable + sorted(estimand.get_adjustment_set()))


class AIPWATTEstimator(PropensityScoreEstimator):
    """DoWhy estimator: augmented inverse-probability weighting for the ATT.

    ``tau = mean_{D=1}(Y - m0(X)) - sum_{D=0} w (Y - m0(X)) / sum_{D=0} w`` with odds
    weights ``w = e/(1-e)`` from the logistic propensity score ``e`` and ``m0`` a linear
    regression of the outcome on the covariates fitted among comparison units. Doubly
    robust: consistent if either model is right. It does not write into its data.
    """

    def __init__(self, identified_estimand, *args, propensity_score_model: Optional[Any] = None,
                 propensity_score_column: str = PS_COLUMN, **kwargs):
        # CausalModel adds "<package>_estimator" to the params of estimators outside DoWhy
        kwargs = {key: v for key, v in kwargs.items() if not key.endswith("_estimator")}
        super().__init__(identified_estimand, *args,
                         propensity_score_model=propensity_score_model or LogitPropensityModel(),
                         propensity_score_column=propensity_score_column, **kwargs)

    def fit(self, data: pd.DataFrame, effect_modifier_names=None):
        super().fit(data, effect_modifier_names=effect_modifier_names)
        treatment = self._target_estimand.treatment_variable[0]
        outcome = self._target_estimand.outcome_variable[0]
        X = _sorted_matrix(_covariate_frame(self, data))
        d = data[treatment].to_numpy().astype(int)
        y = data[outcome].to_numpy(dtype=float)
        self.outcome_coef_ = _ols(X[d == 0], y[d == 0])
        self.symbolic_estimator = self.construct_symbolic_estimator(self._target_estimand)
        return self

    def estimate_effect(self, data: pd.DataFrame, treatment_value: Any = 1, control_value: Any = 0,
                        target_units=None, **_):
        if target_units not in ("att", None):
            raise ValueError("AIPWATTEstimator estimates the ATT only (target_units='att').")
        self._target_units = "att"
        self._treatment_value = treatment_value
        self._control_value = control_value
        treatment = self._target_estimand.treatment_variable[0]
        outcome = self._target_estimand.outcome_variable[0]
        frame = _covariate_frame(self, data)
        ps = self.propensity_score_model.predict_proba(frame)[:, 1]
        X = _sorted_matrix(frame)
        d = data[treatment].to_numpy().astype(int)
        y = data[outcome].to_numpy(dtype=float)
        m0 = np.column_stack([np.ones(len(X)), X]) @ self.outcome_coef_
        value = _aipw_att_formula(y, d, ps, m0)
        estimate = CausalEstimate(
            data=data,
            treatment_name=self._target_estimand.treatment_variable,
            outcome_name=self._target_estimand.outcome_variable,
            estimate=value,
            control_value=control_value,
            treatment_value=treatment_value,
            target_estimand=self._target_estimand,
            realized_estimand_expr=self.symbolic_estimator,
            propensity_scores=pd.Series(ps, index=data.index),
        )
        estimate.add_estimator(self)
        return estimate

    def construct_symbolic_estimator(self, estimand):
        return "b: " + ",".join(estimand.outcome_variable) + "~" + "+".join(
            estimand.treatment_variable + sorted(estimand.get_adjustment_set())) + " (AIPW, ATT)"


def _sorted_matrix(frame: pd.DataFrame) -> np.ndarray:
    cols = sorted(frame.columns, key=str)
    return frame[cols].to_numpy(dtype=float)


def _ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS coefficients [intercept, slopes] via standardised normal equations (fast, stable)."""
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    A = np.column_stack([np.ones(len(X)), (X - mean) / sd])
    try:
        b = np.linalg.solve(A.T @ A, A.T @ y)
        if not np.all(np.isfinite(b)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        b = np.linalg.lstsq(A, y, rcond=None)[0]
    slopes = b[1:] / sd
    return np.concatenate([[b[0] - np.sum(slopes * mean)], slopes])


def _ipw_att_formula(y: np.ndarray, d: np.ndarray, ps: np.ndarray) -> float:
    w = ps / (1 - ps)
    c = d == 0
    return float(y[d == 1].mean() - np.sum(w[c] * y[c]) / np.sum(w[c]))


def _aipw_att_formula(y: np.ndarray, d: np.ndarray, ps: np.ndarray, m0: np.ndarray) -> float:
    r = y - m0
    w = ps / (1 - ps)
    c = d == 0
    return float(r[d == 1].mean() - np.sum(w[c] * r[c]) / np.sum(w[c]))


# --------------------------------------------------------------------------- DoWhy flow


def _method_params(method: str, k: int, caliper: Optional[float], replace: bool) -> dict:
    if method == "matching":
        return {"k": k, "caliper": caliper, "replace": replace,
                "propensity_score_model": LogitPropensityModel()}
    if method == "ipw":
        # no clipping: DoWhy's default [0.05, 0.95] would change the estimand silently
        return {"weighting_scheme": "ips_weight", "min_ps_score": 0.0, "max_ps_score": 1.0,
                "propensity_score_model": LogitPropensityModel(), "propensity_score_column": PS_COLUMN}
    return {"propensity_score_model": LogitPropensityModel()}


def _dowhy_estimate(data: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str], method: str,
                    k: int, caliper: Optional[float], replace: bool):
    """model -> identify -> estimate with DoWhy; returns (identified estimand, CausalEstimate)."""
    model = CausalModel(data=data.copy(), treatment=treatment, outcome=outcome, common_causes=list(covariates))
    # "maximal-adjustment": adjust for every covariate given, without DoWhy's exhaustive search
    # over subsets (2^p back-door checks, seconds for the 14 Dehejia-Wahba covariates)
    identified = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(
        identified,
        method_name=_DOWHY_METHOD[method],
        target_units="att",
        method_params=_method_params(method, k, caliper, replace),
    )
    if estimate.value is None or not np.isfinite(estimate.value):
        hint = (f" within the caliper of {caliper} SD of the logit propensity score; widen the caliper or revise "
                "the comparison group" if method == "matching" else "")
        raise ValueError(
            f"No overlap: the {method} estimate of the effect of {treatment!r} could not be computed "
            f"(no participant has a comparable comparison unit{hint})."
        )
    return identified, estimate


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")


def _check_spec(k: int, caliper: Optional[float]) -> None:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive whole number of matches, got {k!r}.")
    if caliper is not None and not caliper > 0:
        raise ValueError(f"caliper must be positive (SDs of the logit propensity score) or None, got {caliper!r}.")


def _check_ps_overlap(lp: np.ndarray, d: np.ndarray, treatment: str, weighting: bool = False) -> None:
    lt, lc = lp[d == 1], lp[d == 0]
    if lt.min() > lc.max() or lt.max() < lc.min():
        raise ValueError(
            f"No overlap in the propensity score of {treatment!r}: participants' scores "
            f"({expit(lt.min()):.3g} to {expit(lt.max()):.3g}) and comparison units' "
            f"({expit(lc.min()):.3g} to {expit(lc.max()):.3g}) do not overlap."
        )
    if weighting and np.max(lc) > 30:  # a comparison unit with e(x) > 1 - 1e-13 gets an unbounded odds weight
        raise ValueError(
            f"No overlap: a comparison unit has a propensity score for {treatment!r} of essentially 1, so it "
            "cannot be weighted; revise the covariates or restrict the sample."
        )


def _weighted_sd(y: np.ndarray, w: np.ndarray) -> float:
    w = np.asarray(w, dtype=float)
    sw = w.sum()
    if sw <= 0:
        return math.nan
    mean = np.sum(w * y) / sw
    denom = sw - np.sum(w**2) / sw
    if denom <= 0:
        return math.nan
    return float(math.sqrt(np.sum(w * (y - mean) ** 2) / denom))


def _assumptions(covariates, method: str, n_trimmed: int = 0, n_treated: int = 0) -> tuple[str, ...]:
    cov = ", ".join(covariates)
    overlap = ("Overlap: every participant has comparison units with a similar chance of taking part "
               "(similar propensity score).")
    if method == "matching" and n_trimmed:
        overlap += (f" {n_trimmed} of {n_treated} participants had no comparison unit within the caliper; they "
                    "were left out and the effect is for the remaining participants.")
    out = [
        f"No unmeasured confounding: once {cov} are taken into account, taking part is unrelated to the "
        "outcome people would have had without the programme.",
        overlap,
        "SUTVA: one person's participation does not change anyone else's outcome, and the programme was the "
        "same programme for everyone who took part.",
    ]
    if method == "matching":
        out.append("The propensity score (a logistic regression on the covariates) is specified well enough "
                   "that matched participants and comparison units are balanced on the covariates.")
    elif method == "ipw":
        out.append("The propensity score (a logistic regression on the covariates) is correctly specified, so "
                   "weighted comparison units resemble the participants.")
    else:
        out.append("Either the propensity score (logistic regression) or the outcome model for comparison units "
                   "(linear regression on the covariates) is correctly specified.")
    return tuple(out)


def _estimator_name(method: str, k: int, caliper: Optional[float], replace: bool, ps_adjustment: bool,
                    n_bootstrap: int, n_clusters: Optional[int] = None) -> str:
    boot = f"{'cluster ' if n_clusters else ''}bootstrap SE, {n_bootstrap} replicates"
    if method == "matching":
        cal = "no caliper" if caliper is None else f"caliper {caliper:g} SD"
        rep = "with replacement" if replace else "without replacement"
        se = "Abadie-Imbens SE" + (", adjusted for the estimated score" if ps_adjustment else "")
        return f"Propensity-score matching (1:{k} NN, {cal}, {rep}; {se})"
    if method == "ipw":
        return f"Inverse-probability weighting for the ATT (odds weights; {boot})"
    return f"Doubly robust AIPW for the ATT (logit score + linear outcome model; {boot})"


# --------------------------------------------------------------------------- bootstrap (IPW, DR)


def _bootstrap_se(y: np.ndarray, d: np.ndarray, A: np.ndarray, beta0: np.ndarray, method: str,
                  n_bootstrap: int, seed: int, ridge: float, clusters: np.ndarray | None = None) -> float:
    """SD of the estimate over a seeded bootstrap that re-fits every model.

    Without clusters, participants and comparison units are resampled separately (arm-
    stratified). With ``clusters`` (integer codes), whole clusters are resampled, within
    strata of clusters holding only participants, only comparison units, or both, so that
    shocks shared within a cluster enter the standard error.
    """
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
    # standardise with the full-sample moments, as the full-sample fit did, so beta0 is a warm start
    mean = A.mean(axis=0)
    sd = A.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = np.column_stack([np.ones(len(A)), (A - mean) / sd])
    for b in range(n_bootstrap):
        picked = np.concatenate([rng.choice(s, len(s)) for s in strata])
        idx = picked if members is None else np.concatenate([members[c] for c in picked])
        Ab, Zb, yb, db = A[idx], Z[idx], y[idx], d[idx]
        if db.min() == db.max():  # a resample without one of the groups
            estimates[b] = np.nan
            continue
        beta = _newton_logit(Zb, db.astype(float), beta0.copy(), ridge, max_iter=50, tol=1e-7)
        ps = expit(Zb @ beta)
        if method == "ipw":
            estimates[b] = _ipw_att_formula(yb, db, ps)
        else:
            coef = _ols(Ab[db == 0], yb[db == 0])
            m0 = np.column_stack([np.ones(len(Ab)), Ab]) @ coef
            estimates[b] = _aipw_att_formula(yb, db, ps, m0)
    estimates = estimates[np.isfinite(estimates)]
    if len(estimates) < max(20, n_bootstrap // 2):
        return math.nan
    return float(np.std(estimates, ddof=1))


# --------------------------------------------------------------------------- public API


def estimate_att(df: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str],
                 method: str = "matching", k: int = 1, caliper: float | None = 0.2, replace: bool = True,
                 seed: int = 0, n_bootstrap: int = 200, units: str = "scale points",
                 ps_adjustment: bool = True, ai_neighbours: int = 2, cluster: str | None = None) -> EffectEstimate:
    """Estimate the average effect of the programme on those who took part (ATT).

    Runs DoWhy's CausalModel(common_causes=covariates) -> identify_effect (back-door)
    -> estimate_effect(target_units="att"), then attaches honest standard errors:
    Abadie-Imbens (2006) with the Abadie-Imbens (2016) estimated-score adjustment for
    matching (``ps_adjustment=False`` for plain AI 2006), a seeded bootstrap of
    ``n_bootstrap`` replicates re-estimating every model for ``"ipw"`` and
    ``"doubly_robust"``. See the module docstring for the exact estimators.

    ``k``, ``caliper`` (SDs of the logit propensity score; None for no caliper) and
    ``replace`` apply to matching. Participants without a comparison unit inside the
    caliper are left out of ``n_treated`` (which counts analysed participants only), and
    their number is stated in the overlap assumption; :func:`matched_sample` lists them.

    ``cluster`` names a column of cluster ids (schools, sites) for ``"ipw"`` and
    ``"doubly_robust"``: the bootstrap then resamples whole clusters and the interval uses
    a t distribution on G-1 degrees of freedom. Matching has no cluster-robust variance
    here, so asking for one is an error rather than a silently too-narrow interval.

    Raises ValueError naming the column for missing columns, missing values, a
    non-numeric column, a non-binary treatment, or no overlap.
    """
    _check_method(method)
    _check_spec(k, caliper)
    clusters = None
    if cluster is not None:
        if method == "matching":
            raise ValueError("Cluster-robust standard errors are not available for matching; use "
                             "method='doubly_robust' or 'ipw' (cluster bootstrap) for clustered data.")
        if cluster not in df.columns:
            raise ValueError(f"Cluster column {cluster!r} not found in the data; available columns: "
                             f"{', '.join(map(str, df.columns))}.")
        if df[cluster].isna().any():
            raise ValueError(f"Cluster column {cluster!r} has missing values; every row needs a cluster.")
        clusters = pd.factorize(df[cluster])[0]
    if method != "matching" and (int(n_bootstrap) != n_bootstrap or n_bootstrap < 20):
        raise ValueError(f"n_bootstrap must be a whole number of at least 20, got {n_bootstrap!r}.")
    data = _validate(df, treatment=treatment, covariates=covariates, outcome=outcome)
    covariates = list(covariates)
    y = data[outcome].to_numpy(dtype=float)
    d = data[treatment].to_numpy().astype(int)

    # overlap on the propensity score before handing over to DoWhy
    ps_model = LogitPropensityModel().fit(data[covariates], d)
    _check_ps_overlap(ps_model.decision_function(data[covariates]), d, treatment, weighting=method != "matching")

    identified, est = _dowhy_estimate(data, outcome=outcome, treatment=treatment, covariates=covariates,
                                      method=method, k=k, caliper=caliper, replace=replace)
    value = float(est.value)
    estimator = est.estimator
    fitted = estimator.propensity_score_model
    frame = data[covariates]
    lp = fitted.decision_function(frame)
    ps = expit(lp)

    if method == "matching":
        m = estimator.match_
        if not m.matched.any():
            raise ValueError(
                f"No overlap: no participant ({treatment!r} = 1) has a comparison unit within the caliper of "
                f"{caliper} SD of the logit propensity score; widen the caliper or revise the comparison group."
            )
        var, kw, resid = _abadie_imbens_variance(m, y, lp, J=ai_neighbours)
        if ps_adjustment:
            adj = _ps_adjustment(m, y, d, ps, lp, fitted.design(frame), kw, resid, fitted.ridge, J=ai_neighbours)
            if var + adj > 0:
                var = var + adj
            else:  # a non-positive adjusted variance (tiny samples): keep AI 2006 and say so in the name
                ps_adjustment = False
        se = math.sqrt(var) if var > 0 else math.nan
        tm = m.t_pos[m.matched]
        n_treated = int(len(tm))
        n_trimmed = int((~m.matched).sum())
        n_comparison = int(np.count_nonzero(kw))
        sd_t = float(np.std(y[tm], ddof=1))
        sd_c = _weighted_sd(y[kw > 0], kw[kw > 0])
    else:
        se = _bootstrap_se(y, d, frame[sorted(covariates, key=str)].to_numpy(dtype=float), fitted.coef_std_,
                           method, int(n_bootstrap), seed, fitted.ridge, clusters)
        n_treated = int(d.sum())
        n_trimmed = 0
        n_comparison = int((1 - d).sum())
        sd_t = float(np.std(y[d == 1], ddof=1))
        c = d == 0
        sd_c = _weighted_sd(y[c], ps[c] / (1 - ps[c]))

    n_clusters = int(clusters.max()) + 1 if clusters is not None else None
    ci_low, ci_high, p = normal_inference(value, se, df=(n_clusters - 1) if n_clusters else None)
    g, g_low, g_high = hedges_g(value, (ci_low, ci_high), sd_t, sd_c, n_treated, n_comparison)
    return EffectEstimate(
        outcome=outcome,
        estimand="ATT",
        estimator=_estimator_name(method, k, caliper, replace, ps_adjustment, int(n_bootstrap), n_clusters),
        estimate=value,
        std_error=se,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p,
        n_treated=n_treated,
        n_comparison=n_comparison,
        effect_size=g,
        effect_size_ci_low=g_low,
        effect_size_ci_high=g_high,
        units=units,
        n_clusters=n_clusters,
        assumptions=_assumptions(covariates, method, n_trimmed, int(d.sum())),
    )


def matched_sample(df: pd.DataFrame, *, treatment: str, covariates: list[str], k: int = 1,
                   caliper: float | None = 0.2, replace: bool = True) -> MatchedSample:
    """Match participants to comparison units on the logit propensity score.

    The same matching as ``estimate_att(method="matching")``; returns per-row weights (for
    balance tables or a matched difference-in-differences downstream), propensity scores,
    the list of matched pairs, and how many participants the caliper trimmed (counted,
    never silently dropped).
    """
    _check_spec(k, caliper)
    data = _validate(df, treatment=treatment, covariates=covariates)
    covariates = list(covariates)
    d = data[treatment].to_numpy().astype(int)
    model = LogitPropensityModel().fit(data[covariates], d)
    lp = model.decision_function(data[covariates])
    _check_ps_overlap(lp, d, treatment)
    m = _nn_match(lp, d, int(k), caliper, replace)
    n = len(data)
    index = data.index
    weights = np.bincount(m.pair_c, weights=m.pair_w, minlength=n)
    weights[m.t_pos] = m.matched.astype(float)
    trimmed = np.zeros(n, dtype=bool)
    trimmed[m.t_pos[~m.matched]] = True
    pairs = pd.DataFrame({
        "treated_row": index[m.t_pos[m.pair_t]],
        "comparison_row": index[m.pair_c],
        "weight": m.pair_w,
    })
    return MatchedSample(
        weights=pd.Series(weights, index=index, name="match_weight"),
        propensity_score=pd.Series(expit(lp), index=index, name="propensity_score"),
        logit_propensity_score=pd.Series(lp, index=index, name="logit_propensity_score"),
        trimmed=pd.Series(trimmed, index=index, name="trimmed_by_caliper"),
        pairs=pairs,
        n_treated=int(d.sum()),
        n_treated_matched=int(m.matched.sum()),
        n_trimmed=int((~m.matched).sum()),
        n_comparison=int((1 - d).sum()),
        n_comparison_matched=int(np.count_nonzero(weights[m.c_pos])),
        k=int(k),
        caliper=caliper,
        caliper_width=m.caliper_width,
        replace=bool(replace),
        covariates=tuple(covariates),
    )


_REFUTATION_TEXT = {
    "placebo treatment": (
        "The treatment column was replaced by a random reshuffle of itself {n} times and the effect "
        "re-estimated. A real effect should vanish: the placebo effect averaged {new:,.4g} against "
        "{orig:,.4g} for the real treatment (p = {p:.2f} for a zero placebo effect)."
    ),
    "random common cause": (
        "A made-up covariate of pure noise was added to the adjustment set {n} times. A sound estimate "
        "should barely move: it averaged {new:,.4g} against {orig:,.4g} (p = {p:.2f})."
    ),
    "data subset": (
        "The effect was re-estimated on {n} random 80% subsets of the data. A stable estimate should "
        "stay close: it averaged {new:,.4g} against {orig:,.4g} (p = {p:.2f})."
    ),
}


def refute(df: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str], method: str = "matching",
           seed: int = 0, k: int = 1, caliper: float | None = 0.2, replace: bool = True,
           num_simulations: int = 100) -> tuple[Refutation, ...]:
    """Run DoWhy's placebo-treatment, random-common-cause and data-subset refuters.

    The refuters re-fit the same DoWhy estimator as :func:`estimate_att`. They are given
    an untouched copy of the data (DoWhy's weighting estimator writes propensity-score
    columns into the data it estimates on, and refuters fed such data would silently
    re-use the old scores). The placebo is a permutation of the treatment column, seeded.

    Verdicts follow DoWhy's own test (two-sided, bootstrap-type with 100 or more
    simulations): "passed" when p >= 0.05, i.e. zero is a plausible placebo effect, and the
    original estimate is plausible under a random common cause or a data subset.
    """
    _check_method(method)
    _check_spec(k, caliper)
    if int(num_simulations) != num_simulations or num_simulations < 10:
        raise ValueError(f"num_simulations must be a whole number of at least 10, got {num_simulations!r}.")
    data = _validate(df, treatment=treatment, covariates=covariates, outcome=outcome)
    covariates = list(covariates)
    d = data[treatment].to_numpy().astype(int)
    ps_model = LogitPropensityModel().fit(data[covariates], d)
    _check_ps_overlap(ps_model.decision_function(data[covariates]), d, treatment, weighting=method != "matching")
    identified, est = _dowhy_estimate(data, outcome=outcome, treatment=treatment, covariates=covariates,
                                      method=method, k=k, caliper=caliper, replace=replace)
    n = int(num_simulations)
    runs = [
        ("placebo treatment", lambda: refute_placebo_treatment(
            data.copy(), copy.deepcopy(identified), est, [treatment], num_simulations=n,
            placebo_type=PlaceboType.PERMUTE, random_state=np.random.RandomState(seed))),
        ("random common cause", lambda: refute_random_common_cause(
            data.copy(), copy.deepcopy(identified), est, num_simulations=n,
            random_state=np.random.RandomState(seed + 1))),
        ("data subset", lambda: refute_data_subset(
            data.copy(), copy.deepcopy(identified), est, subset_fraction=0.8, num_simulations=n,
            random_state=np.random.RandomState(seed + 2))),
    ]
    out = []
    for name, run in runs:
        res = run()
        p = float(res.refutation_result["p_value"])
        verdict = "passed" if p >= 0.05 else "failed"
        text = _REFUTATION_TEXT[name].format(n=n, new=float(res.new_effect), orig=float(res.estimated_effect), p=p)
        text += " Passed." if verdict == "passed" else " Failed: treat the estimate with caution."
        out.append(Refutation(name=name, method=method, original_effect=float(res.estimated_effect),
                              new_effect=float(res.new_effect), p_value=p, verdict=verdict,
                              explanation=text, n_simulations=n))
    return tuple(out)
