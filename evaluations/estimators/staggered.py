"""Callaway & Sant'Anna (2021) difference-in-differences for staggered adoption.

Programmes often start in different places at different times (a school-linking
scheme rolled out cohort by cohort). A two-way fixed-effects regression then
compares late adopters with early adopters that are already treated, and can give
weights of the wrong sign. Callaway & Sant'Anna avoid this: they estimate one
small 2x2 DiD per cohort ``g`` (units first treated in period ``g``) and period
``t``, always against units that are not treated (yet), and only then average
those ATT(g,t) into summaries.

This module follows the R package ``did`` 2.5 (``att_gt`` and ``aggte``) for panel data,
with analytic influence-function standard errors (``bstrap = FALSE``):

- ATT(g,t) without covariates is the mean change of cohort g minus the mean change of the
  comparison units between the base period and t (with an intercept only, R's ``dr``,
  ``reg`` and ``ipw`` estimators all reduce to this).
- With covariates (R's ``xformla``) each 2x2 cell is estimated as R does, by the DRDID
  package's panel estimators on the cell's units: ``est_method="dr"`` is Sant'Anna & Zhao's
  doubly robust DiD (``DRDID::drdid_panel``: logit propensity score, weighted least squares
  of the change on the comparison units, propensity scores of comparison units trimmed at
  0.995), ``"reg"`` the outcome-regression DiD (``reg_did_panel``) and ``"ipw"`` the
  standardised inverse-probability-weighted DiD (``std_ipw_did_panel``). The covariates of a
  cell are the units' values in the earlier of its two periods (the base period, except for
  pre-treatment cells with a universal base period), exactly as R takes them, so a
  covariate that changes over time enters each cell at its base-period value. A covariate
  that takes one value among all units of a cell cannot adjust for anything there: it is
  left out of that cell (R instead returns NA for the cell) and the notes say so.
- Sampling weights (R's ``weightsname``, constant within a unit) enter each cell's
  estimator (normalised to mean 1 within the cell, as DRDID does), the cohort-size weights
  P(G = g) of every aggregation and their influence functions.
- Standard errors come from per-unit influence functions (each cell's DRDID influence
  function rescaled by n / n_cell to the whole sample), summed within clusters when a
  cluster column is given (as recent R ``did`` does analytically; no small-sample factor,
  normal critical values).
- Aggregations ("simple", "group", "dynamic", "calendar") include the extra
  influence-function term from estimating the cohort-size weights (``wif`` in
  ``compute.aggte``).
- The pre-trend test is R's Wald test that all pre-treatment ATT(g,t) are zero,
  using the analytic covariance.

Effect modifiers (``staggered_by_modifier``): for each level of a unit-level modifier (say
``lives_alone`` 0/1) the whole estimator runs on the units at that level only (their own
comparison units, covariate models and cohort shares), and the level's effect is its
simple aggregate ATT. We stratify rather than interact the modifier into one fit because
the Callaway-Sant'Anna ATT for a level is then exactly the published estimator applied to
that population: parallel trends, overlap and the outcome and propensity models are only
required within the level, cohorts are weighted by their size at that level, and nothing
extrapolates from one level to another (an interaction in the covariate models alone would
still give every level the other levels' comparison units). The equality test is a Wald
test on the levels' joint influence functions laid over the whole unit index, so units in
one cluster but different levels are correlated as they should be; without clustering the
levels are independent samples. Levels with fewer than 10 treated or 10 comparison units
are not estimated (the project's disclosure threshold).

Why our own implementation rather than a library: the Python ports on PyPI in November 2026
were csdid 0.4.3 (which needs plotnine and twine at run time), differences 0.3.0 (polars)
and moderndid 0.2.0 (pre-1.0; polars, pyarrow, scipy >= 1.17). The estimator, covariates
included, is a few hundred lines of means, two small regressions per cell and influence
functions; writing it here keeps the dependency set small (pandas must stay below 3 for
DoWhy and dagster-duckdb-pandas), lets the cluster-robust influence functions, the
modifier levels and the cohort counts for disclosure control sit in one place, and
tests/test_staggered.py pins it to R's published output on ``mpdta`` and to moderndid, an
independent port, to 1e-6 (1e-8 with covariates). moderndid 0.2.0 also leaves sampling weights
out of the aggregations' cohort shares, which R weights; we follow R.

Pure functions: a DataFrame in, frozen results out, no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from evaluations.estimators.did import HeterogeneityTest
from evaluations.estimators.result import Z_95, EffectEstimate, hedges_g, normal_inference

CONTROL_GROUPS = ("never_treated", "not_yet_treated")
BASE_PERIODS = ("varying", "universal")
EST_METHODS = ("dr", "reg", "ipw")
MIN_UNITS_PER_LEVEL = 10  # the privacy threshold: no modifier level from fewer treated or comparison units

_EST_METHOD_NAMES = {"dr": "doubly robust", "reg": "outcome regression", "ipw": "inverse probability weighting"}
# R did reports a standard error this small as NA: it is a normalised cell, not an estimate.
_ZERO_SE = math.sqrt(np.finfo(float).eps) * 10
# DRDID: comparison units' propensity scores are trimmed at this level; R did's overlap check
# refuses a cell whose (unweighted) propensity score reaches _OVERLAP_LIMIT.
_TRIM_LEVEL = 0.995
_OVERLAP_LIMIT = 0.999


@dataclass(frozen=True)
class GroupTimeATT:
    """ATT(g,t): the average effect in period `time` for units first treated in `group`.

    For `pre_treatment` cells (time < group) it is a placebo: under parallel trends
    and no anticipation it should be close to zero. With a universal base period the
    reference cell (time = group - 1 - anticipation) is 0 by construction: its std_error
    is NaN and n_control 0.
    """

    group: int
    time: int
    att: float
    std_error: float
    ci_low: float
    ci_high: float
    n_group: int
    n_control: int
    pre_treatment: bool


@dataclass(frozen=True)
class Aggregate:
    """A weighted average of ATT(g,t) with a pointwise 95% interval."""

    label: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class PreTrendTest:
    """Wald test that every pre-treatment ATT(g,t) is zero (chi-square; Hotelling F when clustered)."""

    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True)
class StaggeredResult:
    """Everything `callaway_santanna` estimated, plus what it had to leave out and why."""

    group_time: tuple[GroupTimeATT, ...]
    simple: Aggregate
    by_group: tuple[Aggregate, ...]  # "g=<cohort>" for each cohort, then "overall"
    by_event_time: tuple[Aggregate, ...]  # "e=<t-g>" for each event time, then "overall" (mean over e >= 0)
    by_calendar_time: tuple[Aggregate, ...]  # "t=<period>" for each period with a treated cohort, then "overall"
    pre_trend_test: PreTrendTest | None
    n_units: int
    n_clusters: int | None
    control_group: str = "never_treated"
    base_period: str = "varying"
    anticipation: int = 0
    covariates: tuple[str, ...] = ()
    est_method: str = "dr"  # only matters with covariates
    weights: str | None = None  # the sampling-weight column, if any
    n_units_treated_first_period: int = 0  # dropped, as R did does: they have no untreated period
    n_rows_missing_outcome: int = 0  # rows with no outcome value, not used
    n_units_without_outcome: int = 0  # units never observed with an outcome, dropped
    n_rows_missing_covariate: int = 0  # rows with a missing covariate: not used as a cell's base period
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModifierLevelEffect:
    """The simple aggregate ATT among the units at one level of a modifier, and the fit behind it."""

    level: str
    effect: EffectEstimate  # subgroup "<modifier>=<level>"; n_treated / n_comparison count units
    result: StaggeredResult  # the full Callaway-Sant'Anna fit within the level


@dataclass(frozen=True)
class SkippedLevel:
    """A modifier level that was not estimated, and why (counts below the threshold are not given)."""

    level: str
    reason: str


@dataclass(frozen=True)
class ModifierResult:
    """`staggered_by_modifier`: one effect per level of a modifier, and the test that they are equal."""

    outcome: str
    modifier: str
    levels: tuple[ModifierLevelEffect, ...]
    skipped: tuple[SkippedLevel, ...]
    equality_test: HeterogeneityTest | None  # None when fewer than two levels were estimated
    n_clusters: int | None
    n_units_missing_modifier: int = 0  # units with no value of the modifier, not used
    notes: tuple[str, ...] = ()


# ----------------------------------------------------------------------------
# Data preparation
# ----------------------------------------------------------------------------


@dataclass
class _Panel:
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


def _require_columns(df: pd.DataFrame, columns: dict[str, str | None]) -> None:
    for role, name in columns.items():
        if name is not None and name not in df.columns:
            raise ValueError(
                f"Column '{name}' (the {role} column) is not in the data. "
                f"Available columns: {', '.join(map(str, df.columns))}."
            )


def _integer_column(values: pd.Series, name: str, allow_missing: bool = False) -> pd.Series:
    if not allow_missing and values.isna().any():
        raise ValueError(f"Column '{name}' has missing values; every row needs a period.")
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        raise ValueError(f"Column '{name}' must be numeric; found {values[bad].iloc[0]!r}.")
    finite = numeric.dropna()
    if not np.all(np.isfinite(finite)) or not np.all(finite == np.round(finite)):
        raise ValueError(f"Column '{name}' must hold whole-number periods (e.g. years or wave numbers).")
    return numeric


def _numeric_column(values: pd.Series, name: str, role: str) -> pd.Series:
    if values.dtype == bool:
        return values.astype(float)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise ValueError(f"Column '{name}' ({role}) must be numeric; found {values[bad].iloc[0]!r}. "
                         f"Encode a category as 0/1 indicator columns, one per level but the first.")
    return parsed.astype(float).where(np.isfinite(parsed.astype(float)))


def _unit_constant(df: pd.DataFrame, unit: str, column: str, what: str) -> pd.Series:
    """One value per unit; a unit whose value changes over time is a data error."""
    varying = df.groupby(unit, sort=False)[column].nunique(dropna=False) > 1
    if varying.any():
        example = varying[varying].index[0]
        raise ValueError(
            f"Column '{column}' must be constant within each unit ({what}); "
            f"unit '{example}' has more than one value."
        )
    return df.groupby(unit, sort=True)[column].first()


def _covariate_list(covariates, roles: dict[str, str | None]) -> tuple[str, ...]:
    if isinstance(covariates, str):
        covariates = (covariates,)
    covariates = tuple(dict.fromkeys(covariates))  # a covariate named twice is one covariate, as in R
    for name in covariates:
        for role, column in roles.items():
            if name == column:
                raise ValueError(f"Column '{name}' is the {role} column and cannot also be a covariate.")
    return covariates


def _unit_weights(data: pd.DataFrame, unit: str, weights: str) -> pd.Series:
    parsed = _numeric_column(data[weights], weights, "sampling weights")
    if parsed.isna().any():
        raise ValueError(f"Column '{weights}' (sampling weights) has missing or non-finite values; "
                         "give every row a weight, or drop the units that have none.")
    if (parsed < 0).any():
        raise ValueError(f"Column '{weights}' (sampling weights) has negative values; weights must be >= 0.")
    data = data.assign(**{weights: parsed})
    w = _unit_constant(data, unit, weights, "a unit has one sampling weight")
    if not w.sum() > 0:
        raise ValueError(f"Column '{weights}' (sampling weights) is zero for every unit.")
    return w


def _prepare_panel(df, *, unit, time, first_treated, outcome, cluster, control_group, anticipation,
                   covariates=(), weights=None) -> _Panel:
    _require_columns(df, {"unit": unit, "time": time, "first-treated": first_treated,
                          "outcome": outcome, "cluster": cluster, "weights": weights})
    _require_columns(df, {"covariate": c for c in covariates})
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
    data[time] = _integer_column(data[time], time)
    # Missing first-treated means never treated, the same as 0.
    data[first_treated] = _integer_column(data[first_treated], first_treated, allow_missing=True).fillna(0)
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
        data[c] = _numeric_column(data[c], c, "covariate")

    cohort = _unit_constant(data, unit, first_treated, "treatment is never switched off")
    clusters = _unit_constant(data, unit, cluster, "a unit belongs to one cluster") if cluster else None
    if clusters is not None and clusters.isna().any():
        raise ValueError(f"Column '{cluster}' (cluster) has missing values.")
    unit_weight = _unit_weights(data, unit, weights) if weights else None

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
    return _Panel(periods=periods, units=cohort.index, y=wide.to_numpy(float), x=x, covariates=tuple(covariates),
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


# ----------------------------------------------------------------------------
# The 2x2 estimators of one cell (DRDID's panel estimators)
# ----------------------------------------------------------------------------


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """Weighted logit fitted values by Newton-Raphson with step halving; None if it does not converge."""
    beta = np.zeros(x.shape[1])

    def loglik(b):
        eta = x @ b
        return float(np.sum(w * (d * eta - np.logaddexp(0.0, eta))))

    current = loglik(beta)
    for _ in range(100):
        p = expit(x @ beta)
        hessian = x.T @ (x * (w * p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(hessian, x.T @ (w * (d - p)))
        except np.linalg.LinAlgError:
            return None
        for _ in range(30):  # halve the step until the likelihood does not fall
            trial = loglik(beta + step)
            if trial >= current - 1e-12:
                break
            step = step / 2
        beta, current = beta + step, trial
        if np.max(np.abs(step)) < 1e-10:
            return expit(x @ beta)
    return None


def _control_ols(dy, d, x, w):
    """WLS of the change on the covariates among comparison units; its fit and asymptotic linear rep."""
    n = len(d)
    w_ols = w * (1 - d)
    xpx = x.T @ (x * w_ols[:, None]) / n
    if np.linalg.cond(xpx) > 1 / np.finfo(float).eps:
        return None
    beta = np.linalg.solve(xpx, x.T @ (w_ols * dy) / n)
    fitted = x @ beta
    linear_rep = (x * (w_ols * (dy - fitted))[:, None]) @ np.linalg.inv(xpx)
    return fitted, linear_rep


def _propensity(d, x, w):
    """Logit propensity score (clipped below 1 as DRDID does) and its asymptotic linear representation."""
    ps = _logit(x, d, w)
    if ps is None:
        return None
    ps = np.minimum(ps, 1 - 1e-6)
    hessian = np.linalg.inv(x.T @ (x * (ps * (1 - ps) * w)[:, None])) * len(d)
    return ps, (x * (w * (d - ps))[:, None]) @ hessian


def _dr_cell(dy, d, x, w):
    """DRDID::drdid_panel: Sant'Anna & Zhao's doubly robust DiD and its influence function."""
    ols, score = _control_ols(dy, d, x, w), _propensity(d, x, w)
    if ols is None or score is None:
        return None
    (out, lin_ols), (ps, lin_ps) = ols, score
    trim = np.where(d == 1, True, ps < _TRIM_LEVEL)
    w_t = trim * w * d
    w_c = trim * w * ps * (1 - d) / (1 - ps)
    eta_t = np.mean(w_t * (dy - out)) / np.mean(w_t)
    eta_c = np.mean(w_c * (dy - out)) / np.mean(w_c)
    inf_t = (w_t * (dy - out) - w_t * eta_t - lin_ols @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - out - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_c[:, None] * x, axis=0)
    inf_c = (w_c * (dy - out) - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_c)
    return float(eta_t - eta_c), inf_t - inf_c


def _reg_cell(dy, d, x, w):
    """DRDID::reg_did_panel: outcome-regression DiD (Heckman, Ichimura & Todd) and its influence function."""
    ols = _control_ols(dy, d, x, w)
    if ols is None:
        return None
    out, lin_ols = ols
    w_t = w * d
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_t * out) / np.mean(w_t)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    inf_c = (w_t * out - w_t * eta_c + lin_ols @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    return float(eta_t - eta_c), inf_t - inf_c


def _ipw_cell(dy, d, x, w):
    """DRDID::std_ipw_did_panel: Abadie's IPW DiD with normalised weights and its influence function."""
    score = _propensity(d, x, w)
    if score is None:
        return None
    ps, lin_ps = score
    trim = np.where(d == 1, True, ps < _TRIM_LEVEL)
    w_t = trim * w * d
    w_c = trim * w * ps * (1 - d) / (1 - ps)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_c * dy) / np.mean(w_c)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - eta_c))[:, None] * x, axis=0)
    inf_c = (w_c * dy - w_c * eta_c + lin_ps @ m2) / np.mean(w_c)
    return float(eta_t - eta_c), inf_t - inf_c


