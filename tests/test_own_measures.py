"""A charity's own outcome measure, written inline in evaluation.yaml instead of a bank id.

It is validated by the same rule as the bank's measures, drives the intake contract and the
estimates like a bank measure, is published as the charity's own question (escaped), and is
never pooled with other evaluations. Built on a copy of the town-exchange sample with both of
its outcomes replaced by own measures that ask the same thing on the same codes, so the real
pipeline must give exactly the bank measures' estimates.
"""
from __future__ import annotations

import copy
import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from evaluations.checking import check_evaluation
from evaluations.intake.contracts import row_level_suite
from evaluations.intake.validate import read_raw, validate
from evaluations.measures import Measure, OwnMeasure, UnknownMeasure, load_measures, outcome_measures
from evaluations.publish import book
from evaluations.record_model import EvidenceRecord
from evaluations.records import code_version, data_hashes
from evaluations.registration import compare_plans, registration_summary
from evaluations.registry import DEFAULT_REGISTRY, Manifest, load_manifest
from evaluations.synthesis import poolable
from tests.conftest import pipeline_record

SAMPLE = "town-exchange-2023"
OWN_WORDS = "the charity's own question (not in the shared measure bank; not pooled with other evaluations)"
# Same range and direction as the bank's outgroup_thermometer, in the charity's words (with markup to stay inert)
OWN_WARMTH = {
    "name": "Warmth towards the *other* town",
    "question": "How warm do you feel towards people in the [other town](https://example.org)? <b>0-100</b>",
    "domain": "intergroup_warmth", "response_type": "continuous", "min": 0, "max": 100,
    "higher_is_better": True, "units": "degrees of warmth"}
# Same codes and direction as the bank's local_area_cohesion (1 = definitely agree is best)
OWN_COHESION = {
    "name": "Neighbours from different backgrounds get on",
    "question": "Do people from different backgrounds\nget on well in your street?",  # a YAML block keeps its line break
    "domain": "local_area_cohesion", "response_type": "ordinal",
    "scale": {1: "Definitely agree", 2: "Tend to agree", 3: "Tend to disagree", 4: "Definitely disagree"},
    "min": 1, "max": 4, "higher_is_better": False}
# The snippet proposed for `commonground new`, uncommented: what a charity would write by hand.
TEMPLATE_SNIPPET = """\
  - column: cohesion
    primary: false
    measure:
      name: "Confidence talking to people from other backgrounds"
      question: "How confident do you feel starting a conversation with someone from a different background?"
      domain: social_bridges   # social_bridges | social_bonds | social_links | belonging | local_area_cohesion
                               # | loneliness | intergenerational_attitudes | intergroup_warmth | wellbeing
      response_type: ordinal   # ordinal | binary (codes 0 and 1) | continuous (min and max, no scale)
      scale:                   # each answer code and its label; quote labels such as "Yes" and "No"
        1: "Not at all confident"
        2: "Not very confident"
        3: "Fairly confident"
        4: "Very confident"
      min: 1                   # the smallest and largest codes; for continuous, the possible range
      max: 4
      higher_is_better: true
      # units: "hours a month" # continuous measures only
"""


def _sample() -> dict:
    return yaml.safe_load((DEFAULT_REGISTRY / SAMPLE / "evaluation.yaml").read_text())


def _folder(parent: Path, manifest: dict) -> Path:
    folder = parent / SAMPLE
    shutil.copytree(DEFAULT_REGISTRY / SAMPLE, folder)
    (folder / "registration.json").unlink()
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return folder


def _manifest(raw: dict) -> Manifest:
    return Manifest.model_validate(raw)


def _own_manifest(warmth: dict | None = None, cohesion: dict | None = None) -> dict:
    m = _sample()
    m["outcomes"][0]["measure"] = copy.deepcopy(warmth or OWN_WARMTH)
    m["outcomes"][1]["measure"] = copy.deepcopy(cohesion or OWN_COHESION)
    return m


# ------------------------------------------------------------------ validation


def test_check_accepts_own_measures(tmp_path):
    report = check_evaluation(_folder(tmp_path, _own_manifest()))
    assert report.ok, report.problems
    warmth, cohesion = (o.measure for o in report.manifest.outcomes)
    assert isinstance(warmth, OwnMeasure) and warmth.units == "degrees of warmth"
    assert cohesion.valid_codes == [1, 2, 3, 4] and cohesion.units == "scale points" and not cohesion.higher_is_better


