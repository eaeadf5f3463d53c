"""For whom did it work? Group average effects (GATEs) with EconML, and a test that they differ.

Every estimate is of a two-period change score: ``Y = y1 - y0`` (each person's change),
``T = treated``, ``X`` = the effect modifier(s) as indicator columns (every modifier is
treated as categorical), ``W`` = the covariates. Under parallel trends conditional on X and
W this is a difference-in-differences by group, with the covariates adjusted for by
cross-fitted machine-learning models instead of a linear term.

Two EconML estimators:

``LinearDML`` (``method="linear"``, the default, and the published group averages)
    One fit per modifier, with X = indicators of that modifier's levels (the first level is
    the reference), so the final stage ``Y_res = T_res * (b0 + b'X)`` is saturated and
    ``b0 + b_l`` is the group average effect of level ``l``. Nuisance models, cross-fitted
    over 5 folds and seeded: below ``SMALL_SAMPLE`` (2,000) people a linear regression of
    the change and a logistic regression of taking part on X and W (small samples cannot
    feed flexible models); from 2,000 people gradient boosting for both, which stays
    unbiased when trends and selection are non-linear in the covariates.

    Repeated cross-fitting with boosting nuisances (Chernozhukov et al. 2018, section 3.4):
    boosting's estimates move with the random split into folds, and one split's sandwich
    leaves that variation out (its intervals ran narrow). So below ``ONE_SPLIT_FROM`` (100,000)
    independent people (clusters, when people are clustered) LinearDML is fitted on
    ``CROSS_FIT_REPEATS`` (5) random splits (from there the split estimates' SD is under a tenth
    of an SE and one is fitted); each published number is the median over the
    splits, and its variance the median of each split's variance plus the split's squared
    distance from that median (the heterogeneity test likewise, with element-wise medians of
    the ``b_l`` and of their covariance). EconML's own ``mc_iters``/``mc_agg`` is not this:
    it averages the nuisance predictions over splits and keeps one final-stage sandwich, so
    its intervals still leave the split variation out. Straight-line nuisance models barely
    move with the split and are fitted once (the formulas then give that fit's own numbers).

    Inference is computed here from EconML's cached first-stage residuals
    (``residuals_``) by the sandwich formula for the final-stage least squares: HC1 (the
    same numbers as EconML's own ``StatsModelsInference``, checked in the tests), or, when
    people are clustered, CR1 with a t distribution on G-1 degrees of freedom, with the
    cross-fitting folds made of whole clusters (EconML's ``groups``; Chiang et al. 2022,
    cluster-robust DML). EconML has no cluster-robust inference of its own; without it the
    intervals for a school-randomised programme would be far too narrow.

    Heterogeneity test: the Wald test that every ``b_l`` is zero, i.e. that all groups'
    effects are equal (chi-square on L-1 df; with clusters F(L-1, G-1)).

``CausalForestDML`` (``method="forest"``; the pipeline's cross-check from 2,000 people)
    One fit per outcome with X = indicators of *all* modifiers (so the forest can find
    effects that differ by combinations of them), gradient-boosting nuisance models, 5-fold
    cross-fitting, ``n_estimators`` honest trees (default 200), seeded. A forest's own
    pointwise intervals are not intervals for a group average, so GATEs use the doubly
    robust scores of Athey & Wager (2019; grf's ``average_treatment_effect(subset=)``)
    built from the out-of-bag forest predictions and the cross-fitted residuals::

        G_i = tau_oob(x_i) + T_res_i * (Y_res_i - tau_oob(x_i) T_res_i) / max(e_i (1 - e_i), 0.01)

    (EconML's own ``ate_`` is the mean of exactly these scores; the tests check that). A
    GATE is the mean of G over the group; its variance is from the scores, summed within
    clusters when people are clustered (CR1, t on G-1 df). Heterogeneity test: the Wald
    test that all of a modifier's GATEs are equal, from the joint covariance of the group
    means (chi-square on L-1 df; with clusters F(L-1, G-1)).

Why LinearDML is the published one (benchmarks/monte_carlo.py; the tables are in
benchmarks/README.md): with linear nuisances (below 2,000 people) its intervals covered
93.2-94.8% and its test had a 4.4% size; with boosting nuisances it stays nearly unbiased
when trends and selection are non-linear (where subgroup DiD is biased). Fitted on one
split its intervals ran a little narrow (89.8-94.0% coverage, SEs 5-9% small, test size
6.8%); its estimates moved between splits by 0.27-0.28 of an SE. The median over 5 splits
widened the SEs by 2-3% and narrowed the estimates' spread by up to 5% on the same data:
test size 5.0%, coverage 90.9-93.3% on 161-164 paired replications of 1,200 people. At 2,000
people, where boosting is first used, with early-stopped boosting, 1,000 replications per family:
test size 4.7%, coverage 94.2-96.5% in all six cells, SE/SD 0.97-1.07 (benchmarks/README.md,
"Repeated cross-fitting"). The forest's doubly
robust GATEs were valid but conservative (97.2-98.6% coverage, intervals 60-67% wider, test
size 2.6%), as inverse-propensity-weighted scores are.

Estimand: "CATE" rows with ``subgroup = "<modifier>=<level>"``. Within a group, LinearDML
weights people by Var(T | X, W) (the usual partially linear estimand) and the forest's
scores weight them equally; both equal the group's effect on participants when the effect
does not vary with the covariates within the group.

Disclosure and stability: a level with fewer than ``min_per_group`` (10) people in either
group is never estimated or reported; skipped levels are listed, people without a value of
the modifier are counted (``HeterogeneityResult.notes``).

Pure: a DataFrame in (one row per person, columns y0, y1, treated, [cluster], covariates,
modifiers), frozen results out; no I/O.
"""
from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from evaluations.estimators.did import ASSUMPTIONS as DID_ASSUMPTIONS
from evaluations.estimators.did import HeterogeneityTest, _label
from evaluations.estimators.inference import survey_weights, weighted_sd
from evaluations.estimators.result import EffectEstimate, hedges_g, normal_inference

