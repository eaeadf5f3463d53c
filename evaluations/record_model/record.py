"""EvidenceRecord: the published, machine-readable result of one evaluation, as a typed model.

records.build_record builds every record through this model, pages, figures and the library
read it, and its JSON Schema is published with the book (schema_file_name). Change a field
and the version in SCHEMA goes up: readers of the JSON downloads rely on it.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from evaluations import disclosure, subgroup_names
from evaluations.disclosure import SUPPRESSION_REASON
from evaluations.record_model.diagnostics import (HeterogeneityCheck, HeterogeneityTest, HiddenBias, NotEstimated,
                                                  Overlap, PreTrendTest, Refutation, Robustness, SkippedSubgroup)
from evaluations.record_model.disclosed import (DescribedGroup, HiddenReason, NotShown, PublishedCount,
                                                PublishedRate, PublishedStatistic, Strict)
from evaluations.record_model.pictures import NationalFigure, Picture, ValueForMoney
from evaluations.record_model.rating import Rating
from evaluations.registry import DesignType, Estimator, Family, Sample, Units

SCHEMA = "commonground.evidence_record/4"


def schema_file_name() -> str:
    """The schema's file beside the records, named with its version: evidence_record-v4.schema.json
    (the underscore keeps it from ever matching an evaluation id, which is a slug)."""
    return f"evidence_record-v{SCHEMA.rsplit('/', 1)[1]}.schema.json"


# ------------------------------------------------------------------ what was evaluated

class Programme(Strict):
    name: str
    family: Family
    organisation: str
    places: list[str]
    start_date: date
    end_date: date
    cost_per_participant_gbp: float | None
    description: str


class MatchingOptions(Strict):
    k: int
    caliper: float | None
    replace: bool


class ModifierWords(Strict):
    """An effect modifier in readers' words (evaluations/subgroup_names.py): its label, and the word for
    each level published in the record's subgroup rows ("1" -> "yes")."""
    label: str
    values: dict[str, str]


class DesignSummary(Strict):
    """The manifest's design, and what the design object says about itself (designs/base.py: describe)."""
    type: DesignType
    unit_id: str
    treatment: str | None
    wave: str
    sample: Sample
    weights: str | None
    units: Units
    people: str | None
    baseline: str | None
    follow_up: str | None
    waves: list[str] | None
    first_treated: str | None
    cluster: str | None
    covariates: list[str]
    effect_modifiers: list[str]
    # each modifier's words for readers ("Free school meals: yes"); empty in records built before them
    effect_modifier_words: dict[str, ModifierWords] = {}
    estimator: Estimator | None
    matching: MatchingOptions
    staggered: bool
    key: str
    name: str
    has_comparison: bool
    unit_word: Literal["people", "places"]
    linked_waves: bool
    sms_level: int
    # the page's words for the results; {direction} and {name} are filled in by the page
    effect_heading: str
    effect_explanation: str
    clear_result: str
    unclear_result: str
    result_caveat: str


class Outcome(Strict):
    column: str
    measure: str
    own_measure: bool  # the charity's own question: shown as such, never pooled (synthesis.poolable)
    measure_name: str
    domain: str
    domain_name: str
    primary: bool
    question: str
    scale: dict[str, str] | None  # answer code -> label
    higher_is_better: bool
    response_type: Literal["ordinal", "binary", "continuous"]
    units: str
    scale_min: float
    scale_max: float
    positive_answers: list[str] = []  # the labels counting as the positive answer (record.shares), if any
    national: NationalFigure | None = None  # the same question nationally, with its published source
    life_satisfaction: bool = False  # valued in WELLBYs


# ------------------------------------------------------------------ effects

class _Effect(Strict):
    outcome: str
    subgroup: str  # "all", or "<modifier>=<level>" ("<modifier>=another group" when the level is hidden)
    estimand: str
    estimator: str
    units: str
    assumptions: str
    n_clusters: int | None  # sites, not people
    # a secondary outcome's p-value is also adjusted for testing `adjusted_for` secondary outcomes together
    # (estimators/multiplicity.py): Romano-Wolf step-down, or Holm's where an estimator has no influence function
    adjustment: Literal["romano_wolf", "holm"] | None = None
    adjusted_for: int | None = None