def test_the_template_snippet_is_a_valid_own_measure(tmp_path):
    text = (DEFAULT_REGISTRY / SAMPLE / "evaluation.yaml").read_text()
    bank_cohesion = "- column: cohesion\n  measure: local_area_cohesion\n  primary: false\n"
    assert bank_cohesion in text
    folder = _folder(tmp_path, _sample())
    (folder / "evaluation.yaml").write_text(text.replace(bank_cohesion, textwrap.dedent(TEMPLATE_SNIPPET)))
    report = check_evaluation(folder)
    assert report.ok, report.problems
    assert report.manifest.outcomes[1].measure.scale[4] == "Very confident"


def _cohesion(**changes) -> dict:
    measure = copy.deepcopy(OWN_COHESION)
    for k, v in changes.items():
        if v is None:
            measure.pop(k)
        else:
            measure[k] = v
    return measure


REFUSED = [
    (_cohesion(min=0), "outcomes.1.measure: min and max must be the smallest and largest scale codes; "
                       "set min: 1 and max: 4"),
    (_cohesion(scale={1: "Agree", 2: "Disagree", 5: "Not sure"}), "set min: 1 and max: 5"),
    (_cohesion(domain="happiness"), "outcomes.1.measure.domain: Input should be 'social_bridges', "),
    (_cohesion(question=None), "outcomes.1.measure.question: is required but missing; add it"),
    (_cohesion(question="   "), "outcomes.1.measure: question is empty; write the measure's question"),
    (_cohesion(scale={**OWN_COHESION["scale"], 2: "x" * 201}),
     "outcomes.1.measure.scale.2: is 201 characters long; shorten it to at most 200"),
    (_cohesion(question="Q" * 1001), "outcomes.1.measure.question: is 1,001 characters long; shorten it to at most 1,000"),
    (_cohesion(name="Get on\x1b[2J"), "outcomes.1.measure.name: holds the invisible character U+001B at position 7"),
    (_cohesion(scale={**OWN_COHESION["scale"], 3: "Tend to \u202edisagree"}),
     "outcomes.1.measure.scale.3: holds the invisible character U+202E"),
    (_cohesion(question="Do people\x00 get on?"), "outcomes.1.measure.question: holds the invisible character U+0000"),
    (_cohesion(same_as="local_area_cohesion"), "outcomes.1.measure: same_as: your own question is never pooled"),
    (_cohesion(scale={1: True, 2: False}, max=2), "the label of code 1 reads as True, not text; put it in quotes"),
    (_cohesion(response_type="binary", scale={1: "Yes", 2: "No"}, max=2),
     "a binary measure's scale has exactly the codes 0 (no) and 1 (yes)"),
    (_cohesion(response_type="continuous"), "a continuous measure has a range (min and max), not a scale"),
    (_cohesion(units="points"), "outcomes.1.measure: units: ordinal measures report effects in scale points; "
                                "remove units"),
    (_cohesion(scale=None), "ordinal measures need a scale"),
    (_cohesion(colour="red"), "outcomes.1.measure.colour: is not a known field"),
    (_cohesion(min=4, max=1), "max (1) must be above min (4)"),
    (5, "outcomes.1.measure: give a measure id from datasets/measures/"),
]


@pytest.mark.parametrize("measure, problem", REFUSED, ids=[p[:40] for _, p in REFUSED])
def test_check_refuses_a_bad_own_measure_saying_the_field_and_the_fix(tmp_path, measure, problem):
    m = _sample()
    m["outcomes"][1]["measure"] = measure
    folder = _folder(tmp_path, m)
    report = check_evaluation(folder)
    assert not report.ok
    assert any(p.startswith(f"{folder / 'evaluation.yaml'}: ") and problem in p for p in report.problems), report.problems


def test_check_refuses_an_unknown_bank_id_listing_the_bank(tmp_path):
    m = _own_manifest()
    m["outcomes"][1]["measure"] = "wellbeing"
    report = check_evaluation(_folder(tmp_path, m))
    [problem] = report.problems
    assert "outcomes.cohesion.measure 'wellbeing' is not in the measure bank; use one of: belonging_neighbourhood, " in problem
    assert "or write your own question under measure" in problem
    with pytest.raises(UnknownMeasure, match="'wellbeing' is not in the measure bank"):
        outcome_measures(report.manifest, load_measures())


def test_the_bank_is_held_to_the_same_rule(tmp_path):
    bank = load_measures()["local_area_cohesion"].model_dump(by_alias=True)
    with pytest.raises(ValidationError, match="set min: 1 and max: 4"):
        Measure.model_validate({**bank, "min": 0})
    with pytest.raises(ValidationError, match="units: ordinal measures report effects in scale points"):
        Measure.model_validate({**bank, "units": "points"})
    (tmp_path / "local_area_cohesion.yaml").write_text(yaml.safe_dump({**bank, "max": 5}))
    with pytest.raises(ValueError, match="(?s)local_area_cohesion.yaml: .*set min: 1 and max: 4"):
        load_measures(tmp_path)


