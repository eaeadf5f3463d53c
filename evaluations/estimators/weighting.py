"""Weighting estimators of the ATT on one outcome (no baseline): IPW and augmented IPW, through drdid.py.

``"ipw"``: participants get weight 1, comparison units the odds ``e(x) / (1 - e(x))``, both
normalised to sum to one (the Hajek form); without survey weights the same number as DoWhy's
``backdoor.propensity_score_weighting`` with ``target_units="att"`` and no clipping
(tests/test_matching.py checks it).

``"doubly_robust"``: augmented IPW for the ATT (DoWhy 0.14's ``DoublyRobustEstimator`` supports
only the ATE)::

    tau = mean_{D=1}(Y - m0(X)) - sum_{D=0} w (Y - m0(X)) / sum_{D=0} w,  w = e/(1-e)

where ``m0`` is a linear regression of the outcome on the covariates among comparison units
and ``e`` the logistic propensity score: consistent when either is correctly specified (Moodie,
Saarela and Stephens 2018; the cross-section case of Sant'Anna and Zhao 2020).

Both are the panel kernels of drdid.py with the follow-up outcome in place of the change and no
trimming (DoWhy's estimators trim nobody; a lack of overlap is refused instead), so they share
those kernels' influence functions: the analytic standard error, with survey weights and
clusters. `weighting_bootstrap_se` is the alternative a caller may ask for: a seeded bootstrap
that re-fits every model in each replicate, by treatment group or by whole cluster.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluations.estimators import drdid
from evaluations.estimators.inference import bootstrap_se
from evaluations.estimators.propensity import newton_logit, standardisation, standardised_design

NO_TRIMMING = 1.0  # every comparison unit is kept, as DoWhy's estimators keep them


def odds_weights(ps: np.ndarray) -> np.ndarray:
    """Weights that make comparison units stand in for participants: e / (1 - e)."""
    return ps / (1 - ps)


def sorted_matrix(frame: pd.DataFrame) -> np.ndarray:
    """Covariates as a matrix in sorted column order, as the propensity model orders them."""
    cols = sorted(frame.columns, key=str)
    return frame[cols].to_numpy(dtype=float)


def with_constant(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(X)), X])


def weighted_att(y: np.ndarray, d: np.ndarray, X: np.ndarray, w: np.ndarray, ps: np.ndarray,
                 method: str) -> drdid.ATTFit:
    """The ATT by ``"ipw"`` or ``"doubly_robust"`` given fitted scores `ps`, with its influence function.

    `X` holds the covariates (no constant), `w` survey weights with mean 1 (ones without them). A
    covariate with one value in the sample (an empty category's indicator) adjusts for nothing and
    is left out, as the propensity model's standardisation already ignores it.
    """
    x = with_constant(X[:, np.ptp(X, axis=0) > 0] if X.shape[1] else X)
    score = drdid.score_from_fit(ps, d, x, w)
    if method == "ipw":
        return drdid.weighting(y, d, x, w, score, trim_level=NO_TRIMMING)
    outcome = drdid.outcome_regression_fit(y, d, x, w)
    if outcome is None:
        raise ValueError("the outcome regression among comparison units cannot be fitted: the covariates are "
                         "collinear among them; drop the redundant covariate(s)")
    return drdid.doubly_robust(y, d, x, w, score, outcome, trim_level=NO_TRIMMING)


def weighting_bootstrap_se(y: np.ndarray, d: np.ndarray, X: np.ndarray, w: np.ndarray, beta0: np.ndarray,
                           method: str, n_bootstrap: int, seed: int, ridge: float,
                           clusters: np.ndarray | None = None) -> float:
    """Bootstrap SE of ``"ipw"`` or ``"doubly_robust"``, re-fitting every model in each replicate.

    `X` holds the covariates in sorted column order and `beta0` the full-sample logit
    coefficients on the standardised design, a warm start for each replicate's fit.
    """
    # standardise with the full-sample moments, as the full-sample fit did, so beta0 is a warm start
    Z = standardised_design(X, *standardisation(X))

    def replicate(idx: np.ndarray) -> float:
        db = d[idx]
        if db.min() == db.max():  # a cluster resample without one of the groups
            return np.nan
        wb = w[idx] / w[idx].mean()
        beta, _ = newton_logit(Z[idx], db.astype(float), beta0.copy(), ridge, max_iter=50, tol=1e-7, weights=wb)
        try:
            return weighted_att(y[idx], db, X[idx], wb, expit(Z[idx] @ beta), method).att
        except (ValueError, np.linalg.LinAlgError):
            return np.nan

    return bootstrap_se(replicate, d, n_bootstrap, seed, clusters)