_CELL_ESTIMATORS = {"dr": _dr_cell, "reg": _reg_cell, "ipw": _ipw_cell}


def _unconditional_cell(dy, d, w):
    """Weighted difference in mean changes: what every est_method gives with an intercept only."""
    treated, control = d == 1, d == 0
    mean_t = np.average(dy[treated], weights=w[treated])
    mean_c = np.average(dy[control], weights=w[control])
    n = len(d)
    inf = np.zeros(n)
    inf[treated] = n * w[treated] * (dy[treated] - mean_t) / w[treated].sum()
    inf[control] = -n * w[control] * (dy[control] - mean_c) / w[control].sum()
    return float(mean_t - mean_c), inf


# ----------------------------------------------------------------------------
# Group-time ATTs
# ----------------------------------------------------------------------------


@dataclass
class _Cell:
    group: int
    time: int
    att: float
    influence: np.ndarray  # per unit, on the full-sample scale (zero for units not used)
    n_group: int
    n_control: int
    normalised: bool = False  # the universal base period itself: ATT fixed at 0
    dropped_covariates: tuple[str, ...] = ()  # constant among the cell's units, left out


def _base_index(periods: np.ndarray, g: int, t_idx: int, base_period: str, anticipation: int) -> int | None:
    """Index of the comparison period for cell (g, periods[t_idx]), as in R did's compute.att_gt."""
    last_untreated = np.flatnonzero(periods + anticipation < g)
    if last_untreated.size == 0:
        return None
    universal = last_untreated[-1]
    if base_period == "universal" or periods[t_idx] >= g:
        return int(universal)
    return t_idx - 1 if t_idx > 0 else None  # varying: the period just before t


