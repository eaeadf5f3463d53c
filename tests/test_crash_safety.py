"""Crashes leave nothing behind: killed runs, damaged documents, a full disk, two commands at once.

Every fault is caused for real: `commonground run` is killed with SIGKILL at a chosen step
(watched in the Dagster event log), a record document is cut short on disk, and the warehouse
sits on a tmpfs that has no space left. One evaluation (the smallest sample) keeps it quick.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from evaluations.files import DamagedDocument, read_json_document, write_text_atomic
from evaluations.registry import DEFAULT_REGISTRY
from orchestration.runs import fail_dead_runs, one_command_at_a_time, process_gone
from tests.conftest import copy_book_sources, warehouse_database

EVALUATION = "town-exchange-2023"
CLI = str(Path(sys.executable).parent / "commonground")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict:
    """A one-evaluation library, run once through the CLI; tests that change it leave it runnable."""
    root = tmp_path_factory.mktemp("crash")
    registry = root / "registry"
    shutil.copytree(DEFAULT_REGISTRY / EVALUATION, registry / EVALUATION)
    env = {**os.environ, "COMMONGROUND_REGISTRY": str(registry), "COMMONGROUND_WAREHOUSE": str(root / "warehouse"),
           "COMMONGROUND_BOOK": str(copy_book_sources(root / "book")), "DAGSTER_HOME": str(root / "dagster_home")}
    first = cli(env, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    return {"root": root, "env": env, "warehouse": root / "warehouse", "home": root / "dagster_home",
            "record": root / "warehouse" / "documents" / "evidence_record" / f"{EVALUATION}.json"}


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=600)


def instance(home: Path) -> DagsterInstance:
    return DagsterInstance.from_config(str(home))


def kill_at(env: dict, home: Path, job: str, step: str, child: str | None = None):
    """Start `commonground run`; SIGKILL it once `step` of `job` has started (and, if named, its `child`
    process is running). Return the killed run, once every process the kill orphaned has ended with it."""
    with instance(home) as dagster:
        before = {r.run_id for r in dagster.get_runs()}
        proc = subprocess.Popen([CLI, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs, orphans = [], []
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                runs = [r for r in dagster.get_runs() if r.run_id not in before and r.job_name == job]
                started = [e for r in runs for e in dagster.all_logs(r.run_id)
                           if e.is_dagster_event and e.dagster_event.event_type_value == "STEP_START"]
                if any(e.step_key == step for e in started):
                    children = psutil.Process(proc.pid).children(recursive=True)
                    if child is None or any(child in " ".join(c.cmdline()) for c in children):
                        os.kill(proc.pid, signal.SIGKILL)
                        orphans = children
                        break
                time.sleep(0.05)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"the run ended before {step} started"
        # the book build dies with the command (parallel_build --die-with): it must not race the next run's build
        _, alive = psutil.wait_procs(orphans, timeout=30)
        assert not alive, f"outlived the killed command: {[p.cmdline()[:4] for p in alive]}"
        (killed,) = runs
        return dagster.get_run_by_id(killed.run_id)


def tables(database: Path) -> dict[str, str]:
    """Every warehouse table's full contents, as a hash (the same hash = the same rows and columns)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = con.execute("select table_schema, table_name from information_schema.tables order by 1, 2").fetchall()
        return {f"{s}.{t}": hashlib.sha256(con.execute(f"select * from {s}.{t}").fetchdf().to_csv().encode()).hexdigest()
                for s, t in names}


@pytest.mark.parametrize("job, step, child", [("evaluation_job", "validate_survey", None),
                                              ("book_job", "evidence_book", "evaluations.publish.parallel_build")],
                         ids=["at-intake", "during-book-build"])