class ShownEffect(_Effect):
    """An effect from groups large enough to publish."""
    estimate: float | None
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_value_adjusted: float | None = None  # secondary outcomes: the page's words follow it
    effect_size: float | None
    effect_size_ci_low: float | None
    effect_size_ci_high: float | None
    # degrees of freedom of the t reference the interval and p used; None: the normal reference.
    # NOT_SHOWN beside a hidden group size: a residual df (n - k) would give the size back.
    df: float | None | NotShown
    n_treated: DescribedGroup
    n_comparison: Literal[0] | DescribedGroup  # 0: a design without a comparison group
    suppressed: Literal[False]
    suppression_reason: Literal[""]
    # overall effects of designs resting on covariates: how strong hidden bias would have to be
    hidden_bias: HiddenBias | None = None

    @model_validator(mode="after")
    def _df_only_beside_published_sizes(self):
        hidden = not all(isinstance(n, int) for n in (self.n_treated, self.n_comparison))
        if isinstance(self.df, float) and hidden:
            raise ValueError("df is published beside a hidden group size, which it would give back")
        if hidden and self.hidden_bias is not None and isinstance(self.hidden_bias.robustness, Robustness):
            raise ValueError("a robustness value is published beside a hidden group size, whose df it would give back")
        return self


class HiddenEffect(_Effect):
    """An effect resting on a group too small to publish: every figure blank, and why."""
    estimate: None
    std_error: None
    ci_low: None
    ci_high: None
    p_value: None
    p_value_adjusted: None = None
    effect_size: None
    effect_size_ci_low: None
    effect_size_ci_high: None
    df: None
    n_treated: PublishedCount
    n_comparison: PublishedCount
    suppressed: Literal[True]
    suppression_reason: HiddenReason
    hidden_bias: None = None


EffectRow = Annotated[ShownEffect | HiddenEffect, Field(discriminator="suppressed")]


class EventTimePoint(Strict):
    event_time: int  # waves since the site started (negative: before)
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


class TrendDrift(Strict):
    """Rambachan & Roth (2023) bounds under relative magnitudes on the effect in the first wave after the start
    (designs/staggered.py; sensitivity/honest_did.py), from the universal-base event study."""
    first_event_time: int  # the event times used (the base period, -1, is 0 by definition)
    last_event_time: int
    estimate: float  # the effect in the first wave after the start (the event study's e = 0 point)
    mbar: float  # the robust 95% interval below allows post-start drift up to mbar x the largest pre-start one
    lower: float | None  # None: no limit on that side within the values searched
    upper: float | None
    breakdown_mbar: float | None  # the largest such multiple keeping zero out; None: not even 0 (exact parallel trends)


class StartingWavePoint(Strict):
    starting_wave: int  # the period (1..K, in wave order) in which the sites started
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


class CalendarWavePoint(Strict):
    wave: int  # the period (1..K, in wave order)
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


# ------------------------------------------------------------------ people and data

class GroupMeans(Strict):
    """One outcome at one survey wave: each group's mean answer and how many answered
    (evaluations/diagnostics/wave_means.py; disclosure.group_means_rows). A mean is None where its
    group is too small to publish; a design with no comparison group has n_comparison 0."""
    outcome: str
    wave: str
    mean_treated: float | None
    mean_comparison: float | None
    n_treated: PublishedCount
    n_comparison: PublishedCount


class FlowCounts(Strict):
    registered: PublishedCount
    baseline: PublishedCount
    follow_up: PublishedCount
    analysed: PublishedCount  # for the primary outcome


class Flow(Strict):
    programme: FlowCounts
    comparison: FlowCounts


class DataQuality(Strict):
    rows_read: PublishedCount
    rows_set_aside: PublishedCount
    set_aside_by_check: dict[str, PublishedCount]
    dont_know_answers: dict[str, PublishedCount]  # by outcome
    reconciled: bool  # rows in = rows analysed + rows set aside


# ------------------------------------------------------------------ diagnostics as published

class ShownBalance(Strict):
    variable: str
    mean_treated: float | None
    mean_comparison: float | None
    smd: float | None
    n_treated: DescribedGroup
    n_comparison: DescribedGroup
    suppressed: Literal[False]
    suppression_reason: Literal[""]


class HiddenBalance(Strict):
    variable: str
    mean_treated: None
    mean_comparison: None
    smd: None
    n_treated: PublishedCount
    n_comparison: PublishedCount
    suppressed: Literal[True]
    suppression_reason: HiddenReason


class ShownBalanceAfter(Strict):
    variable: str
    mean_treated: float | None
    mean_comparison_before: float | None
    mean_comparison_after: float | None
    smd_before: float | None
    smd_after: float | None
    n_treated: DescribedGroup
    n_comparison: DescribedGroup
    suppressed: Literal[False]
    suppression_reason: Literal[""]


