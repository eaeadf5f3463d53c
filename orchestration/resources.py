"""Resources chosen by deployment: where the registry, the warehouse and the book live.

Embedded default: everything under the repository (registry = the sample library,
warehouse/ for DuckDB and JSON, book/ for the Jupyter Book). Point them elsewhere with
COMMONGROUND_REGISTRY, COMMONGROUND_WAREHOUSE and COMMONGROUND_BOOK (and the warehouse's
layout with COMMONGROUND_WAREHOUSE_LAYOUT): the resources read them through Dagster's EnvVar
when a run or sensor starts, so `dagster dev`, the daemon and the code server show them by
name. `commonground` passes its own folders explicitly instead (`configured_resources`); no
code here ever writes os.environ or creates a folder when it is imported.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from dagster import (
    AssetKey,
    ConfigurableIOManager,
    ConfigurableIOManagerFactory,
    ConfigurableResource,
    EnvVar,
    InitResourceContext,
    InputContext,
    IOManager,
    OutputContext,
)

from evaluations.files import DamagedDocument, DiskFull, is_disk_full, read_json_document, write_text_atomic
from evaluations.measures import Measure, load_measures
from evaluations.registry import DEFAULT_REGISTRY, REGISTRY_ENV, REPO_ROOT, Manifest, load_manifest
from orchestration.warehouse import LAYOUT_ENV, warehouse_io_manager

WAREHOUSE_ENV, BOOK_ENV = "COMMONGROUND_WAREHOUSE", "COMMONGROUND_BOOK"
DEFAULT_WAREHOUSE, DEFAULT_BOOK = REPO_ROOT / "warehouse", REPO_ROOT / "book"


def warehouse_dir() -> Path:
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE).resolve()


def book_dir() -> Path:
    return Path(os.environ.get(BOOK_ENV) or DEFAULT_BOOK).resolve()


def _setting(value: Path | str | None, env: str, default: Path | str) -> str | EnvVar:
    """A value given explicitly (by `commonground`), else the environment variable as an EnvVar (read when a
    run or sensor starts, shown by name in the UI), else the embedded default."""
    if value is not None:
        return str(Path(value).resolve())
    if os.environ.get(env):
        return EnvVar(env)
    return str(default)


def configured_resources(registry: Path | str | None = None, warehouse: Path | str | None = None,
                         book: Path | str | None = None) -> dict:
    """The code location's resources: each folder as given, or from its environment variable, or the default."""
    warehouse_folder = _setting(warehouse, WAREHOUSE_ENV, DEFAULT_WAREHOUSE)
    return {
        "registry": RegistryResource(path=_setting(registry, REGISTRY_ENV, DEFAULT_REGISTRY)),
        "book_dir": BookResource(path=_setting(book, BOOK_ENV, DEFAULT_BOOK)),
        "warehouse_io_manager": WarehouseIOManager(folder=warehouse_folder, layout=_setting(None, LAYOUT_ENV, "")),
        "json_io_manager": JsonIOManager(warehouse=warehouse_folder),
    }


class RegistryResource(ConfigurableResource):
    """The folder of registered evaluations (one sub-folder with evaluation.yaml each)."""

    path: str

    def folder(self, evaluation_id: str) -> Path:
        return Path(self.path) / evaluation_id

    def manifest(self, evaluation_id: str) -> Manifest:
        return load_manifest(self.folder(evaluation_id))

    def measures(self) -> dict[str, Measure]:
        return load_measures()


class BookResource(ConfigurableResource):
    """The Jupyter Book source folder; pages go to <path>/generated, HTML to <path>/_build/html."""

    path: str


class JsonIOManager(ConfigurableIOManager):
    """Small JSON documents (diagnostics, ratings, records): one file per asset and partition.

    Each document is written atomically (a crash leaves the old one or the new one, never half).
    An unpartitioned asset reading a partitioned one gets {partition: document} for every
    partition that has been materialised; an evaluation that failed is simply absent, and a
    document that cannot be read is a `DamagedDocument` (path and reason) in its place, so one
    damaged file never stops the assets that read all of them.
    """

    warehouse: str  # the documents live in its documents/ folder

    def _path(self, asset_key, partition: str | None) -> Path:
        return Path(self.warehouse, "documents", *asset_key.path, f"{partition or 'all'}.json")

    def handle_output(self, context: OutputContext, obj) -> None:
        partition = context.partition_key if context.has_partition_key else None
        path = self._path(context.asset_key, partition)
        text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)
        try:
            write_text_atomic(path, text)
        except OSError as e:
            if is_disk_full(e):
                raise DiskFull(f"{path} could not be written (the previous version is kept)") from e
            raise

    def damaged(self, asset: str, partition: str) -> DamagedDocument | None:
        """The stored document of `asset` for `partition`, if it exists and cannot be read."""
        try:
            read_json_document(self._path(AssetKey(asset), partition))
        except FileNotFoundError:
            return None
        except DamagedDocument as damaged:
            return damaged
        return None

    def load_input(self, context: InputContext):
        if context.has_partition_key:  # a partitioned asset reads its own partition upstream
            return read_json_document(self._path(context.asset_key, context.asset_partition_key))
        docs = {}
        for k in context.asset_partition_keys:
            path = self._path(context.asset_key, k)
            if path.exists():
                try:
                    docs[k] = read_json_document(path)
                except DamagedDocument as damaged:
                    context.log.warning(str(damaged))
                    docs[k] = damaged
        return docs


class WarehouseIOManager(ConfigurableIOManagerFactory):
    """The DuckDB warehouse under `folder`, in the layout `layout` names (orchestration/warehouse.py; empty: the
    embedded default). The folder is created when a run first uses it, never when the code is imported."""

    folder: str
    layout: str = ""

    def create_io_manager(self, context: InitResourceContext) -> IOManager:
        Path(self.folder).mkdir(parents=True, exist_ok=True)
        return warehouse_io_manager(Path(self.folder), self.layout or None)
