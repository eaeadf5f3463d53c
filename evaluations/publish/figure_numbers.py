"""The numbers behind a figure, as a table folded under it: the figure's text alternative.

A chart says nothing to a screen reader, and little to anyone who wants the exact values; every
figure on an evaluation page is followed by the numbers it draws, in a collapsible block so the page
stays short (book/_static/toolkit.js opens the blocks for printing). Labels from the record go
through evaluations.publish.text.md; numbers are formatted as everywhere else on the page.
"""
from __future__ import annotations

from evaluations.publish.technical import collapsible
from evaluations.publish.text import md
from evaluations.record_model.record import EvidenceRecord

SUMMARY = "The numbers in this figure"


def numbers_block(header: list[str], rows: list[list[str]], note: str = "") -> list[str]:
    """A Markdown table (cells already escaped), and an escaped `note` under it, folded under SUMMARY
    (publish/technical.py's collapsible)."""
    table = "\n".join(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
                      + ["| " + " | ".join(r) + " |" for r in rows])
    return [collapsible(SUMMARY, table + (f"\n\n{note}" if note else ""))] if rows else []


def event_study_numbers(record: EvidenceRecord) -> str:
    """The event-study figure's points, primary outcome first, as the figure draws them."""
    from evaluations.publish.pages import fmt_ci, fmt_num  # the page's number formats (pages imports this module)

    names = {o.column: o.measure_name for o in record.outcomes}
    order = sorted(record.event_study, key=lambda o: o != record.primary_outcome)
    rows = [[md(names[o]), str(p.event_time), fmt_num(p.estimate) if p.estimate is not None else "not shown",
             fmt_ci(p.ci_low, p.ci_high) if p.estimate is not None else "–"]
            for o in order for p in record.event_study[o]]
    if not rows:
        return ""
    return "\n".join(numbers_block(["Outcome", "Waves since start", "Effect (scale points)", "95% interval"], rows))
