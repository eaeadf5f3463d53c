"""The outcome-measure bank (one YAML file per construct under datasets/measures/), and which
measure each outcome of an evaluation uses: the bank's, or the charity's own question."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError

from evaluations.measure_model import DOMAINS, MeasureCore, OwnMeasure, own_measure_id
from evaluations.registry import REPO_ROOT, Manifest, parse_yaml

__all__ = ["DOMAINS", "MEASURES_DIR", "Measure", "OwnMeasure", "UnknownMeasure", "answer_scales", "load_measures",
           "outcome_measures", "own_measure_id", "unknown_measures"]

MEASURES_DIR = REPO_ROOT / "datasets" / "measures"


class Measure(MeasureCore):
    """A bank measure: what every measure states, plus where it comes from and whom it is asked of."""

    id: str
    description: str = Field(alias="construct")  # `construct` would shadow a pydantic method
    scale: dict[int, str] | None  # the bank writes scale: null for a continuous measure, never leaves it out
    source: str | None
    source_note: str | None
    population: str


@lru_cache(maxsize=4)
def load_measures(directory: Path | str = MEASURES_DIR) -> dict[str, Measure]:
    out = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            m = Measure.model_validate(parse_yaml(path.read_text(encoding="utf-8")))
        except ValidationError as err:
            raise ValueError(f"{path}: {err}") from None
        if m.id != path.stem:
            raise ValueError(f"{path}: id {m.id!r} must equal the file name")
        out[m.id] = m
    return out


class UnknownMeasure(ValueError):
    """An outcome names a measure id the bank does not hold."""


def unknown_measures(manifest: Manifest, bank: dict[str, Measure]) -> list[str]:
    """A problem, with its fix, for each outcome naming a measure id that is not in the bank."""
    return [f"outcomes.{o.column}.measure {o.measure!r} is not in the measure bank; use one of: "
            f"{', '.join(sorted(bank))}, or write your own question under measure (see `commonground new`)"
            for o in manifest.outcomes if isinstance(o.measure, str) and o.measure not in bank]


def outcome_measures(manifest: Manifest, bank: dict[str, Measure]) -> dict[str, Measure | OwnMeasure]:
    """The measure of each outcome, by outcome column: the bank's, or the charity's own with the id
    own:<evaluation id>:<column> and `own` true. Everything that reads an outcome's measure asks here.

    Raises UnknownMeasure for an id the bank does not hold (`commonground check` reports it first)."""
    unknown = unknown_measures(manifest, bank)
    if unknown:
        raise UnknownMeasure("; ".join(unknown))
    return {o.column: o.measure.bound(manifest.id, o.column) if isinstance(o.measure, OwnMeasure) else bank[o.measure]
            for o in manifest.outcomes}


def answer_scales(manifest: Manifest, bank: dict[str, Measure]) -> dict[str, dict[int, str] | None]:
    """Each outcome column's answer codes and labels: None for a continuous measure, and for an id the bank
    lacks (unknown_measures reports it), so intake can read answers before that problem is raised."""
    out = {}
    for o in manifest.outcomes:
        measure = o.measure if isinstance(o.measure, OwnMeasure) else bank.get(o.measure)
        out[o.column] = measure.scale if measure is not None else None
    return out
