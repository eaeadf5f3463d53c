"""Two-period difference-in-differences on a person-level panel.

With one baseline and one follow-up, DiD is a regression of each person's change on the
treatment indicator (plus covariates, when parallel trends are only plausible conditional
on them). Standard errors are heteroskedasticity-robust (HC1), or cluster-robust (CR1, with
a t distribution on G-1 degrees of freedom) when people are grouped in classes, schools or
sites, because people in one cluster share shocks. With survey weights (``weights=True``, a
positive ``weight`` column) the regression is weighted and the same sandwich on the weighted
scores gives the design-based (linearisation) variance. Fits go through
evaluations.estimators.inference; the estimate carries the df its interval used (None: the normal,
for the person-level HC1 fit, as before; G-1 with clusters).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluations.estimators.inference import (WEIGHTS_ASSUMPTION, Coefficient, bootstrap_se, cluster_codes,
                                              influence_se, interval, regression, regression_influence,
                                              survey_weights, wald, weighted_sd)
from evaluations.estimators.result import EffectEstimate, Influence, hedges_g

ASSUMPTIONS = (
    "Parallel trends: without the programme, the two groups' average outcomes would have changed by the same amount",
    "No anticipation: the baseline survey was taken before the programme could change anything",
    "Stable composition: the people answering both waves represent their group",
    "No spill-overs: the programme did not change outcomes in the comparison group",
)
COVARIATE_ASSUMPTION = "Parallel trends hold conditional on the listed covariates (linear in them)"


@dataclass(frozen=True)
class HeterogeneityTest:
    """A test that a programme's effect differs between the levels of a modifier."""

    modifier: str
    statistic: float
    df: int
    p_value: float
    method: str = "Wald test of treatment x modifier interactions in the DiD regression"


def _fit(wide: pd.DataFrame, design_cols: list[str], weights: np.ndarray | None, clustered: bool) -> Coefficient:
    """The treated coefficient of the change regression: HC1 on the normal, or CR1 on t(G-1)."""
    clusters = cluster_codes(wide["cluster"]) if clustered else None
    return regression(wide["y1"] - wide["y0"], wide[design_cols], "treated", weights=weights, clusters=clusters,
                      robust="HC1", df="normal")


def _weights(wide: pd.DataFrame, outcome: str, weights: bool) -> np.ndarray | None:
    return survey_weights(wide, outcome) if weights else None


def _usable_covariates(wide: pd.DataFrame, covariates: list[str]) -> list[str]:
    # A covariate constant in the sample (e.g. everyone female in a subgroup) cannot be adjusted for.
    return [c for c in covariates if wide[c].nunique() > 1]


def did_two_period(wide: pd.DataFrame, *, outcome: str, covariates: list[str] = (), cluster: bool = False,
                   weights: bool = False, units: str = "scale points", subgroup: str = "all",
                   estimand: str = "ATT", estimator: str | None = None,
                   extra_assumptions: tuple[str, ...] = ()) -> EffectEstimate:
    """DiD from a one-row-per-person table with columns y0, y1, treated (and cluster, covariates).

    With ``weights`` the `weight` column (survey weights) weights the regression and Hedges' g
    uses weighted baseline SDs; n_treated / n_comparison stay counts of people.
    """
    covs = _usable_covariates(wide, list(covariates))
    n_t, n_c = int((wide["treated"] == 1).sum()), int((wide["treated"] == 0).sum())
    if n_t < 2 or n_c < 2:
        raise ValueError(f"{outcome}: difference-in-differences needs at least 2 people in each group with "
                         f"both waves; found {n_t} programme and {n_c} comparison")
    w = _weights(wide, outcome, weights)
    coef = _fit(wide, ["treated"] + covs, w, cluster)
    lo, hi, p = interval(coef.estimate, coef.std_error, coef.df)
    treated = (wide["treated"] == 1).to_numpy()
    y0 = wide["y0"].to_numpy(dtype=float)
    sd_t, sd_c = (weighted_sd(y0[m], None if w is None else w[m]) for m in (treated, ~treated))
    g, g_lo, g_hi = hedges_g(coef.estimate, (lo, hi), sd_t, sd_c, n_t, n_c)
    name = estimator or ("Difference-in-differences" + (" with covariates" if covs else "")
                         + (", cluster-robust SE" if cluster else ", robust SE")
                         + (", survey-weighted" if weights else ""))
    assumptions = (ASSUMPTIONS + ((COVARIATE_ASSUMPTION,) if covs else ()) + tuple(extra_assumptions)
                   + ((WEIGHTS_ASSUMPTION,) if weights else ()))
    return EffectEstimate(
        outcome=outcome, estimand=estimand, estimator=name, estimate=coef.estimate, std_error=coef.std_error,
        ci_low=lo, ci_high=hi, p_value=p, n_treated=n_t, n_comparison=n_c, effect_size=g, effect_size_ci_low=g_lo,
        effect_size_ci_high=g_hi, units=units, subgroup=subgroup, n_clusters=coef.n_clusters, df=coef.df,
        assumptions=assumptions, influence=Influence.of(wide, regression_influence(coef, "treated"), cluster=cluster))


