"""Sentences that turn an evaluation's effects into something a reader can picture, and into money.

"11 more in every 100 participants answered 'Definitely agree' or 'Tend to agree' ..." comes from the
record's `shares` (the design's own estimate on the positive answers), where the reference group sits
beside the national figure of the same question, the effect size in words (Kraft 2020) and the value
for money (cost per extra person reaching the positive answer, WELLBYs, the cost band). The page
(pages.py) and the toolkit (library.py) call these; the numbers are the record's, worded here once.
Text from a registration passes through publish/text.py.
"""
from __future__ import annotations

from evaluations import value
from evaluations.publish.text import md
from evaluations.record_model.record import EvidenceRecord, Outcome


def _fmt(x, places: int = 0) -> str:
    from evaluations.publish.pages import fmt_num  # pages imports this module: one number format, its own

    return fmt_num(x, places)


def _pounds(x) -> str:
    """"£2,028"; a loss as "−£735" (a WELLBY interval can reach below zero); None is an interval without a limit."""
    if x is None:
        return "no upper limit"
    text = f"£{abs(x):,.0f}"
    return text if text == "£0" or x > 0 else "−" + text


def _answers(outcome: Outcome) -> str:
    labels = [f"“{md(a)}”" for a in outcome.positive_answers]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def share_sentence(record: EvidenceRecord, outcome: Outcome) -> str | None:
    """'11 more in every 100 participants answered “Definitely agree” or “Tend to agree” to ... (95% interval
    4 to 18)'; None when the outcome has no positive answers or its change in the share is not published."""
    row = next((s for s in record.shares if s.outcome == outcome.column), None)
    if row is None or row.estimate is None:
        return None
    n = row.estimate
    more = "more" if round(n) > 0 else "fewer" if round(n) < 0 else "no more and no fewer"
    than = "than in the comparison group" if record.design.has_comparison else "than before the programme"
    count = f"{_fmt(abs(n))} {more}" if round(n) else more.capitalize()
    return (f"{count[0].upper()}{count[1:]} in every 100 participants answered {_answers(outcome)} to "
            f"“{md(outcome.measure_name)}” {than} (95% interval {_fmt(row.ci_low)} to {_fmt(row.ci_high)} "
            "in every 100).")


def national_sentence(record: EvidenceRecord, outcome: Outcome) -> str | None:
    """Where the reference group sits against the national figure of the same question, with its source."""
    pic = next((p for p in record.pictures if p.outcome == outcome.column), None)
    if pic is None or outcome.national is None or not isinstance(pic.reference_share, float):
        return None
    nat = outcome.national
    who = ("In the comparison group at the last survey" if pic.reference_group == "comparison"
           else "Among participants before the programme")
    return (f"{who}, {_fmt(100 * pic.reference_share)} in every 100 gave these answers, against "
            f"{_fmt(100 * nat.share)} in every 100 {md(nat.population)} "
            f"([{md(nat.survey)}, {md(nat.year)}]({nat.source_url})).")  # the bank's checked https address


def effect_size_sentence(record: EvidenceRecord, outcome: Outcome) -> str | None:
    e = record.overall(outcome.column)
    pic = next((p for p in record.pictures if p.outcome == outcome.column), None)
    if pic is None or pic.effect_size_words is None:
        return None
    return (f"An effect size of {_fmt(e.effect_size, 2)} is **{pic.effect_size_words}** by the benchmarks of "
            f"{value.EFFECT_SIZE_CITATION} (see the methods).")


def value_sentences(record: EvidenceRecord) -> list[str]:
    """Cost per participant and its band; cost per extra person reaching the positive answer; WELLBYs."""
    vfm = record.value_for_money
    if vfm is None or vfm.cost_per_participant_gbp is None:
        return []
    out = [f"The programme cost about {_pounds(vfm.cost_per_participant_gbp)} per participant: "
           f"{vfm.cost_band} ({vfm.cost_band_words} cost on the EEF Toolkit's scale)."]
    for pic in record.pictures:
        outcome = record.outcome(pic.outcome)
        if pic.cost_per_extra_person_gbp is not None:
            out.append(f"Each extra person answering {_answers(outcome)} to “{md(outcome.measure_name)}” cost about "
                       f"{_pounds(pic.cost_per_extra_person_gbp)} (95% interval "
                       f"{_pounds(pic.cost_per_extra_person_ci_low)} to {_pounds(pic.cost_per_extra_person_ci_high)}).")
        if pic.wellby_value_gbp is not None:
            out.append(f"Valued at HM Treasury's Green Book figure of {_pounds(vfm.wellby_value_gbp)} per WELLBY "
                       f"({vfm.wellby_price_base}), the change in life satisfaction is worth about "
                       f"{_pounds(pic.wellby_value_gbp)} per participant over a year (95% interval "
                       f"{_pounds(pic.wellby_value_ci_low)} to {_pounds(pic.wellby_value_ci_high)}): "
                       f"{_fmt(pic.benefit_cost_ratio, 1)} pounds of wellbeing for each pound spent (95% interval "
                       f"{_fmt(pic.benefit_cost_ratio_ci_low, 1)} to {_fmt(pic.benefit_cost_ratio_ci_high, 1)}).")
    return out


def pictures_section(record: EvidenceRecord) -> str:
    """The page's 'In pictures and pounds' section: one paragraph per outcome, then value for money."""
    lines = []
    for outcome in record.outcomes:
        said = [s for s in (share_sentence(record, outcome), national_sentence(record, outcome),
                            effect_size_sentence(record, outcome)) if s]
        if said:
            lines.append(f"- **{md(outcome.measure_name)}:** " + " ".join(said))
    money = value_sentences(record)
    if not lines and not money:
        return ""
    body = "\n".join(lines) + ("\n\n" if lines else "") + " ".join(money)
    return f"## What the effects mean\n\n{body}\n"


def cost_cell(record: EvidenceRecord) -> tuple[str, str]:
    """The toolkit's cost: the band and its title text (e.g. ("££", "Low cost: about £220 per participant"))."""
    vfm = record.value_for_money
    if vfm is None or vfm.cost_band is None:
        return "–", "Cost not reported"
    words = vfm.cost_band_words.capitalize()
    return vfm.cost_band, f"{words} cost: about {_pounds(vfm.cost_per_participant_gbp)} per participant"


def methods_tables() -> str:
    """The yardsticks as the methods chapter shows them (tests check the chapter against this)."""
    sizes, lower = [], 0.0
    for upper, word in value.EFFECT_SIZE_WORDS:
        span = f"{lower:.2f} to under {upper:.2f}" if upper != float("inf") else f"{lower:.2f} or more"
        sizes.append(f"| {word} | {span} |")
        lower = upper
    bands, prev = [], None
    for upper, band, words in value.COST_BANDS:
        limit = (f"less than £{upper:,.0f}" if prev is None else
                 f"over £{prev:,.0f}" if upper == float("inf") else
                 f"£{prev:,.0f} to £{upper:,.0f}" if prev == value.COST_BANDS[0][0] else
                 f"over £{prev:,.0f}, up to £{upper:,.0f}")
        bands.append(f"| {band} | {words} | {limit} |")
        prev = upper
    return "\n".join(["| In words | Effect size (absolute value) |", "| --- | --- |", *sizes, "",
                      "| Band | Cost | Per participant |", "| --- | --- | --- |", *bands])
