"""The DuckDB warehouse: one schema per evaluation, one table per asset.

Evaluations have different columns (each charity's covariates and outcomes), so they cannot
share one table. dagster-duckdb-pandas' IO manager does the connecting, retrying and
DataFrame conversion; this subclass only changes *where* a partition goes: the table
`<asset>` in the schema `ev_<evaluation id>`, replaced whole on each materialisation (so a
changed manifest with new columns, or an empty quarantine, is stored as it is).
"""
from __future__ import annotations

import pandas as pd
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbIOManager, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager
from dagster_duckdb_pandas.duckdb_pandas_type_handler import DuckDBPandasTypeHandler


def evaluation_schema(evaluation_id: str) -> str:
    return "ev_" + evaluation_id.replace("-", "_")  # ids are slugs, so this is a safe identifier


class _ReplaceTable(DuckDBPandasTypeHandler):
    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection):
        connection.register("_frame", obj)
        connection.execute(f"create or replace table {table_slice.schema}.{table_slice.table} as select * from _frame")
        connection.unregister("_frame")
        context.add_output_metadata({"row_count": len(obj), "table": f"{table_slice.schema}.{table_slice.table}"})


class _TablePerEvaluation(DbIOManager):
    def _get_table_slice(self, context: OutputContext | InputContext, output_context: OutputContext) -> TableSlice:
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        if len(keys) != 1:
            raise ValueError(f"{context.asset_key.to_user_string()}: the warehouse stores one evaluation per "
                             f"table; read it one partition at a time (got {len(keys)} partitions)")
        return TableSlice(table=context.asset_key.path[-1], schema=evaluation_schema(keys[0]),
                          database=self._database, partition_dimensions=[])


class EvaluationWarehouse(DuckDBPandasIOManager):
    """DuckDB IO manager storing each evaluation's tables in its own schema."""

    @staticmethod
    def type_handlers():
        return [_ReplaceTable()]

    def create_io_manager(self, context) -> DbIOManager:
        return _TablePerEvaluation(db_client=DuckDbClient(), database=self.database, schema=self.schema_,
                                   type_handlers=self.type_handlers(), default_load_type=pd.DataFrame,
                                   io_manager_name="EvaluationWarehouse")
