"""Every reference comparison agrees to the reference's printed precision, and the book's parity table
(book/parity.md, included in the methods chapter) is exactly what the comparisons give now."""
from __future__ import annotations

import pytest

from tests import parity


@pytest.fixture(scope="module")
def checks() -> dict[str, parity.Check]:
    return {check.__name__: check() for check in parity.CHECKS}


@pytest.mark.parametrize("name", [check.__name__ for check in parity.CHECKS])
def test_every_statistic_agrees_with_the_reference_to_its_printed_precision(checks, name):
    check = checks[name]
    disagree = [(c.statistic, c.ours, c.printed) for c in check.comparisons if c.difference > c.allowed]
    assert not disagree, f"{check.estimator} against {check.reference}: {disagree}"
    assert check.comparisons


def test_the_books_parity_table_is_up_to_date(checks):
    fresh = parity.table([checks[c.__name__] for c in parity.CHECKS])
    assert parity.TABLE.read_text(encoding="utf-8") == fresh, (
        "book/parity.md is out of date: run `.venv/bin/python -m tests.parity` and commit it")


def test_a_difference_beyond_the_printed_precision_is_caught():
    near, far = parity._c("x", 0.12344, "0.1234"), parity._c("x", 0.12346, "0.1234")
    assert near.allowed == pytest.approx(5e-5) and near.difference <= near.allowed
    assert far.difference > far.allowed
