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

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from evaluations.estimators.inference import (WEIGHTS_ASSUMPTION, Coefficient, cluster_codes, interval, regression,
                                              survey_weights, wald, weighted_sd)
from evaluations.estimators.result import EffectEstimate, hedges_g

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
        assumptions=assumptions)


def doubly_robust_did(wide: pd.DataFrame, *, outcome: str, covariates: list[str], seed: int,
                      units: str = "scale points", cluster: bool = False) -> EffectEstimate:
    """Doubly robust difference-in-differences (Sant'Anna & Zhao 2020, panel data).

    The ATT of each person's change, re-weighting comparison people to resemble participants
    on the covariates (propensity score) and adjusting with an outcome regression: right if
    either model is. Seeded bootstrap standard errors re-fit both models in each replicate.
    With ``cluster`` (a ``cluster`` column: classes, schools, sites) the bootstrap resamples
    whole clusters, since people in one cluster share shocks, and the interval uses t on
    G-1 degrees of freedom.
    """
    from evaluations.estimators.matching import estimate_att  # DoWhy is slow to import; only this path needs it

    data = wide.assign(change=wide["y1"] - wide["y0"])
    est = estimate_att(data, outcome="change", treatment="treated", covariates=_usable_covariates(data, list(covariates)),
                       method="doubly_robust", seed=seed, units=units, cluster="cluster" if cluster else None)
    sd_t = float(data.loc[data["treated"] == 1, "y0"].std())
    sd_c = float(data.loc[data["treated"] == 0, "y0"].std())
    g, g_lo, g_hi = hedges_g(est.estimate, (est.ci_low, est.ci_high), sd_t, sd_c, est.n_treated, est.n_comparison)
    return replace(est, outcome=outcome, estimator=f"Doubly robust difference-in-differences: {est.estimator}",
                   effect_size=g, effect_size_ci_low=g_lo, effect_size_ci_high=g_hi,
                   assumptions=ASSUMPTIONS[1:] + est.assumptions + (
                       "Parallel trends hold between participants and comparison people with the same characteristics",))


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
