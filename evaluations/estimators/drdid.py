"""Sant'Anna & Zhao's two-period estimators of the ATT with their influence functions (R DRDID's panel ones).

One set of kernels for every estimator that re-weights or regresses comparison units to stand in
for participants, with a per-unit influence function so the standard error is analytic (one fit,
not hundreds of bootstrap refits) and survey weights and clusters come for free:

* ``doubly_robust``: ``DRDID::drdid_panel``, logit propensity score plus a weighted least-squares
  outcome regression among comparison units; right if either model is.
* ``outcome_regression``: ``DRDID::reg_did_panel`` (Heckman, Ichimura & Todd 1997).
* ``weighting``: ``DRDID::std_ipw_did_panel``, Abadie's (2005) IPW with normalised (Hajek) weights.

``dy`` is each unit's change between the two waves (a DiD on a linked panel, or one group-time
cell of a staggered roll-out). With ``dy`` the follow-up outcome itself (no baseline) the same
formulas are the cross-sectional ATT estimators: IPW with odds weights and augmented IPW (Moodie,
Saarela & Stephens 2018), which is how the after-only matched comparison uses them.

``x`` holds the covariates with a leading column of ones; ``w`` survey weights with mean 1 (as
DRDID normalises ``i.weights``). Influence functions are on the sample's own scale (n units):
the estimate's error is their mean, so inference.influence_se gives the standard error.

The propensity score is the plain weighted maximum-likelihood logit (propensity.fit_logit with no
ridge, R's glm, as DRDID fits it) unless a caller fitted its own (`score_from_fit`: DoWhy's
matching-family model in dowhy_bridge.py); its estimation enters the influence function through
the logit's asymptotic linear representation. Comparison units with a score of ``TRIM_LEVEL`` or
more are left out (DRDID's trimming); ``trim_level=1`` keeps everyone (DoWhy's weighting).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluations.estimators.propensity import fit_logit

TRIM_LEVEL = 0.995  # DRDID: comparison units' propensity scores at or above this are trimmed


@dataclass(frozen=True)
class ATTFit:
    """An estimate, its influence function (one value per unit) and how many comparison units were trimmed."""

    att: float
    influence: np.ndarray
    n_trimmed: int = 0


@dataclass(frozen=True)
class Score:
    """A fitted propensity score and the asymptotic linear representation of its coefficients (n x p)."""

    ps: np.ndarray
    linear_rep: np.ndarray


@dataclass(frozen=True)
class OutcomeFit:
    """The comparison units' outcome regression, predicted for everyone, and its linear representation."""

    fitted: np.ndarray
    linear_rep: np.ndarray


def _column_scales(x: np.ndarray) -> np.ndarray:
    """Root-mean-square of each column (1 for an all-zero one). Solving on x / scales and mapping back
    gives the same coefficients; it keeps covariates on very different scales (earnings next to
    indicators, or their squares) from looking singular to a condition-number test."""
    rms = np.sqrt(np.mean(x**2, axis=0))
    return np.where(rms > 0, rms, 1.0)


def score_from_fit(ps: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray) -> Score:
    """The linear representation of a logit whose fitted scores are `ps` (scores clipped below 1, as DRDID)."""
    ps = np.minimum(ps, 1 - 1e-6)
    scales = _column_scales(x)
    xs = x / scales
    # pinv: with collinear covariates the coefficients are not identified, but the fitted scores (all
    # the estimators use) and their linear representation are
    hessian = np.linalg.pinv(xs.T @ (xs * (ps * (1 - ps) * w)[:, None])) * len(d)
    return Score(ps, ((xs * (w * (d - ps))[:, None]) @ hessian) / scales)


