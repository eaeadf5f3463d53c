"""Runs whose process died (`kill -9`, a power cut) must not stay "in progress" for ever.

A run left STARTED counts against the run queue's limit of one (see DAGSTER_YAML in
evaluations/cli.py), so the daemon would never start another. Every run `commonground` starts
carries tags naming the process that runs it (host, pid and the process's start time, so a
reused pid is not mistaken for it). Two places ask, both through Dagster's public API:
`commonground run` marks its own dead runs failed before it starts (no daemon needed), and the
`dead_commonground_runs` sensor does the same every 30 s wherever the daemon runs (`dagster dev`,
production). Runs the daemon launched are Dagster's to watch (its run monitoring and the code
server). Runs without our tags (an older `commonground`, a script) are left to Dagster's
`max_runtime_seconds`: nothing public says which machine ran them.

Two `commonground` commands at once are kept apart here too (`one_command_at_a_time`).
"""
from __future__ import annotations

import fcntl
import os
import socket
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultRunLauncher,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

HOST_TAG, PID_TAG, STARTED_TAG = "commonground/host", "commonground/pid", "commonground/process_started"
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
              DagsterRunStatus.CANCELING]


def process_tags() -> dict[str, str]:
    """Tags for a run executed by this process."""
    me = psutil.Process()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(me.pid), STARTED_TAG: f"{me.create_time():.2f}"}


def _worker(run: DagsterRun) -> tuple[int, str, float | None] | None:
    """(pid, host, its start time) of the `commonground` process that ran `run`, when this host can judge it."""
    tags = run.tags
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return None
    try:
        return int(tags[PID_TAG]), tags[HOST_TAG], float(tags[STARTED_TAG])
    except (KeyError, ValueError):  # no usable start time: the pid alone
        return int(tags[PID_TAG]), tags[HOST_TAG], None


def process_gone(run: DagsterRun) -> str | None:
    """Why the process that ran `run` is known to be gone, or None (alive, elsewhere, or not ours to judge)."""
    worker = _worker(run)
    if worker is None:
        return None
    pid, host, process_started = worker
    try:
        process = psutil.Process(pid)
        created = process.create_time()
        alive = process.status() != psutil.STATUS_ZOMBIE
        # the same pid with another start time is a new process that reused the number
        if process_started is not None:
            alive = alive and abs(created - process_started) < 1
    except psutil.NoSuchProcess:
        alive = False
    except psutil.Error:  # not ours to inspect: do not judge
        alive = True
    if alive:
        return None
    return f"its process ({pid} on {host}) ended without finishing the run (killed, or the machine stopped)"


class WarehouseInUse(RuntimeError):
    """Another `commonground run` or `book` is writing to the same warehouse."""


@contextmanager
def one_command_at_a_time(warehouse: Path):
    """Hold the warehouse for this command; a second command is refused at once, naming the first.

    Refusing (rather than waiting) keeps the outcome plain: the second command changes nothing
    and says which process to wait for. The lock is the operating system's, so a killed
    command leaves none behind (the file stays, unlocked, holding the last holder's note).
    """
    warehouse.mkdir(parents=True, exist_ok=True)
    path = warehouse / ".commonground.lock"
    with open(path, "a+", encoding="utf-8") as handle:  # "a+": opening must not wipe the holder's note
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WarehouseInUse(f"another commonground command is using the warehouse {warehouse} ({holder}); "
                                 "wait for it to finish, then run this again") from None
        tags = process_tags()
        note = f"pid {tags[PID_TAG]} on {tags[HOST_TAG]}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
        with suppress(OSError):  # the note only helps the message; a full disk must not stop the command here
            os.ftruncate(handle.fileno(), 0)
            os.pwrite(handle.fileno(), note.encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fail_dead_runs(instance: DagsterInstance) -> list[DagsterRun]:
    """Mark failed every unfinished run of `instance` whose process on this host is gone."""
    failed = []
    for record in instance.get_run_records(RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        reason = process_gone(run)
        if reason:
            instance.report_run_failed(run, f"Marked failed by commonground: {reason}.")
            failed.append(run)
    return failed


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Marks failed the runs whose `commonground` process on this machine ended without finishing "
                    "them (killed, or the machine stopped), so they never hold the run queue.")
def dead_commonground_runs(context: SensorEvaluationContext) -> SkipReason:
    failed = fail_dead_runs(context.instance)
    if failed:
        return SkipReason(f"marked failed: {', '.join(run.run_id[:8] for run in failed)}")
    return SkipReason("no unfinished run of an ended commonground process")


# Instance configurations written before the sensor above named this launcher (DAGSTER_YAML, deploy/dagster.yaml);
# it is Dagster's own default launcher, kept under this name so such a dagster.yaml still loads.
LocalRunLauncher = DefaultRunLauncher
