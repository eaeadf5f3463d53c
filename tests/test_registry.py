"""Manifest validation, good and bad, and the registry folder."""
from __future__ import annotations

import shutil

import pytest
import yaml

from evaluations.measures import DOMAINS, load_measures
from evaluations.registry import (
    DEFAULT_REGISTRY,
    ManifestError,
    content_hash,
    evaluation_ids,
    load_manifest,
    registry_path,
)

from tests.conftest import SAMPLES


def test_sample_library_is_registered_and_valid():
    assert evaluation_ids(DEFAULT_REGISTRY) == SAMPLES
    manifests = [load_manifest(DEFAULT_REGISTRY / i) for i in SAMPLES]
    assert all(m.synthetic for m in manifests)
    assert {m.programme.family.value for m in manifests} == {
        "intergenerational", "youth_social_action", "school_linking", "exchange_visit", "other"}
    formats = {f.format for m in manifests for f in m.files}
    assert formats == {"csv", "xlsx", "sav", "dta"}
    stag = load_manifest(DEFAULT_REGISTRY / "intergenerational-2023").design
    assert stag.staggered and len(stag.waves) >= 4


def test_every_outcome_uses_a_measure_in_the_bank():
    measures = load_measures()
    for i in SAMPLES:
        for o in load_manifest(DEFAULT_REGISTRY / i).outcomes:
            assert o.measure in measures


def test_measure_bank_covers_every_domain_with_ten_or_more_constructs():
    measures = load_measures()
    assert len(measures) >= 10
    assert {m.domain for m in measures.values()} == set(DOMAINS)
    cohesion = measures["local_area_cohesion"]
    assert "different backgrounds get on well" in cohesion.question
    assert cohesion.higher_is_better is False and cohesion.valid_codes == [1, 2, 3, 4]
    assert measures["outgroup_thermometer"].min == 0 and measures["outgroup_thermometer"].max == 100
    assert "lonely" in measures["loneliness_ons"].question.lower()


def _write(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def _sample(name="town-exchange-2023"):
    text = (DEFAULT_REGISTRY / name / "evaluation.yaml").read_text()
    return yaml.safe_load(text)


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.pop("title"), "title: is required but missing"),
    (lambda m: m.update(id="Bad_ID"), "must be a slug"),
    (lambda m: m["programme"].update(family="sports"), "programme.family"),
    (lambda m: m["design"].update(type="regression_discontinuity"), "design.type"),
    (lambda m: m["design"].pop("follow_up"), "design.baseline and design.follow_up must both name a wave label"),
    (lambda m: m["design"].update(follow_up="before"), "must be different wave labels"),
    (lambda m: [o.update(primary=False) for o in m["outcomes"]], "mark at least one outcome as primary"),
    (lambda m: m["files"][0].update(path="../other/secret.csv"), "points outside the evaluation folder"),
    (lambda m: m["files"][0].update(path="/etc/passwd.csv"), "points outside the evaluation folder"),
    (lambda m: m["files"][0].update(path="survey.pdf"), "must be .csv, .xlsx, .sav or .dta"),
    (lambda m: m["files"][0].pop("wave_suffixes"), "layout 'wide' needs wave_suffixes"),
    (lambda m: m.update(colour="blue"), "colour: is not a known field"),
    (lambda m: m["programme"].update(end_date="2020-01-01"), "end_date is before programme.start_date"),
    (lambda m: m["programme"].update(cost_per_participant_gbp=-5), "greater than or equal to 0"),
    (lambda m: m.update(valid_ranges={"height": [0, 3]}), "only covariates can have a range"),
])
def test_bad_manifests_name_the_field_and_the_fix(tmp_path, change, expected):
    m = _sample()
    change(m)
    folder = _write(tmp_path / "town-exchange-2023", m)
    with pytest.raises(ManifestError) as err:
        load_manifest(folder)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_every_problem_is_listed_at_once(tmp_path):
    m = _sample()
    m.pop("title")
    m["programme"]["family"] = "sports"
    m["design"]["type"] = "guesswork"
    with pytest.raises(ManifestError) as err:
        load_manifest(_write(tmp_path / "town-exchange-2023", m))
    assert len(err.value.problems) == 3


def test_id_must_match_folder_and_yaml_errors_give_line(tmp_path):
    with pytest.raises(ManifestError, match="differs from its folder name"):
        load_manifest(_write(tmp_path / "another-name", _sample()))
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "evaluation.yaml").write_text("id: broken\ntitle: [unclosed\n")
    with pytest.raises(ManifestError, match=r"line \d+, column \d+"):
        load_manifest(bad)


def test_staggered_design_needs_waves(tmp_path):
    m = _sample("intergenerational-2023")
    m["design"]["waves"] = ["2023-03", "2023-09"]
    with pytest.raises(ManifestError) as err:
        load_manifest(_write(tmp_path / "intergenerational-2023", m))
    assert "three or more wave labels" in err.value.problems[0]


def test_a_covariate_listed_twice_is_refused_with_the_fix(tmp_path):
    m = _sample("intergenerational-2023")
    m["design"]["covariates"] = ["age", "lives_alone", "age"]
    with pytest.raises(ManifestError) as err:
        load_manifest(_write(tmp_path / "intergenerational-2023", m))
    assert any("lists 'age' more than once; list each covariate once" in p for p in err.value.problems)


def test_registry_location_from_flag_then_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("COMMONGROUND_REGISTRY", raising=False)
    assert registry_path() == DEFAULT_REGISTRY
    monkeypatch.setenv("COMMONGROUND_REGISTRY", str(tmp_path))
    assert registry_path() == tmp_path.resolve()
    assert registry_path(tmp_path / "x") == (tmp_path / "x").resolve()


def test_content_hash_changes_only_with_manifest_or_data(tmp_path):
    folder = tmp_path / "school-linking-2024"
    shutil.copytree(DEFAULT_REGISTRY / "school-linking-2024", folder)
    before = content_hash(folder)
    (folder / "notes.txt").write_text("not part of the evaluation")
    assert content_hash(folder) == before
    with open(folder / "pupil_survey.sav", "ab") as fh:
        fh.write(b"\0")
    assert content_hash(folder) != before
    with_data = content_hash(folder)
    (folder / "registration.json").write_text("{}")  # the rating checks it on every run, so it re-runs
    assert content_hash(folder) != with_data
