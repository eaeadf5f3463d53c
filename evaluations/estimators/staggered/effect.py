"""The overall ATT as the project's shared EffectEstimate: counts, Hedges' g, name and assumptions."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluations.estimators.result import EffectEstimate, Influence, hedges_g, normal_inference
from evaluations.estimators.staggered.estimator import Fit, full_fit
from evaluations.estimators.staggered.panel import Panel
from evaluations.estimators.staggered.results import StaggeredResult


_EST_METHOD_NAMES = {"dr": "doubly robust", "reg": "outcome regression", "ipw": "inverse probability weighting"}


ASSUMPTIONS = (
    "Parallel trends: without the programme, each cohort's average outcome would have changed like "
    "the comparison units' (unconditionally, no covariates)",
    "No anticipation: outcomes do not respond before the period a unit first takes part",
    "Staggered adoption: once a unit starts the programme it stays treated (no reversal)",
    "No spill-overs: the programme did not change outcomes in the comparison units",
    "Adoption timing is not a response to shocks in the outcome",
)


def _assumptions(covariates: tuple[str, ...], est_method: str) -> tuple[str, ...]:
    if not covariates:
        return ASSUMPTIONS
    listed = ", ".join(covariates)
    models = {"dr": "a linear outcome model for the comparison units or a logit propensity score "
                    "(either one correct is enough)",
              "reg": "a linear model of the comparison units' change in the outcome",
              "ipw": "a logit propensity score"}[est_method]
    return (
        "Parallel trends conditional on " + listed + ": among units with the same covariate values, each "
        "cohort's average outcome would have changed like the comparison units' without the programme",
        "The covariates are adjusted for by " + models,
        "Overlap: every cohort's covariate values also occur among the comparison units",
    ) + ASSUMPTIONS[1:]


def staggered_effect(df: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                     cluster: str | None = None, control_group: str = "never_treated",
                     units: str = "scale points", covariates: list[str] | tuple[str, ...] = (),
                     est_method: str = "dr", weights: str | None = None
                     ) -> tuple[EffectEstimate, StaggeredResult]:
    """The overall ATT ("simple" aggregation) as the shared EffectEstimate, with the full result.

    n_treated counts units in cohorts with an estimated post-treatment effect; n_comparison
    counts never-treated units, or with not-yet-treated comparisons every unit that served as
    a comparison in some post-treatment cell (so a late cohort can count on both sides).
    Hedges' g standardises by the outcome's standard deviations in the first period for
    those two sets of units (weighted by the sampling weights, if any).
    """
    fit = full_fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome, cluster=cluster,
                   control_group=control_group, base_period="varying", anticipation=0,
                   covariates=covariates, est_method=est_method, weights=weights)
    # each unit's influence on the simple ATT, kept for adjusting secondary outcomes together (multiplicity.py)
    ids = fit.panel.units
    labels = df.groupby(unit)[cluster].first().reindex(ids).astype(str).to_numpy() if cluster else None
    influence = Influence(np.asarray(ids), fit.simple_influence / len(ids), labels)
    return dataclasses.replace(effect_estimate(fit, outcome=outcome, units=units), influence=influence), fit.result


@dataclass(frozen=True)
class UniversalEventStudy:
    """The event study against one base period per cohort (the wave before it started), with the
    event times' joint covariance: what R HonestDiD's honest_did reads from an aggte "dynamic" fit."""

    times: tuple[int, ...]  # e = t - g, ascending; e = -1 is the base period itself (0 by construction)
    estimates: tuple[float | None, ...]  # None: no standard error (the base period, or a degenerate time)
    covariance: np.ndarray  # event times x event times, from the influence functions
    smallest_cohort: tuple[int, ...]  # per event time: the fewest units of a cohort in one of its cells
    smallest_comparison: tuple[int, ...]  # per event time: the fewest comparison units in one of its cells


def universal_event_study(df: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                          cluster: str | None = None, control_group: str = "never_treated",
                          covariates: list[str] | tuple[str, ...] = (), est_method: str = "dr",
                          weights: str | None = None) -> UniversalEventStudy:
    """Refit with base_period="universal" (R's att_gt(base_period = "universal"), as R's honest_did requires).

    Why a refit and not a transform of the published varying-base fit: its pre-programme cells
    compare each wave with the one before, so a universal-base placebo is minus the sum of the
    varying ones only on a balanced panel without covariates. Each cell uses its own complete pairs
    (an unbalanced panel) and, with covariates, its own doubly robust fit on the covariates in its
    own base period, so no sum of varying-base cells reproduces the universal one. The post-programme
    cells (every one against g - 1) are the same in both fits, so the post-programme event times agree.
    """
    fit = full_fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome, cluster=cluster,
                   control_group=control_group, base_period="universal", anticipation=0,
                   covariates=covariates, est_method=est_method, weights=weights)
    effects = fit.event_times
    cells = [c for c in fit.result.group_time if c.n_control > 0]  # not the base-period cells themselves

    def smallest(e: int, field: str) -> int:
        return min((getattr(c, field) for c in cells if c.time - c.group == e), default=0)

    return UniversalEventStudy(
        times=effects.times,
        estimates=tuple(a.estimate if math.isfinite(a.std_error) else None for a in effects.aggregates),
        covariance=effects.covariance(),
        smallest_cohort=tuple(smallest(e, "n_group") for e in effects.times),
        smallest_comparison=tuple(smallest(e, "n_control") for e in effects.times))


def effect_estimate(fit: Fit, *, outcome: str, units: str, subgroup: str = "all") -> EffectEstimate:
    """A fit's simple ATT as the shared EffectEstimate; `subgroup` names a modifier level (a CATE)."""
    result, panel = fit.result, fit.panel
    treated, comparison = _treated_and_comparison(panel, result)
    baseline = panel.y[:, 0]
    sd_t = _sd(baseline[treated], panel.weight[treated])
    sd_c = _sd(baseline[comparison], panel.weight[comparison])
    simple = result.simple
    _, _, p_value = normal_inference(simple.estimate, simple.std_error)
    n_t, n_c = int(treated.sum()), int(comparison.sum())
    g, g_low, g_high = hedges_g(simple.estimate, (simple.ci_low, simple.ci_high), sd_t, sd_c, n_t, n_c)
    return EffectEstimate(
        outcome=outcome,
        estimand="ATT" if subgroup == "all" else "CATE",
        estimator=_estimator_name(result),
        estimate=simple.estimate,
        std_error=simple.std_error,
        ci_low=simple.ci_low,
        ci_high=simple.ci_high,
        p_value=p_value,
        n_treated=n_t,
        n_comparison=n_c,
        effect_size=g,
        effect_size_ci_low=g_low,
        effect_size_ci_high=g_high,
        units=units,
        subgroup=subgroup,
        n_clusters=result.n_clusters,
        assumptions=_assumptions(result.covariates, result.est_method),
    )