SMALL_SAMPLE = 2000  # below this many people: linear nuisance models; at or above: gradient boosting
MIN_PER_GROUP = 10  # no group average from fewer people than this in either group
METHODS = ("auto", "linear", "forest")
NUISANCE = ("auto", "linear", "boosting")
N_FOLDS = 5
# Repeated cross-fitting: how many random splits into folds LinearDML is fitted on, by nuisance model.
# Boosting's estimates move with the split, which one split's sandwich leaves out (benchmarks/README.md);
# straight-line nuisance models barely move and are fitted once.
CROSS_FIT_REPEATS = {"linear": 1, "boosting": 5}
# From this many independent people (`_independent_units`: a cluster counts once, survey weights by
# their effective sample size) boosting is fitted on one split too: its split estimates then have an
# SD under a tenth of an SE (benchmarks/split_spread.py, non-linear trends: 0.03-0.09 of an SE at
# 100,000 people, against 0.11-0.42 at 2,000 and 0.05-0.13 at 20,000; one split was within 0.14 SE
# of the five's median), so the spread term would widen the interval by under 0.5%, while five
# splits cost five fits (381 s a modifier at a million people on one core, against 76 s for one:
# benchmarks/README.md).
ONE_SPLIT_FROM = 100_000
PROPENSITY_FLOOR = 1e-2  # e(1-e) is floored here in the doubly robust scores, as EconML does

__all__ = ["HeterogeneityResult", "group_average_effects", "SMALL_SAMPLE", "MIN_PER_GROUP"]


@dataclass(frozen=True)
class HeterogeneityResult:
    """The group average effects for one outcome and one modifier, and the test that they differ."""

    outcome: str
    modifier: str
    method: str  # "LinearDML" or "CausalForestDML"
    gates: tuple[EffectEstimate, ...]
    test: HeterogeneityTest | None  # None when fewer than two levels could be estimated
    skipped_levels: tuple[str, ...] = ()  # levels with fewer than min_per_group people in a group
    missing_modifier: int = 0  # people with no value of the modifier (not used for it)
    notes: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- helpers