def _cell_units(panel: _Panel, g: int, t_idx: int, b_idx: int, control_group: str, anticipation: int):
    """Masks of the cohort-g and comparison units usable in cell (g, t): outcome seen in both periods,
    covariates seen in the earlier one (whose values R did uses)."""
    change = panel.y[:, t_idx] - panel.y[:, b_idx]
    x = panel.x[:, min(t_idx, b_idx), :]
    usable = np.isfinite(change) & np.isfinite(x).all(axis=1)  # "panel, complete pairs"
    treated = usable & (panel.cohort == g)
    if control_group == "never_treated":
        control = usable & (panel.cohort == 0)
    else:
        # Not yet treated (nor anticipating) in either period of the comparison.
        latest = int(max(panel.periods[t_idx], panel.periods[b_idx]))
        not_yet = (panel.cohort > latest + anticipation) & (panel.cohort != g)
        control = usable & ((panel.cohort == 0) | not_yet)
    return change, x, treated, control


def _did_cell(panel: _Panel, g: int, t_idx: int, b_idx: int, control_group: str,
              anticipation: int, est_method: str) -> _Cell | str:
    """One 2x2 DiD between periods b and t, with its influence function.

    The cell's estimator runs on its own units (n_cell of them), as R's DRDID call does; its
    influence function is then rescaled by n / n_cell to the whole sample of n units (zero for
    units not in the cell), as compute.att_gt does. Returns the reason instead when the cell
    cannot be estimated.
    """
    t = int(panel.periods[t_idx])
    change, x, treated, control = _cell_units(panel, g, t_idx, b_idx, control_group, anticipation)
    n_g, n_c = int(treated.sum()), int(control.sum())
    if n_g == 0 or n_c == 0:
        who = f"units of cohort {g}" if n_g == 0 else "comparison units"
        return f"no {who} observed in both {int(panel.periods[b_idx])} and {t}"
    used = treated | control
    dy, d, w, x = change[used], treated[used].astype(float), panel.weight[used], x[used]
    if w[d == 1].sum() <= 0 or w[d == 0].sum() <= 0:
        return "every cohort or every comparison unit has weight zero"
    # A covariate with one value in the cell adjusts for nothing and would make the design singular.
    varies = np.ptp(x, axis=0) > 0 if x.shape[1] else np.zeros(0, bool)
    dropped = tuple(c for c, v in zip(panel.covariates, varies, strict=True) if not v)
    if varies.any():
        fit = _covariate_cell(dy, d, np.column_stack([np.ones(len(d)), x[:, varies]]), w, est_method)
        if isinstance(fit, str):
            return fit
    else:
        fit = _unconditional_cell(dy, d, w)
    att, cell_influence = fit
    n = len(change)
    influence = np.zeros(n)
    influence[used] = n / used.sum() * cell_influence
    return _Cell(group=g, time=t, att=att, influence=influence, n_group=n_g, n_control=n_c,
                 dropped_covariates=dropped)


