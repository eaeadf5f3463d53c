"""The sensors: partitions follow the registry, runs follow content changes (as Dagster's data versions
record them; the cursor is only a cache), and many finished evaluations give one book build."""
from __future__ import annotations

import shutil
import uuid

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    build_sensor_context,
    define_asset_job,
    materialize,
)

from evaluations.registry import content_hash
from orchestration.assets.sources import SOURCE_KEY, registered_evaluation
from orchestration.definitions import build_definitions
from orchestration.partitions import evaluation_partitions
from orchestration.resources import JsonIOManager, RegistryResource
from orchestration.sensors import book_after_evaluations, registry_sensor

EXCHANGE, SCHOOLS = "town-exchange-2023", "school-linking-2024"
# What every evaluation run records first: the observed source and the raw_survey built from it.
# The rest of the pipeline has no bearing on the registry sensor, so these tests run only these two.
INTAKE_START = [SOURCE_KEY, AssetKey("raw_survey")]


def tick(instance, registry, warehouse="/nonexistent", cursor=None):
    context = build_sensor_context(instance=instance, cursor=cursor, resources={
        "registry": RegistryResource(path=str(registry)), "json_io_manager": JsonIOManager(warehouse=str(warehouse))})
    result = registry_sensor(context)
    for request in result.dynamic_partitions_requests:  # the daemon applies these; do the same here
        if type(request).__name__ == "AddDynamicPartitionsRequest":
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def requested(result):
    return [(r.partition_key, r.job_name) for r in result.run_requests]


def run_intake(instance, *keys):
    """Start each evaluation's run the way `commonground run` and the daemon do (the same job)."""
    job = build_definitions().resolve_job_def("evaluation_job")
    for key in keys:
        assert job.execute_in_process(instance=instance, partition_key=key, asset_selection=INTAKE_START).success


def keep_only(registry, *ids):
    for folder in registry.iterdir():
        if folder.name not in ids:
            shutil.rmtree(folder)
    return registry


def test_sensor_adds_partitions_and_reruns_only_what_changed(pipeline_env):
    registry, instance = keep_only(pipeline_env["registry"], EXCHANGE, SCHOOLS), DagsterInstance.ephemeral()
    first = tick(instance, registry)
    assert requested(first) == [(SCHOOLS, "evaluation_job"), (EXCHANGE, "evaluation_job")]
    assert sorted(instance.get_dynamic_partitions(evaluation_partitions.name)) == [SCHOOLS, EXCHANGE]
    second = tick(instance, registry, cursor=first.cursor)
    assert second.run_requests == first.run_requests  # not run yet: the same keys, so the daemon starts each once

    run_intake(instance, SCHOOLS, EXCHANGE)
    ran = tick(instance, registry, cursor=second.cursor)  # the cursor's cache learns of the new materializations
    assert ran.run_requests == [] and tick(instance, registry).run_requests == []  # with or without a cursor

    data = registry / EXCHANGE / "exchange_survey.xlsx"
    original = data.read_bytes()
    data.write_bytes(original + b"\0")  # any change of content, even one byte
    changed = tick(instance, registry, cursor=ran.cursor)
    assert requested(changed) == [(EXCHANGE, "evaluation_job")]
    data.write_bytes(original)  # undone before it ran: nothing to do
    assert tick(instance, registry, cursor=changed.cursor).run_requests == []

    data.write_bytes(original + b"\0")
    run_intake(instance, EXCHANGE)
    data.write_bytes(original)  # undone after the changed version ran: run the original again, under a new key
    undone = tick(instance, registry, cursor=changed.cursor)
    assert requested(undone) == [(EXCHANGE, "evaluation_job")]
    assert undone.run_requests[0].run_key not in {r.run_key for r in first.run_requests + changed.run_requests}
    assert tick(instance, registry).run_requests == undone.run_requests

    shutil.rmtree(registry / SCHOOLS)
    withdrawn = tick(instance, registry, cursor=undone.cursor)
    assert [(r.job_name, r.partition_key) for r in withdrawn.run_requests] == [
        ("evaluation_job", EXCHANGE), ("book_job", None)]  # the withdrawn page leaves the book
    assert instance.get_dynamic_partitions(evaluation_partitions.name) == [EXCHANGE]


