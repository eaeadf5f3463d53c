"""The verdict that opens every evaluation page: did it work, for whom, how sure, at what cost.

A policymaker with five minutes reads one plain sentence and three headline figures, as the
EEF and YEF toolkits show them: impact, evidence strength (padlocks) and cost. Everything is
worded from the typed record (EvidenceRecord), never from raw data, and in plain words: no
estimator's name and no test statistic appears here (the page's collapsible technical sections
keep them). Numbers are formatted by the page's fmt_* helpers, so the verdict and the tables
below it read every value the same way.

`rating_reason` is the one-line reason for the padlock rating, for the page and the toolkit.
It reads the same published diagnostics the rating judged (evaluations/rating.py decides; this
only words its decisions), and where it cannot name every padlock taken off it says so rather
than guess.
"""
from __future__ import annotations

from evaluations.publish.text import md
from evaluations.rating import FEW_CLUSTERS, PreTrendJudgement, pre_trend_judgements
from evaluations.record_model.record import EvidenceRecord

# How sure we are, in words, for each number of padlocks (0-5).
CONFIDENCE = ("no", "very low", "low", "moderate", "high", "very high")


def record_pre_trend_judgements(record: EvidenceRecord) -> list[PreTrendJudgement]:
    """The published record's pre-trend tests as the rating judged them (its primary outcomes alone)."""
    return pre_trend_judgements(record.diagnostics.pre_trend_tests, [o.column for o in record.outcomes if o.primary])


def _clear(est) -> bool:
    """The 95% interval excludes no effect: as the page's tables read it."""
    return est.estimate is not None and (est.ci_low > 0 or est.ci_high < 0)


def _whom(record: EvidenceRecord) -> str:
    """Who the result is about: the people (or places) who took part, where, and how many when published."""
    _, est = record.primary
    n = est.n_treated
    unit = "places" if record.design.unit_word == "places" else "people"
    count = f"{n:,} " if isinstance(n, int) else ""
    return f"the {count}{unit} who took part in {and_list(record.programme.places)}"


