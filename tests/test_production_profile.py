"""The production profile, run for real: Dagster's instance on PostgreSQL, the three processes, concurrent runs.

A real PostgreSQL (Debian's package, started by deploy/postgres.sh, which `make test` runs first) holds
the instance of deploy/dagster.yaml, used as shipped. The code server, the webserver and the daemon
run as separate processes with the environment of deploy/production.env (a DuckDB file per
evaluation). Eight evaluations are submitted at once through the webserver's GraphQL API; the
daemon's run queue launches them side by side. They must all succeed with no lock error, overlap in
time, and leave tables and documents identical to running the same eight one after another in the
embedded default (one DuckDB file, in-process, an ephemeral instance).

The eight are registered copies of the two lightest samples (a DiD and a before-and-after design),
each with a different respondent row removed, so every copy has its own numbers and a run that read
or overwrote another evaluation's tables could not go unnoticed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import psycopg2
import pytest
import requests
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster_graphql import DagsterGraphQLClient

from evaluations.registration import register
from evaluations.registry import DEFAULT_REGISTRY, REPO_ROOT
from orchestration.jobs import BOOK_RUN_TAG
from orchestration.partitions import evaluation_partitions
from orchestration.warehouse import LAYOUT_ENV, evaluation_schema, warehouse_io_manager
from tests.conftest import copy_book_sources

DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent
SAMPLES = {"town-exchange-2023": ("exchange_survey.xlsx", "Responses"),
           "befriending-pre-post-2024": ("befriending_checkins.xlsx", "Check-ins")}
COPIES = 8
LOCK_ERRORS = re.compile(r"database is locked|could not set lock|conflicting lock|WarehouseBusy|deadlock", re.I)
TIMEOUT = 900


def postgres_server() -> str:
    """The URL of the cluster deploy/postgres.sh started (it starts it again if it was stopped; never installs)."""
    proc = subprocess.run(["bash", str(DEPLOY / "postgres.sh"), "--no-install"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"deploy/postgres.sh failed (run `make postgres`): {proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


def libpq(url: str) -> str:
    """The URL as libpq reads it (SQLAlchemy's names the driver: postgresql+psycopg2://)."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


@pytest.fixture
def database():
    """A database of its own on the real server, dropped afterwards."""
    server = postgres_server()
    name = f"cg_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(libpq(server))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {name} with (force)")
        admin.close()


