"""`commonground run` of several evaluations on several processes (orchestration/run_pool.py).

The pool's rules are checked with plain functions (what a worker that dies leaves, how many
workers); the command itself runs two samples for real, once on two processes and once on one,
and must publish the same warehouse tables, records and pages; killed with SIGKILL, it must leave
no worker behind, and the next command marks the dead runs failed and publishes.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from evaluations.registry import DEFAULT_REGISTRY
from orchestration import run_pool
from tests.conftest import copy_book_sources

CLI = str(Path(sys.executable).parent / "commonground")
EVALUATIONS = ("befriending-pre-post-2024", "town-exchange-2023")  # the two quickest samples


def _square_or_die(key: str) -> tuple:
    if key == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.5)  # long enough that both workers take a share
    return key, int(key) ** 2, os.getpid()


def test_outcomes_come_from_the_workers_and_a_dead_worker_is_reported_not_raised():
    with closing(run_pool.each_run(["2", "3", "4", "5"], lambda: _square_or_die, 2, died=None)) as runs:
        outcomes = sorted(runs)
    assert [o[:2] for o in outcomes] == [("2", 4), ("3", 9), ("4", 16), ("5", 25)]
    assert len({o[2] for o in outcomes}) == 2 and os.getpid() not in {o[2] for o in outcomes}

    with closing(run_pool.each_run(["die"], lambda: _square_or_die, 2, died=lambda key, why: (key, why))) as runs:
        ((key, why),) = list(runs)
    assert key == "die" and why.startswith("the process running it ended before finishing it")


def test_one_worker_runs_in_this_process(monkeypatch):
    monkeypatch.setenv(run_pool.JOBS_ENV, "1")
    assert run_pool.jobs(10) == 1
    with closing(run_pool.each_run(["6"], lambda: _square_or_die, run_pool.jobs(1), died=None)) as runs:
        assert list(runs) == [("6", 36, os.getpid())]


@pytest.mark.parametrize("setting, targets, expected", [("3", 10, 3), ("3", 2, 2), ("", 1, 1), ("zero", 1, 1)])
def test_workers_are_the_setting_or_the_cores_never_more_than_the_evaluations(monkeypatch, setting, targets, expected):
    monkeypatch.setenv(run_pool.JOBS_ENV, setting)
    assert run_pool.jobs(targets) == expected
    monkeypatch.delenv(run_pool.JOBS_ENV)
    assert run_pool.jobs(100) == len(os.sched_getaffinity(0))


def _library(root: Path) -> dict:
    registry = root / "registry"
    for evaluation in EVALUATIONS:
        shutil.copytree(DEFAULT_REGISTRY / evaluation, registry / evaluation)
    return {**os.environ, "COMMONGROUND_REGISTRY": str(registry), "COMMONGROUND_WAREHOUSE": str(root / "warehouse"),
            "COMMONGROUND_BOOK": str(copy_book_sources(root / "book")), "DAGSTER_HOME": str(root / "dagster_home")}


def _run(env: dict, workers: int) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "run"], env={**env, run_pool.JOBS_ENV: str(workers)}, capture_output=True,
                          text=True, timeout=900)


# Dagster's run id, which each record and page names (in a page, with Markdown-escaped hyphens)
RUN_ID = re.compile(rb"[0-9a-f]{8}(?:\\?-[0-9a-f]{4}){3}\\?-[0-9a-f]{12}")


def _published(root: Path) -> dict[str, str]:
    """A hash of every warehouse table's rows and of every document and generated page, run ids aside."""
    out = {}
    for database in sorted((root / "warehouse").rglob("*.duckdb")):
        with duckdb.connect(str(database), read_only=True) as con:
            for schema, table in con.execute("select table_schema, table_name from information_schema.tables").fetchall():
                rows = con.execute(f"select * from {schema}.{table}").fetchdf().to_csv(index=False)
                out[f"{schema}.{table}"] = hashlib.sha256(rows.encode()).hexdigest()
    for folder in (root / "warehouse" / "documents", root / "book" / "generated"):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            out[str(path.relative_to(root))] = hashlib.sha256(RUN_ID.sub(b"<run id>", path.read_bytes())).hexdigest()
    return out