def test_sensor_reruns_an_evaluation_whose_record_is_damaged_once_per_damage(pipeline_env, tmp_path):
    registry, instance = keep_only(pipeline_env["registry"], EXCHANGE), DagsterInstance.ephemeral()
    record = tmp_path / "documents" / "evidence_record" / f"{EXCHANGE}.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"id": "town-exchange-2023"}')
    tick(instance, registry, tmp_path)
    run_intake(instance, EXCHANGE)
    readable = tick(instance, registry, tmp_path)
    assert readable.run_requests == []  # readable and up to date: nothing to do

    record.write_text('{"id": "town-exch')  # what a crash mid-write would leave
    damaged = tick(instance, registry, tmp_path, readable.cursor)
    assert requested(damaged) == [(EXCHANGE, "evaluation_job")]
    key = damaged.run_requests[0].run_key
    assert key.startswith(f"{EXCHANGE}:") and ":damaged:" in key
    assert tick(instance, registry, tmp_path, damaged.cursor).run_requests[0].run_key == key  # same damage, same key

    record.write_text("[]")  # another damage (JSON, but not a record): another key
    assert tick(instance, registry, tmp_path, damaged.cursor).run_requests[0].run_key != key


def test_after_commonground_run_the_sensors_start_nothing_until_a_manifest_changes(published_library, tmp_path,
                                                                                   monkeypatch):
    """`make dev` after `make run`: the same instance, so the sensors see what the command already ran."""
    registry = tmp_path / "registry"  # a copy: the published library is shared by other tests
    shutil.copytree(published_library["registry"], registry)
    monkeypatch.setenv("DAGSTER_HOME", str(published_library["dagster_home"]))
    with DagsterInstance.get() as instance:
        first = tick(instance, registry)
        assert first.run_requests == [] and first.dynamic_partitions_requests == []
        assert isinstance(book_after_evaluations(build_sensor_context(instance=instance)), SkipReason)

        manifest = registry / "ncs-youth-2024" / "evaluation.yaml"
        manifest.write_text(manifest.read_text() + "\n# edited by the charity\n")
        assert requested(tick(instance, registry, cursor=first.cursor)) == [("ncs-youth-2024", "evaluation_job")]
        assert requested(tick(instance, registry)) == [("ncs-youth-2024", "evaluation_job")]


def test_eight_finished_evaluations_give_one_book_build():
    instance = DagsterInstance.ephemeral()

    def book_tick():
        return book_after_evaluations(build_sensor_context(instance=instance))

    def start(job_name, status=DagsterRunStatus.STARTED):
        run = DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=status)
        instance.add_run(run)
        return run

    assert isinstance(book_tick(), SkipReason)  # nothing published yet
    running = start("evaluation_job")
    for i in range(8):
        instance.report_runless_asset_event(AssetMaterialization("evidence_page", partition=f"evaluation-{i}"))
    waiting = book_tick()
    assert isinstance(waiting, SkipReason) and waiting.skip_message.startswith("1 evaluation run(s)")
    instance.report_run_failed(running, "finished")
    request = book_tick()
    assert isinstance(request, RunRequest)
    assert book_tick().run_key == request.run_key  # the same pages, the same key: the daemon starts it once

    starting = start("book_job", DagsterRunStatus.STARTING)  # (a queued run needs a code location to be made)
    assert book_tick().skip_message == "a book build is already queued or running"
    instance.report_run_failed(starting, "finished")

    @asset(key="evidence_book")
    def built_book():  # stands in for the book run: it started after the eight pages
        return None

    assert materialize([built_book], instance=instance).success
    assert isinstance(book_tick(), SkipReason)
    instance.report_runless_asset_event(AssetMaterialization("evidence_page", partition="evaluation-8"))
    again = book_tick()
    assert isinstance(again, RunRequest) and again.run_key != request.run_key


def test_an_observation_without_a_partition_observes_every_registered_evaluation(registry):
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(evaluation_partitions.name, [EXCHANGE, SCHOOLS, "withdrawn-2020"])
    observe = Definitions(assets=[registered_evaluation], jobs=[define_asset_job("observe", [SOURCE_KEY])],
                          resources={"registry": RegistryResource(path=str(registry))}).resolve_job_def("observe")
    assert observe.execute_in_process(instance=instance).success
    observed = instance.fetch_observations(SOURCE_KEY, limit=10).records
    assert {r.partition_key: r.asset_observation.data_version for r in observed} == {
        key: content_hash(registry / key) for key in (EXCHANGE, SCHOOLS)}  # a partition with no folder: no version