def test_a_killed_run_is_marked_failed_and_the_next_run_succeeds(library, job, step, child):
    env, home = library["env"], library["home"]
    dead = kill_at(env, home, job, step, child)
    assert dead.status == DagsterRunStatus.STARTED  # what kill -9 leaves: Dagster still thinks it runs

    gone = process_gone(dead)  # what the daemon's dead_commonground_runs sensor and the next command both ask
    assert gone and gone.startswith(f"its process ({dead.tags['commonground/pid']} on {os.uname().nodename})")

    again = cli(env, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"run {dead.run_id[:8]} ({EVALUATION if job == 'evaluation_job' else job}) was left unfinished" in again.stdout
    with instance(home) as dagster:
        assert dagster.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        latest = {r.job_name: r for r in reversed(dagster.get_runs())}  # newest last wins
        assert {j: r.status for j, r in latest.items()} == {"evaluation_job": DagsterRunStatus.SUCCESS,
                                                            "book_job": DagsterRunStatus.SUCCESS}
        assert [r.run_id for r in dagster.get_runs() if not r.is_finished] == []


def test_the_shipped_instance_config_is_written_upgraded_and_never_overwritten_once_edited(tmp_path, monkeypatch):
    from evaluations.cli import DAGSTER_YAML, OLD_DAGSTER_YAMLS, dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "fresh"))
    assert (dagster_home() / "dagster.yaml").read_text() == DAGSTER_YAML
    old = tmp_path / "old"
    old.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(old))
    for text in OLD_DAGSTER_YAMLS:  # what earlier versions wrote: ours to upgrade
        (old / "dagster.yaml").write_text(text)
        assert (dagster_home() / "dagster.yaml").read_text() == DAGSTER_YAML
    edited = OLD_DAGSTER_YAMLS[0].replace("max_concurrent_runs: 1", "max_concurrent_runs: 2")
    (old / "dagster.yaml").write_text(edited)  # the user's own edit is kept
    assert (dagster_home() / "dagster.yaml").read_text() == edited


def test_the_daemons_sensor_fails_a_dead_run_and_leaves_a_live_one(tmp_path, monkeypatch):
    """The dead_commonground_runs sensor (as the daemon of `dagster dev` evaluates it) with the shipped dagster.yaml."""
    from dagster import build_sensor_context

    from evaluations.cli import dagster_home
    from orchestration.runs import dead_commonground_runs, process_tags

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with instance(dagster_home()) as dagster:
        assert dagster.run_monitoring_enabled
        assert dagster.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()  # a process that has ended: its pid names no live process
        dead = {**process_tags(), "commonground/pid": str(child.pid)}
        reused = {**process_tags(), "commonground/process_started": "1.00"}  # this pid, but another process
        # untagged: an older `commonground` or a script; nothing public says which machine ran it, so left alone
        cases = {"dead": dead, "pid reused": reused, "alive": process_tags(), "untagged": {}}
        runs = {name: dagster.create_run_for_job(_noop_job(), tags=tags) for name, tags in cases.items()}
        for run in runs.values():
            dagster.report_dagster_event(_run_start_event(run, child.pid), run.run_id)
        skipped = dead_commonground_runs(build_sensor_context(instance=dagster))
        status = {name: dagster.get_run_by_id(run.run_id).status for name, run in runs.items()}
        assert status == {"dead": DagsterRunStatus.FAILURE, "pid reused": DagsterRunStatus.FAILURE,
                          "alive": DagsterRunStatus.STARTED, "untagged": DagsterRunStatus.STARTED}
        named = skipped.skip_message.removeprefix("marked failed: ").split(", ")
        assert sorted(named) == sorted(runs[n].run_id[:8] for n in ("dead", "pid reused"))
        assert [r.run_id for r in fail_dead_runs(dagster)] == []  # the CLI's sweep agrees: nothing left to fail


def _noop_job():
    from dagster import job, op

    @op
    def nothing():
        return None

    @job
    def noop():
        nothing()

    return noop


def _run_start_event(run, pid: int):
    from dagster import DagsterEvent, DagsterEventType

    return DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name=run.job_name,
                        message="started", pid=pid)


def test_a_damaged_record_does_not_stop_the_book_and_the_next_run_rebuilds_it(library):
    env, record = library["env"], library["record"]
    diagnostics = record.parent.parent / "diagnostics" / record.name  # an upstream document of the same run
    good = read_json_document(record)
    record.write_text(record.read_text()[:200])  # what a crash mid-write would have left without atomic writes
    diagnostics.write_text("not json")

    book = cli(env, "book")  # reads every evaluation's record: the damaged one must not stop it
    assert book.returncode == 0, book.stdout + book.stderr
    assert "Traceback" not in book.stdout + book.stderr

    again = cli(env, "run")  # runs the evaluation whole, so its damaged documents are written anew
    assert again.returncode == 0, again.stdout + again.stderr
    rebuilt = read_json_document(record)
    assert rebuilt["id"] == good["id"] == EVALUATION
    assert rebuilt["estimates"] == good["estimates"]  # the same data and seed give the same numbers
    assert read_json_document(diagnostics)


