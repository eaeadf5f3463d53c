"""`run` explains itself: a step that stops reaches the user as one line naming the step and the reason
(a data problem in its own words; a defect of ours said to be one), never a stack trace.

The faults are injected (monkeypatch) because `check` is meant to leave no data problem for `run`
to find: these are the faults we cannot cause from a registration."""
from __future__ import annotations

import pytest
from dagster import DagsterInstance

from evaluations.cli import _failure_message
from evaluations.designs.did_panel import PanelDiD
from orchestration.definitions import build_definitions
from orchestration.partitions import evaluation_partitions

KEY = "town-exchange-2023"  # a two-wave DiD on a linked panel (PanelDiD)


def run_job(pipeline_env):
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(evaluation_partitions.name, [KEY])
    return defs.resolve_job_def("evaluation_job").execute_in_process(
        instance=instance, partition_key=KEY, raise_on_error=False)


@pytest.mark.parametrize("error, expected", [
    (ValueError("thermometer: too few people in the comparison group at follow-up; add them or use pre_post"),
     "impact_estimates: thermometer: too few people in the comparison group at follow-up; add them or use pre_post"),
    (ZeroDivisionError("float division by zero"),
     "impact_estimates: an unexpected error (ZeroDivisionError: float division by zero). This is a defect in "
     "Common Ground, not in your data"),
])
def test_a_failed_step_is_one_line_with_the_step_and_the_reason(pipeline_env, monkeypatch, error, expected):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(PanelDiD, "estimate", fail)
    result = run_job(pipeline_env)
    assert not result.success
    message = _failure_message(result)
    assert message.startswith(expected), message
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message
    if isinstance(error, ZeroDivisionError):
        assert f"run {result.run_id[:8]}" in message  # where the full trace is kept
