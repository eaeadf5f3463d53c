"""The record's effects people can picture and its value for money (issue 12), as typed models.

Every figure here is derived from a published effect (evaluations/value.py holds the yardsticks and
the arithmetic): when disclosure control blanks the effect, these are None with it.
"""
from __future__ import annotations

from typing import Literal

from evaluations.record_model.disclosed import PublishedRate, Strict


class NationalFigure(Strict):
    """The share of a national sample giving the same question's positive answers, as published."""
    share: float  # 0-1
    survey: str
    year: str
    population: str
    source_url: str


class Picture(Strict):
    """One outcome's effect in words and money, beside its change in the positive share (record.shares)."""
    outcome: str
    effect_size_words: Literal["small", "moderate", "large"] | None  # of the overall effect size (Kraft 2020)
    reference_group: Literal["comparison", "participants at baseline"] | None
    reference_share: PublishedRate  # 0-1: the reference group's share giving the positive answers
    # £ per extra person giving the positive answer; ci_high None: no upper limit (the interval reaches no change)
    cost_per_extra_person_gbp: float | None
    cost_per_extra_person_ci_low: float | None
    cost_per_extra_person_ci_high: float | None
    # a life-satisfaction measure (0-10): the effect's value per participant in WELLBYs at the Green Book value
    wellby_value_gbp: float | None
    wellby_value_ci_low: float | None
    wellby_value_ci_high: float | None
    benefit_cost_ratio: float | None
    benefit_cost_ratio_ci_low: float | None
    benefit_cost_ratio_ci_high: float | None


class ValueForMoney(Strict):
    cost_per_participant_gbp: float | None
    cost_band: Literal["£", "££", "£££", "££££", "£££££"] | None  # EEF toolkit bands (evaluations/value.py)
    cost_band_words: str | None
    wellby_value_gbp: float  # the value of one WELLBY used, and its price base
    wellby_price_base: str
