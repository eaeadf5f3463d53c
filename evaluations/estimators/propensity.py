"""The propensity score: a logistic regression of taking part on the covariates as given.

One logit for every estimator that needs a propensity score: `LogitPropensityModel` (the
scikit-learn-style model DoWhy's estimators and the matching/weighting kernels call) and
`fit_logit` (a design matrix, a 0/1 treatment and optional survey weights in; fitted
probabilities and coefficients out), both solved by `newton_logit`.

Add squares, interactions or indicators as columns when balance needs them, as Dehejia and
Wahba did. Hand-written rather than scikit-learn's or statsmodels' logit because the variance
of the matching estimator (matching_variance.py), the bootstrap (weighting.py) and the
doubly robust DiD's influence function (cross_sections.py) need the exact objective that was
maximised: the standardised design, the ridge penalty, survey weights and a warm-started Newton
solver that re-fits hundreds of bootstrap samples quickly (neither library takes all four).
The ridge (``RIDGE``) on the standardised coefficients is negligible unless there is
(quasi-)separation, where it keeps the fit finite; ``ridge=0`` gives the plain maximum
likelihood fit (R's ``glm``), which tests/test_matching.py and the DRDID validation in
tests/test_cross_sections.py check. `LogitPropensityModel` puts DataFrame columns in sorted
order before fitting, so results do not depend on the order DoWhy lists the adjustment set in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

RIDGE = 1e-6  # ridge penalty on standardised logit coefficients; negligible unless separation


class LogitPropensityModel:
    """Logistic regression for the propensity score with the scikit-learn interface DoWhy uses.

    Fitted by Newton-Raphson on standardised covariates (columns in sorted order when given
    a DataFrame) with a ridge penalty of ``ridge`` on the non-intercept coefficients.
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
        return standardised_design(self._matrix(X), self.mean_, self.scale_)

    def fit(self, X, y, sample_weight=None):
        """Fit on covariates `X` and 0/1 `y`; `sample_weight`: survey weights (None: everyone counts once)."""
        A = self._matrix(X, fitting=True)
        y = np.asarray(y, dtype=float).ravel()
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
        self.mean_, self.scale_ = standardisation(A)
        Z = standardised_design(A, self.mean_, self.scale_)
        self.coef_std_, _ = newton_logit(Z, y, intercept_start(y, Z.shape[1], w), self.ridge, self.max_iter,
                                         self.tol, w)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X) -> np.ndarray:
        """The logit of the propensity score."""
        return self.design(X) @ self.coef_std_

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])


def standardisation(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and SDs (1 for a constant column) that standardise the design."""
    sd = A.std(axis=0)
    return A.mean(axis=0), np.where(sd > 0, sd, 1.0)


def standardised_design(A: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """[1, (A - mean) / scale]: Newton is better conditioned on standardised columns."""
    return np.column_stack([np.ones(len(A)), (A - mean) / scale])


def intercept_start(y: np.ndarray, p: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Starting coefficients: the intercept-only fit (log-odds of the share treated), slopes 0."""
    share = float(np.clip(y.mean() if weights is None else np.average(y, weights=weights), 1e-6, 1 - 1e-6))
    beta = np.zeros(p)
    beta[0] = math.log(share / (1 - share))
    return beta


def ridge_penalty(ridge: float, p: int) -> np.ndarray:
    """Penalty per coefficient of a standardised design: none on the intercept."""
    pen = np.full(p, ridge)
    pen[0] = 0.0
    return pen


def newton_logit(Z: np.ndarray, y: np.ndarray, beta: np.ndarray, ridge: float, max_iter: int = 100,
                 tol: float = 1e-10, weights: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Ridge-penalised (survey-weighted) logit coefficients by Newton-Raphson with step halving, from `beta`.

    Returns the coefficients and whether the last step was below `tol` within `max_iter` steps
    (it is not under separation, where the unpenalised fit has no finite maximum).
    """
    pen = ridge_penalty(ridge, Z.shape[1])

    def objective(b):
        eta = Z @ b
        ll = y * eta - np.logaddexp(0.0, eta)
        return float(np.sum(ll if weights is None else weights * ll) - 0.5 * np.sum(pen * b * b))

    obj = objective(beta)
    for _ in range(max_iter):
        p = expit(Z @ beta)
        resid, curvature = y - p, p * (1 - p)
        if weights is not None:
            resid, curvature = weights * resid, weights * curvature
        grad = Z.T @ resid - pen * beta
        hess = (Z * curvature[:, None]).T @ Z + np.diag(pen)
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
            return beta, True
    return beta, False


@dataclass(frozen=True)
class LogitFit:
    """A fitted logit: P(treated | X) per row, and the coefficients on X's own scale."""

    probabilities: np.ndarray
    coefficients: np.ndarray  # intercept first, then one per column of X
    converged: bool  # False under (quasi-)separation without a ridge, or too few iterations


def fit_logit(X, treated, weights=None, *, ridge: float = RIDGE, max_iter: int = 100,
              tol: float = 1e-10) -> LogitFit:
    """Logit of a 0/1 `treated` on the columns of `X` (an intercept is added; do not include one).

    `weights` are survey (probability or frequency) weights; ``ridge=0`` gives the maximum
    likelihood fit R's ``glm(family = binomial)`` finds. The caller decides what a fit that did
    not converge, or a degenerate score, means for its estimator.
    """
    y = np.asarray(treated, dtype=float).ravel()
    A = np.asarray(X, dtype=float).reshape(len(y), -1)
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    mean, scale = standardisation(A)
    Z = standardised_design(A, mean, scale)
    beta, converged = newton_logit(Z, y, intercept_start(y, Z.shape[1], w), ridge, max_iter, tol, w)
    slopes = beta[1:] / scale
    coefficients = np.concatenate([[beta[0] - np.sum(slopes * mean)], slopes])
    return LogitFit(expit(Z @ beta), coefficients, converged)


def require_score_overlap(lp: np.ndarray, d: np.ndarray, treatment: str, weighting: bool = False) -> None:
    """Participants' and comparison units' logit scores `lp` must overlap.

    With ``weighting``, a comparison unit with e(x) > 1 - 1e-13 would get an unbounded odds
    weight, so that is refused too.
    """
    lt, lc = lp[d == 1], lp[d == 0]
    if lt.min() > lc.max() or lt.max() < lc.min():
        raise ValueError(
            f"No overlap in the propensity score of {treatment!r}: participants' scores "
            f"({expit(lt.min()):.3g} to {expit(lt.max()):.3g}) and comparison units' "
            f"({expit(lc.min()):.3g} to {expit(lc.max()):.3g}) do not overlap."
        )
    if weighting and np.max(lc) > 30:
        raise ValueError(
            f"No overlap: a comparison unit has a propensity score for {treatment!r} of essentially 1, so it "
            "cannot be weighted; revise the covariates or restrict the sample."
        )
