"""Difference-in-differences on repeated cross-sections: different people answer each wave.

Many charity surveys are anonymous, so nothing links a person's baseline answer to a follow-up
answer. With a comparison group surveyed at the same two waves, the programme's effect on the
participants (ATT) is still identified by how much more the programme group's average changed
than the comparison group's, provided the people answering each wave represent the same group
(stable composition) and the two groups would have changed alike (parallel trends).

Two kernels, both pure (DataFrame in, EffectEstimate out). The input is one row per respondent:
``y`` (outcome, higher = better), ``treated`` (0/1, the programme group), ``post`` (0/1, the
follow-up wave), covariate columns, optional ``cluster`` (classes, schools, sites) and optional
``weight`` (a positive survey weight).

* `did_repeated_cross_sections`: the regression ``y ~ treated + post + treated:post (+ covariates)``;
  the interaction is the DiD. Heteroskedasticity-robust HC1 standard error with t on n - k df,
  or cluster-robust CR1 with t on G - 1 df; with weights, weighted least squares with the
  design-based (linearisation) sandwich (`inference.regression`).
* `doubly_robust_did_rcs`: Sant'Anna & Zhao (2020), the locally efficient doubly robust DiD for
  repeated cross-sections (their eq. 3.4, R ``DRDID::drdid_rc``): a logit propensity score for
  being in the programme group, and linear outcome regressions in each group x wave cell. It is
  consistent if either the propensity score or the comparison group's outcome regressions are
  right. Standard error from its analytic influence function (summed within clusters when
  there are clusters), normal reference, as DRDID. Survey weights enter as DRDID's
  ``i.weights`` (normalised to mean 1). Like DRDID (``trim.level = 0.995``), comparison
  respondents whose propensity score is at least 0.995 are left out of the comparison; the
  number left out is stated in the assumptions.

Effect sizes (Hedges' g) are standardised by the pooled baseline-wave standard deviation of the
two groups (weighted when the survey is weighted), as for the panel DiD, so that the two designs'
effect sizes are on one scale.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.estimators.checks import RESPONDENT, require_labelled_columns, require_positive_weights
from evaluations.estimators.inference import (WEIGHTS_ASSUMPTION, cluster_codes, influence_se, interval, regression,
                                              regression_influence, weighted_sd)
from evaluations.estimators.propensity import fit_logit
from evaluations.estimators.result import EffectEstimate, Influence, hedges_g

__all__ = ["did_repeated_cross_sections", "doubly_robust_did_rcs", "RCS_ASSUMPTIONS", "TRIM_LEVEL"]

RCS_ASSUMPTIONS = (
    "Parallel trends: without the programme, the two groups' average outcomes would have changed by the same amount",
    "Stable composition: different people answered each wave, and the people answering in each group at each wave "
    "represent the same population (who answers did not change between the waves in a way that matters)",
    "No anticipation: the baseline survey was taken before the programme could change anything",
    "No spill-overs: the programme did not change outcomes in the comparison group",
)
COVARIATE_ASSUMPTION = "Parallel trends hold conditional on the listed covariates (linear in them)"
CLUSTER_ASSUMPTION = "People in one cluster share shocks: standard errors allow for it"
TRIM_LEVEL = 0.995  # DRDID's default trim.level: comparison respondents at or above it are left out


# --------------------------------------------------------------------------- checks shared by both kernels


def _check(df: pd.DataFrame, outcome: str, covariates: list[str], cluster: bool, weights: bool) -> pd.DataFrame:
    """Refuse unusable input with a message naming the fix; return the analysis columns."""
    needed = ["y", "treated", "post"] + list(covariates) + (["cluster"] if cluster else []) + \
        (["weight"] if weights else [])
    require_labelled_columns(df, outcome, needed, who=RESPONDENT,
                             kind=lambda c: "outcome" if c == "y" else "covariate" if c in covariates else "column")
    for c in ("treated", "post"):
        if not set(pd.unique(df[c].astype(float))) <= {0.0, 1.0}:
            raise ValueError(f"{outcome}: {c!r} must be 0 or 1 for every respondent")
    if weights:
        require_positive_weights(df, outcome, who=RESPONDENT)
    data = df[needed].copy()
    data["treated"] = data["treated"].astype(int)
    data["post"] = data["post"].astype(int)
    return data


def _cells(data: pd.DataFrame) -> dict[tuple[int, int], int]:
    return {(d, t): int(((data["treated"] == d) & (data["post"] == t)).sum()) for d in (1, 0) for t in (0, 1)}


CELL_NAMES = {(1, 0): "programme group at baseline", (1, 1): "programme group at follow-up",
              (0, 0): "comparison group at baseline", (0, 1): "comparison group at follow-up"}


def _require_cells(data: pd.DataFrame, outcome: str, minimum: int, why: str) -> None:
    cells = _cells(data)
    short = [f"{CELL_NAMES[k]}: {n}" for k, n in cells.items() if n < minimum]
    if short:
        raise ValueError(f"{outcome}: {why} needs at least {minimum} respondents in each group at each wave; found "
                         f"{'; '.join(short)}. Add the missing answers, or check the 'treated' and 'post' columns")


def _effect_size(data: pd.DataFrame, est: float, lo: float, hi: float, weights: bool) -> tuple[float, float, float]:
    """Hedges' g on the pooled baseline-wave SD of the two groups (the people who answered at baseline)."""
    base = data[data["post"] == 0]
    t, c = base[base["treated"] == 1], base[base["treated"] == 0]
    w_t = t["weight"].to_numpy(float) if weights else None
    w_c = c["weight"].to_numpy(float) if weights else None
    return hedges_g(est, (lo, hi), weighted_sd(t["y"].to_numpy(float), w_t),
                    weighted_sd(c["y"].to_numpy(float), w_c), len(t), len(c))