def _covariate_cell(dy, d, x, w, est_method):
    """DRDID on the cell (weights normalised to mean 1, as DRDID does), after R did's overlap check."""
    if np.linalg.matrix_rank(x[d == 0]) < x.shape[1]:
        return "the covariates are collinear among the comparison units"
    if est_method in ("dr", "ipw"):
        ps = _logit(x, d, np.ones(len(d)))  # R's check fits an unweighted logit
        if ps is None or ps.max() >= _OVERLAP_LIMIT:
            return ("overlap fails: the covariates predict cohort membership almost perfectly "
                    f"(propensity score >= {_OVERLAP_LIMIT})")
    fit = _CELL_ESTIMATORS[est_method](dy, d, x, w / w.mean())
    if fit is None:
        return "the propensity score model did not converge"
    return fit


def _group_time_cells(panel: _Panel, control_group: str, base_period: str,
                      anticipation: int, est_method: str) -> tuple[list[_Cell], list[str]]:
    periods, notes = panel.periods, []
    cohorts = np.unique(panel.cohort[panel.cohort > 0])
    cell_periods = np.arange(len(periods))
    if control_group == "not_yet_treated" and not (panel.cohort == 0).any():
        # As R did: with no never-treated units the last cohort only ever serves as a comparison,
        # and periods from its (anticipated) start on have no comparison units left.
        last = cohorts.max()
        cohorts = cohorts[cohorts < last]
        cell_periods = cell_periods[periods < last - anticipation]
        notes.append(f"No never-treated units: cohort {int(last)} is used only as a comparison group, "
                     f"and periods from {int(last - anticipation)} on are not estimated.")
    if base_period == "varying":
        cell_periods = cell_periods[cell_periods > 0]  # the first period has no period before it

    cells = []
    for g in cohorts:
        for t_idx in cell_periods:
            b_idx = _base_index(periods, int(g), int(t_idx), base_period, anticipation)
            if b_idx is None:
                continue
            if b_idx == t_idx:  # universal base period: the reference cell, 0 by construction
                cells.append(_Cell(int(g), int(periods[t_idx]), 0.0, np.zeros(len(panel.cohort)),
                                   int((panel.cohort == g).sum()), 0, normalised=True))
                continue
            cell = _did_cell(panel, int(g), int(t_idx), b_idx, control_group, anticipation, est_method)
            if isinstance(cell, str):
                notes.append(f"ATT({int(g)},{int(periods[t_idx])}) not estimated: {cell}.")
                continue
            cells.append(cell)
    return cells, notes + _dropped_covariate_notes(cells, panel.covariates)


