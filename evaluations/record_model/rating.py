"""The evidence rating (evaluations/rating.py decides it; this is its shape)."""
from __future__ import annotations

from pydantic import Field

from evaluations.record_model.disclosed import Strict


class Rating(Strict):
    """Padlocks and the Maryland SMS level, every step a sentence a reader can check.

    As published, the sentences that quote a figure are worded from the record's published
    values (rating.publishable): the same shape, the same judgements."""
    padlocks: int = Field(ge=0, le=5)
    design_padlocks: int = Field(ge=0, le=5)
    mdes_padlocks: int = Field(ge=0, le=5)
    attrition_padlocks: int = Field(ge=0, le=5)
    initial: int = Field(ge=0, le=5)
    downgrades: tuple[str, ...]  # one padlock off for each
    reasons: tuple[str, ...]  # design, sample size, attrition: the three that set `initial`
    sms_level: int = Field(ge=1, le=5)
    sms_reason: str
