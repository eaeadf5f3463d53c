"""The registry keeps its promises (issue 8): an id belongs to the folder that registered it, every
input that can change a result is in the registered plan, the plan's hash is checked on every run,
and a hostile evaluation.yaml is refused with a message instead of a crash."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from evaluations.cli import app
from evaluations.rating import rate
from evaluations.record_model import Diagnostics
from evaluations.registration import PLAN_CHANGED, REGISTRATION_NAME, PlanReview, register, review_plan
from evaluations.registry import DEFAULT_REGISTRY, ManifestError, evaluation_ids, load_manifest
from tests.conftest import copy_book_sources

SAMPLE = "school-linking-2024"  # registered on its start date, 2023-09-01; rated 4 padlocks with no downgrades
REGISTERED = json.loads((DEFAULT_REGISTRY / SAMPLE / REGISTRATION_NAME).read_text())
FILE = "pupil_survey.sav"


def cli(*args) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    return result


def copy_sample(parent: Path, with_data: bool = True) -> Path:
    folder = parent / SAMPLE
    folder.mkdir(parents=True)
    names = ["evaluation.yaml", REGISTRATION_NAME] + ([FILE] if with_data else [])
    for name in names:
        shutil.copy2(DEFAULT_REGISTRY / SAMPLE / name, folder / name)
    return folder


def edit_manifest(folder: Path, change) -> None:
    m = yaml.safe_load((folder / "evaluation.yaml").read_text())
    change(m)
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m, sort_keys=False))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def conflict_message(target: Path, origin: str, incoming: Path) -> str:
    return (f"Error: {target}:\n  - not registered: the id 'school-linking-2024' is already taken by the evaluation in "
            f"{target}, {origin}; {incoming} is another folder. If it is a different evaluation, give it its own id "
            "(in evaluation.yaml and as its folder name); if it should replace the registered one, run "
            f"`commonground register {incoming} --replace` (the replacement is recorded in registration.json)\n")


def test_an_id_registered_from_another_folder_is_refused_unless_replaced_and_recorded(registry, tmp_path):
    target = (registry / SAMPLE).resolve()
    before = snapshot(target)
    incoming = copy_sample(tmp_path / "charity-b").resolve()

    refused = cli("register", incoming, "--registry", registry)
    assert refused.exit_code == 2
    assert refused.stderr == conflict_message(
        target, "registered in the registry itself (no other source folder is recorded)", incoming)
    assert snapshot(target) == before  # the first charity's evaluation is untouched

    replaced = cli("register", incoming, "--registry", registry, "--replace")
    assert replaced.exit_code == 0, replaced.stderr
    assert "it replaces the evaluation registered before under this id" in replaced.stdout
    doc = json.loads((target / REGISTRATION_NAME).read_text())
    assert doc["source"] == str(incoming) and doc["amendments"] == []
    assert doc["replacements"] == [{
        "replaced_at": doc["registered_at"], "source": str(incoming), "previous_source": None,
        "previous_registered_at": "2023-09-01T00:00:00+00:00", "previous_plan_sha256": REGISTERED["plan_sha256"]}]

    # readers see that the registration was replaced, and when, but no folder path
    from evaluations.publish.pages import _registration_lines
    from evaluations.record_model.record import Registration
    from evaluations.registration import registration_summary
    summary = registration_summary(target)
    assert summary == {"registered_at": doc["registered_at"], "plan_sha256": doc["plan_sha256"], "amendments": [],
                       "replacements": [{"replaced_at": doc["registered_at"],
                                         "previous_registered_at": "2023-09-01T00:00:00+00:00"}]}
    day = doc["registered_at"][:10].replace("-", "\\-")
    # the record's model of it has no field for a folder (a stray key is refused)
    assert _registration_lines(Registration.model_validate(summary))[1] == (
        f"- This registration replaced an earlier one of the same id (registered on 2023\\-09\\-01) on {day}; "
        "the earlier plan is kept in the registry.")
    assert str(incoming) not in json.dumps(summary)

    # The new owner amends its own evaluation as before, without --replace ...
    edit_manifest(incoming, lambda m: m.update(seed=7))
    amended = cli("register", incoming, "--registry", registry)
    assert amended.exit_code == 0, amended.stderr
    again = json.loads((target / REGISTRATION_NAME).read_text())
    assert [a["plan"]["seed"] for a in again["amendments"]] == [7]
    assert again["replacements"] == doc["replacements"] and again["plan_sha256"] == doc["plan_sha256"]
    # ... and a third folder is refused, naming the folder it is registered from.
    third = copy_sample(tmp_path / "charity-c").resolve()
    refused = cli("register", third, "--registry", registry)
    assert refused.exit_code == 2
    assert refused.stderr == conflict_message(target, f"registered from {incoming}", third)


def test_a_registration_that_recorded_no_source_folder_is_not_taken_over(registry, tmp_path):
    """Registrations written before source folders were recorded: no folder can claim them silently."""
    target = (registry / SAMPLE).resolve()
    legacy = json.loads((target / REGISTRATION_NAME).read_text())
    del legacy["source"]
    (target / REGISTRATION_NAME).write_text(json.dumps(legacy))
    incoming = copy_sample(tmp_path / "charity-b").resolve()
    with pytest.raises(ManifestError) as refused:
        register(incoming, registry)
    assert refused.value.problems == [conflict_message(target, "registered from a folder that is not recorded",
                                                       incoming).split("\n  - ")[1].rstrip("\n")]
    assert json.loads((target / REGISTRATION_NAME).read_text()) == legacy


def test_a_failed_registration_keeps_what_was_registered(registry, tmp_path):
    target = registry / SAMPLE
    before = snapshot(target)
    incoming = copy_sample(tmp_path / "charity-b")
    (incoming / FILE).unlink()  # the copy fails half-way, after evaluation.yaml
    with pytest.raises(FileNotFoundError):
        register(incoming, registry, replace=True)
    assert snapshot(target) == before
    assert sorted(p.name for p in registry.iterdir()) == evaluation_ids(DEFAULT_REGISTRY)  # no staging copy left
    staging = registry / f".{SAMPLE}.incoming"  # and one left by a killed registration is never an evaluation
    shutil.copytree(incoming, staging)
    assert evaluation_ids(registry) == evaluation_ids(DEFAULT_REGISTRY)


def test_the_sample_pages_show_no_plan_deviation(published_library):
    for evaluation_id in evaluation_ids(DEFAULT_REGISTRY):
        assert review_plan(DEFAULT_REGISTRY / evaluation_id, load_manifest(DEFAULT_REGISTRY / evaluation_id)) == \
            PlanReview([], [])
        rating = json.loads((published_library["warehouse"] / "documents" / "evidence_rating" /
                             f"{evaluation_id}.json").read_text())
        assert not [d for d in rating["downgrades"] if "registered plan" in d or "registration.json" in d]
        page = (published_library["html"] / "generated" / "evaluations" / f"{evaluation_id}.html").read_text()
        assert "registered plan" not in page and "registration.json" not in page


def test_a_registry_that_cannot_be_written_exits_2_with_the_cause(tmp_path):
    registry = tmp_path / "registry"
    registry.write_text("a file where the registry folder should be")
    result = cli("register", copy_sample(tmp_path / "charity-b"), "--registry", registry)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {registry.resolve() / ('.' + SAMPLE + '.incoming')}: not registered, copying into the registry failed "
        "(Not a directory); what was registered before is unchanged. Free some space or fix the folder's "
        "permissions, then run register again.\n")


def test_a_hand_edited_registration_is_refused_at_register(registry):
    doc = json.loads((registry / SAMPLE / REGISTRATION_NAME).read_text())
    doc["plan"]["design"]["covariates"] = ["female"]
    (registry / SAMPLE / REGISTRATION_NAME).write_text(json.dumps(doc))
    result = cli("register", registry / SAMPLE, "--registry", registry)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {(registry / SAMPLE / REGISTRATION_NAME).resolve()}:\n  - {PLAN_CHANGED} To go on: restore "
        "registration.json from version control or a backup; to register this folder afresh instead, add --replace "
        "(the replacement is recorded).\n")


@pytest.fixture(scope="module")
def sample_diagnostics(published_library) -> Diagnostics:
    return Diagnostics.model_validate_json(
        (published_library["warehouse"] / "documents" / "diagnostics" / f"{SAMPLE}.json").read_text())


ON = "when registered on 2023-09-01 and is now"


@pytest.mark.parametrize("change, deviation", [
    (lambda m: m["files"][0].update(rename={"friends": "comfort"}),
     f"files[{FILE}].rename was {{}} {ON} {{'friends': 'comfort'}}"),
    (lambda m: m.update(missing_codes=[-9, 5]), f"missing_codes was [-9] {ON} [-9, 5]"),
    (lambda m: m.update(valid_ranges={"eal": [0, 0]}), f"valid_ranges was {{}} {ON} {{'eal': [0.0, 0.0]}}"),
    (lambda m: m["files"][0].update(drop_columns=["eal"]), f"files[{FILE}].drop_columns was [] {ON} ['eal']"),
    (lambda m: m["files"][0].update(header_rows=2), f"files[{FILE}].header_rows was 1 {ON} 2"),
    (lambda m: m["design"].update(estimator="ancova"), f"design.estimator was None {ON} 'ancova'"),
    (lambda m: m["design"].update(matching={"k": 3}),
     f"design.matching was {{'k': 1}} {ON} {{'k': 3}}"),
    (lambda m: m["outcomes"][1].update(measure="outgroup_thermometer"),
     f"outcomes[friends].measure was 'friends_different_background' {ON} 'outgroup_thermometer'"),
    (lambda m: m["outcomes"].pop(1), "registered outcome 'friends' was dropped"),
    (lambda m: m["design"].update(covariates=["female"]), f"design.covariates was ['female', 'eal'] {ON} ['female']"),
    (lambda m: m["design"].update(effect_modifiers=[]), f"design.effect_modifiers was ['age_group'] {ON} []"),
    (lambda m: m.update(seed=1), f"seed was 2103 {ON} 1"),
])
def test_every_input_that_can_change_a_result_is_in_the_plan(tmp_path, sample_diagnostics, change, deviation):
    folder = copy_sample(tmp_path, with_data=False)
    registered = load_manifest(folder)
    assert review_plan(folder, registered).deviations == []
    unchanged = rate(registered, sample_diagnostics)
    assert unchanged.padlocks == 4 and unchanged.downgrades == ()
    edit_manifest(folder, change)
    manifest = load_manifest(folder)
    review = review_plan(folder, manifest)
    assert review.deviations == [deviation] and review.problems == []
    rated = rate(manifest, sample_diagnostics, plan_deviations=review.deviations, registration_problems=review.problems)
    assert rated.padlocks == 3
    assert rated.downgrades == (f"The analysis differs from the registered plan: {deviation}.",)


def tamper(doc: dict) -> None:  # hide a deviation by rewriting the registered plan to match the change
    doc["plan"]["design"]["covariates"] = ["female"]


@pytest.mark.parametrize("damage, problem", [
    (lambda path: path.write_text(json.dumps(_edited(tamper))), PLAN_CHANGED),
    (lambda path: path.write_text(path.read_text()[:200]),
     "registration.json could not be read (it is not valid JSON); the original plan cannot be trusted."),
    (lambda path: path.write_text("[]"),
     "registration.json could not be read (it is not a JSON object); the original plan cannot be trusted."),
    (lambda path: path.write_text(json.dumps(_edited(lambda d: d.pop("plan_sha256")))),
     "registration.json could not be read (plan_sha256 missing or of the wrong kind); the original plan cannot be "
     "trusted."),
    (lambda path: path.write_text(json.dumps(_edited(lambda d: d["amendments"].append(
        {"amended_at": "2024-01-01T00:00:00+00:00", "plan_sha256": "0" * 64, "plan": d["plan"]})))),
     "Amendment 1 of the plan in registration.json was changed after it was recorded (its hash no longer matches); "
     "the record of changes to the plan cannot be trusted."),
])
def test_a_hand_edited_or_broken_registration_is_reported_and_lowers_the_rating(
        tmp_path, sample_diagnostics, damage, problem):
    folder = copy_sample(tmp_path, with_data=False)
    edit_manifest(folder, lambda m: m["design"].update(covariates=["female"]))
    damage(folder / REGISTRATION_NAME)
    manifest = load_manifest(folder)
    review = review_plan(folder, manifest)
    assert review.problems == [problem]
    rated = rate(manifest, sample_diagnostics, plan_deviations=review.deviations, registration_problems=review.problems)
    assert rated.downgrades[0] == problem
    assert rated.padlocks == 4 - len(rated.downgrades)


def _edited(change) -> dict:
    doc = json.loads(json.dumps(REGISTERED))
    change(doc)
    return doc


def test_the_evidence_rating_asset_checks_the_plan_hash_on_every_run(tmp_path, published_library):
    from dagster import DagsterInstance, load_assets_from_modules, materialize

    from orchestration.assets import analysis, intake
    from orchestration.partitions import evaluation_partitions
    from orchestration.resources import JsonIOManager, RegistryResource

    registry = tmp_path / "registry"
    folder = copy_sample(registry, with_data=False)
    doc = _edited(tamper)
    (folder / REGISTRATION_NAME).write_text(json.dumps(doc))
    docs = tmp_path / "documents"
    shutil.copytree(published_library["warehouse"] / "documents" / "diagnostics", docs / "diagnostics")
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(evaluation_partitions.name, [SAMPLE])
    result = materialize(  # only evidence_rating runs; it reads the published run's diagnostics
        load_assets_from_modules([intake, analysis]), selection="evidence_rating",
        partition_key=SAMPLE, instance=instance,
        resources={"registry": RegistryResource(path=str(registry)), "json_io_manager": JsonIOManager(warehouse=str(tmp_path)),
                   "warehouse_io_manager": JsonIOManager(warehouse=str(tmp_path))})
    assert result.success
    rating = json.loads((docs / "evidence_rating" / f"{SAMPLE}.json").read_text())
    assert rating["downgrades"] == [
        PLAN_CHANGED, "The analysis differs from the registered plan: design.covariates was ['female'] when "
        "registered on 2023-09-01 and is now ['female', 'eal']."]
    assert rating["padlocks"] == 2


V1_HASH = "c1321f585efa9c54987959a13481506bb1890527004f6f2319fd5636e3b43806"  # as the version-1 code recorded it


def v1_document() -> dict:
    """school-linking-2024's registration.json as shipped before plan version 2 (design and primary outcomes only)."""
    return {
        "id": SAMPLE, "registered_at": "2023-09-01T00:00:00+00:00",
        "plan_sha256": V1_HASH,
        "plan": {"design": {"type": "did", "unit_id": "pupil_id", "treatment": "linked_school", "wave": "term",
                            "baseline": "Autumn term (before linking)", "follow_up": "Summer term (after linking)",
                            "waves": None, "first_treated": None, "cluster": "school_id",
                            "covariates": ["female", "eal"], "effect_modifiers": ["age_group"]},
                 "primary_outcomes": [{"column": "comfort", "measure": "comfort_different_background",
                                       "primary": True}]},
        "amendments": []}