def _dropped_covariate_notes(cells: list[_Cell], covariates: tuple[str, ...]) -> list[str]:
    notes = []
    for c in covariates:
        where = [f"ATT({cell.group},{cell.time})" for cell in cells if c in cell.dropped_covariates]
        if where:
            notes.append(f"Covariate '{c}' takes one value among all units of {', '.join(where)}, so it was "
                         "left out of those cells (it cannot adjust for anything there).")
    return notes


# ----------------------------------------------------------------------------
# Inference
# ----------------------------------------------------------------------------


class _Inference:
    """Variances from influence functions: the sum over units (or clusters) of squared sums, over n^2."""

    def __init__(self, n: int, cluster: np.ndarray | None):
        self.n, self.cluster = n, cluster

    def _sums(self, influence: np.ndarray) -> np.ndarray:
        if self.cluster is None:
            return influence
        # Units in one cluster are not independent: their influences add before squaring.
        sums = np.zeros((self.cluster.max() + 1,) + influence.shape[1:])
        np.add.at(sums, self.cluster, influence)
        return sums

    def covariance(self, influence: np.ndarray) -> np.ndarray:
        s = self._sums(influence)
        return s.T @ s / self.n**2

    def std_error(self, influence: np.ndarray) -> float:
        se = float(np.sqrt(np.sum(self._sums(influence) ** 2)) / self.n)
        return se if se > _ZERO_SE else math.nan


def _interval(estimate: float, se: float) -> tuple[float, float]:
    if not math.isfinite(se):
        return (math.nan, math.nan)
    return (estimate - Z_95 * se, estimate + Z_95 * se)


def _aggregate(label: str, estimate: float, influence: np.ndarray, inference: _Inference) -> Aggregate:
    se = inference.std_error(influence)
    return Aggregate(label, float(estimate), se, *_interval(estimate, se))


@dataclass
class _Shares:
    """The sample shares P(G = g) that weight the cells of an aggregation (R's pg), per unit."""

    unit_cohort: np.ndarray
    unit_weight: np.ndarray  # sampling weights: the shares are weighted means, as R did's pg

    def of(self, g: int) -> float:
        return float(np.mean(self.unit_weight * (self.unit_cohort == g)))

    def influence(self, term_cohorts: np.ndarray, shares: np.ndarray) -> np.ndarray:
        """Influence of estimating the weights shares / sum(shares) from the sample (R did's `wif`).

        Each share is the (weighted) sample fraction of units in that term's cohort, so its own
        influence is w_i 1{cohort_i = g} - share; the ratio's follows by the delta method.
        """
        indicator = self.unit_cohort[:, None] == term_cohorts[None, :]
        deviation = self.unit_weight[:, None] * indicator - shares[None, :]
        total = shares.sum()
        return deviation / total - deviation.sum(axis=1, keepdims=True) * shares[None, :] / total**2