def library(root: Path) -> list[str]:
    """Eight registered evaluations: copies of the two samples, copy k without the k-th respondent row."""
    registry, ids = root / "registry", []
    for k in range(COPIES):
        sample = list(SAMPLES)[k % len(SAMPLES)]
        data_file, sheet = SAMPLES[sample]
        evaluation_id = f"{sample}-copy-{k + 1}"
        source = root / "incoming" / evaluation_id
        shutil.copytree(DEFAULT_REGISTRY / sample, source)
        (source / "registration.json").unlink()
        manifest = source / "evaluation.yaml"
        manifest.write_text(manifest.read_text().replace(f"id: {sample}\n", f"id: {evaluation_id}\n"))
        book = openpyxl.load_workbook(source / data_file)
        book[sheet].delete_rows(2 + 5 * k)  # a different person (or check-in) in each copy
        book.save(source / data_file)
        register(source, registry, now=datetime(2025, 1, 1, tzinfo=timezone.utc))
        ids.append(evaluation_id)
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(root: Path, home: Path, url: str) -> dict[str, str]:
    """deploy/production.env's settings, pointed at this test's folders and database."""
    shipped = dict(line.split("=", 1) for line in (DEPLOY / "production.env").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert shipped[LAYOUT_ENV] == "file-per-evaluation"
    return {**os.environ, **shipped, "DAGSTER_HOME": str(home), "COMMONGROUND_POSTGRES_URL": url,
            "COMMONGROUND_REGISTRY": str(root / "registry"), "COMMONGROUND_WAREHOUSE": str(root / "warehouse"),
            "COMMONGROUND_BOOK": str(copy_book_sources(root / "book")),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def start(command: str, env: dict, log: Path) -> subprocess.Popen:
    """One line of deploy/Procfile, with the ports this test chose."""
    with open(log, "w") as out:
        return subprocess.Popen(command, shell=True, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def procfile(code_port: int, web_port: int, workspace: Path) -> dict[str, str]:
    lines = dict(line.split(": ", 1) for line in (DEPLOY / "Procfile").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert set(lines) == {"code", "webserver", "daemon"}
    return {name: command.replace("-p 4000", f"-p {code_port}").replace("-p 3000", f"-p {web_port}")
            .replace("deploy/workspace.yaml", str(workspace)) for name, command in lines.items()}


def wait_until(ready, what: str, processes: dict, logs: Path, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            if proc.poll() is not None:
                pytest.fail(f"the {name} process ended ({proc.returncode}): {(logs / f'{name}.log').read_text()[-3000:]}")
        if ready():
            return
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def location_loaded(web_port: int) -> bool:
    try:
        response = requests.post(f"http://127.0.0.1:{web_port}/graphql", timeout=10, json={"query": (
            "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError "
            "{ __typename } } } } }")})
    except requests.ConnectionError:
        return False
    entries = response.json()["data"]["workspaceOrError"]["locationEntries"]
    return any(e["name"] == "commonground" and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
               for e in entries)


def documents(warehouse: Path, evaluation_id: str) -> dict:
    """Every JSON document of one evaluation, without the run id (differs by construction) and the code
    version (a hash of the working tree, which an editor may change between the two runs)."""
    docs = {}
    for path in sorted((warehouse / "documents").glob(f"*/{evaluation_id}.json")):
        doc = json.loads(path.read_text())
        for key in ("run_id", "code_version"):
            doc.get("provenance", {}).pop(key, None)
        docs[path.parent.name] = doc
    return docs


def tables(database: Path, evaluation_id: str) -> dict[str, pd.DataFrame]:
    schema = evaluation_schema(evaluation_id)
    with duckdb.connect(str(database), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = ? "
                                           "order by table_name", [schema]).fetchall()]
        return {name: con.execute(f"select * from {schema}.{name}").fetchdf() for name in names}


def why_failed(instance: DagsterInstance, run_id: str) -> list[str]:
    """The failure events of a run, with their errors."""
    reasons = []
    for event in instance.all_logs(run_id):
        data = event.dagster_event.event_specific_data if event.dagster_event else None
        error = getattr(data, "error", None)
        if error is not None or (event.dagster_event and event.dagster_event.event_type_value == "RUN_FAILURE"):
            reasons.append(f"{event.step_key}: {event.message} {error.to_string() if error else ''}")
    return reasons


def in_progress_at_once(records) -> int:
    """The most runs that were in progress at the same moment."""
    edges = sorted([(r.start_time, 1) for r in records] + [(r.end_time, -1) for r in records])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def test_eight_concurrent_evaluations_on_postgres_match_a_serial_run(tmp_path, database, monkeypatch):
    ids = library(tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")  # the production instance, as shipped
    env = production_env(tmp_path, home, database)
    code_port, web_port = free_port(), free_port()
    workspace = tmp_path / "workspace.yaml"
    spec = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    spec["load_from"][0]["grpc_server"]["port"] = code_port
    workspace.write_text(yaml.safe_dump(spec))

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("COMMONGROUND_POSTGRES_URL", database)
    instance = DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    instance.add_dynamic_partitions(evaluation_partitions.name, ids)

    commands = procfile(code_port, web_port, workspace)
    processes = {"code": start(commands["code"], env, tmp_path / "code.log"),
                 "webserver": start(commands["webserver"], env, tmp_path / "webserver.log")}
    try:
        wait_until(lambda: location_loaded(web_port), "the webserver to load the code location", processes, tmp_path)
        # The registry sensor and the book sensor would start runs of their own; this test launches its eight.
        stops = [subprocess.Popen([str(BIN / "dagster"), "sensor", "stop", sensor, "-w", str(workspace)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for sensor in ("registry_sensor", "book_after_evaluations")]
        for stop in stops:
            output, _ = stop.communicate(timeout=300)
            assert stop.returncode == 0, output
        processes["daemon"] = start(commands["daemon"], env, tmp_path / "daemon.log")

        def submit(key: str) -> str:  # a client per thread: one client's connection is not shared
            return DagsterGraphQLClient("127.0.0.1", port_number=web_port).submit_job_execution(
                "evaluation_job", repository_location_name="commonground", repository_name="__repository__",
                tags={"dagster/partition": key})

        with ThreadPoolExecutor(COPIES) as pool:  # submitted at once; the run queue decides what starts
            run_ids = list(pool.map(submit, ids))

        def finished():
            records = instance.get_run_records(RunsFilter(run_ids=run_ids))
            return all(r.dagster_run.is_finished for r in records)
        wait_until(finished, "the eight runs to finish", processes, tmp_path, timeout=TIMEOUT)
        records = instance.get_run_records(RunsFilter(run_ids=run_ids))
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in processes.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()

    logs = "\n".join((tmp_path / f"{name}.log").read_text() for name in ("code", "webserver", "daemon"))
    events = "\n".join(e.message or "" for run_id in run_ids for e in instance.all_logs(run_id))
    failed = {r.dagster_run.tags["dagster/partition"]: why_failed(instance, r.dagster_run.run_id) for r in records
              if r.dagster_run.status != DagsterRunStatus.SUCCESS}
    assert not failed, failed
    assert not LOCK_ERRORS.search(events + logs)
    assert in_progress_at_once(records) >= 4, "the run queue did not start the runs side by side"
    assert not any(BOOK_RUN_TAG[0] in r.dagster_run.tags for r in records)
    with psycopg2.connect(libpq(database)) as con, con.cursor() as cur:  # the history is in PostgreSQL, not in SQLite
        cur.execute("select count(*) from runs where status = 'SUCCESS'")
        assert cur.fetchone()[0] == COPIES
    assert not list(home.glob("**/*.db"))

    # The same eight, one after another, in this process, in the other layout: one DuckDB file.
    serial = tmp_path / "serial"
    monkeypatch.setenv("COMMONGROUND_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("COMMONGROUND_WAREHOUSE", str(serial / "warehouse"))
    monkeypatch.setenv("COMMONGROUND_BOOK", str(copy_book_sources(serial / "book")))
    monkeypatch.setenv(LAYOUT_ENV, "one-file")
    from orchestration.definitions import build_definitions

    job = build_definitions().resolve_job_def("evaluation_job")
    reference = DagsterInstance.ephemeral()
    reference.add_dynamic_partitions(evaluation_partitions.name, ids)
    for key in ids:
        assert job.execute_in_process(instance=reference, partition_key=key).success

    concurrent_files = tmp_path / "warehouse" / "evaluations"
    assert sorted(p.name for p in concurrent_files.glob("*.duckdb")) == sorted(f"{key}.duckdb" for key in ids)
    results = set()
    for key in ids:
        expected = tables(serial / "warehouse" / "warehouse.duckdb", key)
        got = tables(concurrent_files / f"{key}.duckdb", key)
        assert sorted(got) == sorted(expected) and len(expected) >= 4, key
        for name, frame in expected.items():
            pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=f"{key}: {name}")
        docs = documents(tmp_path / "warehouse", key)
        assert docs == documents(serial / "warehouse", key), key
        assert docs["evidence_record"]["id"] == key
        results.add(json.dumps(docs["evidence_record"]["estimates"], sort_keys=True))
    assert len(results) == COPIES  # each copy had its own numbers, so no run could have used another's


def test_the_run_queue_limits_name_the_tags_the_jobs_carry():
    limits = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    by_key = {limit["key"]: limit for limit in limits}
    assert by_key[BOOK_RUN_TAG[0]] == {"key": BOOK_RUN_TAG[0], "value": BOOK_RUN_TAG[1], "limit": 1}
    assert by_key["dagster/partition"] == {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True},
                                           "limit": 1}
    from orchestration.jobs import book_job

    assert book_job.tags[BOOK_RUN_TAG[0]] == BOOK_RUN_TAG[1]


def test_an_unknown_warehouse_layout_is_refused_naming_the_setting_and_the_choices(tmp_path, monkeypatch):
    monkeypatch.setenv(LAYOUT_ENV, "one-big-file")
    with pytest.raises(ValueError, match="COMMONGROUND_WAREHOUSE_LAYOUT='one-big-file'.*file-per-evaluation, one-file"):
        warehouse_io_manager(tmp_path)
    monkeypatch.setenv(LAYOUT_ENV, "one-file")
    assert warehouse_io_manager(tmp_path).database_of("ncs-youth-2024") == str(tmp_path / "warehouse.duckdb")
    monkeypatch.delenv(LAYOUT_ENV)  # the default: a file per evaluation
    assert warehouse_io_manager(tmp_path).database_of("ncs-youth-2024") == str(tmp_path / "evaluations" /
                                                                               "ncs-youth-2024.duckdb")
