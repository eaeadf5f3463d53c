"""The Common Ground code location: `dagster dev` loads `defs` from here (see workspace.yaml)."""
from __future__ import annotations

from dagster import Definitions, load_asset_checks_from_modules, load_assets_from_modules

from evaluations.registry import registry_path
from orchestration.assets import analysis, book, intake
from orchestration.jobs import book_job, evaluation_job
from orchestration.resources import BookResource, JsonIOManager, RegistryResource, book_dir, warehouse_dir
from orchestration.warehouse import warehouse_io_manager
from orchestration.sensors import book_after_evaluation, registry_sensor


def build_definitions() -> Definitions:
    """Resources come from the environment, so tests and deployments point them elsewhere."""
    warehouse = warehouse_dir()
    warehouse.mkdir(parents=True, exist_ok=True)
    modules = [intake, analysis, book]
    return Definitions(
        assets=load_assets_from_modules(modules),
        asset_checks=load_asset_checks_from_modules(modules),
        jobs=[evaluation_job, book_job],
        sensors=[registry_sensor, book_after_evaluation],
        resources={
            "registry": RegistryResource(path=str(registry_path())),
            "book_dir": BookResource(path=str(book_dir())),
            "warehouse_io_manager": warehouse_io_manager(warehouse),
            "json_io_manager": JsonIOManager(base_dir=str(warehouse / "documents")),
        },
    )


defs = build_definitions()