def _weighted_by_cohort_size(att, influence, cohorts, shares, share_model: _Shares):
    """Estimate and influence function of sum_k share_k att_k / sum_k share_k, weights estimated."""
    weights = shares / shares.sum()
    estimate = float(weights @ att)
    total_influence = influence @ weights + share_model.influence(cohorts, shares) @ att
    return estimate, total_influence


# ----------------------------------------------------------------------------
# Aggregations (R did's aggte)
# ----------------------------------------------------------------------------


def _cohort_weighted(label, idx, cells, influence, shares, share_model, inference):
    att = np.array([cells[k].att for k in idx])
    cohorts = np.array([cells[k].group for k in idx])
    estimate, inf = _weighted_by_cohort_size(att, influence[:, idx], cohorts, shares[idx], share_model)
    return _aggregate(label, estimate, inf, inference), inf


def _simple(cells, influence, shares, share_model, inference) -> tuple[Aggregate, np.ndarray]:
    post = [k for k, c in enumerate(cells) if c.time >= c.group]
    if not post:
        return Aggregate("simple", math.nan, math.nan, math.nan, math.nan), np.zeros(len(influence))
    return _cohort_weighted("simple", post, cells, influence, shares, share_model, inference)


def _by_group(cells, influence, share_model, inference) -> tuple[Aggregate, ...]:
    """Each cohort's mean post-treatment ATT, then their cohort-size-weighted average."""
    groups = sorted({c.group for c in cells if c.time >= c.group})
    out, atts, infs = [], [], []
    for g in groups:
        post = [k for k, c in enumerate(cells) if c.group == g and c.time >= g]
        att_g = float(np.mean([cells[k].att for k in post]))
        inf_g = influence[:, post].mean(axis=1)  # fixed equal weights: nothing estimated
        out.append(_aggregate(f"g={g}", att_g, inf_g, inference))
        atts.append(att_g)
        infs.append(inf_g)
    if not groups:
        return ()
    # R did (compute.aggte, type "group") passes the per-(g,t) `group` vector to wif here, so the
    # indicators all name the first cohort; we use the cohorts the weights are built from, as
    # moderndid does. On mpdta the overall SE is 0.012446 this way and 0.012415 R's way (both
    # print as 0.0124).
    shares = np.array([share_model.of(g) for g in groups])
    estimate, inf = _weighted_by_cohort_size(np.array(atts), np.column_stack(infs),
                                             np.array(groups), shares, share_model)
    out.append(_aggregate("overall", estimate, inf, inference))
    return tuple(out)


def _by_event_time(cells, influence, shares, share_model, inference) -> tuple[Aggregate, ...]:
    """Average ATT at each length of exposure e = t - g (negative e: placebo leads)."""
    event = np.array([c.time - c.group for c in cells])
    out, post_estimates, post_infs = [], [], []
    for e in np.unique(event):
        agg, inf = _cohort_weighted(f"e={int(e)}", np.flatnonzero(event == e), cells, influence, shares,
                                    share_model, inference)
        out.append(agg)
        if e >= 0:
            post_estimates.append(agg.estimate)
            post_infs.append(inf)
    if post_estimates:
        # As R did: the plain mean over event times e >= 0; no weights to estimate.
        out.append(_aggregate("overall", float(np.mean(post_estimates)),
                              np.column_stack(post_infs).mean(axis=1), inference))
    return tuple(out)


def _by_calendar_time(cells, influence, shares, share_model, inference) -> tuple[Aggregate, ...]:
    """Average post-treatment ATT in each calendar period over the cohorts treated by then (aggte "calendar").

    Each period's cohorts are weighted by their size (with the `wif` term, as R); the overall
    is the plain mean over periods, with no weights to estimate.
    """
    post = np.array([c.time >= c.group for c in cells])
    times = np.array([c.time for c in cells])
    out, estimates, infs = [], [], []
    for t in np.unique(times[post]):
        agg, inf = _cohort_weighted(f"t={int(t)}", np.flatnonzero(post & (times == t)), cells, influence,
                                    shares, share_model, inference)
        out.append(agg)
        estimates.append(agg.estimate)
        infs.append(inf)
    if estimates:
        out.append(_aggregate("overall", float(np.mean(estimates)), np.column_stack(infs).mean(axis=1),
                              inference))
    return tuple(out)


