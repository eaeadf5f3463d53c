"""The outcome-measure bank: one YAML file per construct under datasets/measures/."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evaluations.registry import REPO_ROOT

MEASURES_DIR = REPO_ROOT / "datasets" / "measures"

DOMAINS = {
    "social_bridges": "Social bridges (ties across groups)",
    "social_bonds": "Social bonds (ties within a group)",
    "social_links": "Social links (ties to institutions)",
    "belonging": "Belonging",
    "local_area_cohesion": "Local-area cohesion",
    "loneliness": "Loneliness",
    "intergenerational_attitudes": "Intergenerational attitudes",
    "intergroup_warmth": "Intergroup warmth",
}


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    name: str
    domain: Literal[tuple(DOMAINS)]  # type: ignore[valid-type]
    description: str = Field(alias="construct")  # `construct` would shadow a pydantic method
    question: str
    response_type: Literal["ordinal", "binary", "continuous"]
    scale: dict[int, str] | None
    min: float
    max: float
    higher_is_better: bool
    source: str | None
    source_note: str | None
    population: str

    @model_validator(mode="after")
    def _scale_matches_range(self):
        if self.response_type != "continuous":
            if not self.scale:
                raise ValueError(f"measure {self.id}: an {self.response_type} measure needs a scale")
            if min(self.scale) != self.min or max(self.scale) != self.max:
                raise ValueError(f"measure {self.id}: min/max must be the smallest and largest scale codes")
        return self

    @property
    def valid_codes(self) -> list[int] | None:
        return sorted(self.scale) if self.scale else None

    @property
    def units(self) -> str:
        return "percentage points" if self.response_type == "binary" else "scale points"

    def orient(self, values):
        """Map raw values so that higher is better, keeping the original range (e.g. 1-4 stays 1-4)."""
        return values if self.higher_is_better else self.min + self.max - values


@lru_cache(maxsize=4)
def load_measures(directory: Path | str = MEASURES_DIR) -> dict[str, Measure]:
    out = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        m = Measure.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        if m.id != path.stem:
            raise ValueError(f"{path}: id {m.id!r} must equal the file name")
        out[m.id] = m
    return out
