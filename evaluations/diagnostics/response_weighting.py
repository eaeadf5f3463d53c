"""Inverse-probability-of-response weighting: the design's own estimate, with the people who answered the
follow-up weighted to look like everyone who started.

Lee bounds (lee_bounds.py) ask what attrition could do under almost no assumptions. This row asks a
narrower question: if who answered the follow-up depended only on things measured at baseline (the
group, the baseline answer, the declared covariates: "missing at random"), what would the design's own
estimate be? Within each group, a logit of answering the follow-up on the baseline outcome and the
covariates (propensity.fit_logit, weighted by survey weights when there are any) gives each person's
chance p of answering; the design's own estimator (designs/, with its `weights` path) is then re-run on
the people who answered, each weighted by (survey weight) / p (Robins, Rotnitzky & Zhao 1995; Wooldridge
2007, Journal of Econometrics 141(2), 1281-1301). Fitting each group's own model lets attrition work
differently in the two groups, as differential attrition does.

Who "started": people at baseline with the outcome and every covariate answered (the response model
needs them). People seen only at follow-up are left out of this row, not of the published estimate.

Standard error: the response probabilities are estimated, not known, and the row allows for it. The
design's estimator reports its influence function (EffectEstimate.influence); every estimator that takes
weights solves estimating equations each weighted by a person's weight w_i = s_i / p_i, so its influence
values v_i are proportional to w_i, and d v_i / d gamma = -v_i (1 - p_i) x_i for the logit's coefficients
gamma. With the logit's own influence H^-1 s_i x_i (R_i - p_i) (H its weighted information), each person
who started (answering or not) carries v_i + G H^-1 s_i x_i (R_i - p_i), G = -sum_i v_i (1 - p_i) x_i'
(stacked M-estimation: Newey & McFadden 1994, section 6). Treating the weights as known would ignore
that term; without survey weights and with a correctly specified response model it can only lower the
variance (Wooldridge 2007), so the known-weights standard error is conservative and is kept beside it
(`std_error_known_weights`). The estimator's own small-sample conventions (HC1, CR1, t on G-1 df) are
kept by scaling its standard error by the ratio of the two influence-function variances (summed within
clusters first, when there are clusters).

Extreme weights (the one rule, MIN_RESPONSE_PROBABILITY): when anyone who answered had a modelled chance
of answering below 1 in 20, no row is estimated. One person would stand for more than 20, so the row
would rest on a few people's answers and its interval on an asymptotic approximation that such weights
break; trimming them instead would change what is estimated without saying by how much.

Disclosure control (disclosure.response_weighting_rows): the row is published only when, in each group,
those who answered are at least THRESHOLD and those who did not are 0 or at least THRESHOLD: each group's
response model is a comparison of the two, and a model fitted on fewer non-respondents would publish a
statistic resting on them.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluations.estimators.inference import cluster_codes, interval
from evaluations.estimators.propensity import fit_logit, standardisation, standardised_design
from evaluations.record_model.diagnostics import NotEstimated

MIN_RESPONSE_PROBABILITY = 0.05  # the weighting rule (module docstring): no row if a respondent's p is below
WEIGHT_COLUMN = "response weight"  # what the re-run's copy of design.weights names (only its presence is read)
GROUP_NAMES = {1: "programme", 0: "comparison"}
# Why a row has no estimate: the key is published, the words are the page's. An estimator's own refusal is
# kept only as `detail` (unpublished): its message may quote counts of people.
NOT_ESTIMATED = {
    "unweighted_estimator": "the design's estimator takes no weights (matching)",
    "too_few_answered": "too few people answered the follow-up in a group",
    "response_model_failed": ("a baseline answer or characteristic predicts answering the follow-up perfectly, "
                              "so the chance of answering cannot be modelled"),
    "extreme_weights": (f"some people who answered had less than a 1 in {round(1 / MIN_RESPONSE_PROBABILITY)} "
                        "modelled chance of answering, so a few people would carry the estimate"),
    "estimator_refused": "the design's estimator could not be re-run with these weights",
}
assert tuple(NOT_ESTIMATED) == typing.get_args(NotEstimated)  # the record's reasons, each worded here


@dataclass(frozen=True)
class ResponseModel:
    """Each person who started: whether they answered, their modelled chance of answering, and the pieces the
    standard error needs (the logit's design row on the scale it was fitted, its information, per group)."""
    units: np.ndarray
    treated: np.ndarray
    responded: np.ndarray
    probability: np.ndarray  # 1 for everyone in a group where everyone answered (no model)
    survey_weight: np.ndarray
    design: dict[int, np.ndarray]  # group -> standardised design rows [1, y0, covariates] of its people
    information: dict[int, np.ndarray]  # group -> sum s p (1 - p) x x'
    converged: bool

    @property
    def weights(self) -> np.ndarray:
        """The re-run's weights: survey weight / p (the people who did not answer are not analysed)."""
        return self.survey_weight / self.probability


@dataclass(frozen=True)
class ResponseWeighted:
    outcome: str
    estimator: str
    estimate: float | None
    std_error: float | None  # allowing for the estimated response model
    std_error_known_weights: float | None  # treating the weights as known (conservative)
    ci_low: float | None
    ci_high: float | None
    df: float | None
    smallest_probability: float | None  # the lowest modelled chance of answering among those who answered
    n_programme: int  # people who started
    n_comparison: int
    responded_programme: int
    responded_comparison: int
    not_estimated: str | None  # None, or why there is no estimate: a key of NOT_ESTIMATED
    detail: str = ""  # the estimator's own refusal, unpublished


def response_model(base: pd.DataFrame, responded: np.ndarray, predictors: list[str]) -> ResponseModel:
    """Within each group, a logit of answering on `predictors` (columns of `base`, one row per person who
    started, holding `unit`, `treated` and `weight` when there are survey weights)."""
    d = base["treated"].to_numpy(int)
    s = np.asarray(responded, dtype=bool)
    sw = base["weight"].to_numpy(float) if "weight" in base.columns else np.ones(len(base))
    p = np.ones(len(base))
    designs, information, converged = {}, {}, True
    for g in (1, 0):
        m = d == g
        if s[m].all():
            continue  # everyone answered: weight 1, nothing estimated, no correction
        A = base.loc[m, predictors].to_numpy(float)
        fit = fit_logit(A, s[m], sw[m])
        converged &= fit.converged
        p[m] = fit.probabilities
        Z = standardised_design(A, *standardisation(A))  # the parametrisation fit_logit solved in
        designs[g] = Z
        information[g] = (Z * (sw[m] * p[m] * (1 - p[m]))[:, None]).T @ Z
    return ResponseModel(base["unit"].to_numpy(), d, s, p, sw, designs, information, converged)


def reweighted_estimate(panel: pd.DataFrame, manifest, outcome: str, units: str = "scale points") -> ResponseWeighted:
    """The design's estimate of `outcome` re-run with response weights (module docstring)."""
    from evaluations.designs import design_of
    from evaluations.designs.base import WEIGHTED_ESTIMATORS
    from evaluations.estimators.plan import Impacts

    d = manifest.design
    design = design_of(d)
    base, responded = started(panel, manifest, outcome)
    counts = _counts(base["treated"].to_numpy(int), responded)
    chosen = d.analysis_estimator
    if chosen not in WEIGHTED_ESTIMATORS:
        return _none(outcome, chosen.value, counts, "unweighted_estimator")
    if min(counts["responded_programme"], counts["responded_comparison"]) < 2:
        return _none(outcome, chosen.value, counts, "too_few_answered")
    model = response_model(base, responded, ["y0", *d.covariates])
    smallest = float(model.probability[responded].min())
    if not model.converged:
        return _none(outcome, chosen.value, counts, "response_model_failed", smallest)
    if smallest < MIN_RESPONSE_PROBABILITY:
        return _none(outcome, chosen.value, counts, "extreme_weights", smallest)
    # the same panel with only the people who started, their weight multiplied by 1 / p, through the design's
    # own estimator with its weights path switched on (and nothing else: no effects by group)
    weight = pd.Series(model.weights, index=model.units)
    kept = panel[panel["unit"].isin(weight.index)].copy()
    kept["weight"] = kept["unit"].map(weight).to_numpy(float)
    # (the design re-validated from its manifest keys, so the copy reads as a manifest would have said it)
    again = type(d).model_validate({**d.model_dump(by_alias=True), "weights": d.weights or WEIGHT_COLUMN,
                                    "effect_modifiers": []})
    rerun = manifest.model_copy(update={"design": again})
    out = Impacts()
    try:
        design.estimate(kept, outcome, rerun, units, out)
    except ValueError as error:  # the estimator's own refusal (e.g. no overlap), in its words
        return _none(outcome, chosen.value, counts, "estimator_refused", smallest, detail=str(error))
    est = out.estimates[0]
    se = est.std_error
    if est.influence is not None:
        se = est.std_error * _variance_ratio(model, est.influence, clustered=d.cluster is not None,
                                             base=base) ** 0.5
    lo, hi, _ = interval(est.estimate, se, est.df)
    return ResponseWeighted(outcome=outcome, estimator=est.estimator, estimate=est.estimate, std_error=se,
                            std_error_known_weights=est.std_error, ci_low=lo, ci_high=hi, df=est.df,
                            smallest_probability=smallest, not_estimated=None, **counts)


def started(panel: pd.DataFrame, manifest, outcome: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The people who started (one baseline row each, with `y0`) and whether each answered the follow-up
    (for a change-score estimator: the follow-up outcome; otherwise too, as every follow-up estimator
    analyses those with the follow-up answer)."""
    d = manifest.design
    first = panel[panel["period"] == 1].drop_duplicates("unit").set_index("unit")
    last = panel[panel["period"] == len(d.wave_labels)].drop_duplicates("unit").set_index("unit")
    base = first.assign(y0=pd.to_numeric(first[outcome], errors="coerce"))
    base = base.dropna(subset=["y0", *d.covariates])
    responded = pd.to_numeric(last[outcome], errors="coerce").reindex(base.index).notna().to_numpy()
    return base.reset_index(), responded


def _variance_ratio(model: ResponseModel, influence, clustered: bool, base: pd.DataFrame) -> float:
    """(variance allowing for the estimated response model) / (treating the weights as known), both from
    influence functions over everyone who started (module docstring)."""
    position = pd.Series(np.arange(len(model.units)), index=model.units)
    v = np.zeros(len(model.units))
    v[position.reindex(influence.units).to_numpy(int)] = influence.values
    adjusted = v.copy()
    for g, Z in model.design.items():
        m = model.treated == g
        p, sw, s = model.probability[m], model.survey_weight[m], model.responded[m].astype(float)
        gradient = -(v[m] * (1 - p)) @ Z
        scores = Z * (sw * (s - p))[:, None]
        adjusted[m] += scores @ np.linalg.pinv(model.information[g]) @ gradient
    codes = cluster_codes(base["cluster"]) if clustered else None
    known, estimated = (_sum_of_squares(x, codes) for x in (v, adjusted))
    return estimated / known if known > 0 else 1.0


def _sum_of_squares(values: np.ndarray, clusters: np.ndarray | None) -> float:
    if clusters is not None:
        values = np.bincount(clusters, weights=values)
    return float(np.sum(values ** 2))


def _counts(treated: np.ndarray, responded: np.ndarray) -> dict[str, int]:
    out = {}
    for g, name in GROUP_NAMES.items():
        out[f"n_{name}"] = int((treated == g).sum())
        out[f"responded_{name}"] = int(((treated == g) & responded).sum())
    return out


def _none(outcome: str, estimator: str, counts: dict, why: str, smallest: float | None = None,
          detail: str = "") -> ResponseWeighted:
    assert why in NOT_ESTIMATED, why
    return ResponseWeighted(outcome=outcome, estimator=estimator, estimate=None, std_error=None,
                            std_error_known_weights=None, ci_low=None, ci_high=None, df=None,
                            smallest_probability=smallest, not_estimated=why, detail=detail, **counts)


def by_outcome(panel: pd.DataFrame, manifest, estimates: pd.DataFrame | None = None) -> list[dict]:
    """The row for each primary outcome of a design with Lee bounds (the same designs: people followed from
    baseline against a comparison group) where someone who started did not answer the follow-up."""
    from evaluations.designs import design_of

    if not design_of(manifest.design).bounds_attrition:
        return []
    units = {}
    if estimates is not None and len(estimates):
        overall = estimates[estimates["kind"] == "overall"]
        units = dict(zip(overall["outcome"], overall["units"]))
    out = []
    for o in manifest.primary_outcomes:
        base, responded = started(panel, manifest, o.column)
        if responded.all() or not responded.any():
            continue  # no one lost, nothing to re-weight; or no one linked across waves (a trial of cross-sections)
        row = reweighted_estimate(panel, manifest, o.column, units.get(o.column, "scale points"))
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in dataclasses.asdict(row).items()})
    return out