def test_resolver_gives_bank_measures_and_bound_own_measures():
    bank = load_measures()
    sample = load_manifest(DEFAULT_REGISTRY / SAMPLE)
    assert {c: m.id for c, m in outcome_measures(sample, bank).items()} == {
        "thermometer": "outgroup_thermometer", "cohesion": "local_area_cohesion"}
    own = _manifest(_own_manifest())
    measures = outcome_measures(own, bank)
    assert measures["thermometer"].id == "own:town-exchange-2023:thermometer" and measures["thermometer"].own
    assert measures["cohesion"].id == "own:town-exchange-2023:cohesion"
    assert not any(m.own for m in bank.values()) and not set(bank) & {m.id for m in measures.values()}
    with pytest.raises(RuntimeError, match="bound to its evaluation"):
        own.outcomes[0].measure.id  # noqa: B018  an unbound own measure has no id to be mistaken for a bank one


# ------------------------------------------------------------------ intake contract


def test_the_intake_contract_uses_the_own_measures_codes_and_range(tmp_path):
    folder = _folder(tmp_path, _own_manifest())
    manifest, bank = load_manifest(folder), load_measures()
    rules = {r.name: r for r in row_level_suite(manifest, bank)}
    assert rules["cohesion_valid"].kwargs["value_set"] == [1, 2, 3, 4]
    assert "'Neighbours from different backgrounds get on'" in rules["cohesion_valid"].reason
    raw = read_raw(folder, manifest)
    wide = validate(raw, manifest, bank).quarantine
    narrow_manifest = _manifest(_own_manifest(warmth={**OWN_WARMTH, "max": 60}))
    narrow = validate(raw, narrow_manifest, bank).quarantine
    # the sample plants two impossible warmth answers; a 0-60 range sets aside every answer above 60 as well
    assert (wide["column"] == "thermometer").sum() == 2
    assert (narrow["column"] == "thermometer").sum() > 10
    assert narrow.loc[narrow["column"] == "thermometer", "reason"].str.contains(
        "outside the possible range 0 to 60 for 'Warmth towards the *other* town'", regex=False).all()


# ------------------------------------------------------------------ through the pipeline


def _record(folder: Path) -> EvidenceRecord:
    """The evidence record, from the same functions the Dagster assets call (orchestration/assets/)."""
    manifest = load_manifest(folder)
    return pipeline_record(folder, {"code_version": code_version(), "run_id": "test", "partition": manifest.id,
                                    "data_files": data_hashes(folder, manifest),
                                    "registration": registration_summary(folder)}).record


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> dict[str, EvidenceRecord]:
    own = _own_manifest()
    own["title"] = "Own questions: the town exchange asked in its own words"
    return {"bank": _record(DEFAULT_REGISTRY / SAMPLE),
            "own": _record(_folder(tmp_path_factory.mktemp("own"), own))}


def test_own_measures_on_the_same_codes_give_the_bank_measures_estimates(records):
    bank, own = records["bank"].estimates, records["own"].estimates
    assert [e.outcome for e in own] == [e.outcome for e in bank] == ["thermometer", "cohesion"]
    for b, o in zip(bank, own):
        for k in ("estimate", "ci_low", "ci_high", "effect_size", "n_treated", "n_comparison", "df"):
            assert getattr(o, k) == pytest.approx(getattr(b, k)), k
    assert [e.units for e in own] == ["degrees of warmth", "scale points"]


def test_the_record_says_which_measures_are_the_charitys_own(records):
    own = {o.column: o for o in records["own"].outcomes}
    assert own["thermometer"].measure == "own:town-exchange-2023:thermometer" and own["thermometer"].own_measure
    assert own["cohesion"].scale == {"1": "Definitely agree", "2": "Tend to agree", "3": "Tend to disagree",
                                     "4": "Definitely disagree"}
    assert own["cohesion"].question == OWN_COHESION["question"] and own["cohesion"].higher_is_better is False
    assert not any(o.own_measure for o in records["bank"].outcomes)
    assert {o.measure for o in records["bank"].outcomes} == {"outgroup_thermometer", "local_area_cohesion"}


def test_the_page_shows_the_charitys_own_question_as_literal_text(records, tmp_path):
    bank_page = book.write_evaluation(records["bank"], tmp_path).read_text(encoding="utf-8")
    assert "own question" not in bank_page
    text = book.write_evaluation(records["own"], tmp_path).read_text(encoding="utf-8")
    assert text.count(f"is {OWN_WORDS}. The question: ") == 2
    assert text.count("(the charity's own question)") == 2  # beside each in the impact table
    assert "Warmth towards the \\*other\\* town" in text
    assert "\\[other town\\]\\(https\\:\\/\\/example\\.org\\)" in text and "](https://example.org)" not in text
    assert "\\<b\\>0\\-100\\<\\/b\\>" in text and "<b>" not in text
    assert "Do people from different backgrounds get on well in your street\\?" in text  # the line break joined
    assert "1 = Definitely agree; 2 = Tend to agree; 3 = Tend to disagree; 4 = Definitely disagree. Lower answers" in text
    assert "from 0 to 100 (degrees of warmth). Higher answers are better." in text
    downloaded = json.loads((tmp_path / "generated" / "records" / f"{SAMPLE}.json").read_text())
    assert [o["own_measure"] for o in downloaded["outcomes"]] == [True, True]


