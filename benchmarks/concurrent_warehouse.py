"""How the warehouse takes concurrent runs: the three choices of issue 13, measured side by side.

Each simulated run is a process doing what one evaluation run does to the warehouse: six steps,
each reading the previous table and replacing the next in one transaction (a 20,000-row,
12-column table by default). Eight runs start at once under each layout:

- one-file:            every evaluation's schema in one DuckDB file; a run waits for the file
                       (orchestration.warehouse.connect), so runs in separate processes take turns
- one-writer (pool):   the same file with the runs made to take turns outright, which is what a Dagster
                       concurrency pool of one on the warehouse steps amounts to
- file-per-evaluation: a DuckDB file per evaluation (the production profile's choice)
- postgresql:          a schema per evaluation on the PostgreSQL of deploy/postgres.sh (needs it running)

Usage: .venv/bin/python benchmarks/concurrent_warehouse.py [--runs 8] [--rows 20000]
Prints wall time, the slowest run, and how often a run found the file locked; results and the
choice are in deploy/README.md.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from orchestration.warehouse import connect, evaluation_schema  # noqa: E402

STEPS = ["raw_survey", "validated_survey", "quarantine", "analysis_panel", "impact_estimates", "diagnostics"]


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(size=rows) for i in range(8)}
    data |= {"unit": [f"{i:016x}" for i in range(rows)], "wave": rng.integers(0, 2, rows),
             "treated": rng.integers(0, 2, rows), "label": rng.choice(["a", "b", "c"], rows)}
    return pd.DataFrame(data)


def duckdb_run(database: str, evaluation: str, rows: int) -> tuple[float, int]:
    """One run's warehouse traffic on DuckDB; returns (seconds, times the file was found locked)."""
    start, conflicts, schema = time.perf_counter(), 0, evaluation_schema(evaluation)
    previous = frame(rows, hash(evaluation) % 1000)
    for step in STEPS:
        try:  # count conflicts before handing over to connect(), which waits them out
            duckdb.connect(database).close()
        except duckdb.IOException:
            conflicts += 1
        with connect(database) as con:
            con.begin()
            con.execute(f"create schema if not exists {schema}")
            con.register("_frame", previous)
            con.execute(f"create or replace table {schema}.{step} as select * from _frame")
            con.commit()
        with connect(database) as con:
            previous = con.execute(f"select * from {schema}.{step}").fetchdf()
    return time.perf_counter() - start, conflicts


def postgres_run(url: str, evaluation: str, rows: int) -> tuple[float, int]:
    import psycopg2

    start, schema = time.perf_counter(), evaluation_schema(evaluation)
    previous = frame(rows, hash(evaluation) % 1000)
    columns = ", ".join(f"{c} double precision" if previous[c].dtype.kind == "f" else
                        f"{c} bigint" if previous[c].dtype.kind == "i" else f"{c} text" for c in previous)
    with psycopg2.connect(url) as con:
        for step in STEPS:
            with con.cursor() as cur:  # one transaction: drop, create and load commit together
                cur.execute(f"create schema if not exists {schema}")
                cur.execute(f"drop table if exists {schema}.{step}")
                cur.execute(f"create table {schema}.{step} ({columns})")
                buffer = io.StringIO()
                previous.to_csv(buffer, index=False, header=False)
                buffer.seek(0)
                cur.copy_expert(f"copy {schema}.{step} from stdin with (format csv)", buffer)
            con.commit()
            with con.cursor() as cur:
                out = io.StringIO()
                cur.copy_expert(f"copy {schema}.{step} to stdout with (format csv, header)", out)
                out.seek(0)
                previous = pd.read_csv(out)
    return time.perf_counter() - start, 0


def _one(args):
    kind, target, evaluation, rows = args
    if kind == "postgresql":
        return postgres_run(target, evaluation, rows)
    return duckdb_run(target, evaluation, rows)


def measure(kind: str, runs: int, rows: int, folder: Path, url: str | None) -> dict:
    evaluations = [f"bench-{i}" for i in range(runs)]
    if kind in ("one-file", "one-writer (pool)"):
        targets = [str(folder / f"{uuid.uuid4().hex}.duckdb")] * runs
    elif kind == "file-per-evaluation":
        targets = [str(folder / f"{e}-{uuid.uuid4().hex}.duckdb") for e in evaluations]
    else:
        targets = [url] * runs
    jobs = [(("postgresql" if kind == "postgresql" else "duckdb"), t, e, rows) for t, e in zip(targets, evaluations)]
    start = time.perf_counter()
    if kind == "one-writer (pool)":
        results = [_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(runs) as pool:
            results = list(pool.map(_one, jobs))
    return {"layout": kind, "wall_s": round(time.perf_counter() - start, 2),
            "slowest_run_s": round(max(r[0] for r in results), 2), "found_locked": sum(r[1] for r in results)}


def postgres_database() -> tuple[str | None, str | None]:
    """A fresh database on deploy/postgres.sh's server (libpq URL, name), or (None, None) if it is not running."""
    script = Path(__file__).resolve().parents[1] / "deploy" / "postgres.sh"
    proc = subprocess.run(["bash", str(script), "--no-install"], capture_output=True, text=True)
    if proc.returncode != 0:
        return None, None
    import psycopg2

    server = proc.stdout.strip().splitlines()[-1].replace("postgresql+psycopg2://", "postgresql://", 1)
    name = f"cg_bench_{uuid.uuid4().hex[:10]}"
    con = psycopg2.connect(server)
    con.autocommit = True
    con.cursor().execute(f"create database {name}")
    con.close()
    return server.rsplit("/", 1)[0] + "/" + name, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    url, name = postgres_database()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("one-file", "one-writer (pool)", "file-per-evaluation", "postgresql"):
            if kind == "postgresql" and url is None:
                print("postgresql: skipped, deploy/postgres.sh has no server running")
                continue
            rows.append(measure(kind, args.runs, args.rows, Path(tmp), url))
            print(rows[-1], flush=True)
    if name:
        import psycopg2

        con = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        con.autocommit = True
        con.cursor().execute(f"drop database {name} with (force)")
        con.close()
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
