"""Callaway & Sant'Anna (2021) difference-in-differences for staggered adoption.

Programmes often start in different places at different times (a school-linking
scheme rolled out cohort by cohort). A two-way fixed-effects regression then
compares late adopters with early adopters that are already treated, and can give
weights of the wrong sign. Callaway & Sant'Anna avoid this: they estimate one
small 2x2 DiD per cohort ``g`` (units first treated in period ``g``) and period
``t``, always against units that are not treated (yet), and only then average
those ATT(g,t) into summaries.

This module follows the R package ``did`` (Callaway & Sant'Anna, ``att_gt`` and
``aggte``) for the unconditional case (no covariates, ``xformla = ~1``), with
analytic influence-function standard errors (``bstrap = FALSE``):

- ATT(g,t) = mean change of cohort g minus mean change of the comparison units,
  between the base period and t (``compute.att_gt``; with an intercept only the
  ``dr``, ``reg`` and ``ipw`` estimators all reduce to this).
- Standard errors come from per-unit influence functions, summed within clusters
  when a cluster column is given (as recent R ``did`` does analytically; no
  small-sample factor, normal critical values).
- Aggregations ("simple", "group", "dynamic") include the extra influence-function
  term from estimating the cohort-size weights (``wif`` in ``compute.aggte``).
- The pre-trend test is R's Wald test that all pre-treatment ATT(g,t) are zero,
  using the analytic covariance.

Why our own implementation rather than a library: the Python ports on PyPI in November 2026
were csdid 0.4.3 (which needs plotnine and twine at run time), differences 0.3.0 (polars)
and moderndid 0.2.0 (pre-1.0; polars, pyarrow, scipy >= 1.17). The unconditional estimator
is a few hundred lines of means and influence functions; writing it here keeps the
dependency set small (pandas must stay below 3 for DoWhy and dagster-duckdb-pandas), lets
the cluster-robust influence functions and the cohort counts for disclosure control sit in
one place, and tests/test_staggered.py pins it to R's published output on ``mpdta`` and to
moderndid, an independent port, to 1e-6.

Pure functions: a DataFrame in, frozen results out, no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evaluations.estimators.result import Z_95, EffectEstimate, hedges_g, normal_inference

CONTROL_GROUPS = ("never_treated", "not_yet_treated")
BASE_PERIODS = ("varying", "universal")

# R did reports a standard error this small as NA: it is a normalised cell, not an estimate.
_ZERO_SE = math.sqrt(np.finfo(float).eps) * 10


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
    pre_trend_test: PreTrendTest | None
    n_units: int
    n_clusters: int | None
    control_group: str = "never_treated"
    base_period: str = "varying"
    anticipation: int = 0
    n_units_treated_first_period: int = 0  # dropped, as R did does: they have no untreated period
    n_rows_missing_outcome: int = 0  # rows with no outcome value, not used
    n_units_without_outcome: int = 0  # units never observed with an outcome, dropped
    notes: tuple[str, ...] = ()


# ----------------------------------------------------------------------------
# Data preparation
# ----------------------------------------------------------------------------


@dataclass
class _Panel:
    periods: np.ndarray  # sorted distinct periods, shape (T,)
    y: np.ndarray  # outcome, units x periods, NaN where not observed
    cohort: np.ndarray  # first treated period per unit, 0 = never treated (within the panel)
    cluster: np.ndarray | None  # integer cluster code per unit
    n_dropped_first_period: int
    n_rows_missing: int
    n_units_without_outcome: int
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


def _prepare_panel(df, *, unit, time, first_treated, outcome, cluster, control_group, anticipation) -> _Panel:
    _require_columns(df, {"unit": unit, "time": time, "first-treated": first_treated,
                          "outcome": outcome, "cluster": cluster})
    if control_group not in CONTROL_GROUPS:
        raise ValueError(f"control_group must be one of {CONTROL_GROUPS}, not {control_group!r}.")
    if not (isinstance(anticipation, (int, np.integer)) and anticipation >= 0):
        raise ValueError(f"anticipation must be a whole number of periods >= 0, not {anticipation!r}.")

    cols = [unit, time, first_treated, outcome] + ([cluster] if cluster else [])
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

    cohort = _unit_constant(data, unit, first_treated, "treatment is never switched off")
    clusters = _unit_constant(data, unit, cluster, "a unit belongs to one cluster") if cluster else None
    if clusters is not None and clusters.isna().any():
        raise ValueError(f"Column '{cluster}' (cluster) has missing values.")

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

    cluster_codes = None
    if clusters is not None:
        cluster_codes = pd.factorize(clusters.loc[cohort.index])[0]
    return _Panel(periods=periods, y=wide.to_numpy(float), cohort=cohort.to_numpy(int),
                  cluster=cluster_codes, n_dropped_first_period=n_early, n_rows_missing=n_missing,
                  n_units_without_outcome=n_unseen, notes=notes)


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


def _base_index(periods: np.ndarray, g: int, t_idx: int, base_period: str, anticipation: int) -> int | None:
    """Index of the comparison period for cell (g, periods[t_idx]), as in R did's compute.att_gt."""
    last_untreated = np.flatnonzero(periods + anticipation < g)
    if last_untreated.size == 0:
        return None
    universal = last_untreated[-1]
    if base_period == "universal" or periods[t_idx] >= g:
        return int(universal)
    return t_idx - 1 if t_idx > 0 else None  # varying: the period just before t


