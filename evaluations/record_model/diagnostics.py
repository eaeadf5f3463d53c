"""Diagnostics as `run_diagnostics` produces them: exact figures for the rating, kept in the
warehouse (never published as they are; the record publishes them through disclosure control)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from evaluations.record_model.disclosed import NotShown, PublishedCount, Strict

# why a response-weighted estimate was not made (diagnostics/response_weighting.py words each one)
NotEstimated = Literal["unweighted_estimator", "too_few_answered", "response_model_failed", "extreme_weights",
                       "estimator_refused"]


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


class Benchmark(Strict):
    """A hidden confounder as strong as the strongest covariate measured (Cinelli & Hazlett 2020; sensemakr's
    bounds with kd = ky = 1): the covariate whose like would bias the estimate most (evaluations/sensitivity)."""
    covariate: str  # the registered column: the charity's words
    r2_treatment: float  # partial R2 such a confounder has with taking part, given the covariates (R2 D~Z|X)
    r2_outcome: float  # ... and with the outcome, given taking part and the covariates (R2 Y~Z|D,X)
    adjusted_estimate: float  # the estimate after removing the largest bias it could cause
    times_as_strong: float | None  # a confounder this many times as strong brings the estimate to zero; None: none can


class Robustness(Strict):
    """How strong hidden confounding would have to be, in the refitted regression (Cinelli & Hazlett 2020)."""
    partial_r2: float  # of taking part with the outcome, given the covariates (R2 Y~D|X)
    robustness_value: float  # RV_{q=1}: the partial R2 with both taking part and the outcome that explains it away
    robustness_value_alpha: float | None  # RV_{q=1,alpha=0.05}: ... that makes it not significant; None with clusters
    benchmark: Benchmark | None  # None: no covariate could be benchmarked


class HiddenBias(Strict):
    """Sensitivity of one overall effect to hidden bias (evaluations/sensitivity/hidden_bias.py)."""
    e_value: float | None  # VanderWeele & Ding, for the standardised effect (None: no effect size)
    e_value_limit: float | None  # for the interval limit nearer no effect; 1: the interval includes no effect
    # regression-based estimates only; NOT_SHOWN in a published record beside a hidden group size, where with
    # the estimate it would give back the regression's degrees of freedom, and so that group's size
    robustness: Robustness | None | NotShown


class EquivalenceRow(Strict):
    """One characteristic judged by the WWC baseline-equivalence rule (diagnostics/equivalence.py)."""
    variable: str  # a covariate, or the primary outcome (its baseline measure)
    kind: Literal["covariate", "baseline outcome"]
    g: float | None  # Hedges' g (Cox index for a 0/1 characteristic) in the analytic sample; None: not computable
    adjusted: bool  # the estimator statistically adjusts for it
    verdict: Literal["satisfied", "satisfied_with_adjustment", "not_satisfied"] | None
    n_treated: int
    n_comparison: int
    smallest_category: int | None


class BaselineEquivalence(Strict):
    """The WWC rule over the people analysed for the primary outcome (weighted as the estimator weights them)."""
    rows: list[EquivalenceRow]
    verdict: Literal["satisfied", "satisfied_with_adjustment", "not_satisfied"] | None
    satisfies: float  # |g| at or below: satisfied
    adjustable: float  # |g| at or below: satisfied only with adjustment; above: not satisfied


class WwcAttrition(Strict):
    """Attrition judged against a What Works Clearinghouse boundary (diagnostics/attrition_boundary.py)."""
    boundary: Literal["cautious", "optimistic"]
    verdict: Literal["low", "high"]
    max_differential: float | None  # the most the groups' attrition may differ at this overall rate; None: beyond it


class AttritionBounds(Strict):
    """Lee (2009) bounds on one outcome's effect among people who would answer either way (diagnostics/lee_bounds.py)."""
    outcome: str
    compared: Literal["follow-up score", "change"]
    lower: float | None
    upper: float | None
    ci_low: float | None  # Imbens-Manski 95% interval for the effect
    ci_high: float | None
    se_lower: float | None
    se_upper: float | None
    response_programme: float  # weighted shares of those people with the follow-up answer
    response_comparison: float
    trimmed_group: Literal["programme", "comparison"] | None  # None: both groups answered alike
    sharp_share: float  # share of the trimmed group's answers the sharp bounds drop
    trimmed_share_lower: float
    trimmed_share_upper: float
    widened: bool  # at least 10 people trimmed (disclosure control): wider than the sharp bounds, still valid
    n_programme: int  # people at baseline (with a baseline answer, for a change)
    n_comparison: int
    responded_programme: int
    responded_comparison: int


class ResponseWeighting(Strict):
    """One primary outcome's estimate with the people who answered the follow-up weighted by 1 / their modelled
    chance of answering (diagnostics/response_weighting.py)."""
    outcome: str
    estimator: str
    estimate: float | None
    std_error: float | None  # allowing for the estimated response model
    std_error_known_weights: float | None  # treating the weights as known
    ci_low: float | None
    ci_high: float | None
    df: float | None
    smallest_probability: float | None  # the lowest modelled chance of answering among those who answered
    n_programme: int  # people who started (baseline outcome and covariates answered)
    n_comparison: int
    responded_programme: int
    responded_comparison: int
    not_estimated: NotEstimated | None  # why there is no estimate (the page words each reason)
    detail: str  # the estimator's own refusal (unpublished: it may quote counts)


class Diagnostics(Strict):
    """Everything the rating and the record need to judge an estimate (diagnostics.run_diagnostics)."""
    balance: list[BalanceRow]
    max_abs_smd_covariates: float | None  # over every covariate, small groups included: feeds the rating only
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
    baseline_equivalence: BaselineEquivalence | None  # None: no comparison group
    wwc_attrition: WwcAttrition | None  # None: attrition not defined, or the design is not judged by it
    attrition_bounds: list[AttritionBounds]  # by outcome, where people were lost (designs with bounds_attrition)
    response_weighting: list[ResponseWeighting] = Field(default_factory=list)  # primary outcomes, beside the bounds
    hidden_bias: dict[str, HiddenBias | None]  # by outcome; None: the design does not rest on covariates
