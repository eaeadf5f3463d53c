"""The long data frame as unit x period arrays, with the units R did drops or recodes counted in notes.

Units treated in the first period are dropped, units first treated after the panel ends are
never treated, rows with a missing outcome are left out and units never observed are dropped,
each with a note, so the result says what it did not use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluations.estimators.staggered.columns import (integer_column, numeric_column, require_columns,
                                                      unit_constant, unit_weights)
from evaluations.estimators.staggered.results import CONTROL_GROUPS


@dataclass
class Panel:
    """The panel as arrays whose rows are the units, in one order throughout."""

    periods: np.ndarray  # sorted distinct periods, shape (T,)
    units: pd.Index  # unit ids, in the row order of every array below
    y: np.ndarray  # outcome, units x periods, NaN where not observed
    x: np.ndarray  # covariates, units x periods x k, NaN where missing (k = 0 without covariates)
    covariates: tuple[str, ...]
    weight: np.ndarray  # sampling weight per unit (1 without weights)
    cohort: np.ndarray  # first treated period per unit, 0 = never treated (within the panel)
    cluster: np.ndarray | None  # integer cluster code per unit
    n_dropped_first_period: int
    n_rows_missing: int
    n_units_without_outcome: int
    n_rows_missing_covariate: int
    notes: list[str]


def prepare_panel(df, *, unit, time, first_treated, outcome, cluster, control_group, anticipation,
                  covariates=(), weights=None) -> Panel:
    require_columns(df, {"unit": unit, "time": time, "first-treated": first_treated,
                         "outcome": outcome, "cluster": cluster, "weights": weights})
    require_columns(df, {"covariate": c for c in covariates})
    if control_group not in CONTROL_GROUPS:
        raise ValueError(f"control_group must be one of {CONTROL_GROUPS}, not {control_group!r}.")
    if not (isinstance(anticipation, (int, np.integer)) and anticipation >= 0):
        raise ValueError(f"anticipation must be a whole number of periods >= 0, not {anticipation!r}.")

    cols = [unit, time, first_treated, outcome] + ([cluster] if cluster else []) + (
        [weights] if weights else []) + list(covariates)
    data = df[list(dict.fromkeys(cols))].reset_index(drop=True)  # a copy, robust to duplicate index labels
    if data.empty:
        raise ValueError("The data has no rows.")
    if data[unit].isna().any():
        raise ValueError(f"Column '{unit}' (unit id) has missing values.")
    data[time] = integer_column(data[time], time)
    # Missing first-treated means never treated, the same as 0.
    data[first_treated] = integer_column(data[first_treated], first_treated, allow_missing=True).fillna(0)
    if (data[first_treated] < 0).any():
        raise ValueError(f"Column '{first_treated}' must be 0/missing (never treated) or a period; "
                         "found a negative value.")
    if data.duplicated([unit, time]).any():
        first = data.index[data.duplicated([unit, time])][0]
        raise ValueError(f"Unit '{data.at[first, unit]}' appears more than once in period "
                         f"{int(data.at[first, time])} "
                         f"(columns '{unit}', '{time}'): the panel needs one row per unit and period.")
    parsed = pd.to_numeric(data[outcome], errors="coerce")
    if (parsed.isna() & data[outcome].notna()).any():
        bad = data.loc[parsed.isna() & data[outcome].notna(), outcome].iloc[0]
        raise ValueError(f"Column '{outcome}' (outcome) must be numeric; found {bad!r}.")
    data[outcome] = parsed
    for c in covariates:
        data[c] = numeric_column(data[c], c, "covariate")

    cohort = unit_constant(data, unit, first_treated, "treatment is never switched off")
    clusters = unit_constant(data, unit, cluster, "a unit belongs to one cluster") if cluster else None
    if clusters is not None and clusters.isna().any():
        raise ValueError(f"Column '{cluster}' (cluster) has missing values.")
    unit_weight = unit_weights(data, unit, weights) if weights else None

    periods = np.sort(data[time].unique()).astype(int)
    notes: list[str] = []

    # Treated before (or, with anticipation, too soon after) the first period: no untreated baseline.
    early = (cohort > 0) & (cohort <= periods[0] + anticipation)
    n_early = int(early.sum())
    if n_early:
        notes.append(f"{n_early} units already treated in the first period were dropped.")
    cohort = cohort[~early]
    # First treated after the panel ends (and its anticipation window): untreated throughout, as in R did.
    late = cohort > periods[-1] + anticipation
    if late.any():
        notes.append(f"{int(late.sum())} units first treated after the last period are used as "
                     "never treated.")
        cohort = cohort.where(~late, 0)

    data = data[data[unit].isin(cohort.index)]
    missing = data[outcome].isna() | ~np.isfinite(data[outcome].astype(float))
    n_missing = int(missing.sum())
    if n_missing:
        notes.append(f"{n_missing} rows with a missing outcome were not used.")
    wide = data[~missing].pivot(index=unit, columns=time, values=outcome)
    wide = wide.reindex(index=cohort.index, columns=periods)
    # A unit never observed adds nothing but would still count in n and the cohort shares.
    seen = wide.notna().any(axis=1)
    n_unseen = int((~seen).sum())
    if n_unseen:
        notes.append(f"{n_unseen} units with no observed outcome were dropped.")
        wide, cohort = wide[seen], cohort[seen]

    x, n_missing_x = _covariate_array(data, unit, time, covariates, cohort.index, periods, notes)
    cluster_codes = None
    if clusters is not None:
        cluster_codes = pd.factorize(clusters.loc[cohort.index])[0]
    w = np.ones(len(cohort)) if unit_weight is None else unit_weight.loc[cohort.index].to_numpy(float)
    return Panel(periods=periods, units=cohort.index, y=wide.to_numpy(float), x=x, covariates=tuple(covariates),
                 weight=w, cohort=cohort.to_numpy(int), cluster=cluster_codes, n_dropped_first_period=n_early,
                 n_rows_missing=n_missing, n_units_without_outcome=n_unseen,
                 n_rows_missing_covariate=n_missing_x, notes=notes)


def _covariate_array(data, unit, time, covariates, units, periods, notes) -> tuple[np.ndarray, int]:
    """Units x periods x covariates, NaN where a row is missing or has no value."""
    if not covariates:
        return np.empty((len(units), len(periods), 0)), 0
    layers, n_missing = [], 0
    for c in covariates:
        layer = data.pivot(index=unit, columns=time, values=c).reindex(index=units, columns=periods)
        observed = data[data[unit].isin(units)]
        n_missing += int(observed[c].isna().sum())
        if (observed.groupby(unit)[c].nunique() > 1).any():
            notes.append(f"Covariate '{c}' changes over time within units: each ATT(g,t) uses its value in "
                         "the earlier of the cell's two periods (the base period), as R did does.")
        layers.append(layer.to_numpy(float))
    if n_missing:
        notes.append(f"{n_missing} rows have a missing covariate value: those units are left out of the "
                     "cells whose base period that row is.")
    return np.stack(layers, axis=2), n_missing