def doubly_robust_did(wide: pd.DataFrame, *, outcome: str, covariates: list[str], seed: int = 0,
                      units: str = "scale points", cluster: bool = False, weights: bool = False,
                      standard_error: str = "analytic", n_bootstrap: int = 200) -> EffectEstimate:
    """Doubly robust difference-in-differences (Sant'Anna & Zhao 2020, panel data: R ``DRDID::drdid_panel``).

    The ATT of each person's change, re-weighting comparison people to resemble participants
    on the covariates (logit propensity score) and adjusting with a linear regression of the
    change among comparison people: right if either model is (kernels in drdid.py, shared with
    the staggered roll-out's group-time cells). The standard error comes from the estimator's
    influence function (one fit); with ``cluster`` the influence values are summed within
    clusters and the interval uses t on G-1 degrees of freedom, as every cluster-robust interval
    here does. ``weights`` uses the ``weight`` column (survey weights) in both models and the
    contrast. ``standard_error="bootstrap"`` instead re-fits both models in ``n_bootstrap``
    seeded resamples (by group, or by whole cluster).
    """
    from evaluations.estimators import drdid
    from evaluations.estimators.checks import analysis_frame, one_of

    one_of(standard_error, "standard_error", ("analytic", "bootstrap"))
    covs = _usable_covariates(wide, list(covariates))
    data = wide.assign(change=wide["y1"] - wide["y0"])
    frame = analysis_frame(data, treatment="treated", covariates=covs, outcome="change")
    n_t, n_c = int((frame["treated"] == 1).sum()), int((frame["treated"] == 0).sum())
    dy = frame["change"].to_numpy(float)
    d = frame["treated"].to_numpy(float)
    x = np.column_stack([np.ones(len(d))] + [frame[c].to_numpy(float) for c in covs])
    w = _weights(data, outcome, weights) if weights else np.ones(len(d))
    w = w / w.mean()  # DRDID normalises i.weights to mean 1
    fit = drdid.estimate(dy, d, x, w, "dr")
    if isinstance(fit, str):
        raise ValueError(f"{outcome}: the doubly robust difference-in-differences cannot be estimated: {fit}. "
                         "Drop or coarsen the covariate(s) that split the groups, or use design.estimator: did")
    att, psi = fit.att, fit.influence
    clusters = cluster_codes(data["cluster"]) if cluster else None
    if standard_error == "analytic":
        se, n_clusters = influence_se(psi, clusters)
        how = "influence-function SE"
    else:
        def replicate(idx):
            again = drdid.estimate(dy[idx], d[idx], x[idx], w[idx] / w[idx].mean(), "dr")
            return np.nan if isinstance(again, str) else again.att

        se = bootstrap_se(replicate, d, int(n_bootstrap), seed, clusters)
        n_clusters = None if clusters is None else int(clusters.max()) + 1
        how = f"bootstrap SE ({int(n_bootstrap)} replicates{', by cluster' if cluster else ''})"
    df = n_clusters - 1 if n_clusters else None
    lo, hi, p = interval(att, se, df)
    treated = d == 1
    y0 = data["y0"].to_numpy(float)
    sd_t, sd_c = (weighted_sd(y0[m], w[m] if weights else None) for m in (treated, ~treated))
    g, g_lo, g_hi = hedges_g(att, (lo, hi), sd_t, sd_c, n_t, n_c)
    n_trimmed = fit.n_trimmed
    name = ("Doubly robust difference-in-differences (Sant'Anna & Zhao 2020)" + (", survey-weighted" if weights else "")
            + (", cluster-robust " if cluster else ", ") + how)
    assumptions = (ASSUMPTIONS[1:] + (
        "Parallel trends hold between participants and comparison people with the same characteristics",
        "Overlap: every participant has comparison people with similar characteristics",
        "Either the propensity score (logit in the covariates) or the regression of the change on the "
        "covariates among comparison people is right (double robustness)",
    ) + ((WEIGHTS_ASSUMPTION,) if weights else ())
        + ((f"{n_trimmed} comparison people with a propensity score of {drdid.TRIM_LEVEL} or more were left out "
            "of the comparison (they resemble no participant; DRDID's trimming)",) if n_trimmed else ()))
    return EffectEstimate(
        outcome=outcome, estimand="ATT", estimator=name, estimate=att, std_error=se, ci_low=lo, ci_high=hi,
        p_value=p, n_treated=n_t, n_comparison=n_c, effect_size=g, effect_size_ci_low=g_lo, effect_size_ci_high=g_hi,
        units=units, n_clusters=n_clusters, df=df, assumptions=assumptions,
        influence=Influence.of(data, psi, cluster=cluster))