def _kill_once_both_started(env: dict) -> dict:
    """`commonground run` on two workers, killed with -9 once both evaluations' runs are under way; then
    the command again: what was left behind and what the second command did."""
    home = Path(env["DAGSTER_HOME"])
    proc = subprocess.Popen([CLI, "run"], env={**env, run_pool.JOBS_ENV: "2"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 300
        # the command forks its workers once the instance's storage exists: only then is it read here
        # (two processes creating Dagster's SQLite storage at once can collide)
        while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
            workers = psutil.Process(proc.pid).children()
            time.sleep(0.1)
        while time.monotonic() < deadline and proc.poll() is None and not _started_both(home):
            time.sleep(0.1)
        started = len(workers) == 2 and _started_both(home) and psutil.Process(proc.pid).children() == workers
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    return {"started": started, "outlived": [p.pid for p in alive], "proc": _run(env, 2)}


@pytest.fixture(scope="module")
def two_ways(tmp_path_factory) -> dict:
    """The same two evaluations on one process, and on two after a first command on two was killed
    (the recovered library is the two-process side of the comparison: one run of the library fewer)."""
    runs = {}
    for workers in (2, 1):
        root = tmp_path_factory.mktemp(f"workers-{workers}")
        env = _library(root)
        runs[workers] = {"root": root, "env": env,
                         **(_kill_once_both_started(env) if workers == 2 else {"proc": _run(env, 1)})}
    return runs


def test_a_killed_command_leaves_no_worker_and_the_next_one_recovers(two_ways):
    killed = two_ways[2]
    assert killed["started"], "the command ended before both evaluations started on their two workers"
    assert killed["outlived"] == [], f"workers outlived the command: {killed['outlived']}"
    again = killed["proc"]
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("was left unfinished by a process that ended; marked failed") == 2
    with DagsterInstance.from_config(str(killed["root"] / "dagster_home")) as instance:
        assert [r.run_id for r in instance.get_runs() if not r.is_finished] == []


def test_two_processes_publish_exactly_what_one_does(two_ways):
    for run in two_ways.values():
        assert run["proc"].returncode == 0, run["proc"].stdout + run["proc"].stderr
        assert all(f"✓ {e} (run " in run["proc"].stdout for e in EVALUATIONS)
    parallel, serial = (_published(two_ways[w]["root"]) for w in (2, 1))
    assert len(parallel) > 40 and sum(k.endswith(".json") for k in parallel) > 10
    assert parallel == serial


def test_each_evaluation_ran_in_its_own_worker_as_its_own_dagster_run(two_ways):
    pids, failed = {}, 0
    with DagsterInstance.from_config(str(two_ways[2]["root"] / "dagster_home")) as instance:
        for run in instance.get_runs():
            if run.job_name == "evaluation_job" and run.status == DagsterRunStatus.FAILURE:
                failed += 1  # the killed command's
            elif run.job_name == "evaluation_job":
                assert run.status == DagsterRunStatus.SUCCESS
                pids[run.tags["dagster/partition"]] = run.tags["commonground/pid"]
    assert failed == 2 and sorted(pids) == sorted(EVALUATIONS) and len(set(pids.values())) == 2


def _started_both(home: Path) -> bool:
    """Both evaluations' runs have a step under way (their workers are at work)."""
    with DagsterInstance.from_config(str(home)) as instance:
        runs = [r for r in instance.get_runs() if r.job_name == "evaluation_job"]
        return len(runs) == 2 and all(any(e.is_dagster_event and e.dagster_event.event_type_value == "STEP_START"
                                          for e in instance.all_logs(r.run_id)) for r in runs)
