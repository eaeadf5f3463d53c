"""The registry sensor: partitions follow the registry, runs follow content changes."""
from __future__ import annotations

import shutil

from dagster import DagsterInstance, build_sensor_context

from orchestration.partitions import evaluation_partitions
from orchestration.resources import RegistryResource
from orchestration.sensors import registry_sensor


def tick(instance, registry, cursor):
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"registry": RegistryResource(path=str(registry))})
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