def subgroup_effects(wide: pd.DataFrame, *, outcome: str, modifier: str, covariates: list[str], cluster: bool,
                     units: str, min_per_group: int = 10,
                     weights: bool = False) -> tuple[list[EffectEstimate], HeterogeneityTest | None]:
    """Group average effects for each level of `modifier`, and a test that they differ.

    With ``weights`` each group's DiD and the interaction regression are survey-weighted. The
    test stays chi-square on the interactions' count, as before (inference.wald could give F on
    (q, G-1) for clustered data).

    Levels with fewer than `min_per_group` people in either group are not estimated at all:
    an estimate from so few people would be both unstable and disclosive.
    """
    estimates = []
    levels = [lv for lv in pd.unique(wide[modifier].dropna())]
    usable = []
    for level in sorted(levels, key=str):
        part = wide[wide[modifier] == level]
        if (part["treated"] == 1).sum() < min_per_group or (part["treated"] == 0).sum() < min_per_group:
            continue
        covs = [c for c in covariates if c != modifier]
        estimates.append(did_two_period(part, outcome=outcome, covariates=covs, cluster=cluster, units=units,
                                        subgroup=f"{modifier}={_label(level)}", estimand="CATE", weights=weights))
        usable.append(level)
    if len(usable) < 2:
        return estimates, None
    data = wide[wide[modifier].isin(usable)].copy()
    dummies = pd.get_dummies(data[modifier].astype(str), prefix="m", drop_first=True, dtype=float)
    inter = dummies.mul(data["treated"], axis=0).add_prefix("t_x_")
    covs = _usable_covariates(data, [c for c in covariates if c != modifier])
    data = pd.concat([data, dummies, inter], axis=1)
    res = _fit(data, ["treated"] + list(dummies) + list(inter) + covs, _weights(data, outcome, weights), cluster).fit
    names = list(inter.columns)
    stat, q, p = wald(res.params[names].to_numpy(), res.cov_params().loc[names, names].to_numpy())
    return estimates, HeterogeneityTest(modifier, stat, q, p)


def _label(level) -> str:
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)