def _wald(estimates: np.ndarray, cov: np.ndarray, n_clusters: int | None) -> tuple[float, int, float] | None:
    """Wald statistic of estimates = 0, its df and p-value (chi-square; Hotelling F when clustered).

    With few clusters the chi-square reference over-rejects badly (about 30% at 16 clusters and
    3 restrictions in our simulations): the covariance is an average of only G cluster sums.
    Hotelling's T-squared gives the exact small-sample scaling. A singular covariance (e.g.
    fewer clusters than restrictions) uses the Moore-Penrose inverse with df = its rank.
    """
    rank = int(np.linalg.matrix_rank(cov))
    if rank == 0:
        return None
    statistic = float(estimates @ np.linalg.pinv(cov, hermitian=True) @ estimates)
    if n_clusters is None:
        return statistic, rank, float(stats.chi2.sf(statistic, rank))
    if n_clusters <= rank:
        return None  # fewer clusters than restrictions: no valid joint test exists
    f = statistic * (n_clusters - rank) / (rank * (n_clusters - 1))
    return statistic, rank, float(stats.f.sf(f, rank, n_clusters - rank))


def _pre_trend_test(cells, influence, inference) -> PreTrendTest | None:
    """Wald test of all pre-treatment ATT(g,t) = 0, as in R did's att_gt.

    Cells with no variance (the universal base period) are left out, as R does. When the
    covariance is singular the Moore-Penrose inverse is used with df = its rank; R reports no
    test in that case.
    """
    pre = [k for k, c in enumerate(cells) if c.time < c.group and not c.normalised]
    if not pre:
        return None
    att = np.array([cells[k].att for k in pre])
    cov = inference.covariance(influence[:, pre])
    keep = np.diag(cov) > _ZERO_SE**2
    if not keep.any():
        return None
    n_clusters = None if inference.cluster is None else int(inference.cluster.max() + 1)
    test = _wald(att[keep], cov[np.ix_(keep, keep)], n_clusters)
    return None if test is None else PreTrendTest(*test)


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------


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
    return _fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome, cluster=cluster,
                control_group=control_group, base_period=base_period, anticipation=anticipation,
                covariates=covariates, est_method=est_method, weights=weights).result


@dataclass
class _Fit:
    result: StaggeredResult
    panel: _Panel
    simple_influence: np.ndarray  # per unit of panel.units, on the n = len(panel.units) scale


