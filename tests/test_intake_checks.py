"""Every quarantined row is counted in a declared Dagster asset check, and reconciliation can fail.

The rules registry (evaluations/intake/rules.py) lists each reason a row is set aside; the
validate_survey multi-asset declares one partitioned check per rule family. A hostile copy of
the bad-input corpus's base (tests/bad_inputs/base: 24 invented people, 2 waves) triggers ten
reasons at once, and each must be counted in the right check, with the evaluation in view.
"""
from __future__ import annotations

import numpy as np
import pytest
from dagster import AssetKey, DagsterInstance, materialize, mem_io_manager

from evaluations.intake import rules
from evaluations.intake.privacy import KEY_ENV
from evaluations.intake.rules import CHECKS, RULES, STRUCTURE, UnknownRule, check_of, rule_of
from evaluations.intake.validate import _Quarantine, reconcile
from evaluations.publish.text import md
from orchestration.assets.intake import _reconciliation_result, raw_survey, validate_survey
from orchestration.partitions import evaluation_partitions
from orchestration.resources import RegistryResource
from tests.test_bad_inputs import ID, as_csv, base_table, evaluation, intake

SPECS = {spec.name: spec for spec in validate_survey.check_specs}


def test_one_declared_check_per_rule_family_described_and_partitioned():
    assert set(SPECS) == {c.name for c in CHECKS}
    assert {r.check for r in RULES} <= set(SPECS)  # every rule is counted somewhere declared
    for spec in SPECS.values():
        assert spec.description and len(spec.description) > 60, spec.name  # words a charity can act on
        assert spec.partitions_def == evaluation_partitions, spec.name  # the evaluation shows with the result
        assert spec.blocking == (spec.name == STRUCTURE.name)  # only a structural failure stops the evaluation


@pytest.mark.parametrize("column", ["mixing", "x_valid", "treatment", "formula_cell", "age_at_least_10"])
def test_every_rule_name_resolves_to_its_own_rule_whatever_the_column_is_called(column):
    for rule in RULES:
        assert rule_of(rule.named(column)).check == rule.check, (rule.name, column)
        if not rule.per_column:
            assert rule_of(rule.name) is rule


def test_a_reason_the_registry_does_not_list_is_refused_at_once():
    with pytest.raises(UnknownRule, match="evaluations/intake/rules.py"):
        rule_of("mixing_is_purple")
    with pytest.raises(UnknownRule):
        rule_of("_valid")  # an ending alone names no column
    q = _Quarantine(3)
    with pytest.raises(UnknownRule):  # validate cannot set a row aside under an unlisted reason
        q.add(np.array([0]), "not_a_rule", "", "", "why")


def hostile_rows() -> bytes:
    """The base with ten reasons planted (spreadsheet rows: 2-25 baseline P01-P24, 26-49 follow-up)."""
    header, rows = base_table()
    col = header.index

    def put(row: int, column: str, value: str):
        rows[row - 2][col(column)] = value

    put(12, "mixing", "a lot")        # mixing_is_a_number
    put(13, "age", "=1+1")            # formula_cell
    put(14, "mixing", "7")            # mixing_valid
    put(15, "age", "120")             # age_in_range
    put(16, "took_part", "maybe")     # treatment_is_0_or_1
    put(17, "belonging", "4\x07")     # control_characters
    put(41, "wave", "")               # wave_recorded
    put(31, "took_part", "0")         # treatment_constant_within_unit: P06's rows 7 and 31
    twice = list(rows[4 - 2])
    twice[col("mixing")] = "1"        # one_row_per_unit_and_wave: rows 4 and 50
    copy = list(rows[30 - 2])         # exact_duplicate: row 51
    return as_csv(header, rows + [twice, copy])


EXPECTED = {  # check -> {reason: rows}
    "values_readable": {"formula_cell": 1, "control_characters": 1},
    "values_are_numbers": {"mixing_is_a_number": 1},
    "values_valid": {"mixing_valid": 1, "age_in_range": 1},
    "values_recorded": {"wave_recorded": 1},
    "group_known_and_constant": {"treatment_is_0_or_1": 1, "treatment_constant_within_unit": 2},
    "one_row_per_unit_and_wave": {"one_row_per_unit_and_wave": 2, "exact_duplicate": 1},
}


def test_each_planted_reason_is_counted_in_its_check_with_the_evaluation(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)  # the corpus is synthetic: the published synthetic key
    folder = evaluation(tmp_path, hostile_rows())
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(evaluation_partitions.name, [ID])
    result = materialize([raw_survey, validate_survey], partition_key=ID, instance=instance,
                         resources={"registry": RegistryResource(path=str(folder.parent)),
                                    "warehouse_io_manager": mem_io_manager, "json_io_manager": mem_io_manager})
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == set(SPECS)
    assert {e.partition for e in checks.values()} == {ID}
    assert all(e.metadata["evaluation"].value == ID for e in checks.values())
    assert checks["data_contract_structure"].passed and checks["rows_reconcile"].passed
    found = {name: checks[name].metadata["reasons"].value for name in EXPECTED}
    assert found == EXPECTED
    for name, reasons in EXPECTED.items():
        e = checks[name]
        assert not e.passed and e.metadata["rows_quarantined"].value == sum(reasons.values())
        preview = e.metadata["preview"].value
        assert all(md(reason) in preview for reason in reasons)  # Markdown-escaped, as markdown_table shows it
        assert "a lot" not in preview and md("=1+1") not in preview  # a bad cell only as its kind and length
    quarantine = result.output_for_node("validate_survey", "quarantine")
    assert len(quarantine) == sum(e.metadata["rows_quarantined"].value for e in checks.values()
                                  if "reasons" in e.metadata) == 12
    recon = checks["rows_reconcile"].metadata
    assert (recon["rows_read"].value, recon["rows_kept"].value, recon["rows_quarantined"].value) == (50, 38, 12)


def test_every_quarantined_row_of_the_hostile_fixture_maps_to_one_declared_check(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    _, result, _ = intake(evaluation(tmp_path, hostile_rows()))
    families = result.quarantine["check"].map(lambda name: check_of(name).name)
    assert set(families) == set(EXPECTED) and families.isin(set(SPECS)).all()


def test_a_lost_row_fails_the_reconciliation_check_with_the_counts(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    raw, result, _ = intake(evaluation(tmp_path))
    lost = reconcile(raw, result.valid.iloc[1:], result.quarantine, "wave")  # one validated row went missing
    check = _reconciliation_result(ID, lost)
    assert not check.passed and check.severity.value == "ERROR"
    counts = {k: v.value for k, v in check.metadata.items() if k.startswith("rows_")}
    assert counts == {"rows_read": 48, "rows_kept": len(result.valid) - 1,
                      "rows_quarantined": len(result.quarantine), "rows_unaccounted": 1}


def test_the_registry_names_a_check_for_every_row_check_the_asset_yields():
    assert [c.name for c in rules.ROW_CHECKS] == [n for n in EXPECTED]  # the asset yields these, in this order