def _did_cell(panel: _Panel, g: int, t_idx: int, b_idx: int, control_group: str,
              anticipation: int) -> _Cell | str:
    """One 2x2 DiD between periods b and t, with its influence function.

    With units i = 1..n, the estimate's influence function is
    n * [G_i (dY_i - mean_G) / n_G - C_i (dY_i - mean_C) / n_C]: R's DRDID influence
    function for the cell's subsample, rescaled by n / n_cell to the whole sample.
    Returns the reason instead when the cell cannot be estimated.
    """
    t = int(panel.periods[t_idx])
    change = panel.y[:, t_idx] - panel.y[:, b_idx]
    observed = np.isfinite(change)  # "panel, complete pairs": units seen in both periods
    treated = observed & (panel.cohort == g)
    if control_group == "never_treated":
        control = observed & (panel.cohort == 0)
    else:
        # Not yet treated (nor anticipating) in either period of the comparison.
        latest = int(max(panel.periods[t_idx], panel.periods[b_idx]))
        not_yet = (panel.cohort > latest + anticipation) & (panel.cohort != g)
        control = observed & ((panel.cohort == 0) | not_yet)
    n_g, n_c = int(treated.sum()), int(control.sum())
    if n_g == 0 or n_c == 0:
        who = f"units of cohort {g}" if n_g == 0 else "comparison units"
        return f"no {who} observed in both {int(panel.periods[b_idx])} and {t}"
    mean_g, mean_c = change[treated].mean(), change[control].mean()
    n = len(change)
    influence = np.zeros(n)
    influence[treated] = n * (change[treated] - mean_g) / n_g
    influence[control] = -n * (change[control] - mean_c) / n_c
    return _Cell(group=g, time=t, att=float(mean_g - mean_c), influence=influence, n_group=n_g, n_control=n_c)


def _group_time_cells(panel: _Panel, control_group: str, base_period: str,
                      anticipation: int) -> tuple[list[_Cell], list[str]]:
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
            cell = _did_cell(panel, int(g), int(t_idx), b_idx, control_group, anticipation)
            if isinstance(cell, str):
                notes.append(f"ATT({int(g)},{int(periods[t_idx])}) not estimated: {cell}.")
                continue
            cells.append(cell)
    return cells, notes


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


