"""No raw value that may hold personal data is stored: canaries typed into every kind of typed cell.

A charity's file can hold anything in any cell: `call 07700 900123 now` typed into a score,
an age, the treatment, the wave, the start wave or the respondent id. Such a cell fails its
type and is set aside (or stops the evaluation), and from then on it exists only as its kind
and length ("text, 21 characters"): not in the DuckDB warehouse (its bytes and every text
column of every table), not in the JSON documents or pages, not in Dagster's run and event
storage (the SQLite files under DAGSTER_HOME, read as bytes), and not in what `commonground
check` prints, which still names the file, row, column and fix.

Two real registrations run through the real assets in one persistent Dagster instance: the
staggered sample (intergenerational-2023) as a CSV with canaries in typed cells (the run
goes on; the rows are quarantined) and the NCS sample with a canary in a wave cell (a
structural failure: the run stops with its message).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from dagster import DagsterInstance

from evaluations.intake.privacy import KEY_ENV
from orchestration.definitions import build_definitions
from orchestration.partitions import evaluation_partitions
from orchestration.warehouse import evaluation_schema
from tests.conftest import warehouse_database

CLI = str(Path(sys.executable).parent / "commonground")
STAGGERED, WAVES = "intergenerational-2023", "ncs-youth-2024"
LENGTH = len("call 07700 900123 now")  # every canary has this length: 21 characters


def canary(n: int) -> str:
    return f"call 07700 9001{n:02d} now"


# (column, dataframe index, canary, the check that sets the row aside) in the staggered sample
PLANTED = [
    ("loneliness", 10, canary(1), "loneliness_is_a_number"),  # an outcome
    ("age", 20, canary(2), "age_is_a_number"),  # a covariate
    ("programme_site", 30, canary(3), "treatment_is_0_or_1"),  # the treatment
    ("start_wave", 40, canary(4), "first_treated_is_a_wave"),  # the start wave of a staggered roll-out
    ("cohesion", 50, f'=HYPERLINK("{canary(5)}")', "formula_cell"),  # a formula holding personal text
    ("ages_get_on", 60, canary(6) + "\x07", "control_characters"),  # text with a control character
]
ID_CANARY, ID_ROW = canary(7), 70  # a respondent id: replaced by its keyed hash, never stored
WAVE_CANARY, WAVE_ROW = canary(8), 5  # a wave cell of the NCS sample: the evaluation stops
CANARIES = [c for _, _, c, _ in PLANTED] + [ID_CANARY, WAVE_CANARY]


def plant(registry: Path) -> None:
    folder = registry / STAGGERED
    df = pd.read_stata(folder / "panel.dta").astype(object).where(lambda d: d.notna(), "")
    for column, row, value, _ in PLANTED:
        df.loc[row, column] = value
    df.loc[ID_ROW, "person_id"] = ID_CANARY
    df.to_csv(folder / "survey.csv", index=False)
    (folder / "panel.dta").unlink()
    manifest = yaml.safe_load((folder / "evaluation.yaml").read_text())
    manifest["files"] = [{"path": "survey.csv"}]
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))

    survey = registry / WAVES / "survey.csv"
    lines = survey.read_text().split("\n")
    cells = lines[WAVE_ROW - 1].split(",")
    cells[1] = WAVE_CANARY
    lines[WAVE_ROW - 1] = ",".join(cells)
    survey.write_text("\n".join(lines))


@pytest.fixture
def canaried(pipeline_env, monkeypatch):
    """Both registrations planted and run through the evaluation job in a persistent instance."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    plant(pipeline_env["registry"])
    defs = build_definitions()
    job = defs.resolve_job_def("evaluation_job")
    with DagsterInstance.get() as instance:  # SQLite storage under DAGSTER_HOME, as `dagster dev` keeps it
        instance.add_dynamic_partitions(evaluation_partitions.name, [STAGGERED, WAVES])
        ran = job.execute_in_process(instance=instance, partition_key=STAGGERED)
        stopped = job.execute_in_process(instance=instance, partition_key=WAVES, raise_on_error=False)
    return pipeline_env, ran, stopped