def test_own_measures_are_never_pooled_nor_given_a_measure_page(records, tmp_path):
    bank, own = records["bank"], records["own"]
    # a second evaluation on the bank measures: the two are pooled
    twin = bank.model_copy(update={"id": "town-exchange-2024", "title": "A second town exchange"})
    # an own measure claiming the bank's id in a record is still the charity's own
    claimed = own.outcomes[0].model_copy(update={"measure": "outgroup_thermometer"})
    forged = own.model_copy(update={"id": "town-exchange-2025", "title": "A forged claim",
                                    "outcomes": [claimed, *own.outcomes[1:]]})
    assert poolable(twin.outcomes[0], "outgroup_thermometer")
    assert not poolable(forged.outcomes[0], "outgroup_thermometer")

    def thermometer_page(records_: list[EvidenceRecord], name: str) -> tuple[str, str]:
        book.write_library(records_, tmp_path / name)
        gen = tmp_path / name / "generated"
        return ((gen / "measures" / "outgroup_thermometer.md").read_text(encoding="utf-8"),
                (gen / "measures.md").read_text(encoding="utf-8"))

    # five evaluations on the bank measure are pooled (synthesis.MIN_STUDIES_TO_POOL); two are not
    twins = [bank.model_copy(update={"id": f"town-exchange-203{i}", "title": f"Town exchange {i}"}) for i in range(3)]
    pooled, _ = thermometer_page([bank, twin, *twins], "pooled")
    assert "Pooled effect size** (random-effects meta-analysis of 5 evaluations" in pooled
    two, _ = thermometer_page([bank, twin], "two")
    assert "No pooled effect: only 2 evaluations have published" in two and "Pooled effect size" not in two
    alone, index = thermometer_page([bank, own, forged], "own")
    assert "No pooled effect: one evaluation has published" in alone and "Pooled effect size" not in alone
    assert "Own questions" not in alone and "forged" not in alone
    assert "own:" not in index and not list((tmp_path / "own" / "generated" / "measures").glob("own*"))
    toolkit = (tmp_path / "own" / "generated" / "toolkit.md").read_text(encoding="utf-8")
    assert toolkit.count("(the charity's own question)") == 2  # own and forged: the evaluation is still listed


# ------------------------------------------------------------------ registered plans


def test_a_changed_own_question_is_named_field_by_field():
    own = _manifest(_own_manifest())
    reworded = _manifest(_own_manifest(cohesion={**OWN_COHESION, "question": "Do neighbours get on?",
                                                               "scale": {**OWN_COHESION["scale"], 4: "Disagree"}}))
    on = "2024-05-01"

    def compare(before, after) -> list[str]:
        return [c for c in compare_plans(before.analysis_plan(), after.analysis_plan(), on) if c.startswith("outcomes")]
    assert compare(own, own) == []
    assert compare(own, reworded) == [
        f"outcomes[cohesion].measure.question was {OWN_COHESION['question']!r} when registered on {on} "
        "and is now 'Do neighbours get on?'",
        f"outcomes[cohesion].measure.scale was {{'4': 'Definitely disagree'}} when registered on {on} "
        "and is now {'4': 'Disagree'}"]
    changes = compare(load_manifest(DEFAULT_REGISTRY / SAMPLE), own)
    assert changes[0].startswith(f"outcomes[cohesion].measure was 'local_area_cohesion' when registered on {on} "
                                 "and is now {'name': 'Neighbours from different backgrounds get on'")
    assert len(changes) == 2


# ------------------------------------------------------------------ end to end


def test_the_dagster_pipeline_publishes_own_measures(pipeline_env):
    from tests.test_pipeline import materialise

    folder = pipeline_env["registry"] / SAMPLE
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(_own_manifest(), sort_keys=False, allow_unicode=True))
    result, record = materialise(pipeline_env, SAMPLE)
    assert [(o["measure"], o["own_measure"]) for o in record["outcomes"]] == [
        (f"own:{SAMPLE}:thermometer", True), (f"own:{SAMPLE}:cohesion", True)]
    assert record["estimates"][0]["units"] == "degrees of warmth"
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["values_valid"] is False  # the planted impossible warmth answers were caught by the own range