class HiddenBalanceAfter(Strict):
    variable: str
    mean_treated: None
    mean_comparison_before: None
    mean_comparison_after: None
    smd_before: None
    smd_after: None
    n_treated: PublishedCount
    n_comparison: PublishedCount
    suppressed: Literal[True]
    suppression_reason: HiddenReason


BalanceRow = Annotated[ShownBalance | HiddenBalance, Field(discriminator="suppressed")]
BalanceAfterRow = Annotated[ShownBalanceAfter | HiddenBalanceAfter, Field(discriminator="suppressed")]


class ShownEquivalence(Strict):
    """A characteristic judged by the WWC baseline-equivalence rule, from groups large enough to publish."""
    variable: str
    kind: Literal["covariate", "baseline outcome"]
    g: float | None  # Hedges' g (Cox index for a 0/1 characteristic) among the people analysed
    adjusted: bool  # the estimator statistically adjusts for it
    verdict: Literal["satisfied", "satisfied_with_adjustment", "not_satisfied"] | None
    n_treated: DescribedGroup
    n_comparison: DescribedGroup
    suppressed: Literal[False]
    suppression_reason: Literal[""]


class HiddenEquivalence(Strict):
    variable: str
    kind: Literal["covariate", "baseline outcome"]
    g: None
    adjusted: bool
    verdict: None  # it would place the hidden g in a band
    n_treated: PublishedCount
    n_comparison: PublishedCount
    suppressed: Literal[True]
    suppression_reason: HiddenReason


EquivalenceRow = Annotated[ShownEquivalence | HiddenEquivalence, Field(discriminator="suppressed")]


class PublishedEquivalence(Strict):
    """Baseline equivalence by the What Works Clearinghouse rule (evaluations/diagnostics/equivalence.py):
    the verdict judges every row, shown or not."""
    rows: list[EquivalenceRow]
    verdict: Literal["satisfied", "satisfied_with_adjustment", "not_satisfied"] | None
    satisfies: float
    adjustable: float


class PublishedWwcAttrition(Strict):
    """Attrition by the What Works Clearinghouse standard (evaluations/diagnostics/attrition_boundary.py)."""
    boundary: Literal["cautious", "optimistic"]
    verdict: Literal["low", "high"]
    # the most the groups' attrition may differ at the overall rate: NOT_SHOWN when that rate is hidden,
    # which it would give back to the nearest percent; None beyond the boundary's last overall rate
    max_differential: float | None | NotShown


class PublishedAttritionBounds(Strict):
    """Lee (2009) bounds on one outcome's effect among people who would answer whichever group they were in."""
    outcome: str
    compared: Literal["follow-up score", "change"]
    lower: float | None
    upper: float | None
    ci_low: float | None  # Imbens-Manski 95% interval for the effect
    ci_high: float | None
    trimmed_group: Literal["programme", "comparison"] | None  # whose answers were trimmed; None: none
    widened: bool  # at least 10 people were trimmed (disclosure control): wider than the sharp bounds
    suppressed: bool
    suppression_reason: Literal["", SUPPRESSION_REASON]


class PublishedResponseWeighting(Strict):
    """A primary outcome's estimate with those who answered the follow-up weighted to look like everyone who
    started (diagnostics/response_weighting.py): right if answering depended only on what baseline measured."""
    outcome: str
    estimate: float | None
    ci_low: float | None  # 95% interval, allowing for the estimated chances of answering
    ci_high: float | None
    not_estimated: NotEstimated | None  # why there is no estimate; None when there is one (or it is suppressed)
    suppressed: bool
    suppression_reason: Literal["", SUPPRESSION_REASON]


class PublishedAttrition(Strict):
    """Shares of those at baseline who did not answer at follow-up (None: not defined)."""
    overall: PublishedRate
    differential: float | None | NotShown  # between the groups, in points
    programme: PublishedRate
    comparison: PublishedRate


class PublishedDiagnostics(Strict):
    balance: list[BalanceRow]
    max_abs_smd_covariates: float | None  # over the covariate rows published beside it
    attrition: PublishedAttrition
    n_clusters: int | None
    mdes_planned: PublishedStatistic
    mdes_achieved: dict[str, PublishedStatistic]  # by outcome
    pre_trend_tests: dict[str, PreTrendTest]  # by outcome
    balance_after: list[BalanceAfterRow]
    balance_after_weights: str | None
    max_abs_smd_covariates_after: float | None
    overlap: Overlap | None
    refutations: list[Refutation]
    heterogeneity_cross_checks: list[HeterogeneityCheck]
    baseline_equivalence: PublishedEquivalence | None  # None: no comparison group
    wwc_attrition: PublishedWwcAttrition | None  # None: attrition not defined, or not judged by a boundary
    attrition_bounds: list[PublishedAttritionBounds]  # by outcome, where people were lost
    # primary outcomes, where people were lost: the estimate weighted by the inverse chance of answering
    response_weighting: list[PublishedResponseWeighting] = Field(default_factory=list)