def _usable(df: pd.DataFrame, columns) -> list[str]:
    return [c for c in columns if df[c].nunique(dropna=True) > 1]


def _levels(df: pd.DataFrame, modifier: str, min_per_group: int) -> tuple[list, list[str]]:
    usable, skipped = [], []
    for level in sorted(pd.unique(df[modifier].dropna()), key=str):
        part = df.loc[df[modifier] == level, "treated"]
        if (part == 1).sum() < min_per_group or (part == 0).sum() < min_per_group:
            skipped.append(_label(level))
        else:
            usable.append(level)
    return usable, skipped


def _indicators(values: pd.Series, levels: list, drop_first: bool) -> np.ndarray:
    keep = levels[1:] if drop_first else levels
    return np.column_stack([(values == lv).to_numpy(float) for lv in keep]) if keep else np.empty((len(values), 0))


def _cluster_codes(df: pd.DataFrame, cluster: bool) -> np.ndarray | None:
    return pd.factorize(df["cluster"])[0] if cluster else None


def _independent_units(groups: np.ndarray | None, sw: np.ndarray | None, n: int) -> float:
    """How many independent units the estimate rests on, which the spread between cross-fitting splits
    shrinks with (ONE_SPLIT_FROM): the clusters when people are clustered (the folds are whole clusters),
    else the survey weights' effective sample size (Kish: (sum w)^2 / sum w^2), else the people."""
    if groups is not None:
        return float(groups.max()) + 1
    if sw is not None:
        return float(sw.sum()) ** 2 / float((sw ** 2).sum())
    return float(n)


