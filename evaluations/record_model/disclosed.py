"""What disclosure control lets a published number be (evaluations/disclosure.py says why).

These types are the contract between disclosure control and every reader of a record: a
count is 0 or at least THRESHOLD people, or it says why it is hidden; a statistic beside a
hidden group is None. The JSON Schema published with the book spells out the same.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from evaluations.disclosure import NOT_SHOWN, SUPPRESSED, SUPPRESSION_REASON, THRESHOLD


class Strict(BaseModel):
    """Every key is known (a stray or missing one is a defect) and nothing changes after it is built;
    NaN and infinity are not JSON (a figure that could not be computed is None)."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Suppressed = Literal[SUPPRESSED]  # primary suppression: the number itself is small
NotShown = Literal[NOT_SHOWN]  # secondary suppression: hidden so that subtraction cannot give a small one back

# A published count: exact, or hidden (and saying which way). An exact count of people is 0 or at
# least THRESHOLD; a count of places (design.units: places) may be any number, as each place's row
# rests on THRESHOLD people. The schema cannot see the units, so EvidenceRecord checks the people.
PublishedCount = Annotated[NonNegativeInt | Suppressed | NotShown, Field(description=(
    f"0 or at least {THRESHOLD} people (any number of places); {SUPPRESSED!r} when it is 1 to {THRESHOLD - 1}; "
    f"{NOT_SHOWN!r} when it would let a small number be worked out by subtraction"))]
# The size of a group a published statistic describes: there are some, or it is hidden only secondarily.
DescribedGroup = Annotated[int, Field(ge=1)] | NotShown
# A rate or share of people: exact, hidden, or None when it is not defined (no one followed up).
PublishedRate = float | None | Suppressed | NotShown
# A statistic computed from published counts that would give a hidden one back (the MDES).
PublishedStatistic = float | None | NotShown
# Why an estimate or a mean is blank: nothing, or that a group was too small.
SuppressionReason = Literal["", SUPPRESSION_REASON]
HiddenReason = Literal[SUPPRESSION_REASON]
