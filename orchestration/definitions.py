"""The Common Ground code location: `dagster dev` loads `defs` from here (see workspace.yaml)."""
from __future__ import annotations

from pathlib import Path

from dagster import Definitions, load_asset_checks_from_modules, load_assets_from_modules

from orchestration.assets import analysis, intake, sources
from orchestration.assets import book as book_assets  # `book` is the book folder below
from orchestration.jobs import book_job, evaluation_job
from orchestration.resources import configured_resources
from orchestration.runs import dead_commonground_runs
from orchestration.sensors import book_after_evaluations, registry_sensor


def build_definitions(registry: Path | str | None = None, warehouse: Path | str | None = None,
                      book: Path | str | None = None) -> Definitions:
    """The code location. `commonground` passes its folders; left out, each is read from its environment
    variable through EnvVar when a run or sensor starts (`dagster dev`, the daemon), else the embedded default."""
    modules = [sources, intake, analysis, book_assets]
    return Definitions(
        assets=load_assets_from_modules(modules),
        asset_checks=load_asset_checks_from_modules(modules),
        jobs=[evaluation_job, book_job],
        sensors=[registry_sensor, book_after_evaluations, dead_commonground_runs],
        resources=configured_resources(registry, warehouse, book),
    )


defs = build_definitions()
