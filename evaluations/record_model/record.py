"""EvidenceRecord: the published, machine-readable result of one evaluation, as a typed model.

records.build_record builds every record through this model, pages, figures and the library
read it, and its JSON Schema is published with the book (schema_file_name). Change a field
and the version in SCHEMA goes up: readers of the JSON downloads rely on it.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from evaluations import disclosure
from evaluations.record_model.diagnostics import (HeterogeneityCheck, HeterogeneityTest, Overlap, PreTrendTest,
                                                  Refutation, SkippedSubgroup)
from evaluations.record_model.disclosed import (DescribedGroup, HiddenReason, NotShown, PublishedCount,
                                                PublishedRate, PublishedStatistic, Strict)
from evaluations.record_model.rating import Rating
from evaluations.registry import DesignType, Estimator, Family, Sample, Units

SCHEMA = "commonground.evidence_record/2"


def schema_file_name() -> str:
    """The schema's file beside the records, named with its version: evidence_record-v2.schema.json
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


# ------------------------------------------------------------------ effects

class _Effect(Strict):
    outcome: str
    subgroup: str  # "all", or "<modifier>=<level>" ("<modifier>=another group" when the level is hidden)
    estimand: str
    estimator: str
    units: str
    assumptions: str
    n_clusters: int | None  # sites, not people


class ShownEffect(_Effect):
    """An effect from groups large enough to publish."""
    estimate: float | None
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
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

    @model_validator(mode="after")
    def _df_only_beside_published_sizes(self):
        if isinstance(self.df, float) and not all(isinstance(n, int) for n in (self.n_treated, self.n_comparison)):
            raise ValueError("df is published beside a hidden group size, which it would give back")
        return self


class HiddenEffect(_Effect):
    """An effect resting on a group too small to publish: every figure blank, and why."""
    estimate: None
    std_error: None
    ci_low: None
    ci_high: None
    p_value: None
    effect_size: None
    effect_size_ci_low: None
    effect_size_ci_high: None
    df: None
    n_treated: PublishedCount
    n_comparison: PublishedCount
    suppressed: Literal[True]
    suppression_reason: HiddenReason


EffectRow = Annotated[ShownEffect | HiddenEffect, Field(discriminator="suppressed")]


class EventTimePoint(Strict):
    event_time: int  # waves since the site started (negative: before)
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


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
    heterogeneity_tests: list[HeterogeneityTest]
    subgroups_skipped: list[SkippedSubgroup]
    event_study: dict[str, list[EventTimePoint]]  # by outcome
    by_starting_wave: dict[str, list[StartingWavePoint]]
    by_calendar_wave: dict[str, list[CalendarWavePoint]]
    flow: Flow
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

    def overall(self, column: str) -> ShownEffect | HiddenEffect:
        """The overall effect on an outcome."""
        return next(e for e in self.estimates if e.outcome == column)

    @property
    def primary(self) -> tuple[Outcome, ShownEffect | HiddenEffect]:
        return self.outcome(self.primary_outcome), self.overall(self.primary_outcome)

    def to_json(self) -> dict:
        """The record as published JSON (keys as the schema names them)."""
        return self.model_dump(mode="json", by_alias=True)
