"""What Dagster's instance storage costs each evaluation run: the same runs against three instances.

    nice -n 10 .venv/bin/python benchmarks/dagster_storage.py                 # 8 evaluations
    nice -n 10 .venv/bin/python benchmarks/dagster_storage.py --evaluations 12 \\
        --postgres postgresql+psycopg2://commonground@127.0.0.1:54329/commonground   # `make postgres`

Simulated town-exchange evaluations (benchmarks/library.py's) are run, in one process that has
imported the pipeline once, by the evaluation job `commonground run` executes in-process, against:

    in memory    `DagsterInstance.ephemeral()`: the same steps, events kept in memory; the floor
    SQLite       the embedded default, as `commonground run` writes it (evaluations/cli.py DAGSTER_YAML)
    PostgreSQL   with --postgres: Dagster's Postgres storage (deploy/dagster.yaml), in a database
                 created for the benchmark and dropped after it

Each evaluation runs once on each instance, one after another, so that a busy machine slows all
three alike; the median per run is printed with the events each run stored, and what the storage
adds to the in-memory run. The warehouse, pages and science are the same on every side, so the
difference is what storing Dagster's events costs. Dagster's SQLite event log opens a new SQLAlchemy
engine and connection for each event (and again for the cross-run index of each asset event), so an
evaluation's ~115 events cost it whole seconds; there is no public setting to batch them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BENCH_DATABASE = "commonground_storage_bench"


def _postgres_database(url: str, create: bool) -> str:
    """The URL of a fresh benchmark database on the server of `url` (created, or dropped when not `create`)."""
    import psycopg2

    admin = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {BENCH_DATABASE}")
        if create:
            cur.execute(f"create database {BENCH_DATABASE}")
    admin.close()
    return url.rsplit("/", 1)[0] + "/" + BENCH_DATABASE


def _instances(work: Path, postgres: str | None) -> dict:
    from dagster import DagsterInstance

    from evaluations.cli import DAGSTER_YAML

    homes = {"SQLite": work / "sqlite_home"}
    homes["SQLite"].mkdir()
    (homes["SQLite"] / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    instances = {"in memory": DagsterInstance.ephemeral(),
                 "SQLite": DagsterInstance.from_config(str(homes["SQLite"]))}
    if postgres:
        home = work / "postgres_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            f"storage:\n  postgres:\n    postgres_url: {_postgres_database(postgres, create=True)}\n"
            "telemetry:\n  enabled: false\n", encoding="utf-8")
        instances["PostgreSQL"] = DagsterInstance.from_config(str(home))
    return instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=8)
    parser.add_argument("--postgres", help="a PostgreSQL server's URL (postgresql+psycopg2://...) to measure too")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cg-storage-"))
    import library

    lib = library.Library(work / "library")
    keys = [library.simulate(lib.registry, lib.truth, i) for i in range(args.evaluations)]
    for name, value in lib.env.items():
        if name.startswith(("COMMONGROUND_", "DAGSTER_HOME")):
            os.environ[name] = value

    from evaluations.cli import QUIET
    from orchestration.definitions import defs
    from orchestration.partitions import evaluation_partitions

    job = defs.get_job_def("evaluation_job")
    instances = _instances(work, args.postgres)
    for instance in instances.values():
        instance.add_dynamic_partitions(evaluation_partitions.name, keys)
    seconds = {name: [] for name in instances}
    events = {name: [] for name in instances}
    try:
        # one run first, unmeasured: what a process does once (imports on first use, caches)
        job.execute_in_process(instance=instances["in memory"], partition_key=keys[0], run_config=QUIET)
        for key in keys:
            for name, instance in instances.items():
                start = time.perf_counter()
                result = job.execute_in_process(instance=instance, partition_key=key, run_config=QUIET,
                                                raise_on_error=False)
                seconds[name].append(time.perf_counter() - start)
                if not result.success:
                    raise SystemExit(f"{key} failed on the {name} instance")
                events[name].append(len(instance.all_logs(result.run_id)))
    finally:
        for instance in instances.values():
            instance.dispose()
        if args.postgres:
            _postgres_database(args.postgres, create=False)
    floor = statistics.median(seconds["in memory"])
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores; "
          f"{len(keys)} evaluations, one run each per instance\n")
    print("| instance | seconds per run (median) | events per run | storage adds | ratio to in memory |")
    print("|---|---:|---:|---:|---:|")
    for name in instances:
        s = statistics.median(seconds[name])
        print(f"| {name} | {s:.2f} | {statistics.median(events[name]):.0f} | {s - floor:+.2f} s | {s / floor:.2f} |")


if __name__ == "__main__":
    main()
