"""Sensors: run an evaluation when its registered content changed; build the book once runs settle.

What already ran is read from the instance (data versions and run history; the registry sensor's
cursor only caches answers), so `make dev` after `make run` (same instance) starts nothing up to date.
"""

import hashlib
import json

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    EventLogRecord,
    ResourceParam,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from orchestration.assets.sources import CONSUMER_KEY, consumed_version, current_versions
from orchestration.jobs import book_job, evaluation_job
from orchestration.partitions import evaluation_partitions
from orchestration.resources import JsonIOManager, RegistryResource
from orchestration.runs import UNFINISHED

IN_FLIGHT = [DagsterRunStatus.QUEUED, *UNFINISHED]
PAGE, BOOK = AssetKey("evidence_page"), AssetKey("evidence_book")


def latest_materialization(instance: DagsterInstance, key: AssetKey) -> EventLogRecord | None:
    """The newest materialization of `key`, of any partition."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=key), limit=1).records
    return records[0] if records else None


def _materialized_since(instance: DagsterInstance, key: AssetKey, after: int) -> set[str]:
    """The partitions of `key` materialized after the event `after`."""
    partitions, page_cursor = set(), None
    while True:
        page = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, after_storage_id=after),
                                               limit=1000, cursor=page_cursor)
        partitions |= {r.partition_key for r in page.records}
        if not page.has_more:
            return partitions
        page_cursor = page.cursor


def consumed_versions(instance: DagsterInstance, ids: list[str], cursor: str | None) -> tuple[dict[str, str], str]:
    """{evaluation: the content version its latest raw_survey was built from}, and the next cursor.

    Looking it up costs two queries per evaluation (`consumed_version`); the cursor only caches
    those answers with the newest raw_survey materialization seen, and an evaluation materialized
    since then is looked up again. A steady tick of a large library so costs two queries, not two
    per evaluation (benchmarks/sensor_tick.py). The cache holds nothing the instance does not:
    with no cursor (a new sensor) every evaluation is looked up.
    """
    state = json.loads(cursor) if cursor else {}
    after, known = state.get("after"), state.get("consumed", {})
    newest = latest_materialization(instance, CONSUMER_KEY)  # read first: a later one is seen next tick
    if newest is None or after is None or newest.storage_id < after:  # none yet, or wiped: start afresh
        known = {}
    elif newest.storage_id > after:
        for key in _materialized_since(instance, CONSUMER_KEY, after):
            known.pop(key, None)
    known = {k: v for k, v in known.items() if k in ids}
    for k in ids:
        if k not in known and (version := consumed_version(instance, k)) is not None:
            known[k] = version
    return known, json.dumps({"after": newest.storage_id if newest else None, "consumed": known}, sort_keys=True)


@sensor(jobs=[evaluation_job, book_job], minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def registry_sensor(context: SensorEvaluationContext, registry: RegistryResource,
                    json_io_manager: ResourceParam[JsonIOManager]) -> SensorResult:
    """Add a partition per registered evaluation and run it when its manifest or data change.

    An evaluation runs when its content hash (manifest, registration and data files) differs from
    the data version of `registered_evaluation` that its latest raw_survey was built from, or when
    it never built one; so an unchanged evaluation is never re-run, whoever ran it (this sensor or
    `commonground run`); the cursor only caches those versions (`consumed_versions`). An unchanged
    evaluation whose stored record is damaged (a crash mid-write, a disk fault) is re-run to rebuild
    it; the run key holds the damaged file's hash, so each damage is repaired once, not on every tick.
    """
    instance = context.instance
    current = current_versions(registry.path)
    existing = set(instance.get_dynamic_partitions(evaluation_partitions.name))
    added = sorted(set(current) - existing)
    removed = sorted(existing - set(current))
    consumed_by, cursor = consumed_versions(instance, sorted(set(current) & existing), context.cursor)
    requests = []
    for k, h in sorted(current.items()):
        consumed = consumed_by.get(k)
        if consumed != h:
            # The version it last ran from is part of the key, so undoing a change that already ran runs again.
            run_key = f"{k}:{h}" + (f":after:{consumed}" if consumed else "")
            requests.append(RunRequest(partition_key=k, run_key=run_key, job_name=evaluation_job.name))
        elif damaged := json_io_manager.damaged("evidence_record", k):
            context.log.warning(f"{damaged}; running {k} again to rebuild it")
            damage = hashlib.sha256(damaged.path.read_bytes()).hexdigest()[:16]
            requests.append(RunRequest(partition_key=k, run_key=f"{k}:{h}:damaged:{damage}",
                                       job_name=evaluation_job.name))
    if removed:  # the withdrawn pages leave the book; keyed by the book they correct
        book = latest_materialization(instance, BOOK)
        requests.append(RunRequest(run_key=f"withdrawn:{','.join(removed)}:book:{book.storage_id if book else 0}",
                                   job_name=book_job.name))
    partition_requests = []
    if added:
        partition_requests.append(evaluation_partitions.build_add_request(added))
    if removed:
        partition_requests.append(evaluation_partitions.build_delete_request(removed))
    return SensorResult(run_requests=requests, dynamic_partitions_requests=partition_requests, cursor=cursor)


def _book_started(instance: DagsterInstance, book: EventLogRecord) -> float:
    """When the run that built the latest book started: pages written after that are not in it."""
    run = instance.get_run_record_by_id(book.run_id) if book.run_id else None
    return run.start_time if run is not None and run.start_time else book.timestamp


@sensor(job=book_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def book_after_evaluations(context: SensorEvaluationContext):
    """One book build for however many evaluations finished, once no evaluation run is queued or running.

    Eight evaluations registered at once give eight evaluation runs and then one book build, not
    eight. The book is due when a page was written after the latest book's run started.
    """
    instance = context.instance
    page = latest_materialization(instance, PAGE)
    if page is None:
        return SkipReason("no evaluation has been published yet")
    book = latest_materialization(instance, BOOK)
    if book is not None and page.timestamp < _book_started(instance, book):
        return SkipReason("the book already includes every published page")
    waiting = instance.get_runs_count(RunsFilter(job_name=evaluation_job.name, statuses=IN_FLIGHT))
    if waiting:
        return SkipReason(f"{waiting} evaluation run(s) queued or running: the book is built once they finish")
    if instance.get_runs_count(RunsFilter(job_name=book_job.name, statuses=IN_FLIGHT)):
        return SkipReason("a book build is already queued or running")
    return RunRequest(run_key=f"pages-up-to:{page.storage_id}")