def and_list(items) -> str:
    """"Lambeth and Boston, Lincolnshire": a list a reader cannot misread when an item holds a comma."""
    items = [md(x) for x in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lower_first(name: str) -> str:
    """A measure's name inside a sentence: "How often people feel lonely" as "how often people feel lonely",
    but "UCLA" and "Brexit" as written."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def what_changed(record: EvidenceRecord) -> str:
    """The first clause: what changed for whom, from the primary outcome's overall effect."""
    outcome, est = record.primary
    name = md(lower_first(outcome.measure_name))
    programme = md(record.programme.name)
    whom = _whom(record)
    if est.estimate is None:
        return f"Too few people took part in {programme} to report its effect on {name}"
    if not _clear(est):
        return f"We cannot tell whether {programme} changed {name} for {whom}"
    better = est.estimate > 0  # outcomes are oriented so that higher is better (measure_model.orient)
    if not record.design.has_comparison:
        return (f"{md(outcome.measure_name)} got {'better' if better else 'worse'} for {whom} in {programme}, "
                "but with no comparison group we cannot say the programme caused it")
    return f"{programme} {'improved' if better else 'worsened'} {name} for {whom}"


RATING_IN_FULL = "How the rating was worked out"  # the technical section holding the rating's own sentences


def problems_found(record: EvidenceRecord) -> list[tuple[str, int]]:
    """Each problem that took padlocks off, in plain words, with how many it took (in the order the rating
    takes them); the last, if any, counts the ones it cannot name."""
    r, diag = record.rating, record.diagnostics
    found: list[tuple[str, int]] = []  # (words, padlocks they account for)
    be = diag.baseline_equivalence
    # the rating judges baseline equivalence only for some designs (and for a trial with high attrition):
    # its sentence, written once in evaluations/rating.py, is the one that cites the WWC rule
    if be is not None and be.verdict == "not_satisfied" and any(
            "What Works Clearinghouse rule" in x for x in r.downgrades):
        found.append(("the groups compared were not alike before the programme", 1))
    if diag.wwc_attrition is not None and diag.wwc_attrition.verdict == "high":
        found.append(("more people dropped out of one group than the other, too many to be sure the groups "
                      "stayed comparable", 1))
    if diag.n_clusters is not None and diag.n_clusters < FEW_CLUSTERS:
        found.append((f"only {diag.n_clusters} sites (clusters) were compared, too few to be sure of the "
                      "margin of error", 1))
    if any(j.diverging for j in record_pre_trend_judgements(record)):
        found.append(("the groups were already drifting apart before the programme started", 1))
    if diag.overlap is not None and diag.overlap.limited and diag.overlap.applies:
        found.append(("some participants had nobody like them in the comparison group", 1))
    failed = sum(1 for x in diag.refutations if x.verdict == "failed")
    if failed:
        found.append(("a check on the analysis failed", failed))
    if record.provenance.registration is None:
        found.append(("the analysis plan was not registered in advance", 1))
    unnamed = len(r.downgrades) - sum(k for _, k in found)
    if unnamed > 0:
        found.append((f"other problems, described under “{RATING_IN_FULL}”", unnamed))
    return found


def rating_reasons(record: EvidenceRecord) -> list[str]:
    """Plain reasons for the padlocks lost, most telling first: each problem that took a padlock off
    (in the order the rating takes them), then whatever capped the starting rating."""
    return [words for words, _ in problems_found(record)] + starting_caps(record)


def starting_caps(record: EvidenceRecord) -> list[str]:
    """What held the starting rating below 5, in plain words (the design, the sample size or attrition)."""
    r, d = record.rating, record.design
    reasons = []
    if r.initial < 5:
        if r.design_padlocks == r.initial:
            if not d.has_comparison:
                reasons.append("there was no comparison group, so the change cannot be put down to the programme")
            elif not d.linked_waves:
                reasons.append("different people answered each survey, so a change in who answered could look "
                               "like an effect")
            else:
                reasons.append("people were not put into the groups at random, so the groups may differ in ways "
                               "the surveys did not measure")
        if r.mdes_padlocks == r.initial:
            reasons.append("too few people took part to detect a small effect reliably")
        if r.attrition_padlocks == r.initial:
            reasons.append("many people did not answer the follow-up survey")
    return reasons


def rating_reason(record: EvidenceRecord) -> str:
    """The main reason for the padlock rating, in one line (at most two reasons)."""
    reasons = rating_reasons(record)
    if not reasons:
        return "the design, the number of people and the follow-up were all strong, and no problems were found"
    return ", and ".join(reasons[:2])


def how_sure(record: EvidenceRecord) -> str:
    n = record.rating.padlocks
    return f"we have {CONFIDENCE[n]} confidence in this ({n} of 5 padlocks), mainly because {rating_reason(record)}"


def how_sure_section(record: EvidenceRecord) -> str:
    """"How sure are we?" in plain words: the padlocks, what capped the starting rating and each problem
    that took a padlock off. The rating's own sentences, with their test results, are in the technical
    detail (`rating_in_full`)."""
    from evaluations.publish.pages import padlocks

    r = record.rating
    n = r.padlocks
    capped = starting_caps(record)
    start = ("the most there is" if r.initial == 5 else "because " + ", and ".join(capped) if capped
             else "the weakest of its design, size and follow-up")
    lines = [f"**{n} of 5 padlocks** {padlocks(n)}: we have {CONFIDENCE[n]} confidence in this result.\n",
             f"The rating starts at {r.initial} of 5, {start}.\n"]
    found = problems_found(record)
    if found:
        lines.append("Then padlocks were taken off, because:\n")
        lines += [f"- {words[:1].upper() + words[1:]} ({k} padlock{'' if k == 1 else 's'})." for words, k in found]
    else:
        lines.append("No problems were found that lower it further.")
    lines.append(f"\nEach judgement is set out in full, with its figures, under “{RATING_IN_FULL}” below.\n")
    return "\n".join(lines)


def rating_in_full(record: EvidenceRecord) -> str:
    """The rating's own sentences, quoting the figures and tests it judged: for the technical detail."""
    r = record.rating
    lines = [f"Maryland Scientific Methods Scale {md(r.sms_reason)}\n",
             f"The starting rating is the weakest of design, sample size and attrition ({r.initial} of 5):\n",
             *[f"- {md(reason)}" for reason in r.reasons], ""]
    if r.downgrades:
        lines += ["Then one padlock is taken off for each problem found:\n", *[f"- {md(x)}" for x in r.downgrades]]
    else:
        lines.append("No problems were found that lower the rating further.")
    return "\n".join(lines) + "\n"


def cost_words(record: EvidenceRecord) -> str:
    cost = record.programme.cost_per_participant_gbp
    return "its cost was not reported" if cost is None else f"it cost about £{cost:,.0f} per participant"


def verdict(record: EvidenceRecord) -> str:
    """The one plain sentence: what changed, for whom, how sure we are and why, and what it cost."""
    return f"{what_changed(record)}; {how_sure(record)}; {cost_words(record)}."


def headline(record: EvidenceRecord) -> str:
    """Impact, evidence strength and cost side by side, as the EEF and YEF toolkits show them."""
    from evaluations.publish.pages import decimals, fmt_ci, fmt_signed, padlocks

    outcome, est = record.primary
    places = decimals(outcome)
    scale = ("" if outcome.units == "percentage points"
             else f" on a {outcome.scale_min:g}–{outcome.scale_max:g} scale".replace("-", "−"))
    if est.estimate is None:
        impact = "Not shown: too few people"
    else:
        what = ("" if _clear(est) else "no clear effect: ") + f"{fmt_signed(est.estimate, places)}"
        impact = (f"{what} {md(est.units)}{scale} (95% interval {fmt_ci(est.ci_low, est.ci_high, places)})")
        impact = impact[:1].upper() + impact[1:]
    n = record.rating.padlocks
    strength = f'<span aria-hidden="true">{padlocks(n)}</span> {n} of 5 padlocks'
    cost = record.programme.cost_per_participant_gbp
    cost_text = "Not reported" if cost is None else f"£{cost:,.0f} per participant"
    return "\n".join(["| Impact | Evidence strength | Cost |", "| --- | --- | --- |",
                      f"| {impact} | {strength} | {cost_text} |"])


def in_brief(record: EvidenceRecord) -> str:
    """The page's opening: the verdict, then the three headline figures."""
    outcome, _ = record.primary
    return (f"{verdict(record)}\n\n{headline(record)}\n\n"
            f"*Impact is on the primary outcome, {md(lower_first(outcome.measure_name))}; outcomes are scored so that "
            "higher is better.*\n")
