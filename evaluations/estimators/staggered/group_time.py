"""The group-time cells ATT(g,t): which periods and units each 2x2 compares, as R did's compute.att_gt.

Each cell compares cohort g with units not treated (yet) between its base period and t: with
a varying base period pre-treatment cells compare t with t-1, post-treatment cells t with
g-1-anticipation; with a universal one every cell uses g-1-anticipation. A cell's covariates
are the units' values in the earlier of its two periods (the base period, except for
pre-treatment cells with a universal base period), exactly as R takes them. A covariate that
takes one value among all units of a cell cannot adjust for anything there: it is left out of
that cell (R instead returns NA for the cell) and the notes say so. Each cell's influence
function is rescaled to the whole sample, so covariances across cells remain valid.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluations.estimators.drdid import difference_in_mean_changes
from evaluations.estimators.staggered.adjustment import covariate_cell
from evaluations.estimators.staggered.panel import Panel


@dataclass
class Cell:
    """One ATT(g,t) with its influence function over every unit of the panel."""

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


def _cell_units(panel: Panel, g: int, t_idx: int, b_idx: int, control_group: str, anticipation: int):
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


def _did_cell(panel: Panel, g: int, t_idx: int, b_idx: int, control_group: str,
              anticipation: int, est_method: str) -> Cell | str:
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
        fit = covariate_cell(dy, d, np.column_stack([np.ones(len(d)), x[:, varies]]), w, est_method)
        if isinstance(fit, str):
            return fit
    else:
        fit = difference_in_mean_changes(dy, d, w)
    att, cell_influence = fit.att, fit.influence
    n = len(change)
    influence = np.zeros(n)
    influence[used] = n / used.sum() * cell_influence
    return Cell(group=g, time=t, att=att, influence=influence, n_group=n_g, n_control=n_c,
                dropped_covariates=dropped)


def group_time_cells(panel: Panel, control_group: str, base_period: str,
                     anticipation: int, est_method: str) -> tuple[list[Cell], list[str]]:
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
                cells.append(Cell(int(g), int(periods[t_idx]), 0.0, np.zeros(len(panel.cohort)),
                                  int((panel.cohort == g).sum()), 0, normalised=True))
                continue
            cell = _did_cell(panel, int(g), int(t_idx), b_idx, control_group, anticipation, est_method)
            if isinstance(cell, str):
                notes.append(f"ATT({int(g)},{int(periods[t_idx])}) not estimated: {cell}.")
                continue
            cells.append(cell)
    return cells, notes + _dropped_covariate_notes(cells, panel.covariates)


def _dropped_covariate_notes(cells: list[Cell], covariates: tuple[str, ...]) -> list[str]:
    notes = []
    for c in covariates:
        where = [f"ATT({cell.group},{cell.time})" for cell in cells if c in cell.dropped_covariates]
        if where:
            notes.append(f"Covariate '{c}' takes one value among all units of {', '.join(where)}, so it was "
                         "left out of those cells (it cannot adjust for anything there).")
    return notes
