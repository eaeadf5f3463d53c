"""Sensors: watch the registry, and rebuild the book after an evaluation's run succeeds."""

import hashlib
import json

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    ResourceParam,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    run_status_sensor,
    sensor,
)

from evaluations.registry import content_hash, evaluation_dirs
from orchestration.jobs import book_job, evaluation_job
from orchestration.partitions import evaluation_partitions
from orchestration.resources import JsonIOManager, RegistryResource


@sensor(jobs=[evaluation_job, book_job], minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def registry_sensor(context: SensorEvaluationContext, registry: RegistryResource,
                    json_io_manager: ResourceParam[JsonIOManager]) -> SensorResult:
    """Add a partition per registered evaluation and run it when its manifest or data change.

    The cursor holds each evaluation's content hash (manifest + data files), so an unchanged
    evaluation is never re-run and a changed one re-runs alone. An unchanged evaluation whose
    stored record is damaged (a crash mid-write, a disk fault) is re-run to rebuild it; the run
    key holds the damaged file's hash, so each damage is repaired once, not on every tick.
    """
    seen = json.loads(context.cursor) if context.cursor else {}
    current = {d.name: content_hash(d) for d in evaluation_dirs(registry.path)}
    existing = set(context.instance.get_dynamic_partitions(evaluation_partitions.name))
    added = sorted(set(current) - existing)
    removed = sorted(existing - set(current))
    requests = []
    for k, h in sorted(current.items()):
        if seen.get(k) != h:
            requests.append(RunRequest(partition_key=k, run_key=f"{k}:{h}", job_name=evaluation_job.name))
        elif damaged := json_io_manager.damaged("evidence_record", k):
            context.log.warning(f"{damaged}; running {k} again to rebuild it")
            damage = hashlib.sha256(damaged.path.read_bytes()).hexdigest()[:16]
            requests.append(RunRequest(partition_key=k, run_key=f"{k}:{h}:damaged:{damage}",
                                       job_name=evaluation_job.name))
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
