"""The 2x2 DiD of one group-time cell, with its influence function: DRDID's panel estimators.

With covariates each cell is estimated as R did does, by the DRDID package's panel estimators on
the cell's units: ``"dr"`` is Sant'Anna & Zhao's doubly robust DiD (``DRDID::drdid_panel``: logit
propensity score, weighted least squares of the change on the comparison units, propensity scores
of comparison units trimmed at 0.995), ``"reg"`` the outcome-regression DiD (``reg_did_panel``) and
``"ipw"`` the standardised inverse-probability-weighted DiD (``std_ipw_did_panel``). Without
covariates every method reduces to the weighted difference in mean changes
(`unconditional_cell`). Influence functions here are on the cell's own scale (n_cell units).

The logit is fitted here (weighted Newton-Raphson with step halving, no penalty) rather than by
statsmodels or evaluations/estimators/propensity.py: DRDID fits the plain weighted
maximum-likelihood logit, while propensity.py (written for matching) penalises standardised
coefficients; and a fit that fails must become that cell's note (``None`` here), not a warning
or an exception that would end the whole estimate.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit


# DRDID: comparison units' propensity scores are trimmed at this level; R did's overlap check
# refuses a cell whose (unweighted) propensity score reaches _OVERLAP_LIMIT.
_TRIM_LEVEL = 0.995
_OVERLAP_LIMIT = 0.999


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """Weighted logit fitted values by Newton-Raphson with step halving; None if it does not converge."""
    beta = np.zeros(x.shape[1])

    def loglik(b):
        eta = x @ b
        return float(np.sum(w * (d * eta - np.logaddexp(0.0, eta))))

    current = loglik(beta)
    for _ in range(100):
        p = expit(x @ beta)
        hessian = x.T @ (x * (w * p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(hessian, x.T @ (w * (d - p)))
        except np.linalg.LinAlgError:
            return None
        for _ in range(30):  # halve the step until the likelihood does not fall
            trial = loglik(beta + step)
            if trial >= current - 1e-12:
                break
            step = step / 2
        beta, current = beta + step, trial
        if np.max(np.abs(step)) < 1e-10:
            return expit(x @ beta)
    return None


def _control_ols(dy, d, x, w):
    """WLS of the change on the covariates among comparison units; its fit and asymptotic linear rep."""
    n = len(d)
    w_ols = w * (1 - d)
    xpx = x.T @ (x * w_ols[:, None]) / n
    if np.linalg.cond(xpx) > 1 / np.finfo(float).eps:
        return None
    beta = np.linalg.solve(xpx, x.T @ (w_ols * dy) / n)
    fitted = x @ beta
    linear_rep = (x * (w_ols * (dy - fitted))[:, None]) @ np.linalg.inv(xpx)
    return fitted, linear_rep


def _propensity(d, x, w):
    """Logit propensity score (clipped below 1 as DRDID does) and its asymptotic linear representation."""
    ps = _logit(x, d, w)
    if ps is None:
        return None
    ps = np.minimum(ps, 1 - 1e-6)
    hessian = np.linalg.inv(x.T @ (x * (ps * (1 - ps) * w)[:, None])) * len(d)
    return ps, (x * (w * (d - ps))[:, None]) @ hessian


def _dr_cell(dy, d, x, w):
    """DRDID::drdid_panel: Sant'Anna & Zhao's doubly robust DiD and its influence function."""
    ols, score = _control_ols(dy, d, x, w), _propensity(d, x, w)
    if ols is None or score is None:
        return None
    (out, lin_ols), (ps, lin_ps) = ols, score
    trim = np.where(d == 1, True, ps < _TRIM_LEVEL)
    w_t = trim * w * d
    w_c = trim * w * ps * (1 - d) / (1 - ps)
    eta_t = np.mean(w_t * (dy - out)) / np.mean(w_t)
    eta_c = np.mean(w_c * (dy - out)) / np.mean(w_c)
    inf_t = (w_t * (dy - out) - w_t * eta_t - lin_ols @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - out - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_c[:, None] * x, axis=0)
    inf_c = (w_c * (dy - out) - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_c)
    return float(eta_t - eta_c), inf_t - inf_c


def _reg_cell(dy, d, x, w):
    """DRDID::reg_did_panel: outcome-regression DiD (Heckman, Ichimura & Todd) and its influence function."""
    ols = _control_ols(dy, d, x, w)
    if ols is None:
        return None
    out, lin_ols = ols
    w_t = w * d
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_t * out) / np.mean(w_t)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    inf_c = (w_t * out - w_t * eta_c + lin_ols @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    return float(eta_t - eta_c), inf_t - inf_c


def _ipw_cell(dy, d, x, w):
    """DRDID::std_ipw_did_panel: Abadie's IPW DiD with normalised weights and its influence function."""
    score = _propensity(d, x, w)
    if score is None:
        return None
    ps, lin_ps = score
    trim = np.where(d == 1, True, ps < _TRIM_LEVEL)
    w_t = trim * w * d
    w_c = trim * w * ps * (1 - d) / (1 - ps)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_c * dy) / np.mean(w_c)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - eta_c))[:, None] * x, axis=0)
    inf_c = (w_c * dy - w_c * eta_c + lin_ps @ m2) / np.mean(w_c)
    return float(eta_t - eta_c), inf_t - inf_c


_CELL_ESTIMATORS = {"dr": _dr_cell, "reg": _reg_cell, "ipw": _ipw_cell}


def unconditional_cell(dy, d, w):
    """Weighted difference in mean changes: what every est_method gives with an intercept only."""
    treated, control = d == 1, d == 0
    mean_t = np.average(dy[treated], weights=w[treated])
    mean_c = np.average(dy[control], weights=w[control])
    n = len(d)
    inf = np.zeros(n)
    inf[treated] = n * w[treated] * (dy[treated] - mean_t) / w[treated].sum()
    inf[control] = -n * w[control] * (dy[control] - mean_c) / w[control].sum()
    return float(mean_t - mean_c), inf


def covariate_cell(dy, d, x, w, est_method):
    """DRDID on the cell (weights normalised to mean 1, as DRDID does), after R did's overlap check."""
    if np.linalg.matrix_rank(x[d == 0]) < x.shape[1]:
        return "the covariates are collinear among the comparison units"
    if est_method in ("dr", "ipw"):
        ps = _logit(x, d, np.ones(len(d)))  # R's check fits an unweighted logit
        if ps is None or ps.max() >= _OVERLAP_LIMIT:
            return ("overlap fails: the covariates predict cohort membership almost perfectly "
                    f"(propensity score >= {_OVERLAP_LIMIT})")
    fit = _CELL_ESTIMATORS[est_method](dy, d, x, w / w.mean())
    if fit is None:
        return "the propensity score model did not converge"
    return fit