def _sandwich(Z: np.ndarray, resid: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """HC1, or CR1 when `groups` are given, covariance of least-squares coefficients."""
    n, k = Z.shape
    bread = np.linalg.pinv(Z.T @ Z)
    scores = Z * resid[:, None]
    if groups is None:
        meat = scores.T @ scores * n / (n - k)
    else:
        G = int(groups.max()) + 1
        summed = np.zeros((G, k))
        np.add.at(summed, groups, scores)
        meat = summed.T @ summed * (G / (G - 1)) * ((n - 1) / (n - k))
    return bread @ meat @ bread


def _wald(diff: np.ndarray, cov: np.ndarray, n_clusters: int | None) -> tuple[float, float]:
    """Wald statistic and p-value that `diff` is zero: chi-square, or F(q, G-1) with clusters."""
    q = len(diff)
    stat = float(diff @ np.linalg.pinv(cov) @ diff)
    if n_clusters:
        return stat, float(stats.f.sf(stat / q, q, n_clusters - 1))
    return stat, float(stats.chi2.sf(stat, q))


def _folds(treated: np.ndarray, groups: np.ndarray | None) -> int:
    if groups is None:
        smallest = int(min((treated == 1).sum(), (treated == 0).sum()))
        return max(2, min(N_FOLDS, smallest))
    return max(2, min(N_FOLDS, int(groups.max()) + 1))


def _df(n_clusters: int | None) -> int | None:
    """t on G-1 df with a cluster-robust SE (CR1), else the normal reference; kept on the estimate."""
    return (n_clusters - 1) if n_clusters else None


def _assumptions(modifier: str, method: str, covariates: list[str]) -> tuple[str, ...]:
    cov = ", ".join(covariates) if covariates else "no covariates"
    weighting = ("people weighted by how balanced the groups are among people like them (Var(T | X, W))"
                 if method == "LinearDML" else "people weighted equally (doubly robust scores)")
    return DID_ASSUMPTIONS + (
        f"Parallel trends hold within each {modifier} group conditional on {cov}, adjusted for by "
        "cross-fitted models of the change and of taking part",
        f"Within a {modifier} group the effect does not vary with the covariates; if it does, the group "
        f"average has {weighting}",
        "Overlap: within each group, people with the same characteristics could be found both taking part "
        "and not",
    )


def _gate_estimate(part: pd.DataFrame, *, outcome: str, modifier: str, level, estimate: float, se: float,
                   n_clusters: int | None, name: str, units: str, assumptions: tuple[str, ...],
                   weights: bool = False) -> EffectEstimate:
    lo, hi, p = normal_inference(estimate, se, df=_df(n_clusters))
    t, c = part["treated"] == 1, part["treated"] == 0
    n_t, n_c = int(t.sum()), int(c.sum())
    y0 = part["y0"].to_numpy(float)
    w = part["weight"].to_numpy(float) if weights else None
    sd_t, sd_c = (weighted_sd(y0[m], None if w is None else w[m]) for m in (t.to_numpy(), c.to_numpy()))
    g, g_lo, g_hi = hedges_g(estimate, (lo, hi), sd_t, sd_c, n_t, n_c)
    clusters = int(part["cluster"].nunique()) if n_clusters else None
    return EffectEstimate(
        outcome=outcome, estimand="CATE", estimator=name, estimate=float(estimate), std_error=float(se),
        ci_low=lo, ci_high=hi, p_value=p, n_treated=n_t, n_comparison=n_c, effect_size=g,
        effect_size_ci_low=g_lo, effect_size_ci_high=g_hi, units=units, subgroup=f"{modifier}={_label(level)}",
        n_clusters=clusters, df=_df(n_clusters), assumptions=assumptions)


def _missing_note(modifier: str, n_missing: int) -> tuple[str, ...]:
    if not n_missing:
        return ()
    shown = str(n_missing) if n_missing >= MIN_PER_GROUP else f"fewer than {MIN_PER_GROUP}"
    return (f"{shown} people with no recorded {modifier} were not used for the {modifier} groups.",)


@contextmanager
def _fitting():
    """Quiet, single-threaded fitting.

    EconML warns about things handled here (e.g. its own intercept bookkeeping). OpenMP/BLAS
    thread pools fight over a shared machine's cores (gradient boosting ran 30 times slower
    with both cores busy); the pipeline parallelises across evaluations instead.
    """
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.filterwarnings("ignore", category=UserWarning, module=r"econml\..*")
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


# --------------------------------------------------------------------------- LinearDML


def _nuisance_models(kind: str, seed: int):
    if kind == "linear":
        from sklearn.linear_model import LinearRegression, LogisticRegression
        return LinearRegression(), LogisticRegression(max_iter=1000)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    # Early stopping at every size (scikit-learn's "auto" turns it on only above 10,000 rows): each model
    # stops when a held-out tenth of its training fold stops improving, at 2,000 people after a median of
    # 34 rounds, not 100. On paired data the group effects and SEs stayed the same at 2.1-2.7 times less
    # CPU (benchmarks/README.md, "Early stopping"). Above 10,000 rows nothing changes.
    settings = dict(max_iter=100, max_leaf_nodes=15, early_stopping=True, random_state=seed)
    return HistGradientBoostingRegressor(**settings), HistGradientBoostingClassifier(**settings)


def _linear_dml_split(Y, T, X, W, groups, sw, nuisance: str, seed: int, split_seed: int):
    """One LinearDML fit (one random split into cross-fitting folds): its final-stage coefficients
    ``b0, b_1..`` and their HC1 (or CR1) covariance, from EconML's cached residuals."""
    from econml.dml import LinearDML

    model_y, model_t = _nuisance_models(nuisance, seed)
    est = LinearDML(model_y=model_y, model_t=model_t, discrete_treatment=True, cv=_folds(T, groups),
                    random_state=split_seed)
    with _fitting():
        est.fit(Y, T, X=X if X.shape[1] else None, W=W, groups=groups, cache_values=True, sample_weight=sw)
    y_res, t_res, _, _ = est.residuals_
    # Survey weights enter the nuisance models and the final stage (EconML's sample_weight); the final
    # stage is weighted least squares, so its sandwich takes sqrt(w)-scaled rows.
    root_w = np.ones(len(Y)) if sw is None else np.sqrt(sw)
    y_res = np.asarray(y_res, float).reshape(-1) * root_w
    t_res = np.asarray(t_res, float).reshape(-1)
    phi = np.column_stack([np.ones(len(Y)), X])
    Z = phi * (t_res * root_w)[:, None]
    beta = np.linalg.lstsq(Z, y_res, rcond=None)[0]
    econml_beta = np.concatenate([np.atleast_1d(est.intercept_).reshape(-1)[:1],
                                  np.atleast_1d(est.coef_).reshape(-1)]) if X.shape[1] else \
        np.atleast_1d(est.intercept_).reshape(-1)[:1]
    if not np.allclose(beta, econml_beta, rtol=1e-6, atol=1e-9):
        raise RuntimeError("EconML's cached residuals no longer reproduce its final stage; "
                           "check the installed econml version")
    return beta, _sandwich(Z, y_res - Z @ beta, groups)


def _median_over_splits(splits, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimates ``C b`` and their covariance aggregated over repeated cross-fitting splits.

    Chernozhukov et al. (2018, section 3.4): the median of the split estimates, and as variance the
    median of each split's variance plus its squared distance from that median, so the intervals
    carry the variation between splits that a single split's sandwich leaves out. Medians are taken
    element by element (for one split this is that split's own estimate and covariance); a
    covariance matrix is then made positive semi-definite for the Wald test.
    """
    thetas = np.array([C @ b for b, _ in splits])
    middle = np.median(thetas, axis=0)
    spread = thetas - middle
    covs = np.array([C @ V @ C.T + np.outer(d, d) for (_, V), d in zip(splits, spread)])
    cov = np.median(covs, axis=0)
    if len(splits) > 1:
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        cov = vectors @ np.diag(np.clip(values, 0, None)) @ vectors.T
    return middle, cov


def _linear(wide: pd.DataFrame, *, outcome: str, modifier: str, covariates: list[str], cluster: bool, seed: int,
            units: str, min_per_group: int, nuisance: str, weights: bool = False) -> HeterogeneityResult:
    n_missing = int(wide[modifier].isna().sum())
    data = wide[wide[modifier].notna()]
    levels, skipped = _levels(data, modifier, min_per_group)
    notes = _missing_note(modifier, n_missing)
    if not levels:
        return HeterogeneityResult(outcome, modifier, "LinearDML", (), None, tuple(skipped), n_missing, notes)
    data = data[data[modifier].isin(levels)].reset_index(drop=True)
    covs = _usable(data, [c for c in covariates if c != modifier])
    Y = (data["y1"] - data["y0"]).to_numpy(float)
    T = data["treated"].to_numpy(int)
    X = _indicators(data[modifier], levels, drop_first=True)
    W = data[covs].to_numpy(float) if covs else None
    groups = _cluster_codes(data, cluster)
    sw = survey_weights(data, outcome) if weights else None
    repeats = CROSS_FIT_REPEATS[nuisance] if _independent_units(groups, sw, len(data)) < ONE_SPLIT_FROM else 1
    splits = [_linear_dml_split(Y, T, X, W, groups, sw, nuisance, seed, seed + s)
              for s in range(repeats)]
    models = "linear and logistic" if nuisance == "linear" else "gradient-boosting"
    splits_words = f"median of {repeats} cross-fitting splits; " if repeats > 1 else ""
    name = (f"Group average effect: EconML LinearDML on the change score (cross-fitted {models} "
            f"nuisance models; {splits_words}{'survey-weighted; ' if weights else ''}"
            f"{'cluster-robust SE' if cluster else 'robust SE'})")
    n_clusters = int(groups.max()) + 1 if groups is not None else None
    # the covariates as given, not only those that vary here: naming only those would tell that a category is empty
    assumptions = _assumptions(modifier, "LinearDML", [c for c in covariates if c != modifier])
    k = len(levels)
    gate_rows = np.column_stack([np.ones(k), np.eye(k)[:, 1:]])  # GATE of level l = b0 + b_l (b_0 := 0)
    estimates, cov = _median_over_splits(splits, gate_rows)
    gates = [_gate_estimate(data[data[modifier] == level], outcome=outcome, modifier=modifier, level=level,
                            estimate=float(estimates[i]), se=math.sqrt(float(cov[i, i])), n_clusters=n_clusters,
                            name=name, units=units, assumptions=assumptions, weights=weights)
             for i, level in enumerate(levels)]
    test = None
    if len(levels) > 1:
        diffs, diff_cov = _median_over_splits(splits, np.eye(k)[1:])
        stat, p = _wald(diffs, diff_cov, n_clusters)
        test = HeterogeneityTest(modifier, stat, len(levels) - 1, p,
                                 method="Wald test of LinearDML's modifier coefficients"
                                        + (" (F, cluster-robust)" if cluster else " (chi-square, robust)"))
    return HeterogeneityResult(outcome, modifier, "LinearDML", tuple(gates), test, tuple(skipped), n_missing, notes)


# --------------------------------------------------------------------------- CausalForestDML


def doubly_robust_scores(est, X: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-person doubly robust scores from a CausalForestDML fitted with cache_values=True.

    Out-of-bag forest predictions plus the cross-fitted residual correction, as EconML uses for
    its ``ate_`` (whose value is their mean). NaN where no tree left the person out of bag.
    """
    y_res, t_res, _, _ = est.residuals_
    y_res, t_res = np.asarray(y_res, float).reshape(-1), np.asarray(t_res, float).reshape(-1)
    forest = est.rlearner_model_final_._model  # the fitted GRF; EconML exposes no public handle
    tau = np.asarray(forest.oob_predict(X), float).reshape(len(y_res), -1)[:, 0]
    e = T - t_res
    var_t = np.clip(e * (1 - e), PROPENSITY_FLOOR, np.inf)
    return tau + t_res * (y_res - tau * t_res) / var_t


def _forest(wide: pd.DataFrame, *, outcome: str, modifiers: list[str], covariates: list[str], cluster: bool,
            seed: int, units: str, min_per_group: int, n_estimators: int) -> list[HeterogeneityResult]:
    from econml.dml import CausalForestDML

    complete = wide[modifiers].notna().all(axis=1)
    data = wide[complete].reset_index(drop=True)
    plan = {m: _levels(data, m, min_per_group) for m in modifiers}
    covs = _usable(data, [c for c in covariates if c not in modifiers])
    Y = (data["y1"] - data["y0"]).to_numpy(float)
    T = data["treated"].to_numpy(int)
    X = np.column_stack([_indicators(data[m], sorted(pd.unique(data[m]), key=str), drop_first=False)
                         for m in modifiers])
    W = data[covs].to_numpy(float) if covs else None
    groups = _cluster_codes(data, cluster)
    n_estimators = max(4, int(math.ceil(n_estimators / 4)) * 4)  # a multiple of subforest_size
    model_y, model_t = _nuisance_models("boosting", seed)
    est = CausalForestDML(
        model_y=model_y, model_t=model_t, discrete_treatment=True, cv=_folds(T, groups), n_estimators=n_estimators, min_samples_leaf=20,
        random_state=seed, n_jobs=1, drate=True)
    with _fitting():
        est.fit(Y, T, X=X, W=W, groups=groups, cache_values=True)
    scores = doubly_robust_scores(est, X, T)
    ok = np.isfinite(scores)
    n_clusters = int(groups.max()) + 1 if groups is not None else None
    cluster_words = "cluster-robust SE" if cluster else "robust SE"
    name = (f"Group average effect: EconML CausalForestDML on the change score ({n_estimators} trees; doubly "
            f"robust scores, cross-fitted gradient-boosting nuisance models; {cluster_words})")
    out = []
    for m in modifiers:
        levels, skipped = plan[m]
        n_missing = int(wide[m].isna().sum())
        notes = _missing_note(m, n_missing)
        if (~ok).any():
            notes += (f"{int((~ok).sum())} people had no out-of-bag forest prediction and were left out of the "
                      "group averages.",)
        assumptions = _assumptions(m, "CausalForestDML", [c for c in covariates if c not in modifiers])
        means, influence = [], []
        for level in levels:
            member = ok & (data[m] == level).to_numpy()
            mean = float(scores[member].mean())
            inf = np.zeros(len(scores))
            inf[member] = (scores[member] - mean) / member.sum()
            means.append(mean)
            influence.append(inf)
        if levels:
            F = np.column_stack(influence)
            if groups is None:
                cov = F.T @ F
            else:
                summed = np.zeros((n_clusters, F.shape[1]))
                np.add.at(summed, groups, F)
                cov = summed.T @ summed * n_clusters / (n_clusters - 1)
        gates = [_gate_estimate(data[(data[m] == level).to_numpy() & ok], outcome=outcome, modifier=m, level=level,
                                estimate=means[i], se=math.sqrt(cov[i, i]), n_clusters=n_clusters, name=name,
                                units=units, assumptions=assumptions)
                 for i, level in enumerate(levels)]
        test = None
        if len(levels) > 1:
            C = np.column_stack([-np.ones(len(levels) - 1), np.eye(len(levels) - 1)])
            stat, p = _wald(C @ np.array(means), C @ cov @ C.T, n_clusters)
            test = HeterogeneityTest(m, stat, len(levels) - 1, p,
                                     method="Wald test that the doubly robust group averages are equal"
                                            + (" (F, cluster-robust)" if cluster else " (chi-square)"))
        out.append(HeterogeneityResult(outcome, m, "CausalForestDML", tuple(gates), test, tuple(skipped),
                                       n_missing, notes))
    return out


# --------------------------------------------------------------------------- public API


def group_average_effects(wide: pd.DataFrame, *, outcome: str, modifiers: list[str], covariates: list[str] = (),
                          cluster: bool = False, seed: int = 0, units: str = "scale points",
                          method: str = "auto", nuisance: str = "auto", min_per_group: int = MIN_PER_GROUP,
                          n_estimators: int = 200, weights: bool = False) -> list[HeterogeneityResult]:
    """Group average effects of the programme for each level of each modifier, with EconML.

    `wide` has one row per person: y0, y1, treated (0/1), cluster (when `cluster`), the
    covariates and the modifiers. Returns one HeterogeneityResult per modifier, in order.
    ``method``: "linear" (LinearDML, saturated in each modifier; "auto" means this) or
    "forest" (CausalForestDML with doubly robust group averages). ``nuisance`` (LinearDML
    only): "linear" (linear/logistic regressions) or "boosting" (gradient boosting); "auto"
    picks linear below ``SMALL_SAMPLE`` people and boosting from it. ``weights`` (LinearDML only)
    uses the ``weight`` column as survey weights. See the module docstring for the estimators,
    their inference, the heterogeneity test and the evidence.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if nuisance not in NUISANCE:
        raise ValueError(f"nuisance must be one of {NUISANCE}, not {nuisance!r}")
    modifiers = list(dict.fromkeys(modifiers))
    needed = ["y0", "y1", "treated"] + (["cluster"] if cluster else []) + list(covariates) + modifiers
    missing = [c for c in needed if c not in wide.columns]
    if missing:
        raise ValueError(f"{outcome}: column(s) {', '.join(map(repr, missing))} not in the data for the group "
                         f"average effects; available: {', '.join(map(str, wide.columns))}")
    if not modifiers:
        return []
    covariates = list(covariates)
    bad = wide[["y0", "y1", "treated"] + covariates].isna().any(axis=1)
    if bad.any():
        raise ValueError(f"{outcome}: {int(bad.sum())} rows have a missing outcome, treatment or covariate; "
                         "group average effects need complete rows (quarantine them at intake)")
    if method in ("auto", "linear"):
        if nuisance == "auto":
            nuisance = "linear" if len(wide) < SMALL_SAMPLE else "boosting"
        return [_linear(wide, outcome=outcome, modifier=m, covariates=covariates, cluster=cluster, seed=seed,
                        units=units, min_per_group=min_per_group, nuisance=nuisance, weights=weights)
                for m in modifiers]
    if weights:
        raise ValueError("survey weights are taken by the LinearDML group effects only (method='linear')")
    return _forest(wide, outcome=outcome, modifiers=modifiers, covariates=covariates, cluster=cluster, seed=seed,
                   units=units, min_per_group=min_per_group, n_estimators=n_estimators)
