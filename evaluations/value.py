"""Value for money and effect sizes in words: the published scales everything else reads.

Three published yardsticks live here and nowhere else, each with its source, so that a new
edition is one edit:
- effect size to words (Kraft 2020): small / moderate / large standardised effects;
- the cost band (EEF Teaching and Learning Toolkit): £ to £££££ per participant per year;
- the value of a WELLBY (HM Treasury Green Book supplementary guidance on wellbeing).
The arithmetic (cost per extra person reaching the positive answer; WELLBY value and
benefit-cost ratio) is here too, so the record and the page read the same figures.
"""
from __future__ import annotations

import math

# Kraft, M. A. (2020). Interpreting effect sizes of education interventions. Educational Researcher 49(4),
# 241-253, doi:10.3102/0013189X20912798: for causal studies of education interventions, a standardised
# effect below 0.05 is small, 0.05 to under 0.20 medium, 0.20 or more large. Written for achievement
# outcomes; we use it as the nearest published benchmark for field interventions with survey outcomes.
EFFECT_SIZE_SOURCE = ("Kraft (2020), Interpreting Effect Sizes of Education Interventions, Educational Researcher "
                      "49(4), 241-253")
EFFECT_SIZE_CITATION = "Kraft (2020)"
EFFECT_SIZE_WORDS = ((0.05, "small"), (0.20, "moderate"), (math.inf, "large"))  # (upper bound, word); |g| below

# EEF Teaching and Learning Toolkit cost rating, per pupil per year ("About the Toolkits: Cost",
# educationendowmentfoundation.org.uk/evidence-summaries/about-the-toolkits/cost/). Read here per participant.
COST_BAND_SOURCE = ("Education Endowment Foundation, Teaching and Learning Toolkit cost rating "
                    "(educationendowmentfoundation.org.uk/evidence-summaries/about-the-toolkits/cost/)")
COST_BANDS = ((80, "£", "very low"), (200, "££", "low"), (720, "£££", "moderate"), (1200, "££££", "high"),
              (math.inf, "£££££", "very high"))  # (up to £ per participant, band, words); the first is "less than"

# HM Treasury (2021), Green Book supplementary guidance: Wellbeing guidance for appraisal. One WELLBY (one point
# of life satisfaction on the 0-10 scale, for one person, for one year) is valued at £13,000 in 2019 prices.
WELLBY_VALUE_GBP = 13_000
WELLBY_PRICE_BASE = "2019 prices"
WELLBY_SOURCE = "HM Treasury (2021), Green Book supplementary guidance: Wellbeing guidance for appraisal"
WELLBY_YEARS = 1  # the effect is counted for the one year it was measured over: no persistence is assumed


def effect_size_words(g: float | None) -> str | None:
    """'small', 'moderate' or 'large' for a standardised effect size (by its size, whatever its sign)."""
    if g is None or not math.isfinite(g):
        return None
    return next(word for upper, word in EFFECT_SIZE_WORDS if abs(g) < upper)


def cost_band(cost_per_participant: float | None) -> tuple[str, str] | None:
    """The EEF-style band (e.g. ("££", "low")) of a cost per participant; None when the cost is not known."""
    if cost_per_participant is None:
        return None
    first_upper = COST_BANDS[0][0]  # "less than £80"; the others are "up to" their limit
    return next((band, words) for upper, band, words in COST_BANDS
                if cost_per_participant < upper or (upper != first_upper and cost_per_participant == upper))


def cost_per_extra_person(cost_per_participant: float | None, points: float | None) -> float | None:
    """Cost per extra person giving the positive answer: cost per participant over the change in the share
    (points in percentage points). None when the change is not an improvement (no one extra to pay for)."""
    if cost_per_participant is None or points is None or not math.isfinite(points) or points <= 0:
        return None
    return cost_per_participant / (points / 100)


def cost_per_extra_person_interval(cost_per_participant, ci_low, ci_high) -> tuple[float | None, float | None]:
    """The interval of the cost per extra person, from the interval of the change in the share: the larger
    change gives the lower cost. The upper end is None (no upper limit) when the interval reaches no change."""
    return cost_per_extra_person(cost_per_participant, ci_high), cost_per_extra_person(cost_per_participant, ci_low)


def wellby_value(points: float | None) -> float | None:
    """£ per participant of a change of `points` on the 0-10 life-satisfaction scale (Green Book value)."""
    if points is None or not math.isfinite(points):
        return None
    return points * WELLBY_YEARS * WELLBY_VALUE_GBP


def benefit_cost_ratio(value_per_participant: float | None, cost_per_participant: float | None) -> float | None:
    """£ of wellbeing per £ spent; None when the cost is not known or is zero."""
    if value_per_participant is None or not cost_per_participant:
        return None
    return value_per_participant / cost_per_participant
