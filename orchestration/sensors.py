"""Sensors: watch the registry, and rebuild the book after an evaluation's run succeeds."""

import json

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    run_status_sensor,
    sensor,
)

from evaluations.registry import content_hash, evaluation_dirs
from orchestration.jobs import book_job, evaluation_job
from orchestration.partitions import evaluation_partitions
from orchestration.resources import RegistryResource


@sensor(jobs=[evaluation_job, book_job], minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def registry_sensor(context: SensorEvaluationContext, registry: RegistryResource) -> SensorResult:
    """Add a partition per registered evaluation and run it when its manifest or data change.

    The cursor holds each evaluation's content hash (manifest + data files), so an unchanged
    evaluation is never re-run and a changed one re-runs alone.
    """
    seen = json.loads(context.cursor) if context.cursor else {}
    current = {d.name: content_hash(d) for d in evaluation_dirs(registry.path)}
    existing = set(context.instance.get_dynamic_partitions(evaluation_partitions.name))
    added = sorted(set(current) - existing)
    removed = sorted(existing - set(current))
    requests = [RunRequest(partition_key=k, run_key=f"{k}:{h}", job_name=evaluation_job.name)
                for k, h in sorted(current.items()) if seen.get(k) != h]
    if removed:
        requests.append(RunRequest(run_key=f"withdrawn:{','.join(removed)}:{len(seen)}", job_name=book_job.name))
    partition_requests = []
    if added:
        partition_requests.append(evaluation_partitions.build_add_request(added))
    if removed:
        partition_requests.append(evaluation_partitions.build_delete_request(removed))
    return SensorResult(run_requests=requests, dynamic_partitions_requests=partition_requests,
                        cursor=json.dumps(current, sort_keys=True))


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[evaluation_job], request_job=book_job,
                   default_status=DefaultSensorStatus.RUNNING)
def book_after_evaluation(context):
    """Rebuild the library pages and the book once an evaluation has been published."""
    return RunRequest(run_key=context.dagster_run.run_id)