def _estimator_name(result: StaggeredResult) -> str:
    comparison = "never-treated" if result.control_group == "never_treated" else "not-yet-treated"
    details = [f"{comparison} comparison"]
    if result.covariates:
        details.append(f"{_EST_METHOD_NAMES[result.est_method]} on {', '.join(result.covariates)}")
    if result.weights:
        details.append(f"weighted by {result.weights}")
    return f"Callaway-Sant'Anna DiD ({'; '.join(details)})"


def _sd(values: np.ndarray, weight: np.ndarray) -> float:
    seen = np.isfinite(values)
    values, weight = values[seen], weight[seen]
    if len(values) < 2 or not weight.sum() > 0:
        return math.nan
    mean = np.average(values, weights=weight)
    # With equal weights this is the usual n-1 standard deviation.
    return float(math.sqrt(np.average((values - mean) ** 2, weights=weight) * len(values) / (len(values) - 1)))


def _treated_and_comparison(panel: Panel, result: StaggeredResult) -> tuple[np.ndarray, np.ndarray]:
    """Masks over units: cohorts with an estimated effect, and the units they were compared with."""
    post = [(c.group, c.time) for c in result.group_time if not c.pre_treatment]
    cohort = panel.cohort
    treated = np.isin(cohort, [g for g, _ in post])
    comparison = cohort == 0
    if result.control_group == "not_yet_treated":
        for g, t in post:
            comparison |= (cohort > t + result.anticipation) & (cohort != g)
    return treated, comparison
