"""What one tick of each sensor costs as the library grows (no runs are started).

For 10, 100 and 300 evaluations (copies of a sample evaluation's folder), the instance holds
what a finished library holds: each evaluation's observed content hash, the raw_survey built from
it (with Dagster's provenance tags, as a run records them) and its page, then the book. The
registry sensor must request nothing and the book sensor must skip. Timed: the registry sensor's
first tick (no cursor: every evaluation's provenance is looked up), its later ticks (the cursor
caches those answers) and the book sensor's tick, each the median of a few. A SQLite instance
in a temporary folder, as in `make dev`.

    .venv/bin/python benchmarks/sensor_tick.py [sizes...]
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from dagster import AssetMaterialization, AssetObservation, DagsterInstance, RunRequest, build_sensor_context

from evaluations.registry import DEFAULT_REGISTRY
from orchestration.assets.sources import CONSUMER_KEY, SOURCE_KEY, current_versions
from orchestration.partitions import evaluation_partitions
from orchestration.resources import JsonIOManager, RegistryResource
from orchestration.sensors import BOOK, PAGE, book_after_evaluations, registry_sensor

SAMPLE = "town-exchange-2023"
TICKS = 5


def library(root: Path, size: int) -> Path:
    registry = root / "registry"
    for i in range(size):
        shutil.copytree(Path(DEFAULT_REGISTRY) / SAMPLE, registry / f"evaluation-{i:03d}")
    return registry


def published(instance: DagsterInstance, registry: Path) -> None:
    """The events a run of each evaluation records (tag names as Dagster writes them), then the book's."""
    versions = current_versions(str(registry))
    instance.add_dynamic_partitions(evaluation_partitions.name, sorted(versions))
    for key, version in versions.items():
        instance.report_runless_asset_event(AssetObservation(SOURCE_KEY, partition=key,
                                                             tags={"dagster/data_version": version}))
        pointer = instance.fetch_observations(SOURCE_KEY, limit=1).records[0].storage_id
        instance.report_runless_asset_event(AssetMaterialization(CONSUMER_KEY, partition=key, tags={
            "dagster/code_version": "benchmark", "dagster/data_version": "benchmark",
            "dagster/input_data_version/registered_evaluation": "benchmark",
            "dagster/input_event_pointer/registered_evaluation": str(pointer)}))
        instance.report_runless_asset_event(AssetMaterialization(PAGE, partition=key))
    time.sleep(0.01)  # the book's run starts after the last page
    instance.report_runless_asset_event(AssetMaterialization(BOOK))


def timed(tick, ticks: int = TICKS) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(ticks):
        start = time.perf_counter()
        result = tick()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main(sizes: list[int]) -> None:
    warnings.simplefilter("ignore")
    print("| evaluations | registry_sensor first tick (s) | later tick (s) | runs requested | book sensor tick (s) "
          "| book run requested |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp, DagsterInstance.local_temp(tmp) as instance:
            registry = library(Path(tmp), size)
            published(instance, registry)
            resources = {"registry": RegistryResource(path=str(registry)),
                         "json_io_manager": JsonIOManager(warehouse=str(tmp))}
            def tick(cursor=None):
                return registry_sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources))

            first_s, first = timed(tick, ticks=1)
            later_s, later = timed(lambda: tick(first.cursor))
            book_s, book = timed(lambda: book_after_evaluations(build_sensor_context(instance=instance)))
            requested = len(first.run_requests) + len(later.run_requests)
            print(f"| {size} | {first_s:.2f} | {later_s:.2f} | {requested} | {book_s:.3f} | "
                  f"{'yes' if isinstance(book, RunRequest) else 'no'} |")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [10, 100, 300])
