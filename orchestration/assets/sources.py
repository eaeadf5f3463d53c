"""The registered evaluation as an observable source asset: its data version is the content hash.

Every evaluation run observes its own partition first (the asset is in the intake group, so
`evaluation_job` and `commonground run` include it), and raw_survey's materialization then records
which observation it consumed. That record is what the registry sensor compares with the folder's
current content hash (orchestration/sensors.py), and what the UI's lineage and staleness show.
"""
from __future__ import annotations

import warnings

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    BetaWarning,
    DagsterInstance,
    DataProvenance,
    DataVersion,
    DataVersionsByPartition,
    OpExecutionContext,
    observable_source_asset,
)

from evaluations.registry import content_hash, evaluation_dirs
from orchestration.partitions import evaluation_partitions
from orchestration.resources import RegistryResource

SOURCE_KEY = AssetKey("registered_evaluation")
CONSUMER_KEY = AssetKey("raw_survey")  # the one asset that reads the registered folder


def current_versions(registry_path: str, keys: list[str] | None = None) -> dict[str, str]:
    """{evaluation id: content hash} of the registered folders (all, or those among `keys`)."""
    return {d.name: content_hash(d) for d in evaluation_dirs(registry_path) if keys is None or d.name in keys}


with warnings.catch_warnings():  # observable source assets are a Dagster beta; the API used here is public
    warnings.simplefilter("ignore", BetaWarning)

    @observable_source_asset(
        key=SOURCE_KEY, partitions_def=evaluation_partitions, group_name="intake",
        description="The registered folder: evaluation.yaml, registration.json and the data files it names. "
                    "Its data version is their content hash, so a changed file marks this evaluation stale.")
    def registered_evaluation(context: OpExecutionContext, registry: RegistryResource) -> DataVersionsByPartition:
        # An evaluation run observes its own partition; an observation run with no partition observes every one.
        if context.has_partition_key:
            keys = [context.partition_key]
        else:
            keys = context.instance.get_dynamic_partitions(evaluation_partitions.name)
        # A withdrawn folder has no version; raw_survey then stops with the registry's own message.
        versions = {k: DataVersion(h) for k, h in current_versions(registry.path, keys).items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BetaWarning)
            return DataVersionsByPartition(versions)


def consumed_version(instance: DagsterInstance, evaluation_id: str) -> str | None:
    """The content hash raw_survey's latest materialization of `evaluation_id` was computed from.

    Dagster records, on each materialization, a pointer to the latest observation of the source
    (of any partition) at the time; the partition's own version is its latest observation up to
    that pointer (the rule Dagster's staleness uses). Dagster's `input_data_version` tag cannot
    serve: for a partitioned source it hashes materializations only, and a source has none.
    None when it never ran, or ran before it observed its source.
    """
    latest = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=CONSUMER_KEY, asset_partitions=[evaluation_id]), limit=1).records
    if not latest:
        return None
    provenance = DataProvenance.from_tags(latest[0].asset_materialization.tags or {})
    pointer = provenance.input_storage_ids.get(SOURCE_KEY) if provenance else None
    if pointer is None:
        return None
    observed = instance.fetch_observations(
        AssetRecordsFilter(asset_key=SOURCE_KEY, asset_partitions=[evaluation_id], before_storage_id=pointer + 1),
        limit=1).records
    return observed[0].asset_observation.data_version if observed else None