def _fit(df, *, unit, time, first_treated, outcome, cluster, control_group, base_period,
         anticipation, covariates=(), est_method="dr", weights=None) -> _Fit:
    if base_period not in BASE_PERIODS:
        raise ValueError(f"base_period must be one of {BASE_PERIODS}, not {base_period!r}.")
    if est_method not in EST_METHODS:
        raise ValueError(f"est_method must be one of {EST_METHODS}, not {est_method!r}.")
    covariates = _covariate_list(covariates, {"unit": unit, "time": time, "first-treated": first_treated,
                                              "outcome": outcome, "cluster": cluster, "weights": weights})
    panel = _prepare_panel(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome,
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

    cells, cell_notes = _group_time_cells(panel, control_group, base_period, anticipation, est_method)
    if not cells:
        raise ValueError("No group-time effect could be estimated: no cohort has both a base period "
                         "and comparison units observed in the same periods"
                         + (f" ({cell_notes[0]})" if cell_notes else "") + ".")
    influence = np.column_stack([c.influence for c in cells])
    inference = _Inference(n, panel.cluster)

    # Cohort shares of the whole sample (weighted): the weights R did gives each ATT(g,t).
    share_model = _Shares(panel.cohort, panel.weight)
    shares = np.array([share_model.of(c.group) for c in cells])

    group_time = []
    for k, c in enumerate(cells):
        se = math.nan if c.normalised else inference.std_error(influence[:, k])
        group_time.append(GroupTimeATT(c.group, c.time, c.att, se, *_interval(c.att, se),
                                       c.n_group, c.n_control, c.time < c.group))

    simple, simple_influence = _simple(cells, influence, shares, share_model, inference)
    result = StaggeredResult(
        group_time=tuple(group_time),
        simple=simple,
        by_group=_by_group(cells, influence, share_model, inference),
        by_event_time=_by_event_time(cells, influence, shares, share_model, inference),
        by_calendar_time=_by_calendar_time(cells, influence, shares, share_model, inference),
        pre_trend_test=_pre_trend_test(cells, influence, inference),
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
    return _Fit(result, panel, simple_influence)


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
    fit = _fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome, cluster=cluster,
               control_group=control_group, base_period="varying", anticipation=0,
               covariates=covariates, est_method=est_method, weights=weights)
    return _effect_estimate(fit, outcome=outcome, units=units), fit.result


def _effect_estimate(fit: _Fit, *, outcome: str, units: str, subgroup: str = "all") -> EffectEstimate:
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


def _treated_and_comparison(panel: _Panel, result: StaggeredResult) -> tuple[np.ndarray, np.ndarray]:
    """Masks over units: cohorts with an estimated effect, and the units they were compared with."""
    post = [(c.group, c.time) for c in result.group_time if not c.pre_treatment]
    cohort = panel.cohort
    treated = np.isin(cohort, [g for g, _ in post])
    comparison = cohort == 0
    if result.control_group == "not_yet_treated":
        for g, t in post:
            comparison |= (cohort > t + result.anticipation) & (cohort != g)
    return treated, comparison


# ----------------------------------------------------------------------------
# Effect modifiers
# ----------------------------------------------------------------------------


def staggered_by_modifier(df: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                          modifier: str, cluster: str | None = None, control_group: str = "never_treated",
                          units: str = "scale points", covariates: list[str] | tuple[str, ...] = (),
                          est_method: str = "dr", weights: str | None = None) -> ModifierResult:
    """The simple aggregate ATT at each level of a unit-level modifier, and a test that they are equal.

    Each level is estimated on its own units, exactly as `staggered_effect` (group-time effects
    within the level, aggregated with the level's cohort sizes); see the module docstring for
    why. `modifier` must be constant within a unit; units with no value are left out and
    counted. Levels with fewer than 10 treated or 10 comparison units (as counted by
    `staggered_effect`), or whose fit fails, are returned in `skipped` with the reason.

    The equality test is a Wald test that all estimated levels' effects are equal (df = levels
    - 1): chi-square, or Hotelling's F when clustered, from the covariance of the levels'
    influence functions summed within clusters across levels.
    """
    _require_columns(df, {"modifier": modifier, "unit": unit})
    if modifier in (unit, time, first_treated, outcome):
        raise ValueError(f"Column '{modifier}' is already the unit, time, first-treated or outcome column; "
                         "the modifier must be a column of its own.")
    per_unit = _unit_constant(df, unit, modifier, "a person's modifier level does not change")
    missing = per_unit.isna()
    levels = sorted(pd.unique(per_unit[~missing]), key=str)
    common = dict(outcome=outcome, unit=unit, time=time, first_treated=first_treated, cluster=cluster,
                  control_group=control_group, covariates=covariates, est_method=est_method, weights=weights)
    estimated, skipped, fits = [], [], []
    for level in levels:
        label = _label(level)
        part = df[df[unit].isin(per_unit.index[per_unit == level])]
        try:
            fit = _fit(part, base_period="varying", anticipation=0, **common)
        except ValueError as error:
            skipped.append(SkippedLevel(label, f"not estimated: {error}"))
            continue
        effect = _effect_estimate(fit, outcome=outcome, units=units, subgroup=f"{modifier}={label}")
        small = [side for side, n in (("treated", effect.n_treated), ("comparison", effect.n_comparison))
                 if n < MIN_UNITS_PER_LEVEL]
        if small:
            skipped.append(SkippedLevel(label, f"not estimated: fewer than {MIN_UNITS_PER_LEVEL} "
                                               f"{' and '.join(small)} units (the disclosure threshold)"))
            continue
        estimated.append(ModifierLevelEffect(label, effect, fit.result))
        fits.append(fit)
    n_clusters, test = _equal_effects_test(modifier, estimated, fits, df, unit, cluster)
    return ModifierResult(outcome=outcome, modifier=modifier, levels=tuple(estimated), skipped=tuple(skipped),
                          equality_test=test, n_clusters=n_clusters, n_units_missing_modifier=int(missing.sum()),
                          notes=_missing_modifier_note(modifier, int(missing.sum())))


def _label(level) -> str:
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return str(int(level))
    return str(level)


def _missing_modifier_note(modifier: str, n_missing: int) -> tuple[str, ...]:
    if not n_missing:
        return ()
    shown = str(n_missing) if n_missing >= MIN_UNITS_PER_LEVEL else f"Fewer than {MIN_UNITS_PER_LEVEL}"
    return (f"{shown} units with no recorded {modifier} were not used for the {modifier} levels.",)


def _joint_influence(fits: list[_Fit]) -> tuple[pd.Index, np.ndarray]:
    """Each level's simple-ATT influence function laid over the union of all levels' units.

    A level's estimate over n_l units has variance sum(psi^2) / n_l^2; psi / n_l per unit (zero
    outside the level) keeps that scale, so covariances are sums of cross products.
    """
    ids = pd.Index(np.concatenate([np.asarray(f.panel.units, dtype=object) for f in fits]))
    joint = np.zeros((len(ids), len(fits)))
    start = 0
    for k, f in enumerate(fits):
        n_k = len(f.panel.units)
        joint[start:start + n_k, k] = f.simple_influence / n_k
        start += n_k
    return ids, joint


def _equal_effects_test(modifier, estimated, fits, df, unit, cluster):
    n_clusters = None
    if cluster is not None and fits:
        n_clusters = int(pd.concat([df.loc[df[unit].isin(f.panel.units), cluster] for f in fits]).nunique())
    if len(fits) < 2:
        return n_clusters, None
    ids, joint = _joint_influence(fits)
    if cluster is None:
        sums = joint  # units are independent and belong to one level each
    else:
        labels = df.drop_duplicates(unit).set_index(unit)[cluster].reindex(ids)
        codes = pd.factorize(labels)[0]
        sums = np.zeros((codes.max() + 1, joint.shape[1]))
        np.add.at(sums, codes, joint)
    cov = sums.T @ sums
    estimates = np.array([e.effect.estimate for e in estimated])
    contrast = np.eye(len(estimates))[1:] - np.eye(len(estimates))[0]  # each level minus the first
    test = _wald(contrast @ estimates, contrast @ cov @ contrast.T, n_clusters)
    if test is None:
        return n_clusters, None
    statistic, df_test, p_value = test
    reference = "Hotelling F, clustered" if cluster is not None else "chi-square"
    return n_clusters, HeterogeneityTest(
        modifier=modifier, statistic=statistic, df=df_test, p_value=p_value,
        method=f"Wald test that the Callaway-Sant'Anna ATTs are equal across {modifier} levels "
               f"(joint influence functions, {reference})")
