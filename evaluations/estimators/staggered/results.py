"""What a Callaway-Sant'Anna fit returns: frozen result types, and the option values they record.

The options are named here, next to the result fields that record them, so the panel, the
group-time cells and the estimator all check against one list.
"""
from __future__ import annotations

from dataclasses import dataclass

from evaluations.estimators.did import HeterogeneityTest
from evaluations.estimators.result import EffectEstimate


CONTROL_GROUPS = ("never_treated", "not_yet_treated")
BASE_PERIODS = ("varying", "universal")
EST_METHODS = ("dr", "reg", "ipw")


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
