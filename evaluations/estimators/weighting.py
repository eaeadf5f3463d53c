"""Weighting estimators of the ATT and their bootstrap standard errors.

``ipw_att``: participants get weight 1, comparison units the odds ``e(x) / (1 - e(x))``, both
normalised to sum to one (the Hajek form); the same number as DoWhy's
``backdoor.propensity_score_weighting`` with ``target_units="att"`` and no clipping, which is
how estimate_att computes it (checked in tests/test_matching.py).

``aipw_att``: augmented IPW for the ATT (DoWhy 0.14's ``DoublyRobustEstimator`` supports only
the ATE, so it is written out here)::

    tau = mean_{D=1}(Y - m0(X)) - sum_{D=0} w (Y - m0(X)) / sum_{D=0} w,  w = e/(1-e)

where ``m0`` is a linear regression of the outcome on the covariates among comparison units
and ``e`` the logistic propensity score. It is consistent when either ``m0`` or ``e`` is
correctly specified (Moodie, Saarela and Stephens 2018; the cross-section case of Sant'Anna
and Zhao 2020).

Standard errors: a seeded non-parametric bootstrap (inference.bootstrap_se) that re-estimates
the propensity score (and the outcome model) in every replicate, so the estimated models'
uncertainty is included; resampling is by treatment group, or by whole cluster when asked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluations.estimators.inference import bootstrap_se
from evaluations.estimators.propensity import newton_logit, standardisation, standardised_design


def odds_weights(ps: np.ndarray) -> np.ndarray:
    """Weights that make comparison units stand in for participants: e / (1 - e)."""
    return ps / (1 - ps)


def ipw_att(y: np.ndarray, d: np.ndarray, ps: np.ndarray) -> float:
    """Participants' mean outcome less the odds-weighted comparison mean (the Hajek form)."""
    w = odds_weights(ps)
    c = d == 0
    return float(y[d == 1].mean() - np.sum(w[c] * y[c]) / np.sum(w[c]))


def aipw_att(y: np.ndarray, d: np.ndarray, ps: np.ndarray, m0: np.ndarray) -> float:
    """The IPW contrast of the residuals from the comparison units' outcome regression `m0`."""
    r = y - m0
    w = odds_weights(ps)
    c = d == 0
    return float(r[d == 1].mean() - np.sum(w[c] * r[c]) / np.sum(w[c]))


def sorted_matrix(frame: pd.DataFrame) -> np.ndarray:
    """Covariates as a matrix in sorted column order, as the propensity model orders them."""
    cols = sorted(frame.columns, key=str)
    return frame[cols].to_numpy(dtype=float)


def ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS coefficients [intercept, slopes] via standardised normal equations (fast, stable).

    Hand-written rather than statsmodels because it runs in every bootstrap replicate."""
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


def comparison_outcome_fit(X: np.ndarray, y: np.ndarray, d: np.ndarray) -> np.ndarray:
    """m0(X): the outcome regression fitted among comparison units, predicted for everyone."""
    coef = ols(X[d == 0], y[d == 0])
    return np.column_stack([np.ones(len(X)), X]) @ coef


def weighting_bootstrap_se(y: np.ndarray, d: np.ndarray, X: np.ndarray, beta0: np.ndarray, method: str,
                           n_bootstrap: int, seed: int, ridge: float, clusters: np.ndarray | None = None) -> float:
    """Bootstrap SE of ``"ipw"`` or ``"doubly_robust"``, re-fitting every model in each replicate.

    `X` holds the covariates in sorted column order and `beta0` the full-sample logit
    coefficients on the standardised design, a warm start for each replicate's fit.
    """
    # standardise with the full-sample moments, as the full-sample fit did, so beta0 is a warm start
    Z = standardised_design(X, *standardisation(X))

    def replicate(idx: np.ndarray) -> float:
        Xb, Zb, yb, db = X[idx], Z[idx], y[idx], d[idx]
        if db.min() == db.max():  # a cluster resample without one of the groups
            return np.nan
        beta, _ = newton_logit(Zb, db.astype(float), beta0.copy(), ridge, max_iter=50, tol=1e-7)
        ps = expit(Zb @ beta)
        if method == "ipw":
            return ipw_att(yb, db, ps)
        return aipw_att(yb, db, ps, comparison_outcome_fit(Xb, yb, db))

    return bootstrap_se(replicate, d, n_bootstrap, seed, clusters)
