"""The registry sensor: partitions follow the registry, runs follow content changes."""
from __future__ import annotations

import shutil

from dagster import DagsterInstance, build_sensor_context

from orchestration.partitions import evaluation_partitions
from orchestration.resources import JsonIOManager, RegistryResource
from orchestration.sensors import registry_sensor


def tick(instance, registry, cursor, documents="/nonexistent"):
    context = build_sensor_context(instance=instance, cursor=cursor, resources={
        "registry": RegistryResource(path=str(registry)), "json_io_manager": JsonIOManager(base_dir=str(documents))})
    result = registry_sensor(context)
    for request in result.dynamic_partitions_requests:  # the daemon applies these; do the same here
        if type(request).__name__ == "AddDynamicPartitionsRequest":
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def test_sensor_adds_partitions_and_reruns_only_what_changed(registry):
    instance = DagsterInstance.ephemeral()
    first = tick(instance, registry, None)
    assert sorted(r.partition_key for r in first.run_requests) == sorted(p.name for p in registry.iterdir())
    assert sorted(instance.get_dynamic_partitions(evaluation_partitions.name)) == sorted(p.name for p in registry.iterdir())

    second = tick(instance, registry, first.cursor)
    assert second.run_requests == []

    with open(registry / "town-exchange-2023" / "exchange_survey.xlsx", "ab") as fh:
        fh.write(b"\0")  # any change of content, even one byte
    third = tick(instance, registry, second.cursor)
    assert [(r.partition_key, r.job_name) for r in third.run_requests] == [("town-exchange-2023", "evaluation_job")]

    shutil.rmtree(registry / "school-linking-2024")
    fourth = tick(instance, registry, third.cursor)
    assert [r.job_name for r in fourth.run_requests] == ["book_job"]  # the withdrawn page leaves the book
    assert "school-linking-2024" not in instance.get_dynamic_partitions(evaluation_partitions.name)


def test_sensor_reruns_an_evaluation_whose_record_is_damaged_once_per_damage(registry, tmp_path):
    instance, documents = DagsterInstance.ephemeral(), tmp_path / "documents"
    record = documents / "evidence_record" / "town-exchange-2023.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"id": "town-exchange-2023"}')
    first = tick(instance, registry, None, documents)
    assert tick(instance, registry, first.cursor, documents).run_requests == []  # readable: nothing to do

    record.write_text('{"id": "town-exch')  # what a crash mid-write would leave
    damaged = tick(instance, registry, first.cursor, documents)
    assert [(r.partition_key, r.job_name) for r in damaged.run_requests] == [("town-exchange-2023", "evaluation_job")]
    key = damaged.run_requests[0].run_key
    assert key.startswith("town-exchange-2023:") and ":damaged:" in key
    assert tick(instance, registry, damaged.cursor, documents).run_requests[0].run_key == key  # same damage, same key

    record.write_text("[]")  # another damage (JSON, but not a record): another key
    assert tick(instance, registry, damaged.cursor, documents).run_requests[0].run_key != key
