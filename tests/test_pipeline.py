"""Materialise the real Dagster assets for each sample evaluation and check them against the truth."""
from __future__ import annotations

import json

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.definitions import build_definitions
from orchestration.partitions import evaluation_partitions
from evaluations.registry import file_hash
from orchestration.warehouse import evaluation_schema
from tests.conftest import SAMPLES, truth, warehouse_database

# Rows the simulation planted as mess, counted by hand from evaluations/simulate.py
# (4 duplicates in long files, 2 per wave-row in the wide exchange file; 2 impossible values each).
EXPECTED_QUARANTINE = {"ncs-youth-2024": 8, "town-exchange-2023": 6, "school-linking-2024": 6, "intergenerational-2023": 6,
                       "school-linking-survey-2025": 6, "befriending-pre-post-2024": 6}


def materialise(pipeline_env, evaluation_id):
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(evaluation_partitions.name, [evaluation_id])
    result = defs.resolve_job_def("evaluation_job").execute_in_process(instance=instance, partition_key=evaluation_id)
    assert result.success
    docs = pipeline_env["warehouse"] / "documents"
    record = json.loads((docs / "evidence_record" / f"{evaluation_id}.json").read_text())
    return result, record


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_materialised_evaluation_recovers_the_known_true_effect(pipeline_env, evaluation_id):
    folder = pipeline_env["registry"] / evaluation_id
    raw_before = {p.name: file_hash(p) for p in folder.iterdir()}
    result, record = materialise(pipeline_env, evaluation_id)
    assert {p.name: file_hash(p) for p in folder.iterdir()} == raw_before  # raw files are never modified
    true = truth(evaluation_id)
    # A design with no comparison group measures the change, which is not the programme's effect.
    target = true["att"] if record["design"]["has_comparison"] else true["mean_change"]
    for est in record["estimates"]:
        t = target[est["outcome"]]
        assert est["ci_low"] <= t <= est["ci_high"], (est["outcome"], est["estimate"], t)
    for sub in record["subgroups"]:
        t = true.get("subgroups", {}).get(sub["subgroup"], {}).get(sub["outcome"])
        if t is not None:
            assert sub["ci_low"] <= t <= sub["ci_high"], (sub["subgroup"], sub["outcome"], sub["estimate"], t)
    # every row read is either analysed or quarantined, and the warehouse holds both tables
    with duckdb.connect(str(warehouse_database(pipeline_env["warehouse"], evaluation_id)), read_only=True) as con:
        schema = evaluation_schema(evaluation_id)
        raw = con.execute(f"select count(*) from {schema}.raw_survey").fetchone()[0]
        valid = con.execute(f"select count(*) from {schema}.validated_survey").fetchone()[0]
        quarantined = con.execute(f"select count(*) from {schema}.quarantine").fetchone()[0]
        ids = con.execute(f"select distinct * from (select * from {schema}.analysis_panel limit 5)").fetchdf()["unit"]
    assert raw == valid + quarantined
    assert quarantined == EXPECTED_QUARANTINE[evaluation_id]
    assert ids.str.fullmatch(r"[0-9a-f]{16}").all()  # pseudonymised, not the charity's ids
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["data_contract_structure"] is True and checks["rows_reconcile"] is True
    assert checks["values_valid"] is False  # the planted impossible answers were caught, not analysed


def test_school_linking_shows_the_larger_effect_for_younger_pupils(pipeline_env):
    _, record = materialise(pipeline_env, "school-linking-2024")
    sub = {s["subgroup"]: s for s in record["subgroups"] if s["outcome"] == "comfort"}
    assert sub["age_group=7-9"]["estimate"] > sub["age_group=10-11"]["estimate"]
    assert all(e["n_clusters"] == 28 for e in record["estimates"])
    test = next(t for t in record["heterogeneity_tests"] if t["outcome"] == "comfort")
    assert test["p_value"] < 0.05


def test_exchange_is_honestly_too_small_to_tell(pipeline_env):
    _, record = materialise(pipeline_env, "town-exchange-2023")
    primary = next(e for e in record["estimates"] if e["outcome"] == record["primary_outcome"])
    assert primary["ci_low"] < 0 < primary["ci_high"]
    assert record["diagnostics"]["mdes_achieved"]["thermometer"] > 0.5
    assert record["rating"]["padlocks"] <= 1


def test_same_data_code_and_seed_give_the_same_numbers(pipeline_env):
    _, first = materialise(pipeline_env, "town-exchange-2023")
    _, second = materialise(pipeline_env, "town-exchange-2023")
    assert first["provenance"].pop("run_id") != second["provenance"].pop("run_id")
    assert first == second
    assert first["provenance"]["data_files"][1]["path"] == "exchange_survey.xlsx"