def _weight_influence(unit_cohort: np.ndarray, term_cohorts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights shares / sum(shares) from the sample (R did's `wif`).

    Each share is the sample fraction of units in that term's cohort, so its own
    influence is 1{cohort_i = g} - share; the ratio's influence follows by the delta method.
    """
    deviation = (unit_cohort[:, None] == term_cohorts[None, :]) - shares[None, :]
    total = shares.sum()
    return deviation / total - deviation.sum(axis=1, keepdims=True) * shares[None, :] / total**2


def _weighted_by_cohort_size(att, influence, cohorts, shares, unit_cohort):
    """Estimate and influence function of sum_k share_k att_k / sum_k share_k, weights estimated."""
    weights = shares / shares.sum()
    estimate = float(weights @ att)
    total_influence = influence @ weights + _weight_influence(unit_cohort, cohorts, shares) @ att
    return estimate, total_influence


# ----------------------------------------------------------------------------
# Aggregations (R did's aggte)
# ----------------------------------------------------------------------------


def _simple(cells, influence, shares, unit_cohort, inference) -> Aggregate:
    post = [k for k, c in enumerate(cells) if c.time >= c.group]
    if not post:
        return Aggregate("simple", math.nan, math.nan, math.nan, math.nan)
    att = np.array([cells[k].att for k in post])
    cohorts = np.array([cells[k].group for k in post])
    estimate, inf = _weighted_by_cohort_size(att, influence[:, post], cohorts, shares[post], unit_cohort)
    return _aggregate("simple", estimate, inf, inference)


def _by_group(cells, influence, cohort_share, unit_cohort, inference) -> tuple[Aggregate, ...]:
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
    # indicators all name the first cohort; we use the cohorts the weights are built from. On
    # mpdta the overall SE is 0.012446 this way and 0.012415 R's way (both print as 0.0124).
    shares = np.array([cohort_share[g] for g in groups])
    estimate, inf = _weighted_by_cohort_size(np.array(atts), np.column_stack(infs),
                                             np.array(groups), shares, unit_cohort)
    out.append(_aggregate("overall", estimate, inf, inference))
    return tuple(out)


def _by_event_time(cells, influence, shares, unit_cohort, inference) -> tuple[Aggregate, ...]:
    """Average ATT at each length of exposure e = t - g (negative e: placebo leads)."""
    event = np.array([c.time - c.group for c in cells])
    out, post_estimates, post_infs = [], [], []
    for e in np.unique(event):
        idx = np.flatnonzero(event == e)
        att = np.array([cells[k].att for k in idx])
        cohorts = np.array([cells[k].group for k in idx])
        estimate, inf = _weighted_by_cohort_size(att, influence[:, idx], cohorts, shares[idx], unit_cohort)
        out.append(_aggregate(f"e={int(e)}", estimate, inf, inference))
        if e >= 0:
            post_estimates.append(estimate)
            post_infs.append(inf)
    if post_estimates:
        # As R did: the plain mean over event times e >= 0; no weights to estimate.
        out.append(_aggregate("overall", float(np.mean(post_estimates)),
                              np.column_stack(post_infs).mean(axis=1), inference))
    return tuple(out)


def _pre_trend_test(cells, influence, inference) -> PreTrendTest | None:
    """Wald test of all pre-treatment ATT(g,t) = 0, as in R did's att_gt.

    Cells with no variance (the universal base period) are left out, as R does. When
    the covariance is singular (e.g. fewer clusters than cells) the Moore-Penrose
    inverse is used with df = its rank; R reports no test in that case.
    """
    pre = [k for k, c in enumerate(cells) if c.time < c.group and not c.normalised]
    if not pre:
        return None
    att = np.array([cells[k].att for k in pre])
    cov = inference.covariance(influence[:, pre])
    keep = np.diag(cov) > _ZERO_SE**2
    if not keep.any():
        return None
    att, cov = att[keep], cov[np.ix_(keep, keep)]
    rank = int(np.linalg.matrix_rank(cov))
    statistic = float(att @ np.linalg.pinv(cov, hermitian=True) @ att)
    if inference.cluster is not None:
        # With few clusters the chi-square reference over-rejects badly (about 30% at 16
        # clusters and 3 restrictions in our simulations): the covariance is an average of
        # only G cluster sums. Hotelling's T-squared gives the exact small-sample scaling.
        g = int(inference.cluster.max() + 1)
        if g <= rank:
            return None  # fewer clusters than restrictions: no valid joint test exists
        f = statistic * (g - rank) / (rank * (g - 1))
        return PreTrendTest(statistic=statistic, df=rank, p_value=float(stats.f.sf(f, rank, g - rank)))
    return PreTrendTest(statistic=statistic, df=rank, p_value=float(stats.chi2.sf(statistic, rank)))


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------


def callaway_santanna(df: pd.DataFrame, *, unit: str, time: str, first_treated: str, outcome: str,
                      cluster: str | None = None, control_group: str = "never_treated",
                      base_period: str = "varying", anticipation: int = 0) -> StaggeredResult:
    """Callaway & Sant'Anna (2021) group-time ATTs and their aggregations, without covariates.

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

    Unbalanced panels: each ATT(g,t) uses the units observed in both its base period and t
    ("panel, complete pairs"), and the influence functions stay at the unit level so
    covariances across cells remain valid. R ``did`` instead balances the panel by default
    (dropping every unit with a missing period), or with ``allow_unbalanced_panel = TRUE``
    treats the data as repeated cross-sections; on a balanced panel all three agree.

    Standard errors are analytic (R's ``bstrap = FALSE``) and intervals are pointwise 95%
    normal intervals, not R's default simultaneous bootstrap bands.
    """
    return _fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome, cluster=cluster,
                control_group=control_group, base_period=base_period, anticipation=anticipation)[0]


def _fit(df, *, unit, time, first_treated, outcome, cluster, control_group, base_period,
         anticipation) -> tuple[StaggeredResult, _Panel]:
    if base_period not in BASE_PERIODS:
        raise ValueError(f"base_period must be one of {BASE_PERIODS}, not {base_period!r}.")
    panel = _prepare_panel(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome,
                           cluster=cluster, control_group=control_group, anticipation=anticipation)
    n = len(panel.cohort)
    if not (panel.cohort > 0).any():
        raise ValueError(f"No treated units: column '{first_treated}' is 0 or missing for every unit "
                         "(after dropping units treated in the first period).")
    if control_group == "never_treated" and not (panel.cohort == 0).any():
        raise ValueError(f"No never-treated units (column '{first_treated}' is never 0 or missing), so "
                         "control_group='never_treated' has no comparison group. Use "
                         "control_group='not_yet_treated' or add never-treated units.")

    cells, cell_notes = _group_time_cells(panel, control_group, base_period, anticipation)
    if not cells:
        raise ValueError("No group-time effect could be estimated: no cohort has both a base period "
                         "and comparison units observed in the same periods.")
    influence = np.column_stack([c.influence for c in cells])
    inference = _Inference(n, panel.cluster)

    # Cohort shares of the whole sample: the weights R did gives each ATT(g,t).
    cohort_share = {int(g): float(np.mean(panel.cohort == g)) for g in np.unique(panel.cohort) if g > 0}
    shares = np.array([cohort_share[c.group] for c in cells])

    group_time = []
    for k, c in enumerate(cells):
        se = math.nan if c.normalised else inference.std_error(influence[:, k])
        group_time.append(GroupTimeATT(c.group, c.time, c.att, se, *_interval(c.att, se),
                                       c.n_group, c.n_control, c.time < c.group))

    result = StaggeredResult(
        group_time=tuple(group_time),
        simple=_simple(cells, influence, shares, panel.cohort, inference),
        by_group=_by_group(cells, influence, cohort_share, panel.cohort, inference),
        by_event_time=_by_event_time(cells, influence, shares, panel.cohort, inference),
        pre_trend_test=_pre_trend_test(cells, influence, inference),
        n_units=n,
        n_clusters=None if panel.cluster is None else int(panel.cluster.max() + 1),
        control_group=control_group,
        base_period=base_period,
        anticipation=anticipation,
        n_units_treated_first_period=panel.n_dropped_first_period,
        n_rows_missing_outcome=panel.n_rows_missing,
        n_units_without_outcome=panel.n_units_without_outcome,
        notes=tuple(panel.notes + cell_notes),
    )
    return result, panel


ASSUMPTIONS = (
    "Parallel trends: without the programme, each cohort's average outcome would have changed like "
    "the comparison units' (unconditionally, no covariates)",
    "No anticipation: outcomes do not respond before the period a unit first takes part",
    "Staggered adoption: once a unit starts the programme it stays treated (no reversal)",
    "No spill-overs: the programme did not change outcomes in the comparison units",
    "Adoption timing is not a response to shocks in the outcome",
)


def staggered_effect(df: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                     cluster: str | None = None, control_group: str = "never_treated",
                     units: str = "scale points") -> tuple[EffectEstimate, StaggeredResult]:
    """The overall ATT ("simple" aggregation) as the shared EffectEstimate, with the full result.

    n_treated counts units in cohorts with an estimated post-treatment effect; n_comparison
    counts never-treated units, or with not-yet-treated comparisons every unit that served as
    a comparison in some post-treatment cell (so a late cohort can count on both sides).
    Hedges' g standardises by the outcome's standard deviations in the first period for
    those two sets of units.
    """
    result, panel = _fit(df, unit=unit, time=time, first_treated=first_treated, outcome=outcome,
                         cluster=cluster, control_group=control_group, base_period="varying",
                         anticipation=0)
    treated, comparison = _treated_and_comparison(panel, result)
    baseline = panel.y[:, 0]
    sd_t, sd_c = _sd(baseline[treated]), _sd(baseline[comparison])

    simple = result.simple
    _, _, p_value = normal_inference(simple.estimate, simple.std_error)
    n_t, n_c = int(treated.sum()), int(comparison.sum())
    g, g_low, g_high = hedges_g(simple.estimate, (simple.ci_low, simple.ci_high), sd_t, sd_c, n_t, n_c)
    comparison_name = "never-treated" if control_group == "never_treated" else "not-yet-treated"
    estimate = EffectEstimate(
        outcome=outcome,
        estimand="ATT",
        estimator=f"Callaway-Sant'Anna DiD ({comparison_name} comparison)",
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
        n_clusters=result.n_clusters,
        assumptions=ASSUMPTIONS,
    )
    return estimate, result


def _sd(values: np.ndarray) -> float:
    observed = values[np.isfinite(values)]
    return float(observed.std(ddof=1)) if len(observed) > 1 else math.nan


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
