"""Differencing attacks on the built pages: read the numbers a reader sees and subtract them.

tests/test_differencing.py attacks the record on purpose-built data; this reads the HTML of
the published sample library, as a reader (or a scraper) would, so it also catches a page
that prints something the record hides.
"""
from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest

from evaluations.disclosure import THRESHOLD

from tests.conftest import SAMPLES
STAGES = ["In the data files", "Answered at baseline", "Answered at follow-up", "Analysed (primary outcome)"]


class _Tables(HTMLParser):
    """Every <table> on a page as rows of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def number(cell: str) -> int | None:
    """A published count, or None where the page hides it."""
    return int(cell.replace(",", "")) if re.fullmatch(r"[\d,]+", cell) else None


def safe_difference(a: int, b: int) -> bool:
    return abs(a - b) == 0 or abs(a - b) >= THRESHOLD


@pytest.fixture(scope="module")
def pages(published_library) -> dict[str, list]:
    html = published_library["html"] / "generated" / "evaluations"
    return {e: tables((html / f"{e}.html").read_text(encoding="utf-8")) for e in SAMPLES}


def _table(page_tables, first_header: str, second_header: str):
    return next(t for t in page_tables if t and t[0][:2] == [first_header, second_header])


def _flow(page_tables) -> dict[str, list[str]]:
    """The participant flow table: programme and comparison columns, or one column with no comparison group."""
    table = next(t for t in page_tables if t and t[0][:2] in (["", "Programme"], ["", "People who took part"]))
    return {row[0]: row[1:] for row in table[1:]}


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_no_two_flow_counts_on_the_page_differ_by_fewer_than_10(pages, evaluation_id):
    flow = _flow(pages[evaluation_id])
    assert list(flow) == STAGES
    for column, group in enumerate(("programme", "comparison")[:len(flow[STAGES[0]])]):
        shown = {stage: number(flow[stage][column]) for stage in STAGES}
        for stage, n in shown.items():
            assert n is None or n == 0 or n >= THRESHOLD, (group, stage, n)
            if n is None:
                assert flow[stage][column] in ("fewer than 10", "not shown")
        published = [(s, n) for s, n in shown.items() if n is not None]
        for (s1, a), (s2, b) in itertools.combinations(published, 2):
            assert safe_difference(a, b), f"{evaluation_id} {group}: {s1} {a} vs {s2} {b}"


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_the_primary_outcome_n_is_the_analysed_count_or_hidden_with_it(pages, evaluation_id):
    flow = _flow(pages[evaluation_id])
    impact = _table(pages[evaluation_id], "Outcome", "Effect (95% interval)")
    primary = next(row for row in impact[1:] if row[0].endswith("(primary)"))
    for column, analysed in enumerate(flow["Analysed (primary outcome)"]):
        n = number(primary[4 + column])
        assert n == number(analysed), (evaluation_id, primary, analysed)
        # no other outcome's n is within 1-9 of the baseline or follow-up count it is drawn from
        for row in impact[1:]:
            other = number(row[4 + column])
            for stage in ("Answered at baseline", "Answered at follow-up"):
                bound = number(flow[stage][column])
                if other is not None and bound is not None:
                    assert safe_difference(bound, other), (evaluation_id, row, stage)


# the samples that publish effects by group (the others register no effect modifiers)
@pytest.mark.parametrize("evaluation_id", [e for e in SAMPLES if e not in ("befriending-pre-post-2024",
                                                                         "school-linking-survey-2025")])
def test_subgroup_counts_cannot_be_subtracted_from_the_overall_count(pages, evaluation_id):
    impact = {row[0].removesuffix(" (primary)"): row for row in _table(pages[evaluation_id], "Outcome",
                                                                         "Effect (95% interval)")[1:]}
    subgroups = [row for t in pages[evaluation_id] if t and t[0][:2] == ["Outcome", "Group"] for row in t[1:]]
    by_modifier: dict[tuple[str, str], list] = {}
    for row in subgroups:
        modifier = row[1].split(" = ")[0]
        by_modifier.setdefault((row[0], modifier), []).append(row)
    assert by_modifier
    for (outcome, modifier), rows in by_modifier.items():
        for column in (4, 5):
            overall = number(impact[outcome][column])
            parts = [number(r[column]) for r in rows]
            shown = [p for p in parts if p is not None]
            for p in shown:
                assert p >= THRESHOLD
            if overall is not None:
                # what is left after the published levels (hidden levels and people with no value)
                assert safe_difference(overall, sum(shown)), (evaluation_id, outcome, modifier, overall, parts)