def test_damaged_documents_are_named_with_what_is_wrong(tmp_path):
    cases = {"cut.json": ('{"id": "a", "estim', "it is not complete JSON (Unterminated string starting at: "
                                                   "line 1 column 13 (char 12))"),
             "empty.json": ("", "it is empty"),
             "list.json": ("[1, 2]", "it holds a JSON list where an object belongs"),
             "binary.json": (b"\xff\xfe{}", "it is not UTF-8 text")}
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(DamagedDocument) as caught:
            read_json_document(path)
        assert (caught.value.path, caught.value.reason) == (path, reason)
    write_text_atomic(tmp_path / "ok.json", json.dumps({"id": "a"}))
    assert read_json_document(tmp_path / "ok.json") == {"id": "a"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_second_command_at_the_same_time_is_refused_and_changes_nothing(library):
    before = tables(warehouse_database(library["warehouse"], EVALUATION))
    with one_command_at_a_time(library["warehouse"]):  # as a running `commonground run` holds it
        second = cli(library["env"], "run")
    assert second.returncode == 2
    assert second.stderr.startswith(f"Error: another commonground command is using the warehouse "
                                    f"{library['warehouse']} (pid {os.getpid()} on {os.uname().nodename}, since ")
    assert second.stderr.rstrip().endswith("wait for it to finish, then run this again")
    assert "Traceback" not in second.stdout + second.stderr
    assert tables(warehouse_database(library["warehouse"], EVALUATION)) == before


@pytest.fixture
def full_disk(library, tmp_path):
    """The library's warehouse copied onto a small tmpfs, with every byte of it then taken."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"this machine does not let the tests mount a tmpfs: {made.stderr.decode().strip()}")
    try:
        shutil.copytree(library["warehouse"], mount / "warehouse")
        shutil.copytree(library["home"], mount / "dagster_home")
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_stops_the_run_with_a_message_and_leaves_every_table_as_it_was(library, full_disk):
    warehouse = full_disk / "warehouse"
    database = warehouse_database(warehouse, EVALUATION)
    with duckdb.connect(str(database)) as con:  # make the stored table differ from what a run would write
        con.execute(f"delete from ev_{EVALUATION.replace('-', '_')}.raw_survey where rowid % 2 = 0")
    before, documents = tables(database), {p: p.read_bytes() for p in warehouse.rglob("*.json")}
    with open(full_disk / "filler", "wb") as filler:
        os.posix_fallocate(filler.fileno(), 0, shutil.disk_usage(full_disk).free)
    assert shutil.disk_usage(full_disk).free == 0

    result = cli({**library["env"], "COMMONGROUND_WAREHOUSE": str(warehouse)}, "run")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"Error: the disk is full: the table ev_town_exchange_2023.raw_survey could not be "
                             f"written to {database} (it is kept as it was before this run); free space and run again\n")

    # Dagster's own storage on the full disk: refused before anything starts, with the same advice
    storage = cli({**library["env"], "COMMONGROUND_WAREHOUSE": str(warehouse),
                   "DAGSTER_HOME": str(full_disk / "dagster_home")}, "run")
    assert (storage.returncode, storage.stdout) == (2, "")
    assert storage.stderr == f"Error: the disk is full: {full_disk / 'dagster_home'} has no space left; free space and run again\n"

    (full_disk / "filler").unlink()
    assert tables(database) == before
    assert {p: p.read_bytes() for p in warehouse.rglob("*.json")} == documents


def test_the_warehouse_waits_a_bounded_time_for_another_process_holding_duckdb(tmp_path):
    """A run the daemon started may hold the DuckDB file for a step: wait for it, but not for ever."""
    from orchestration.warehouse import WarehouseBusy, connect

    database = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(3)", str(database)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(WarehouseBusy) as busy:
        with connect(str(database), wait_seconds=0.5):
            pass
    assert str(busy.value).startswith(f"the warehouse {database} is in use by another run (")
    assert str(busy.value).endswith("wait for that run to finish (see `dagster dev`, or the other `commonground run`), "
                                    "then run again")
    with connect(str(database), wait_seconds=60) as con:  # the holder ends after 3 s; the wait outlasts it
        assert con.execute("select 42").fetchone() == (42,)
    assert holder.wait(timeout=10) == 0