def _usable(data: pd.DataFrame, covariates: list[str]) -> tuple[list[str], list[str]]:
    # A covariate constant in the sample (e.g. everyone in one region) cannot be adjusted for.
    used = [c for c in covariates if data[c].nunique() > 1]
    return used, [c for c in covariates if c not in used]


# --------------------------------------------------------------------------- regression DiD


def did_repeated_cross_sections(df: pd.DataFrame, *, outcome: str, covariates=(), cluster: bool = False,
                                weights: bool = False, units: str = "scale points") -> EffectEstimate:
    """ATT from the regression ``y ~ treated + post + treated:post + covariates`` on repeated cross-sections.

    The coefficient on treated:post is the difference between the programme group's and the comparison
    group's change in mean outcome (adjusted for covariates when given). HC1 standard error with t on
    n - k df; with ``cluster``, CR1 with t on G - 1 df; with ``weights``, WLS on the ``weight`` column with
    the design-based sandwich.
    """
    covariates = [c for c in covariates if c not in ("y", "treated", "post", "cluster", "weight")]
    data = _check(df, outcome, list(covariates), cluster, weights)
    _require_cells(data, outcome, 2, "difference-in-differences on repeated cross-sections")
    covs, dropped = _usable(data, list(covariates))
    X = pd.DataFrame({"treated": data["treated"].astype(float), "post": data["post"].astype(float),
                      "treated_x_post": (data["treated"] * data["post"]).astype(float)}, index=data.index)
    X = pd.concat([X, data[covs].astype(float)], axis=1)
    if np.linalg.matrix_rank(np.column_stack([np.ones(len(X)), X.to_numpy()])) < X.shape[1] + 1:
        raise ValueError(f"{outcome}: the covariates {covs} are collinear with each other or with the group and wave "
                         "indicators; drop the redundant covariate(s)")
    clusters = cluster_codes(data["cluster"]) if cluster else None
    if clusters is not None and clusters.max() + 1 < 2:
        raise ValueError(f"{outcome}: cluster-robust standard errors need at least 2 clusters; found 1")
    fit = regression(data["y"], X, "treated_x_post", weights=data["weight"] if weights else None,
                     clusters=clusters, robust="HC1")
    est, se = fit.estimate, fit.std_error
    lo, hi, p = interval(est, se, fit.df)
    g, g_lo, g_hi = _effect_size(data, est, lo, hi, weights)
    name = ("Difference-in-differences on repeated cross-sections" + (" with covariates" if covs else "")
            + (", survey-weighted" if weights else "")
            + (", cluster-robust SE (CR1)" if cluster else ", robust SE (HC1)"))
    assumptions = RCS_ASSUMPTIONS + ((COVARIATE_ASSUMPTION,) if covs else ()) + (
        (f"{CLUSTER_ASSUMPTION} (cluster-robust CR1, t on G-1 = {fit.n_clusters - 1} df)",) if cluster else ()) + (
        (WEIGHTS_ASSUMPTION,) if weights else ()) + (
        (f"Covariate(s) {', '.join(dropped)} take one value in these data and were not adjusted for",)
        if dropped else ())
    return EffectEstimate(
        outcome=outcome, estimand="ATT", estimator=name, estimate=est, std_error=se, ci_low=lo, ci_high=hi,
        p_value=p, n_treated=int((data["treated"] == 1).sum()), n_comparison=int((data["treated"] == 0).sum()),
        effect_size=g, effect_size_ci_low=g_lo, effect_size_ci_high=g_hi, units=units,
        n_clusters=fit.n_clusters, df=fit.df, assumptions=assumptions,
        influence=Influence.of(df.loc[data.index], regression_influence(fit, "treated_x_post"), cluster=cluster))


