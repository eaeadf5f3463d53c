"""What an outcome measure states, and the one rule that checks it.

Two kinds of measure share it: the bank's (evaluations/measures.py, one YAML file per construct
under datasets/measures/) and a charity's own question written inline in evaluation.yaml
(`outcomes[].measure`, evaluations/registry.py). It lives apart from both because the bank's
module imports registry.py, and registry.py needs the own measure's model.
"""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from evaluations.intake.labels import label_problems

DOMAINS = {
    "social_bridges": "Social bridges (ties across groups)",
    "social_bonds": "Social bonds (ties within a group)",
    "social_links": "Social links (ties to institutions)",
    "belonging": "Belonging",
    "local_area_cohesion": "Local-area cohesion",
    "loneliness": "Loneliness",
    "intergenerational_attitudes": "Intergenerational attitudes",
    "intergroup_warmth": "Intergroup warmth",
    "wellbeing": "Wellbeing (life satisfaction)",
}
MAX_SCALE_CODES = 101  # beyond this an answer is a number, not a choice: response_type continuous


class NationalShare(BaseModel):
    """The share of a national sample giving the measure's positive answers, as published (never estimated here)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float = Field(ge=0, le=1)  # e.g. 0.81
    survey: str  # e.g. "Community Life Survey"
    year: str  # the survey year as published, e.g. "2018/19"
    population: str  # whom the figure describes
    source_url: str = Field(pattern=r"^https://[^\s()<>\[\]]+$")  # where the figure is published (a plain link)


class MeasureCore(BaseModel):
    """The question, its answers (codes with labels, or a range), which way is better and the domain."""

    # serialize_by_alias: a dump (the registered analysis plan) uses the names written in the YAML
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)
    own: ClassVar[bool] = False  # a charity's own question rather than the shared bank's

    name: str
    domain: Literal[tuple(DOMAINS)]  # type: ignore[valid-type]
    question: str
    response_type: Literal["ordinal", "binary", "continuous"]
    scale: dict[int, str] | None = None
    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)
    higher_is_better: bool
    unit_label: str | None = Field(default=None, alias="units", min_length=1)  # continuous measures only
    # The answer codes that count as the positive answer (e.g. "Definitely agree", "Tend to agree"): the page turns
    # an effect into the change in the share giving them (evaluations/estimators/shares.py). None: no share is shown.
    positive_answers: list[int] | None = None
    # The same question asked of the nation, with its published source; None where no figure can be cited.
    national: NationalShare | None = None
    # The ONS life-satisfaction question (0-10): its effect is valued in WELLBYs (evaluations/value.py).
    life_satisfaction: bool = False

    @field_validator("scale", mode="before")
    @classmethod
    def _labels_are_text(cls, scale):
        # YAML reads an unquoted Yes/No/On/Off as true/false and 10 as a number: say so, not "not a string"
        if isinstance(scale, dict):
            for code, label in scale.items():
                if not isinstance(label, str):
                    raise ValueError(f"the label of code {code} reads as {label!r}, not text; put it in quotes, "
                                     f'e.g. {code}: "Yes"')
        return scale

    @model_validator(mode="after")
    def _answers_fit(self):
        kind = self.response_type
        for field in ("name", "question"):
            if not getattr(self, field).strip():
                raise ValueError(f"{field} is empty; write the measure's {field} as readers should see it")
        if self.max <= self.min:
            raise ValueError(f"max ({self.max:g}) must be above min ({self.min:g}); swap them")
        self._positive_problems()
        if self.unit_label is not None and kind != "continuous":
            raise ValueError(f"units: {kind} measures report effects in {self._derived_units}; remove units "
                             "(only a continuous measure names its own units)")
        if kind == "continuous":
            if self.scale:
                raise ValueError("a continuous measure has a range (min and max), not a scale of answer codes; "
                                 "remove scale, or set response_type: ordinal")
            return self
        if not self.scale or len(self.scale) < 2:
            raise ValueError(f"{kind} measures need a scale: each answer code with its label, "
                             "at least two of them (e.g. 1: Never, 2: Sometimes, 3: Often)")
        if len(self.scale) > MAX_SCALE_CODES:
            raise ValueError(f"scale has {len(self.scale)} answer codes; at most {MAX_SCALE_CODES}: for a number "
                             "answer, use response_type: continuous with min and max")
        blank = [k for k, label in self.scale.items() if not str(label).strip()]
        if blank:
            raise ValueError(f"scale code {blank[0]} has no label; write the answer it stands for")
        ambiguous = label_problems(self.scale)  # answers in words are matched to codes by these labels
        if ambiguous:
            raise ValueError(ambiguous[0])
        lo, hi = min(self.scale), max(self.scale)
        if kind == "binary" and set(self.scale) != {0, 1}:
            raise ValueError("a binary measure's scale has exactly the codes 0 (no) and 1 (yes), since its effects "
                             "are reported in percentage points; recode the answers, or set response_type: ordinal")
        if lo != self.min or hi != self.max:
            raise ValueError(f"min and max must be the smallest and largest scale codes; set min: {lo} and max: {hi}")
        return self

    def _positive_problems(self) -> None:
        if self.life_satisfaction and (self.response_type == "binary" or (self.min, self.max) != (0, 10)):
            raise ValueError("life_satisfaction: a WELLBY is one point on the 0-10 life-satisfaction scale, so the "
                             "measure must run from min: 0 to max: 10; remove life_satisfaction otherwise")
        if self.positive_answers is None and self.national is not None:
            raise ValueError("national: a national share is of the positive answers; list them under positive_answers")
        if self.positive_answers is None:
            return
        if self.response_type == "continuous":
            raise ValueError("positive_answers: a continuous measure has no answer codes; remove positive_answers")
        codes = set(self.scale or {})
        unknown = [c for c in self.positive_answers if c not in codes]
        if unknown:
            raise ValueError(f"positive_answers: code {unknown[0]} is not a scale code; use codes from: "
                             f"{', '.join(str(c) for c in sorted(codes))}")
        if not self.positive_answers or set(self.positive_answers) == codes:
            raise ValueError("positive_answers must list some, not all, of the scale codes (e.g. [1, 2] for "
                             "Definitely agree and Tend to agree)")

    @property
    def positive_labels(self) -> list[str]:
        """The labels of the positive answers, in code order (empty when none are named)."""
        return [self.scale[c] for c in sorted(self.positive_answers or [])] if self.scale else []

    def positive_share(self, oriented):
        """100 where an answer (as the panel holds it: oriented so higher is better, a binary answer as 0/100) is
        one of the positive answers, 0 where it is not, missing where it is missing: a share in percentage points."""
        raw = oriented / 100 if self.response_type == "binary" else self.orient(oriented)  # orient is its own inverse
        return (raw.round().isin(self.positive_answers or []) * 100.0).where(oriented.notna())

    @property
    def valid_codes(self) -> list[int] | None:
        return sorted(self.scale) if self.scale else None

    @property
    def units(self) -> str:
        return self.unit_label or self._derived_units

    @property
    def _derived_units(self) -> str:
        return "percentage points" if self.response_type == "binary" else "scale points"

    def orient(self, values):
        """Map raw values so that higher is better, keeping the original range (e.g. 1-4 stays 1-4)."""
        return values if self.higher_is_better else self.min + self.max - values


def own_measure_id(evaluation_id: str, column: str) -> str:
    """The id an own measure is published under: never a bank id (no file name holds a colon here)."""
    return f"own:{evaluation_id}:{column}"


class OwnMeasure(MeasureCore):
    """A charity's own question, written inline under outcomes[].measure in evaluation.yaml.

    It is published as the charity's own and never pooled with other evaluations, even when it
    looks like a bank measure: pooling rests on the same question asked the same way, which the
    bank guarantees and a charity's assertion cannot."""

    own: ClassVar[bool] = True
    _id: str = PrivateAttr(default="")  # set by `bound`: the manifest does not know its own id here

    @model_validator(mode="before")
    @classmethod
    def _no_claim_to_be_a_bank_measure(cls, data):
        if isinstance(data, dict) and "national" in data:
            raise ValueError("national: a national figure is published beside the bank's questions only, each with "
                             "its checked source; remove national (your positive_answers are still shown)")
        if isinstance(data, dict) and "same_as" in data:
            raise ValueError(
                "same_as: your own question is never pooled with a bank measure, since pooling needs the same "
                "question asked the same way. If you asked the bank's question with its answer codes, write its id "
                "instead (measure: <id>, see datasets/measures/); otherwise remove same_as")
        return data

    def bound(self, evaluation_id: str, column: str) -> OwnMeasure:
        """This measure with the id it is published under (own:<evaluation id>:<column>)."""
        copy = self.model_copy()
        copy._id = own_measure_id(evaluation_id, column)
        return copy

    @property
    def id(self) -> str:
        if not self._id:
            raise RuntimeError("an own measure has an id only once bound to its evaluation: use "
                               "evaluations.measures.outcome_measures")
        return self._id
