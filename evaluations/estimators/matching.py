"""Selection-on-observables estimators of the average effect on the treated (ATT): the public entry points.

`estimate_att` runs one of three estimators through DoWhy's model -> identify -> estimate flow
(dowhy_bridge.py) and attaches an honest standard error; `matched_sample` returns the matched
sample behind a matching estimate; `refute` (refute.py) runs DoWhy's refuters. The work is done
by small kernels, each in its own module:

* ``"matching"``: nearest-neighbour matching on the logit propensity score, ``k`` comparison
  units per participant, with or without replacement, caliper in SDs of the logit score
  (nearest_neighbour.py); Abadie-Imbens (2006) standard error with an adjustment for the
  estimated score in the spirit of Abadie-Imbens (2016) (matching_variance.py).
* ``"ipw"``: odds weighting for the ATT, without clipping (DoWhy's own number without survey
  weights); ``"doubly_robust"``: augmented IPW for the ATT (weighting.py, on drdid.py's kernels).
  Both take survey weights and get the analytic standard error from their influence function
  (summed within clusters when asked), or a seeded bootstrap that re-fits every model.
* the propensity score: one logistic regression (propensity.py); input checks: checks.py.

Effect size: Hedges' g from the outcome's SD among the analysed participants and its
(matching- or odds-)weighted SD among the comparison units.

Everything here is pure: DataFrame and spec in, frozen results out, no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluations.estimators.checks import analysis_frame, cluster_codes, one_of, whole_number
from evaluations.estimators.dowhy_bridge import (METHODS, PS_COLUMN, AIPWATTEstimator, PropensityScoreMatchingATT,
                                                 check_method, checked_fit)
from evaluations.estimators.matching_variance import abadie_imbens_variance, estimated_score_adjustment
from evaluations.estimators.nearest_neighbour import check_spec, nn_match
from evaluations.estimators.propensity import LogitPropensityModel, require_score_overlap
from evaluations.estimators.refute import Refutation, refute
from evaluations.estimators.result import EffectEstimate, Influence, hedges_g, normal_inference
from evaluations.estimators.inference import WEIGHT, WEIGHTS_ASSUMPTION, influence_se, weighted_sd
from evaluations.estimators.weighting import odds_weights, sorted_matrix, weighting_bootstrap_se

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


def estimate_att(df: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str],
                 method: str = "matching", k: int = 1, caliper: float | None = 0.2, replace: bool = True,
                 seed: int = 0, n_bootstrap: int = 200, units: str = "scale points",
                 ps_adjustment: bool = True, ai_neighbours: int = 2, cluster: str | None = None,
                 weights: bool = False, standard_error: str = "analytic") -> EffectEstimate:
    """Estimate the average effect of the programme on those who took part (ATT).

    Runs DoWhy's CausalModel(common_causes=covariates) -> identify_effect (back-door)
    -> estimate_effect(target_units="att"), then attaches honest standard errors:
    Abadie-Imbens (2006) with the Abadie-Imbens (2016) estimated-score adjustment for
    matching (``ps_adjustment=False`` for plain AI 2006); for ``"ipw"`` and ``"doubly_robust"``
    the estimator's influence function, which includes the estimation of the propensity score
    and outcome models (drdid.py), or with ``standard_error="bootstrap"`` a seeded bootstrap of
    ``n_bootstrap`` replicates re-estimating every model. See the module docstring for where
    each estimator lives.

    ``k``, ``caliper`` (SDs of the logit propensity score; None for no caliper) and
    ``replace`` apply to matching. Participants without a comparison unit inside the
    caliper are left out of ``n_treated`` (which counts analysed participants only), and
    their number is stated in the overlap assumption; :func:`matched_sample` lists them.

    ``cluster`` names a column of cluster ids (schools, sites) for ``"ipw"`` and
    ``"doubly_robust"``: the influence values are summed within clusters (or the bootstrap
    resamples whole clusters) and the interval uses a t distribution on G-1 degrees of freedom.
    ``weights`` uses the ``weight`` column (survey weights) in the propensity score, the outcome
    model and the contrast. Matching has neither a cluster-robust nor a design-based variance
    here, so asking for one is an error rather than a silently too-narrow interval.

    Raises ValueError naming the column for missing columns, missing values, a
    non-numeric column, a non-binary treatment, or no overlap.
    """
    check_method(method)
    check_spec(k, caliper)
    one_of(standard_error, "standard_error", ("analytic", "bootstrap"))
    clusters = None
    if cluster is not None:
        if method == "matching":
            raise ValueError("Cluster-robust standard errors are not available for matching; use "
                             "method='doubly_robust' or 'ipw' for clustered data.")
        clusters = cluster_codes(df, cluster)
    bootstrap = method != "matching" and standard_error == "bootstrap"
    if bootstrap:
        whole_number(n_bootstrap, "n_bootstrap", 20)
    data, fit = checked_fit(df, outcome=outcome, treatment=treatment, covariates=covariates, method=method,
                            k=k, caliper=caliper, replace=replace, weights=weights)
    covariates = list(covariates)
    y = data[outcome].to_numpy(dtype=float)
    d = data[treatment].to_numpy().astype(int)
    frame = data[covariates]
    lp = fit.propensity_model.decision_function(frame)
    ps = expit(lp)

    if method == "matching":
        m = fit.match
        if not m.matched.any():
            raise ValueError(
                f"No overlap: no participant ({treatment!r} = 1) has a comparison unit within the caliper of "
                f"{caliper} SD of the logit propensity score; widen the caliper or revise the comparison group."
            )
        var, kw, resid = abadie_imbens_variance(m, y, lp, J=ai_neighbours)
        if ps_adjustment:
            adj = estimated_score_adjustment(m, y, d, ps, lp, fit.propensity_model.design(frame), kw, resid,
                                             fit.propensity_model.ridge, J=ai_neighbours)
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
        n_clusters = None
    else:
        w = data[WEIGHT].to_numpy(float) if weights else np.ones(len(d))
        w = w / w.mean()
        if bootstrap:
            se = weighting_bootstrap_se(y, d, sorted_matrix(frame), w, fit.propensity_model.coef_std_, method,
                                        int(n_bootstrap), seed, fit.propensity_model.ridge, clusters)
            n_clusters = int(clusters.max()) + 1 if clusters is not None else None
        else:
            se, n_clusters = influence_se(fit.result.influence, clusters)
        n_treated = int(d.sum())
        n_trimmed = 0
        n_comparison = int((1 - d).sum())
        t, c = d == 1, d == 0
        sd_t = float(np.std(y[t], ddof=1)) if not weights else weighted_sd(y[t], w[t])
        sd_c = _weighted_sd(y[c], odds_weights(ps[c]) * w[c])

    ci_low, ci_high, p = normal_inference(fit.value, se, df=(n_clusters - 1) if n_clusters else None)
    g, g_low, g_high = hedges_g(fit.value, (ci_low, ci_high), sd_t, sd_c, n_treated, n_comparison)
    return EffectEstimate(
        outcome=outcome,
        estimand="ATT",
        estimator=_estimator_name(method, k, caliper, replace, ps_adjustment,
                                  int(n_bootstrap) if bootstrap else None, n_clusters, weights),
        estimate=fit.value,
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
        df=(n_clusters - 1) if n_clusters else None,
        assumptions=_assumptions(covariates, method, n_trimmed, int(d.sum())) + ((WEIGHTS_ASSUMPTION,) if weights else ()),
        # matching has no per-person influence function here: its secondary outcomes are adjusted by Holm's
        influence=None if method == "matching" else Influence.of(df.loc[data.index], fit.result.influence, cluster),
    )


def matched_sample(df: pd.DataFrame, *, treatment: str, covariates: list[str], k: int = 1,
                   caliper: float | None = 0.2, replace: bool = True) -> MatchedSample:
    """Match participants to comparison units on the logit propensity score.

    The same matching as ``estimate_att(method="matching")``; returns per-row weights (for
    balance tables or a matched difference-in-differences downstream), propensity scores,
    the list of matched pairs, and how many participants the caliper trimmed (counted,
    never silently dropped).
    """
    check_spec(k, caliper)
    data = analysis_frame(df, treatment=treatment, covariates=covariates, reserved=(PS_COLUMN,))
    covariates = list(covariates)
    d = data[treatment].to_numpy().astype(int)
    model = LogitPropensityModel().fit(data[covariates], d)
    lp = model.decision_function(data[covariates])
    require_score_overlap(lp, d, treatment)
    m = nn_match(lp, d, int(k), caliper, replace)
    n = len(data)
    index = data.index
    weights = m.unit_weights(n)
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


def _weighted_sd(y: np.ndarray, w: np.ndarray) -> float:
    """SD with reliability weights (sum w - sum w^2 / sum w in the denominator): the matched or
    odds-weighted comparison group's SD for Hedges' g. Not inference.weighted_sd, whose n/(n-1)
    suits survey weights on people; here a weight is a share of a match."""
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
                    n_bootstrap: Optional[int], n_clusters: Optional[int] = None, weights: bool = False) -> str:
    if method == "matching":
        cal = "no caliper" if caliper is None else f"caliper {caliper:g} SD"
        rep = "with replacement" if replace else "without replacement"
        se = "Abadie-Imbens SE" + (", adjusted for the estimated score" if ps_adjustment else "")
        return f"Propensity-score matching (1:{k} NN, {cal}, {rep}; {se})"
    se = (f"{'cluster ' if n_clusters else ''}bootstrap SE, {n_bootstrap} replicates" if n_bootstrap
          else f"{'cluster-robust ' if n_clusters else ''}influence-function SE")
    survey = ", survey-weighted" if weights else ""
    if method == "ipw":
        return f"Inverse-probability weighting for the ATT (odds weights{survey}; {se})"
    return f"Doubly robust AIPW for the ATT (logit score + linear outcome model{survey}; {se})"