# --------------------------------------------------------------------------- doubly robust DiD (Sant'Anna & Zhao)


def _logit(d: np.ndarray, X: np.ndarray, w: np.ndarray, outcome: str) -> np.ndarray:
    """The propensity scores of the maximum likelihood logit (R's glm, as DRDID fits it; propensity.fit_logit
    with no ridge), or a refusal when the programme and comparison groups are (nearly) perfectly separated
    by the covariates, where no MLE exists. `X` includes the constant as its first column."""
    covariates = X[:, 1:]
    if np.linalg.matrix_rank(np.column_stack([np.ones(len(X)), covariates])) < X.shape[1]:
        raise ValueError(f"{outcome}: the propensity-score model cannot be fitted: the covariates are collinear "
                         "(or one group has no variation in them); drop the redundant covariate(s)")
    fit = fit_logit(covariates, d, w, ridge=0.0, max_iter=200)
    ps = fit.probabilities
    treated, comparison = ps[d == 1], ps[d == 0]
    # separation first: there the fit runs off to infinity and "did not converge" would hide the reason
    if treated.min() > comparison.max():
        raise _degenerate(outcome, "the covariates perfectly separate programme from comparison respondents")
    if treated.max() >= 1 - 1e-6:
        # quasi-complete separation: the MLE does not exist and the fitted score of these programme
        # respondents is 1, i.e. no comparison respondent can stand in for them
        raise _degenerate(outcome, f"{int((treated >= 1 - 1e-6).sum())} programme respondent(s) have a fitted "
                                   "propensity score of 1")
    if not fit.converged:
        raise _degenerate(outcome, "the propensity-score model did not converge")
    return ps


def _degenerate(outcome: str, why: str) -> ValueError:
    return ValueError(f"{outcome}: propensity scores are degenerate ({why}), so no comparison respondent resembles "
                      "some programme respondents and the doubly robust DiD cannot re-weight the comparison group. "
                      "Drop or coarsen the covariate(s) that split the groups, or use the regression DiD "
                      "(did_repeated_cross_sections), which extrapolates linearly instead")