# ------------------------------------------------------------------ where it came from

class DataFileHash(Strict):
    path: str
    sha256: str


class Replacement(Strict):
    replaced_at: str
    previous_registered_at: str


class Registration(Strict):
    registered_at: str
    plan_sha256: str
    amendments: list[str]  # when each amendment was recorded
    replacements: list[Replacement]


class Provenance(Strict):
    code_version: str
    run_id: str
    partition: str
    data_files: list[DataFileHash]
    registration: Registration | None  # None: the analysis plan was not registered (or cannot be read)


# ------------------------------------------------------------------ the record

class EvidenceRecord(Strict):
    """One evaluation's published result; every number in it has passed disclosure control."""
    schema_: Literal[SCHEMA] = Field(alias="schema")
    id: str
    title: str
    synthetic: bool
    programme: Programme
    design: DesignSummary
    outcomes: list[Outcome]
    primary_outcome: str
    estimates: list[EffectRow]  # overall, one per outcome
    subgroups: list[EffectRow]
    sensitivity: list[EffectRow]  # other estimators of the same overall effects
    shares: list[EffectRow] = []  # overall effects as the change in the share giving the positive answers
    pictures: list[Picture] = []  # one per outcome: effect size in words, reference share, cost per extra person
    value_for_money: ValueForMoney | None = None
    heterogeneity_tests: list[HeterogeneityTest]
    subgroups_skipped: list[SkippedSubgroup]
    event_study: dict[str, list[EventTimePoint]]  # by outcome
    # by outcome, staggered designs with two or more pre-start event times; empty in records built before it
    trend_drift: dict[str, TrendDrift] = {}
    by_starting_wave: dict[str, list[StartingWavePoint]]
    by_calendar_wave: dict[str, list[CalendarWavePoint]]
    flow: Flow
    # each outcome's group means by wave, for methodologists; empty in records built before it was added
    group_means: list[GroupMeans] = []
    data_quality: DataQuality
    diagnostics: PublishedDiagnostics
    rating: Rating
    provenance: Provenance

    model_config = {**Strict.model_config, "populate_by_name": True,
                    "json_schema_extra": {"$schema": "https://json-schema.org/draft/2020-12/schema"}}

    @model_validator(mode="after")
    def _consistent(self):
        columns = [o.column for o in self.outcomes]
        if self.primary_outcome not in columns:
            raise ValueError(f"primary_outcome {self.primary_outcome!r} is not among the outcomes {columns}")
        if [e.outcome for e in self.estimates] != columns:
            raise ValueError("estimates must hold one overall effect per outcome, in the outcomes' order")
        if self.design.units == Units.people:
            # the schema allows any count (places may be few); a count of people must be 0 or >= THRESHOLD
            small = disclosure.check_no_small_numbers(self.model_dump(mode="json", by_alias=True))
            if small:
                raise ValueError(f"counts of fewer than {disclosure.THRESHOLD} people are published: {small}")
        return self

    def outcome(self, column: str) -> Outcome:
        return next(o for o in self.outcomes if o.column == column)

    def group_name(self, subgroup: str) -> str:
        """A subgroup in readers' words: 'fsm=1' as 'Free school meals: yes'."""
        return subgroup_names.subgroup_name(subgroup, self.design.effect_modifier_words)

    def modifier_label(self, column: str) -> str:
        """An effect modifier's label: 'fsm' as 'Free school meals'."""
        return subgroup_names.label_of(column, self.design.effect_modifier_words)

    def overall(self, column: str) -> ShownEffect | HiddenEffect:
        """The overall effect on an outcome."""
        return next(e for e in self.estimates if e.outcome == column)

    @property
    def primary(self) -> tuple[Outcome, ShownEffect | HiddenEffect]:
        return self.outcome(self.primary_outcome), self.overall(self.primary_outcome)

    def to_json(self) -> dict:
        """The record as published JSON (keys as the schema names them)."""
        return self.model_dump(mode="json", by_alias=True)
