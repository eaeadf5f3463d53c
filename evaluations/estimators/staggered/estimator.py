"""The whole estimator: checked options, the panel, the group-time cells, their inference and aggregations."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluations.estimators.staggered import aggregate
from evaluations.estimators.staggered.columns import covariate_list
from evaluations.estimators.staggered.group_time import group_time_cells
from evaluations.estimators.staggered.influence import Inference, interval
from evaluations.estimators.staggered.panel import Panel, prepare_panel
from evaluations.estimators.staggered.pretrends import pre_trend_test
from evaluations.estimators.staggered.results import BASE_PERIODS, EST_METHODS, GroupTimeATT, StaggeredResult


def callaway_santanna(df: pd.DataFrame, *, unit: str, time: str, first_treated: str, outcome: str,
                      cluster: str | None = None, control_group: str = "never_treated",
                      base_period: str = "varying", anticipation: int = 0,
                      covariates: list[str] | tuple[str, ...] = (), est_method: str = "dr",
                      weights: str | None = None) -> StaggeredResult:
    """Callaway & Sant'Anna (2021) group-time ATTs and their four aggregations.

    Parameters
    ----------
    df : long panel, one row per unit and period.
    unit, time, outcome : column names. `time` holds whole-number periods.
    first_treated : column with the period a unit first receives the programme, coded like
        `time`; 0 or missing means never treated. It must not change within a unit (treatment
        is never switched off). Units treated in the first period (first period + anticipation)
        have no untreated baseline and are dropped and counted, as R ``did`` does; units first
        treated after the panel ends are used as never treated.
    cluster : optional column, constant within unit, for cluster-robust standard errors
        (influence functions summed within clusters; no small-sample factor, as in R ``did``).
    control_group : "never_treated" or "not_yet_treated" (R's "nevertreated"/"notyettreated").
    base_period : "varying" (R's default: pre-treatment cells compare t with t-1, post-treatment
        cells compare t with g-1-anticipation) or "universal" (every cell against g-1-anticipation;
        that reference cell is reported as 0 with no standard error).
    anticipation : periods before `first_treated` in which units may already react.
    covariates : numeric columns for conditional parallel trends (R's ``xformla = ~x1 + x2``,
        entered linearly). Each cell takes their values in its earlier period, as R does.
    est_method : "dr" (doubly robust, R's default), "reg" (outcome regression) or "ipw"; only
        used with covariates.
    weights : optional column of sampling weights (R's ``weightsname``), >= 0 and constant within unit.

    Unbalanced panels: each ATT(g,t) uses the units observed in both its base period and t
    (and, with covariates, with covariate values in the earlier of the two) -- "panel, complete
    pairs" -- and the influence functions stay at the unit level so covariances across cells
    remain valid. R ``did`` instead balances the panel by default (dropping every unit with a
    missing period), or with ``allow_unbalanced_panel = TRUE`` treats the data as repeated
    cross-sections; on a balanced panel all three agree.

    Standard errors are analytic (R's ``bstrap = FALSE``) and intervals are pointwise 95%
    normal intervals, not R's default simultaneous bootstrap bands.
    """
    return full_fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome, cluster=cluster,
                    control_group=control_group, base_period=base_period, anticipation=anticipation,
                    covariates=covariates, est_method=est_method, weights=weights).result


@dataclass
class Fit:
    """A fit with what the EffectEstimate and the modifier test need beyond the published result."""

    result: StaggeredResult
    panel: Panel
    simple_influence: np.ndarray  # per unit of panel.units, on the n = len(panel.units) scale
    event_times: aggregate.EventTimeEffects  # with their influence functions, for their covariance


def full_fit(df, *, unit, time, first_treated, outcome, cluster, control_group, base_period,
             anticipation, covariates=(), est_method="dr", weights=None) -> Fit:
    """`callaway_santanna`, keeping the panel and the simple ATT's influence function."""
    if base_period not in BASE_PERIODS:
        raise ValueError(f"base_period must be one of {BASE_PERIODS}, not {base_period!r}.")
    if est_method not in EST_METHODS:
        raise ValueError(f"est_method must be one of {EST_METHODS}, not {est_method!r}.")
    covariates = covariate_list(covariates, {"unit": unit, "time": time, "first-treated": first_treated,
                                             "outcome": outcome, "cluster": cluster, "weights": weights})
    panel = prepare_panel(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome,
                          cluster=cluster, control_group=control_group, anticipation=anticipation,
                          covariates=covariates, weights=weights)
    n = len(panel.cohort)
    if not (panel.cohort > 0).any():
        raise ValueError(f"No treated units: column '{first_treated}' is 0 or missing for every unit "
                         "(after dropping units treated in the first period).")
    if control_group == "never_treated" and not (panel.cohort == 0).any():
        raise ValueError(f"No never-treated units (column '{first_treated}' is never 0 or missing), so "
                         "control_group='never_treated' has no comparison group. Use "
                         "control_group='not_yet_treated' or add never-treated units.")

    cells, cell_notes = group_time_cells(panel, control_group, base_period, anticipation, est_method)
    if not cells:
        raise ValueError("No group-time effect could be estimated: no cohort has both a base period "
                         "and comparison units observed in the same periods"
                         + (f" ({cell_notes[0]})" if cell_notes else "") + ".")
    influence = np.column_stack([c.influence for c in cells])
    inference = Inference(n, panel.cluster)

    # Cohort shares of the whole sample (weighted): the weights R did gives each ATT(g,t).
    share_model = aggregate.Shares(panel.cohort, panel.weight)
    shares = np.array([share_model.of(c.group) for c in cells])

    group_time = []
    for k, c in enumerate(cells):
        se = math.nan if c.normalised else inference.std_error(influence[:, k])
        group_time.append(GroupTimeATT(c.group, c.time, c.att, se, *interval(c.att, se),
                                       c.n_group, c.n_control, c.time < c.group))

    simple, simple_influence = aggregate.simple(cells, influence, shares, share_model, inference)
    event_times = aggregate.event_time_effects(cells, influence, shares, share_model, inference)
    result = StaggeredResult(
        group_time=tuple(group_time),
        simple=simple,
        by_group=aggregate.by_group(cells, influence, share_model, inference),
        by_event_time=aggregate.by_event_time(event_times),
        by_calendar_time=aggregate.by_calendar_time(cells, influence, shares, share_model, inference),
        pre_trend_test=pre_trend_test(cells, influence, inference),
        n_units=n,
        n_clusters=None if panel.cluster is None else int(panel.cluster.max() + 1),
        control_group=control_group,
        base_period=base_period,
        anticipation=anticipation,
        covariates=covariates,
        est_method=est_method,
        weights=weights,
        n_units_treated_first_period=panel.n_dropped_first_period,
        n_rows_missing_outcome=panel.n_rows_missing,
        n_units_without_outcome=panel.n_units_without_outcome,
        n_rows_missing_covariate=panel.n_rows_missing_covariate,
        notes=tuple(panel.notes + cell_notes),
    )
    return Fit(result, panel, simple_influence, event_times)