def _ols_cell(X: np.ndarray, y: np.ndarray, w: np.ndarray, mask: np.ndarray, outcome: str, cell: str) -> np.ndarray:
    """Weighted least squares in one group x wave cell; returns the coefficients."""
    Xc, yc, wc = X[mask], y[mask], w[mask]
    if np.linalg.matrix_rank(Xc * np.sqrt(wc)[:, None]) < X.shape[1]:
        raise ValueError(f"{outcome}: the outcome regression for the {cell} cannot be fitted: its "
                         f"{int(mask.sum())} respondents do not vary enough in the covariates to estimate "
                         f"{X.shape[1] - 1} covariate effect(s) (too few people, or a covariate is constant or "
                         "collinear in that cell); drop covariates or add respondents")
    XtW = Xc.T * wc
    return np.linalg.solve(XtW @ Xc, XtW @ yc)


def _drdid_rc(y: np.ndarray, post: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray,
              outcome: str) -> tuple[float, np.ndarray, int]:
    """The locally efficient DR DiD for repeated cross-sections and its influence function.

    A line-by-line transcription of R ``DRDID::drdid_rc`` (version 1.2.x; Sant'Anna & Zhao 2020,
    eq. 3.4 and the influence function of their Theorem 3.2/3.3), so it reproduces DRDID's numbers.
    `X` includes the constant; `w` are the survey weights normalised to mean 1. Returns
    (ATT, influence function per respondent, number of comparison respondents trimmed).
    """
    n = len(y)
    ps = _logit(D, X, w, outcome)
    ps = np.minimum(ps, 1 - 1e-6)  # as DRDID: avoid dividing by zero
    W = ps * (1 - ps) * w
    trim = np.ones(n, dtype=bool)
    trim[D == 0] = ps[D == 0] < TRIM_LEVEL
    n_trimmed = int((~trim).sum())
    for t, wave in ((0, "baseline"), (1, "follow-up")):
        kept = int(np.sum(trim & (D == 0) & (post == t)))
        if kept < 2:
            raise _degenerate(outcome, f"only {kept} comparison respondent(s) at {wave} have a propensity score "
                                       f"below {TRIM_LEVEL}")

    cells = {}
    for d_, t_ in ((0, 0), (0, 1), (1, 0), (1, 1)):
        mask = (D == d_) & (post == t_)
        cells[(d_, t_)] = X @ _ols_cell(X, y, w, mask, outcome, CELL_NAMES[(d_, t_)])
    out_cont_pre, out_cont_post = cells[(0, 0)], cells[(0, 1)]
    out_treat_pre, out_treat_post = cells[(1, 0)], cells[(1, 1)]
    out_cont = post * out_cont_post + (1 - post) * out_cont_pre

    # Weights of the four group x wave means (treated: Hajek means; comparison: ATT odds weights)
    w_treat_pre = trim * w * D * (1 - post)
    w_treat_post = trim * w * D * post
    w_cont_pre = trim * w * ps * (1 - D) * (1 - post) / (1 - ps)
    w_cont_post = trim * w * ps * (1 - D) * post / (1 - ps)
    w_d = trim * w * D
    w_dt1 = trim * w * D * post
    w_dt0 = trim * w * D * (1 - post)

    def m(a):
        return float(np.mean(a))

    eta_treat_pre = w_treat_pre * (y - out_cont) / m(w_treat_pre)
    eta_treat_post = w_treat_post * (y - out_cont) / m(w_treat_post)
    eta_cont_pre = w_cont_pre * (y - out_cont) / m(w_cont_pre)
    eta_cont_post = w_cont_post * (y - out_cont) / m(w_cont_post)
    # the extra terms that make the estimator locally efficient
    eta_d_post = w_d * (out_treat_post - out_cont_post) / m(w_d)
    eta_dt1_post = w_dt1 * (out_treat_post - out_cont_post) / m(w_dt1)
    eta_d_pre = w_d * (out_treat_pre - out_cont_pre) / m(w_d)
    eta_dt0_pre = w_dt0 * (out_treat_pre - out_cont_pre) / m(w_dt0)

    att_treat_pre, att_treat_post = m(eta_treat_pre), m(eta_treat_post)
    att_cont_pre, att_cont_post = m(eta_cont_pre), m(eta_cont_post)
    att_d_post, att_dt1_post = m(eta_d_post), m(eta_dt1_post)
    att_d_pre, att_dt0_pre = m(eta_d_pre), m(eta_dt0_pre)
    att = ((att_treat_post - att_treat_pre) - (att_cont_post - att_cont_pre)
           + (att_d_post - att_dt1_post) - (att_d_pre - att_dt0_pre))

    # Influence function. Asymptotic linear representations of the four OLS fits ...
    def asy_lin_rep_ols(mask_w: np.ndarray, fitted: np.ndarray) -> np.ndarray:
        XpX = (X * mask_w[:, None]).T @ X / n
        return ((mask_w * (y - fitted))[:, None] * X) @ np.linalg.inv(XpX)

    alr_pre = asy_lin_rep_ols(w * (1 - D) * (1 - post), out_cont_pre)
    alr_post = asy_lin_rep_ols(w * (1 - D) * post, out_cont_post)
    alr_pre_treat = asy_lin_rep_ols(w * D * (1 - post), out_treat_pre)
    alr_post_treat = asy_lin_rep_ols(w * D * post, out_treat_post)
    # ... and of the logit
    score_ps = (w * (D - ps))[:, None] * X
    hessian_ps = np.linalg.inv(X.T @ (X * W[:, None])) * n
    alr_ps = score_ps @ hessian_ps

    # treated component
    inf_treat_pre = eta_treat_pre - w_treat_pre * att_treat_pre / m(w_treat_pre)
    inf_treat_post = eta_treat_post - w_treat_post * att_treat_post / m(w_treat_post)
    M1_post = -np.mean((w_treat_post * post)[:, None] * X, axis=0) / m(w_treat_post)
    M1_pre = -np.mean((w_treat_pre * (1 - post))[:, None] * X, axis=0) / m(w_treat_pre)
    inf_treat_or = alr_post @ M1_post + alr_pre @ M1_pre
    inf_treat = inf_treat_post - inf_treat_pre + inf_treat_or

    # comparison component
    inf_cont_pre = eta_cont_pre - w_cont_pre * att_cont_pre / m(w_cont_pre)
    inf_cont_post = eta_cont_post - w_cont_post * att_cont_post / m(w_cont_post)
    M2_pre = np.mean((w_cont_pre * (y - out_cont - att_cont_pre))[:, None] * X, axis=0) / m(w_cont_pre)
    M2_post = np.mean((w_cont_post * (y - out_cont - att_cont_post))[:, None] * X, axis=0) / m(w_cont_post)
    inf_cont_ps = alr_ps @ (M2_post - M2_pre)
    M3_post = -np.mean((w_cont_post * post)[:, None] * X, axis=0) / m(w_cont_post)
    M3_pre = -np.mean((w_cont_pre * (1 - post))[:, None] * X, axis=0) / m(w_cont_pre)
    inf_cont_or = alr_post @ M3_post + alr_pre @ M3_pre
    inf_cont = inf_cont_post - inf_cont_pre + inf_cont_ps + inf_cont_or

    # the local-efficiency adjustment terms
    inf_eff = ((eta_d_post - w_d * att_d_post / m(w_d)) - (eta_dt1_post - w_dt1 * att_dt1_post / m(w_dt1))
               - ((eta_d_pre - w_d * att_d_pre / m(w_d)) - (eta_dt0_pre - w_dt0 * att_dt0_pre / m(w_dt0))))
    mom_post = np.mean((w_d / m(w_d) - w_dt1 / m(w_dt1))[:, None] * X, axis=0)
    mom_pre = np.mean((w_d / m(w_d) - w_dt0 / m(w_dt0))[:, None] * X, axis=0)
    inf_or = (alr_post_treat - alr_post) @ mom_post - (alr_pre_treat - alr_pre) @ mom_pre

    psi = inf_treat - inf_cont + inf_eff + inf_or
    return float(att), psi, n_trimmed