def test_a_version_1_registration_still_reads_and_compares_the_parts_it_has(tmp_path):
    folder = copy_sample(tmp_path)
    doc = v1_document()
    (folder / REGISTRATION_NAME).write_text(json.dumps(doc))
    review = review_plan(folder, load_manifest(folder))
    assert (review.deviations, review.problems) == ([], [])
    edit_manifest(folder, lambda m: (m["design"].update(covariates=["female"]), m.update(seed=1),
                                     m["outcomes"][1].update(primary=True)))
    review = review_plan(folder, load_manifest(folder))
    assert review.problems == []
    assert review.deviations == [  # the seed was not registered in version 1, so it cannot deviate
        f"design.covariates was ['female', 'eal'] {ON} ['female']",
        "primary outcome 'friends' was added after registration"]
    # Registering it again keeps the version-1 original and records the amendment in today's plan.
    target, again = register(folder, tmp_path)
    assert target == folder.resolve()
    assert again["plan"] == doc["plan"] and again["plan_sha256"] == V1_HASH
    assert [a["plan"]["plan_version"] for a in again["amendments"]] == [2]


def deep_yaml(levels: int) -> str:
    return "id: deep\ntitle: Deep\nprogramme: " + "[" * levels + "]" * levels + "\n"


DEEP = ("nested more than 20 levels deep; a manifest needs at most 4 (files, a file, rename, a column): remove the "
        "extra brackets or indentation from line 3")