def propensity(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> Score | None:
    """The weighted maximum-likelihood logit of `d` on `x`; None when it does not converge (separation)."""
    fit = fit_logit(x[:, 1:], d, w, ridge=0.0, max_iter=100)
    if not fit.converged:
        return None
    return score_from_fit(fit.probabilities, d, x, w)


def outcome_regression_fit(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray) -> OutcomeFit | None:
    """WLS of `dy` on `x` among comparison units; None when the comparison units cannot identify it."""
    n = len(d)
    w_ols = w * (1 - d)
    scales = _column_scales(x)
    xs = x / scales
    xpx = xs.T @ (xs * w_ols[:, None]) / n
    if np.linalg.cond(xpx) > 1 / np.finfo(float).eps:
        return None
    beta = np.linalg.solve(xpx, xs.T @ (w_ols * dy) / n)
    fitted = xs @ beta
    return OutcomeFit(fitted, ((xs * (w_ols * (dy - fitted))[:, None]) @ np.linalg.inv(xpx)) / scales)


def _comparison_weights(d, w, ps, trim_level):
    keep = np.where(d == 1, True, ps < trim_level)
    return keep * w * d, keep * w * ps * (1 - d) / (1 - ps)


def _trimmed(d, score: Score, trim_level) -> int:
    return int(((d == 0) & (score.ps >= trim_level)).sum())


def doubly_robust(dy, d, x, w, score: Score, outcome: OutcomeFit, trim_level: float = TRIM_LEVEL):
    """DRDID::drdid_panel: the doubly robust ATT and its influence function."""
    w_t, w_c = _comparison_weights(d, w, score.ps, trim_level)
    out = outcome.fitted
    eta_t = np.mean(w_t * (dy - out)) / np.mean(w_t)
    eta_c = np.mean(w_c * (dy - out)) / np.mean(w_c)
    inf_t = (w_t * (dy - out) - w_t * eta_t - outcome.linear_rep @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - out - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_c[:, None] * x, axis=0)
    inf_c = (w_c * (dy - out) - w_c * eta_c + score.linear_rep @ m2 - outcome.linear_rep @ m3) / np.mean(w_c)
    return ATTFit(float(eta_t - eta_c), inf_t - inf_c, _trimmed(d, score, trim_level))


def outcome_regression(dy, d, x, w, outcome: OutcomeFit):
    """DRDID::reg_did_panel: the outcome-regression ATT and its influence function."""
    w_t = w * d
    out = outcome.fitted
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_t * out) / np.mean(w_t)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    inf_c = (w_t * out - w_t * eta_c + outcome.linear_rep @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    return ATTFit(float(eta_t - eta_c), inf_t - inf_c)


def weighting(dy, d, x, w, score: Score, trim_level: float = TRIM_LEVEL):
    """DRDID::std_ipw_did_panel: the normalised IPW ATT and its influence function."""
    w_t, w_c = _comparison_weights(d, w, score.ps, trim_level)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_c * dy) / np.mean(w_c)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - eta_c))[:, None] * x, axis=0)
    inf_c = (w_c * dy - w_c * eta_c + score.linear_rep @ m2) / np.mean(w_c)
    return ATTFit(float(eta_t - eta_c), inf_t - inf_c, _trimmed(d, score, trim_level))


def difference_in_mean_changes(dy, d, w):
    """The weighted difference in mean changes: what every method gives with an intercept only."""
    treated, control = d == 1, d == 0
    mean_t = np.average(dy[treated], weights=w[treated])
    mean_c = np.average(dy[control], weights=w[control])
    n = len(d)
    inf = np.zeros(n)
    inf[treated] = n * w[treated] * (dy[treated] - mean_t) / w[treated].sum()
    inf[control] = -n * w[control] * (dy[control] - mean_c) / w[control].sum()
    return ATTFit(float(mean_t - mean_c), inf)


def estimate(dy, d, x, w, method: str) -> ATTFit | str:
    """The ATT by ``"dr"``, ``"reg"`` or ``"ipw"``, or the reason it cannot be estimated (a sentence).

    With no covariates (`x` only the constant) every method is the difference in mean changes."""
    if x.shape[1] == 1:
        return difference_in_mean_changes(dy, d, w)
    needs_score, needs_outcome = method in ("dr", "ipw"), method in ("dr", "reg")
    score = propensity(d, x, w) if needs_score else None
    if needs_score and score is None:
        return "the propensity score model did not converge"
    outcome = outcome_regression_fit(dy, d, x, w) if needs_outcome else None
    if needs_outcome and outcome is None:
        return "the covariates are collinear among the comparison units"
    if method == "dr":
        return doubly_robust(dy, d, x, w, score, outcome)
    if method == "reg":
        return outcome_regression(dy, d, x, w, outcome)
    return weighting(dy, d, x, w, score)
