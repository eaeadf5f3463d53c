"""The DuckDB warehouse: one schema per evaluation, one table per asset.

Evaluations have different columns (each charity's covariates and outcomes), so they cannot
share one table: a partition goes to the table `<asset>` in the schema `ev_<evaluation id>`,
replaced whole on each materialisation (so a changed manifest with new columns, or an empty
quarantine, is stored as it is). The replacement is one DuckDB transaction: if the write fails
part-way (a full disk, a killed process) the table is exactly as it was before the run.

Two layouts, chosen by COMMONGROUND_WAREHOUSE_LAYOUT (`warehouse_io_manager`):
- `file-per-evaluation` (the default, `make run` and the production profile): warehouse/evaluations/
  <id>.duckdb, one schema and its tables inside. Concurrent runs of different evaluations never
  share a file, and the run queue starts one run per evaluation at a time (deploy/dagster.yaml),
  so no run waits for or fails on another's lock (deploy/README.md, benchmarks/concurrent_warehouse.py).
  It is also what keeps a run's cost flat as the library grows: opening a DuckDB file reads its
  whole catalogue, and a run opens the warehouse about twenty times (a connection per table written
  or read, so that other runs can take their turn), which in one file of 100 evaluations' tables
  cost 0.5 s an opening against 0.05 s at 10 (benchmarks/README.md, a library of evaluations).
- `one-file`: every schema in warehouse/warehouse.duckdb (the embedded default until 2026-12).
  DuckDB lets one process at a time open a file, so runs in separate processes take turns
  (`connect` waits for the file).
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext

from evaluations.files import DiskFull, is_disk_full

# DuckDB lets one process at a time open the file for writing. Another run (a second
# `commonground run`, or a run the daemon started) holds it only while one step reads or writes
# a table, so waiting a little is enough; past this, the user is told who holds it.
LOCK_WAIT_SECONDS = 120


class WarehouseBusy(RuntimeError):
    """Another process kept the warehouse file open for longer than LOCK_WAIT_SECONDS."""


def evaluation_schema(evaluation_id: str) -> str:
    return "ev_" + evaluation_id.replace("-", "_")  # ids are slugs, so this is a safe identifier


def _is_lock_conflict(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower()


@contextmanager
def connect(database: str, wait_seconds: float = LOCK_WAIT_SECONDS):
    """A read-write connection, waiting (with growing pauses) while another process holds the file."""
    deadline, pause = time.monotonic() + wait_seconds, 0.1
    while True:
        try:
            connection = duckdb.connect(database)
            break
        except duckdb.IOException as e:
            if not _is_lock_conflict(e):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"the warehouse {database} is in use by another run ({e}); wait for that "
                                    "run to finish (see `dagster dev`, or the other `commonground run`), then run "
                                    "again") from None
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
    try:
        yield connection
    finally:
        connection.close()


class _DuckDBTables(ConfigurableIOManager):
    """DuckDB IO manager storing each evaluation's tables in its own schema, in `database_of` its id."""

    def database_of(self, evaluation_id: str) -> str:
        raise NotImplementedError

    def _table(self, context: OutputContext | InputContext) -> tuple[str, str, str]:
        """(database, schema, table) of the one evaluation `context` reads or writes."""
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        if len(keys) != 1:
            raise ValueError(f"{context.asset_key.to_user_string()}: the warehouse stores one evaluation per "
                             f"table; read it one partition at a time (got {len(keys)} partitions)")
        return self.database_of(keys[0]), evaluation_schema(keys[0]), context.asset_key.path[-1]

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        database, schema, table = self._table(context)
        try:
            with connect(database) as con:
                con.begin()  # schema, drop and create commit together or not at all
                try:
                    con.execute(f"create schema if not exists {schema}")
                    con.register("_frame", obj)
                    con.execute(f"create or replace table {schema}.{table} as select * from _frame")
                    con.commit()
                except BaseException:
                    with suppress(duckdb.Error):  # a failed commit has already rolled back
                        con.rollback()
                    raise
        except (duckdb.Error, OSError) as e:
            if is_disk_full(e):
                raise DiskFull(f"the table {schema}.{table} could not be written to {database} "
                               "(it is kept as it was before this run)") from e
            raise
        context.add_output_metadata({"row_count": len(obj), "table": f"{schema}.{table}"})

    def load_input(self, context: InputContext) -> pd.DataFrame:
        database, schema, table = self._table(context)
        with connect(database) as con:
            return con.execute(f"select * from {schema}.{table}").fetchdf()


class EvaluationWarehouse(_DuckDBTables):
    """Every evaluation's schema in one DuckDB file (the embedded default)."""

    database: str

    def database_of(self, evaluation_id: str) -> str:
        return self.database


class EvaluationFilesWarehouse(_DuckDBTables):
    """A DuckDB file per evaluation, `<directory>/<id>.duckdb`: concurrent runs never share a writer lock."""

    directory: str

    def database_of(self, evaluation_id: str) -> str:
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        return str(Path(self.directory) / f"{evaluation_id}.duckdb")  # ids are slugs: a safe file name


LAYOUT_ENV = "COMMONGROUND_WAREHOUSE_LAYOUT"
LAYOUTS = ("file-per-evaluation", "one-file")  # the first is the default


def warehouse_io_manager(folder: Path, layout: str | None = None) -> _DuckDBTables:
    """The warehouse of `layout` (else the one COMMONGROUND_WAREHOUSE_LAYOUT names, default `file-per-evaluation`) under
    `folder`."""
    layout = layout or os.environ.get(LAYOUT_ENV) or LAYOUTS[0]
    if layout == "one-file":
        return EvaluationWarehouse(database=str(folder / "warehouse.duckdb"))
    if layout == "file-per-evaluation":
        return EvaluationFilesWarehouse(directory=str(folder / "evaluations"))
    raise ValueError(f"{LAYOUT_ENV}={layout!r} is not a warehouse layout; set it to one of {', '.join(LAYOUTS)} "
                     "(or leave it unset for file-per-evaluation)")
