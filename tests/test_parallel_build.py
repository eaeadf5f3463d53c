"""How many processes Sphinx builds the book on (evaluations/publish/parallel_build.py)."""
from __future__ import annotations

import os

import pytest

from evaluations.publish import parallel_build


def test_one_more_process_than_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.delenv(parallel_build.JOBS_ENV, raising=False)
    assert parallel_build.jobs() == len(os.sched_getaffinity(0)) + 1


@pytest.mark.parametrize("value, expected", [("1", 1), (" 4 ", 4), ("0", None), ("-2", None), ("two", None), ("", None)])
def test_an_operators_limit_is_a_positive_whole_number_or_ignored(monkeypatch, value, expected):
    monkeypatch.setenv(parallel_build.JOBS_ENV, value)
    assert parallel_build.jobs() == (expected or len(os.sched_getaffinity(0)) + 1)