def test_a_manifest_nested_1000_levels_deep_exits_2_at_check_register_and_run(tmp_path):
    registry = tmp_path / "registry"
    folder = registry / "deep"
    folder.mkdir(parents=True)
    (folder / "evaluation.yaml").write_text(deep_yaml(1000))
    where = f"{folder / 'evaluation.yaml'}"
    checked = cli("check", folder)
    assert checked.exit_code == 2 and checked.stderr == f"1 problem(s) to fix:\n  • {where}: {DEEP}\n"
    registered = cli("register", folder, "--registry", tmp_path / "other")
    assert registered.exit_code == 2 and f"{where}: {DEEP}" in registered.stderr
    env = {**os.environ, "COLUMNS": "200", "COMMONGROUND_WAREHOUSE": str(tmp_path / "wh"),
           "COMMONGROUND_BOOK": str(copy_book_sources(tmp_path / "book")), "DAGSTER_HOME": str(tmp_path / "dh")}
    ran = subprocess.run([str(Path(sys.executable).parent / "commonground"), "run", "--registry", str(registry)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert ran.returncode == 2
    assert f"✗ deep: raw_survey: {where}:\n  - {DEEP}\n" in ran.stdout  # the step, then the problem
    assert "RecursionError" not in ran.stdout + ran.stderr


def test_a_manifest_too_large_or_with_exploding_aliases_is_refused(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    block = "id: deep\nx:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(1000))  # 1,000 levels by indentation
    (folder / "evaluation.yaml").write_text(block)
    result = cli("check", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"2 problem(s) to fix:\n  • {folder / 'evaluation.yaml'}: nested more than 20 levels deep; a manifest needs "
        "at most 4 (files, a file, rename, a column): remove the extra brackets or indentation from line 22\n"
        f"  • {folder / 'evaluation.yaml'}: is 503,512 bytes; a manifest is a few kilobytes (at most 262,144 bytes): "
        "keep only the manifest fields in it, survey data goes in the files beside it\n")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    (folder / "evaluation.yaml").write_text(laughs)
    result = cli("check", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"1 problem(s) to fix:\n  • {folder / 'evaluation.yaml'}: holds more than 50,000 values (counting what each "
        "alias *name stands for); a manifest holds a few hundred: write each value out once and remove repeated "
        "aliases\n")