def doubly_robust_did_rcs(df: pd.DataFrame, *, outcome: str, covariates: list[str], cluster: bool = False,
                          weights: bool = False, units: str = "scale points") -> EffectEstimate:
    """Sant'Anna & Zhao's (2020) locally efficient doubly robust DiD for repeated cross-sections.

    The ATT re-weights comparison respondents to resemble programme respondents on the covariates
    (logit propensity score) and adjusts each group x wave mean with a linear outcome regression:
    consistent if either model is right. Analytic influence-function standard error, summed within
    clusters with ``cluster``; normal reference (as R DRDID). ``weights`` uses the ``weight`` column as
    DRDID's i.weights.
    """
    covariates = [c for c in covariates if c not in ("y", "treated", "post", "cluster", "weight")]
    data = _check(df, outcome, list(covariates), cluster, weights)
    _require_cells(data, outcome, 2, "the doubly robust DiD on repeated cross-sections")
    covs, dropped = _usable(data, list(covariates))
    k = len(covs) + 1
    cells = _cells(data)
    short = [f"{CELL_NAMES[c]}: {n}" for c, n in cells.items() if n <= k]
    if short:
        raise ValueError(f"{outcome}: the doubly robust DiD fits an outcome regression with {k} coefficient(s) in "
                         f"each group at each wave, so each needs more than {k} respondents; found "
                         f"{'; '.join(short)}. Use fewer covariates, add respondents, or use "
                         "did_repeated_cross_sections")
    y = data["y"].to_numpy(float)
    post = data["post"].to_numpy(float)
    D = data["treated"].to_numpy(float)
    X = np.column_stack([np.ones(len(data))] + [data[c].to_numpy(float) for c in covs])
    w = data["weight"].to_numpy(float) if weights else np.ones(len(data))
    w = w / w.mean()  # DRDID normalises i.weights to mean 1
    att, psi, n_trimmed = _drdid_rc(y, post, D, X, w, outcome)
    clusters = cluster_codes(data["cluster"]) if cluster else None
    if clusters is not None and clusters.max() + 1 < 2:
        raise ValueError(f"{outcome}: cluster-robust standard errors need at least 2 clusters; found 1")
    se, n_clusters = influence_se(psi, clusters)
    lo, hi, p = interval(att, se, None)
    g, g_lo, g_hi = _effect_size(data, att, lo, hi, weights)
    name = ("Doubly robust difference-in-differences on repeated cross-sections (Sant'Anna & Zhao 2020)"
            + (", survey-weighted" if weights else "")
            + (", cluster-robust influence-function SE" if cluster else ", influence-function SE"))
    assumptions = (RCS_ASSUMPTIONS[1:] + (
        "Parallel trends hold between programme and comparison respondents with the same characteristics",
        "Overlap: every programme respondent has comparison respondents with similar characteristics",
        "Either the propensity score (logit in the covariates) or the outcome regressions (linear in the "
        "covariates, by group and wave) are right (double robustness)",
        "Large-sample normal interval (influence-function standard error)",
    ) + ((f"{CLUSTER_ASSUMPTION} (influence function summed within {n_clusters} clusters)",) if cluster else ())
        + ((WEIGHTS_ASSUMPTION,) if weights else ())
        + ((f"{n_trimmed} comparison respondent(s) with a propensity score of {TRIM_LEVEL} or more were left out "
            "of the comparison (they resemble no one in the comparison group; DRDID's trimming)",)
           if n_trimmed else ())
        + ((f"Covariate(s) {', '.join(dropped)} take one value in these data and were not adjusted for",)
           if dropped else ()))
    return EffectEstimate(
        outcome=outcome, estimand="ATT", estimator=name, estimate=att, std_error=se, ci_low=lo, ci_high=hi,
        p_value=p, n_treated=int((data["treated"] == 1).sum()), n_comparison=int((data["treated"] == 0).sum()),
        effect_size=g, effect_size_ci_low=g_lo, effect_size_ci_high=g_hi, units=units,
        n_clusters=n_clusters, df=None, assumptions=assumptions,
        influence=Influence.of(df.loc[data.index], psi, cluster=cluster))
