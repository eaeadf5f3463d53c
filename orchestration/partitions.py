"""One dynamic partition per registered evaluation; the registry sensor adds and removes them."""
from dagster import DynamicPartitionsDefinition

evaluation_partitions = DynamicPartitionsDefinition(name="evaluations")
