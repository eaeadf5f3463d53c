"""Diagnostics as `run_diagnostics` produces them: exact figures for the rating, kept in the
warehouse (never published as they are; the record publishes them through disclosure control)."""
from __future__ import annotations

from typing import Literal

from evaluations.record_model.disclosed import PublishedCount, Strict


class BalanceRow(Strict):
    """Means and standardised difference of one variable at baseline, with the people behind them."""
    variable: str
    mean_treated: float | None
    mean_comparison: float | None
    smd: float | None
    n_treated: int
    n_comparison: int
    smallest_category: int | None  # a 0/1 variable: the fewest people with one value in one group


class BalanceAfterRow(Strict):
    """Balance before and after the estimator's weights (a love plot's data)."""
    variable: str
    mean_treated: float | None
    mean_comparison_before: float | None
    mean_comparison_after: float | None
    smd_before: float | None
    smd_after: float | None
    n_treated: int
    n_comparison: int
    smallest_category: int | None


class GroupAttrition(Strict):
    baseline: int
    follow_up: int
    both: int
    baseline_only: int
    follow_up_only: int
    attrition_rate: float | None  # None: not defined (no one at baseline, or different people each wave)


class Attrition(Strict):
    programme: GroupAttrition
    comparison: GroupAttrition
    overall_attrition: float | None
    applies: bool  # False: different people answered each wave, so no one could drop out
    differential_attrition: float | None


class PreTrendTest(Strict):
    """A joint test (a pre-trend test)."""
    statistic: float | None
    df: int
    p_value: float


class HeterogeneityTest(Strict):
    """Do effects differ between the levels of one modifier?"""
    outcome: str
    modifier: str
    statistic: float | None
    df: int
    p_value: float | None
    method: str | None


class HeterogeneityCheck(HeterogeneityTest):
    """The DiD interaction test beside the published one: do they reach the same verdict at 5%?"""
    same_verdict_as_published: bool | None


class SkippedSubgroup(Strict):
    outcome: str
    subgroup: str
    reason: str


class Histogram(Strict):
    """Propensity scores on merged bins: every bar 0 or at least 10 people, or all None (`suppressed`)."""
    edges: list[float]
    programme: list[int | None]
    comparison: list[int | None]
    bins_before_merging: int
    min_count: int
    suppressed: bool


class OverlapCounts(Strict):
    programme: PublishedCount
    comparison: PublishedCount
    rule: str


class Overlap(Strict):
    """Propensity-score overlap of the sample analysed for the primary outcome (diagnostics/overlap.py)."""
    covariates: list[str]
    histogram: Histogram
    outside_support: OverlapCounts
    trimmed: OverlapCounts
    limited: bool
    limited_by: list[Literal["outside_support", "trimmed"]]
    reasons: list[str]
    sample: str
    applies: bool  # whether the design's comparison rests on it (else shown for information)


class Refutation(Strict):
    """One DoWhy refutation of an estimate."""
    name: str
    outcome: str
    verdict: Literal["passed", "failed"]
    new_effect: float | None
    original_effect: float | None
    p_value: float | None
    explanation: str
    n_simulations: int


class Diagnostics(Strict):
    """Everything the rating and the record need to judge an estimate (diagnostics.run_diagnostics)."""
    balance: list[BalanceRow]
    max_abs_smd_covariates: float | None  # over every covariate, small groups included: feeds the rating only
    imbalance_threshold: float
    attrition: Attrition
    n_clusters: int | None
    mdes_planned: float | None
    mdes_achieved: dict[str, float | None]  # by outcome
    pre_trend_tests: dict[str, PreTrendTest]  # by outcome
    heterogeneity_tests: list[HeterogeneityTest]
    heterogeneity_checks: list[HeterogeneityCheck]
    subgroups_skipped: list[SkippedSubgroup]
    overlap: Overlap | None
    balance_after: list[BalanceAfterRow]
    balance_after_weights: str | None  # what the weights were, in words
    max_abs_smd_covariates_after: float | None
    refutations: list[Refutation]
    failed_refutations: list[str]
