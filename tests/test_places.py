"""Units that are places: an area-level staggered roll-out publishes its estimates, counts of places
are shown exactly, and the people behind each place still obey the threshold of 10.

The evaluation is simulated here with a known effect: 36 local areas over five waves, three
cohorts of six areas starting in waves 3, 4 and 5 and 18 areas that never start; each row is an
area's share agreeing that people from different backgrounds get on (a charity-defined measure,
0-100), from between 40 and 400 survey respondents. One area-wave rests on 6 people and is set aside.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import DagsterInstance

from evaluations.checking import check_evaluation
from evaluations.disclosure import THRESHOLD
from orchestration.definitions import build_definitions
from orchestration.partitions import evaluation_partitions
from tests.conftest import copy_book_sources

ID = "area-rollout-test"
WAVES = ["w1", "w2", "w3", "w4", "w5"]
EFFECT = 5.0  # percentage points, constant across areas and waves after the start


def area_panel(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    starts = ["w3"] * 6 + ["w4"] * 6 + ["w5"] * 6 + [""] * 18
    rows = []
    for i, start in enumerate(starts):
        level = rng.normal(60, 6)
        for t, wave in enumerate(WAVES):
            on = bool(start) and t >= WAVES.index(start)
            rows.append({"area": f"A{i:02d}", "wave": wave, "start_wave": start, "in_programme": int(bool(start)),
                         "respondents": int(rng.integers(40, 400)),
                         "agree": round(level + 1.0 * t + EFFECT * on + rng.normal(0, 1.0), 2)})
    df = pd.DataFrame(rows)
    df.loc[(df["area"] == "A20") & (df["wave"] == "w2"), "respondents"] = 6  # too few people behind it
    return df


def manifest(units: str = "places") -> dict:
    design = {"type": "did", "unit_id": "area", "treatment": "in_programme", "wave": "wave", "waves": WAVES,
              "first_treated": "start_wave"}
    if units == "places":
        design |= {"units": "places", "people": "respondents"}
    return {
        "id": ID, "title": "Area roll-out (synthetic test)", "synthetic": True,
        "programme": {"name": "Neighbourhood networks", "family": "other", "organisation": "Test", "places": ["Testshire"],
                      "start_date": "2023-01-01", "end_date": "2025-12-31"},
        "design": design,
        "outcomes": [{"column": "agree", "primary": True, "measure": {
            "name": "People from different backgrounds get on (area share)",
            "question": "Share of residents agreeing that people from different backgrounds get on well together",
            "domain": "local_area_cohesion", "response_type": "continuous", "min": 0, "max": 100,
            "units": "percentage points", "higher_is_better": True}}],
        "files": [{"path": "areas.csv"}],
    }


def write(folder, units: str = "places"):
    folder.mkdir(parents=True)
    area_panel().to_csv(folder / "areas.csv", index=False)
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest(units), sort_keys=False), encoding="utf-8")
    return folder


def materialise(tmp_path, monkeypatch, units: str) -> dict:
    registry = tmp_path / units / "registry"
    write(registry / ID, units)
    for name, path in (("REGISTRY", registry), ("WAREHOUSE", tmp_path / units / "warehouse"),
                       ("BOOK", copy_book_sources(tmp_path / units / "book"))):
        monkeypatch.setenv(f"COMMONGROUND_{name}", str(path))
    (tmp_path / units / "dh").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / units / "dh"))
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(evaluation_partitions.name, [ID])
    result = build_definitions().resolve_job_def("evaluation_job").execute_in_process(instance=instance,
                                                                                     partition_key=ID)
    assert result.success
    return json.loads((tmp_path / units / "warehouse" / "documents" / "evidence_record" / f"{ID}.json").read_text())


def test_check_sets_aside_a_place_resting_on_fewer_than_10_people(tmp_path):
    report = check_evaluation(write(tmp_path / ID))
    assert report.ok, report.problems
    (note,) = [n for n in report.notes if "respondents" in n]
    df = area_panel()
    row = int(df.index[(df["area"] == "A20") & (df["wave"] == "w2")][0]) + 2  # the header is row 1
    assert f"row {row}," in note and f"at least {THRESHOLD} people" in note


def test_a_place_needs_its_people_column():
    from pydantic import ValidationError

    from evaluations.registry import Manifest

    m = manifest()
    del m["design"]["people"]
    with pytest.raises(ValidationError, match="design.people must name the column"):
        Manifest.model_validate(m)


def test_places_publish_their_estimates_where_people_rules_would_hide_them(tmp_path, monkeypatch):
    places = materialise(tmp_path, monkeypatch, "places")
    (est,) = places["estimates"]
    assert est["estimate"] is not None and est["ci_low"] <= EFFECT <= est["ci_high"]
    assert est["n_treated"] == 18 and est["n_comparison"] == 18  # counts of places, exactly
    assert places["design"]["unit_word"] == "places"
    starting = {row["starting_wave"]: row for row in places["by_starting_wave"]["agree"]}
    assert sorted(starting) == [3, 4, 5]  # cohorts of six areas are published
    assert places["event_study"]["agree"]

    # The same rows read as people: six areas are fewer than 10 "people", so the cohort summaries,
    # the event study and the counts below 10 are withheld.
    people = materialise(tmp_path, monkeypatch, "people")
    assert people["by_starting_wave"] == {} and people["event_study"] == {}