def files_holding(root: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every file under `root` whose bytes hold a needle (UTF-8 or, as Windows keeps text, UTF-16)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [n for n in needles if n.encode() in data or n.encode("utf-16-le") in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def test_canaries_in_typed_cells_are_stored_nowhere(canaried):
    env, ran, stopped = canaried
    assert ran.success and not stopped.success
    needles = CANARIES + ["07700 9001"]  # any part of the phone number
    for where in ("warehouse", "dagster_home", "book"):
        assert files_holding(env[where], needles) == {}, where
    # the same search does find what was stored in the cell's place: it reads the storage it claims to
    assert files_holding(env["dagster_home"], [f"found text, {LENGTH} characters"]) != {}
    assert files_holding(env["warehouse"], [f"text, {LENGTH} characters"]) != {}

    # The bytes alone could miss a compressed string: ask DuckDB for every text column of every table.
    databases, columns, hits = sorted(env["warehouse"].rglob("*.duckdb")), [], []
    assert databases
    for database in databases:
        with duckdb.connect(str(database), read_only=True) as con:
            found = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                                "where data_type = 'VARCHAR'").fetchall()
            columns += found
            hits += [(s, t, c) for s, t, c in found
                     if con.execute(f'select count(*) from "{s}"."{t}" where "{c}" like \'%07700%\'').fetchone()[0]]
    assert len(columns) > 20 and hits == []
    with duckdb.connect(str(warehouse_database(env["warehouse"], STAGGERED)), read_only=True) as con:
        schema = evaluation_schema(STAGGERED)
        quarantine = con.execute(f'select "_source_row", "column", "check", "value", reason from {schema}.quarantine '
                                 'order by "_source_row"').fetchall()
        raw = con.execute(f'select count(*) from {schema}.raw_survey').fetchone()[0]
        valid = con.execute(f'select count(*) from {schema}.validated_survey').fetchone()[0]
    # every planted row is set aside, at its row and column, with its kind and length only
    kinds = {"formula_cell": f"formula, {LENGTH + 14} characters",
             "control_characters": f"text with a control character, {LENGTH + 1} characters"}
    planted = [(row + 2, column, check, kinds.get(check, f"text, {LENGTH} characters"))
               for column, row, _, check in PLANTED]
    assert [q[:4] for q in quarantine if q[0] in {p[0] for p in planted}] == planted
    assert raw == valid + len(quarantine)  # the described cells keep their rows: nothing is lost


def test_a_canary_wave_stops_the_run_with_its_row_but_not_its_text(canaried):
    env, _, stopped = canaried
    failure = next(e for e in stopped.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert (f"found text, {LENGTH} characters (survey.csv row {WAVE_ROW}); use exactly the labels in "
            "evaluation.yaml") in message
    assert "07700" not in message


def cg_check(folder: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    return subprocess.run([CLI, "check", str(folder)], capture_output=True, text=True, timeout=300,
                          env={**environ, "COLUMNS": "1000"})


def test_check_names_row_column_and_fix_without_the_canary(pipeline_env):
    plant(pipeline_env["registry"])
    rows = cg_check(pipeline_env["registry"] / STAGGERED)
    assert rows.returncode == 0, rows.stderr
    survey = pipeline_env["registry"] / STAGGERED / "survey.csv"
    assert (f"{survey}, row 12, column 'loneliness': 'loneliness' holds text, 21 characters, which is not a number "
            "or a missing-value code (set aside)") in rows.stdout
    assert (f"{survey}, row 42, column 'start_wave': 'start_wave' holds text, 21 characters, which is not a wave "
            "label in evaluation.yaml") in rows.stdout
    wave = cg_check(pipeline_env["registry"] / WAVES)
    assert wave.returncode == 2
    assert (f"found text, 21 characters (survey.csv row {WAVE_ROW}); use exactly the labels in evaluation.yaml or "
            "correct design.waves / baseline / follow_up") in wave.stderr
    for proc in (rows, wave):
        assert "07700" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
