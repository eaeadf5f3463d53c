"""MyST Markdown pages of the evidence book, written only from disclosure-controlled records.

One module formats every number (`fmt_*`), so a page and its record can be checked against
each other and the same value never reads two ways in two places. Every string that comes
from the record (and so, possibly, from a registration) is written through
evaluations.publish.text.md: it shows as typed and can do nothing else.
"""
from __future__ import annotations

from pathlib import Path

from evaluations.disclosure import SUPPRESSED, THRESHOLD
from evaluations.files import write_text_atomic
from evaluations.publish import figures, pictures
from evaluations.publish.figure_numbers import event_study_numbers, numbers_block
from evaluations.publish.technical import (CLOSE_DETAILS, assumptions, collapsible, group_means, number_figures,
                                           open_details, unheaded)
from evaluations.publish.text import md, md_list, md_paragraphs, one_line
from evaluations.publish.verdict import (RATING_IN_FULL, how_sure_section, lower_first, rating_in_full,
                                         record_pre_trend_judgements)
from evaluations.record_model.diagnostics import Robustness
from evaluations.record_model.record import (EvidenceRecord, Flow, Outcome, PublishedDiagnostics, Registration,
                                             ShownEffect, TrendDrift)

SYNTHETIC_BANNER = (
    ":::{admonition} Synthetic data\n:class: warning\n"
    "This evaluation is **synthetic**: the programme, the organisation and every respondent are invented, "
    "and the data were simulated with known true effects to demonstrate the pipeline. "
    "It is not evidence about any real programme.\n:::\n")
FAMILY_NAMES = {
    "exchange_visit": "Community exchange visit",
    "school_linking": "School linking",
    "youth_social_action": "Youth social action (NCS-style)",
    "intergenerational": "Intergenerational contact",
    "other": "Other",
}


# ------------------------------------------------------------------ number formats

def decimals(outcome: Outcome) -> int:
    """Percentage points and wide scales (0-100) read best with one decimal, short scales with two."""
    wide = outcome.units == "percentage points" or (outcome.scale_max - outcome.scale_min) >= 20
    return 1 if wide else 2


def fmt_num(value, places: int = 2) -> str:
    """A number to `places` decimals with a true minus sign; one that rounds to zero has no sign ("0.00",
    never "−0.00")."""
    if value is None:
        return "–"
    if isinstance(value, str):  # disclosure control's "not shown" / "fewer than 10"
        return md(value)
    text = f"{value:.{places}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "−")


def fmt_signed(value, places: int = 2) -> str:
    """A change with its sign always shown ("+0.35", "−0.12", "0.00")."""
    text = fmt_num(value, places)
    if value is None or isinstance(value, str) or text.startswith("−") or float(text) == 0:
        return text
    return "+" + text


def fmt_ci(low, high, places: int = 2) -> str:
    if low is None or high is None:
        return "–"
    return f"{fmt_num(low, places)} to {fmt_num(high, places)}"


def fmt_p(p) -> str:
    """A p-value for a table's p column; in a sentence use fmt_p_is."""
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_p_is(p) -> str:
    """A p-value in a sentence: "p < 0.001" or "p = 0.012" (never "p = < 0.001")."""
    if p is None:
        return "p not available"
    return f"p {fmt_p(p)}" if p < 0.001 else f"p = {fmt_p(p)}"


def fmt_share(x, places: int = 1) -> str:
    """A share (0-1) as a percentage: 0.139 as 13.9%."""
    if x is None:
        return "–"
    return md(x) if isinstance(x, str) else f"{100 * x:.{places}f}%"


def fmt_count(n) -> str:
    if n is None:
        return "–"
    return md(n) if isinstance(n, str) else f"{n:,}"


def padlocks(n: int) -> str:
    return "●" * n + "○" * (5 - n)


# ------------------------------------------------------------------ the summary

def summary(record: EvidenceRecord) -> str:
    """The page's first screen: the verdict sentence and the three headline figures (publish/verdict.py)."""
    from evaluations.publish.verdict import in_brief  # verdict formats numbers with this module's fmt_*

    return in_brief(record)


# ------------------------------------------------------------------ evaluation page

def _impact_table(record: EvidenceRecord) -> str:
    names = {o.column: o for o in record.outcomes}
    lines = ["| Outcome | Effect (95% interval) | Effect size g (95% interval) | p | Programme n | Comparison n |",
             "| --- | --- | --- | --- | --- | --- |"]
    for e in record.estimates:
        o = names[e.outcome]
        places = decimals(o)
        primary = " (primary)" if o.primary else ""
        own = " (the charity's own question)" if o.own_measure else ""
        effect = (f"{fmt_num(e.estimate, places)} ({fmt_ci(e.ci_low, e.ci_high, places)}) {md(e.units)}"
                  if e.estimate is not None else md(e.suppression_reason))
        lines.append(f"| {md(o.measure_name)}{primary}{own} | {effect} | {fmt_num(e.effect_size)} "
                     f"({fmt_ci(e.effect_size_ci_low, e.effect_size_ci_high)}) | {fmt_p(e.p_value)} | "
                     f"{fmt_count(e.n_treated)} | {fmt_count(e.n_comparison)} |")
    return "\n".join(lines)


OWN_MEASURE = "the charity's own question (not in the shared measure bank; not pooled with other evaluations)"


def _own_measures(record: EvidenceRecord) -> str:
    """What each of the charity's own questions asked and how it was answered: the bank's measures have
    a page of their own (book/generated/measures/), these have only this one."""
    lines = []
    for o in record.outcomes:
        if not o.own_measure:
            continue
        if o.scale:
            codes = sorted(o.scale.items(), key=lambda kv: int(kv[0]))  # JSON keys are text: "10" after "9"
            answers = "; ".join(f"{md(code)} = {md(text)}" for code, text in codes)
        else:
            answers = f"from {_number(o.scale_min)} to {_number(o.scale_max)} ({md(o.units)})"
        better = "Higher" if o.higher_is_better else "Lower"
        lines.append(f"- {md(o.measure_name)} is {OWN_MEASURE}. The question: “{md(o.question)}” "
                     f"Answers: {answers}. {better} answers are better.")
    return "\n".join(lines) + "\n" if lines else ""


def _number(x) -> str:
    return f"{x:g}".replace("-", "−")


def _subgroup_section(record: EvidenceRecord, page_dir: Path, figure_dir: Path) -> str:
    """For whom: per outcome, the heterogeneity tests in one sentence, a forest plot of the groups' effects,
    and the figure's numbers as a table (its text alternative) in a collapsible block."""
    names = {o.column: o for o in record.outcomes}
    order = sorted(names, key=lambda c: c != record.primary_outcome)
    lines = []
    for column in order:
        rows = [e for e in record.subgroups if e.outcome == column]
        tests = [t for t in record.heterogeneity_tests if t.outcome == column]
        if not rows and not tests:
            continue
        o = names[column]
        places = decimals(o)
        lines.append(f"### {md(o.measure_name)}\n")
        if tests:  # in words; each test's p-value is in the table of numbers below
            answers = "; ".join(
                f"by {md(lower_first(record.modifier_label(t.modifier)))}, "
                + ("the effect seems to differ" if t.p_value is not None and t.p_value < 0.05 else "no clear difference")
                for t in tests)
            lines.append(f"Does the effect differ between groups? {answers[:1].upper()}{answers[1:]}.\n")
        number = list(names).index(column) + 1  # file names never carry a registration's column name
        fig = figures.subgroup_figure(record, column, figure_dir / f"{record.id}-subgroups-{number}.png")
        lines.append(_figure(fig, page_dir, f"Forest plot of effect sizes on {one_line(o.measure_name)} for each group "
                             "of participants; the numbers are in the table below it",
                             "Effect for each group of participants (95% intervals); the diamond is everyone together."))
        table = []
        for e in rows:
            effect = (f"{fmt_num(e.estimate, places)} ({fmt_ci(e.ci_low, e.ci_high, places)})"
                      if e.estimate is not None else md(e.suppression_reason))
            size = (f"{fmt_num(e.effect_size)} ({fmt_ci(e.effect_size_ci_low, e.effect_size_ci_high)})"
                    if e.effect_size is not None else "–")
            table.append([md(o.measure_name), md(record.group_name(e.subgroup)), effect, size, fmt_count(e.n_treated),
                          fmt_count(e.n_comparison)])
        lines += numbers_block(["Outcome", "Group", "Effect (95% interval)", "Effect size g (95% interval)", "Programme n",
                                "Comparison n"], table,
                               " ".join(f"Difference by {md(lower_first(record.modifier_label(t.modifier)))}"
                                        + (f" tested by {md(t.method)}" if t.method else "")
                                        + f": {fmt_p_is(t.p_value)}." for t in tests))
    skipped = record.subgroups_skipped
    if skipped:
        lines += ["", f"Not estimated, because {SUPPRESSED} people would be in a group:", ""]
        lines += [f"- {md(names[x.outcome].measure_name)}: {md(record.group_name(x.subgroup))}" for x in skipped]
    return "\n".join(lines)


ADJUSTMENTS = {"romano_wolf": "Romano–Wolf step-down, which allows for how the outcomes move together",
               "holm": "Holm's step-down"}


def secondary_outcomes(n: int) -> str:
    return f"{n} secondary outcome" + ("" if n == 1 else "s")


def secondary_sentence(record: EvidenceRecord, outcome: Outcome, e: ShownEffect) -> str:
    """A secondary outcome's words, which follow its p-value adjusted for testing every secondary outcome
    (estimators/multiplicity.py), not its own p-value: a chance finding among several is not called a result."""
    words, name, places = record.design, md(outcome.measure_name.lower()), decimals(outcome)
    p = f"adjusted {fmt_p_is(e.p_value_adjusted)}, unadjusted {fmt_p_is(e.p_value)}"
    if e.p_value_adjusted < 0.05:
        direction = "better" if e.estimate > 0 else "worse"
        return (words.clear_result.format(direction=direction, name=name)
                + f" **{fmt_num(abs(e.estimate), places)} {md(e.units)}** "
                  f"(95% interval {fmt_ci(e.ci_low, e.ci_high, places)}; {p}).")
    return (words.unclear_result.format(name=name) + f": the estimate was {fmt_num(e.estimate, places)} "
            f"{md(e.units)}, {p}.")


def _secondary_outcomes(record: EvidenceRecord) -> str:
    """Each secondary outcome in words, after allowing for testing them all; the primary outcome is tested alone."""
    names = {o.column: o for o in record.outcomes}
    shown = [e for e in record.estimates if e.adjusted_for and not names[e.outcome].primary]
    if not shown:
        return ""
    first = shown[0]
    primary = md_list([names[c].measure_name for c in (o.column for o in record.outcomes if o.primary)])
    lines = [f"**Secondary outcomes.** The primary outcome ({primary}) was registered as the main question and is "
             f"tested alone. Each p-value below is adjusted for testing {secondary_outcomes(first.adjusted_for)} "
             f"({ADJUSTMENTS[first.adjustment]}), so that a secondary outcome reaching p < 0.05 by chance is not "
             "read as an effect.\n"]
    for e in shown:
        if e.p_value_adjusted is None:
            lines.append(f"- {md(names[e.outcome].measure_name)}: {md(e.suppression_reason)}")
        else:
            lines.append(f"- {secondary_sentence(record, names[e.outcome], e)}")
    return "\n".join(lines) + "\n"


def _sensitivity(record: EvidenceRecord) -> str:
    """Other estimators of the same overall effects (e.g. a trial's plain difference in means)."""
    rows = record.sensitivity
    if not rows:
        return ""
    names = {o.column: o for o in record.outcomes}
    lines = ["Other analyses of the same data, as a check that the answer does not hang on one method:\n"]
    for e in rows:
        places = decimals(names[e.outcome])
        value = (f"{fmt_num(e.estimate, places)} ({fmt_ci(e.ci_low, e.ci_high, places)}) {md(e.units)}"
                 if e.estimate is not None else md(e.suppression_reason))
        lines.append(f"- {md(names[e.outcome].measure_name)}, {md(e.estimator)}: {value}")
    return "\n".join(lines) + "\n"


MANY_TIMES = 10  # beyond this multiple of a measured characteristic, the page says "more than ten times"


def hidden_bias_sentence(outcome: Outcome, e: ShownEffect) -> str | None:
    """One sentence on how strong hidden bias would have to be to explain an effect away (its record's
    hidden_bias: evaluations/sensitivity/hidden_bias.py); None where the effect has no reading."""
    h = e.hidden_bias
    if e.estimate is None or h is None or h.e_value is None:
        return None
    rob = h.robustness if isinstance(h.robustness, Robustness) else None
    b = rob.benchmark if rob else None
    clear = e.ci_low > 0 or e.ci_high < 0  # as the summary words it
    what = "explain this effect away" if clear else "bring the estimate to zero"
    result = "a better" if e.estimate >= 0 else "a worse"  # what a confounder would have to come with
    likely = (f"make taking part, and {result} result, each {fmt_num(h.e_value)} times as likely, beyond the "
              "characteristics measured")
    limit = f"; {fmt_num(h.e_value_limit)} to make the 95% interval include no effect" if clear else ""
    rv = "" if rob is None else (
        f"; robustness value {fmt_share(rob.robustness_value)} of what the measured characteristics leave "
        "unexplained, in both who took part and the outcome"
        + (f", {fmt_share(rob.robustness_value_alpha)} to lose statistical significance"
           if clear and rob.robustness_value_alpha else ""))
    if b is None:
        sentence = (f"to {what}, an unmeasured difference between the groups would have to {likely} "
                    f"(E-value {fmt_num(h.e_value)}{limit}{rv})")
    else:
        if b.times_as_strong is not None and b.times_as_strong <= 1:
            sentence = (f"an unmeasured difference between the groups no stronger than {md(b.covariate)}, the "
                        f"measured characteristic that could bias this estimate most, would be enough to {what}")
        else:
            times = ("more than ten times as strong as"
                     if b.times_as_strong is None or b.times_as_strong >= MANY_TIMES
                     else f"{fmt_num(b.times_as_strong, 1)} times as strong as")
            sentence = (f"to {what}, an unmeasured difference between the groups would have to be {times} "
                        f"{md(b.covariate)}, the measured characteristic that could bias this estimate most")
        sentence += f" (E-value {fmt_num(h.e_value)}: it would have to {likely}{limit}{rv})"
    start = "" if clear else "the 95% interval already includes no effect; "
    return f"**{md(outcome.measure_name)}:** {start}{sentence}."


def _hidden_bias(record: EvidenceRecord) -> str:
    """Each overall effect's sensitivity to hidden bias, for designs that rest on covariates."""
    names = {o.column: o for o in record.outcomes}
    lines = [line for e in record.estimates if (line := hidden_bias_sentence(names[e.outcome], e))]
    if not lines:
        return ""
    return "\n".join(["### How strong would hidden bias have to be?\n",
                      "Chance did not decide who took part, so the groups may differ in ways the surveys did not "
                      "measure. For each effect, how strong such a difference would have to be to explain it away: "
                      "the stronger it would have to be, the sturdier the result (see the methods chapter).\n",
                      *[f"- {line}" for line in lines], ""])


def trend_drift_sentence(outcome: Outcome, b: TrendDrift) -> str:
    """How far the groups' trends could drift apart after the start before the first wave's effect could be
    zero (the record's trend_drift: Rambachan & Roth's breakdown Mbar, designs/staggered.py)."""
    name = f"**{md(outcome.measure_name)}:**"
    if b.breakdown_mbar is None:
        return (f"{name} even if the groups' trends had stayed exactly parallel, the effect in the first wave after "
                "a site started could be zero: its 95% interval includes no effect.")
    side = "above" if b.estimate > 0 else "below"
    if b.breakdown_mbar == 0:
        return (f"{name} the effect in the first wave after a site started stays {side} zero only if the groups' "
                "trends did not drift apart at all after the start.")
    return (f"{name} the effect in the first wave after a site started stays {side} zero unless the groups' trends "
            f"drifted apart after the start by more than {fmt_num(b.breakdown_mbar)} times the largest drift seen "
            "before it.")


def _trend_drift(record: EvidenceRecord) -> str:
    """Each outcome's breakdown Mbar in words, for staggered roll-outs with two or more waves before the start."""
    if not record.trend_drift:
        return ""
    names = {o.column: o for o in record.outcomes}
    return "\n".join(["### What if the groups' trends drifted apart?\n",
                      "The comparison rests on the groups' outcomes moving in parallel had the programme not "
                      "started. The waves before the start show how much the gap between the groups moved from one "
                      "wave to the next; for each effect, how much larger a drift after the start it would take to "
                      "bring it to zero (Rambachan & Roth's bounds; the numbers are in the technical detail):\n",
                      *[f"- {trend_drift_sentence(names[o], b)}" for o, b in record.trend_drift.items()], ""])


def _trend_drift_numbers(record: EvidenceRecord) -> list[str]:
    """The bounds behind those sentences, for methodologists."""
    names = {o.column: o for o in record.outcomes}
    lines = []
    for o, b in record.trend_drift.items():
        places = decimals(names[o])
        low = "no lower limit" if b.lower is None else fmt_num(b.lower, places)
        high = "no upper limit" if b.upper is None else fmt_num(b.upper, places)
        breakdown = "none (the interval includes zero even then)" if b.breakdown_mbar is None else fmt_num(
            b.breakdown_mbar)
        lines.append(
            f"- Trend-drift bounds for {md(names[o].measure_name)} (Rambachan & Roth 2023, relative magnitudes; HonestDiD's C-LF "
            f"interval): effect in the first wave after the start {fmt_num(b.estimate, places)}; robust 95% "
            f"interval if post-start drift is at most {fmt_num(b.mbar)} times the largest pre-start one: {low} to "
            f"{high}; breakdown value (the largest such multiple keeping zero out): {breakdown}. Computed on the "
            f"event study with every wave against the wave before the site started (event times "
            f"{fmt_num(b.first_event_time, 0)} to {fmt_num(b.last_event_time, 0)}), as the method requires; the "
            "event-study figure compares each pre-start wave with the one before it, and the post-start points "
            "are the same.")
    return lines


def _attrition_bounds(record: EvidenceRecord) -> str:
    """Lee bounds beside each effect where people were lost: what attrition could do to it."""
    rows = record.diagnostics.attrition_bounds
    if not rows:
        return ""
    names = {o.column: o for o in record.outcomes}
    lines = ["### What the people who dropped out could change\n",
             "Some people who answered at baseline did not answer at follow-up. If they differed from those who "
             "stayed, the comparison could be off. Assuming only that taking part never stopped anyone answering "
             "who otherwise would have (or, if the comparison group answered more, never made anyone answer), the "
             "effect among people who would have answered either way lies between these two numbers (Lee bounds, "
             "found by setting aside the highest, then the lowest, answers of the group that answered more). They "
             "bound the simple comparison, without adjusting for characteristics:\n"]
    for b in rows:
        o = names[b.outcome]
        places = decimals(o)
        if b.suppressed:
            lines.append(f"- {md(o.measure_name)}: {md(b.suppression_reason)}")
            continue
        what = "change" if b.compared == "change" else "follow-up answers"
        trimmed = (f"; the {b.trimmed_group} group's answers were trimmed" if b.trimmed_group
                   else "; both groups answered equally often, so nothing was trimmed")
        widened = (f" (at least {THRESHOLD} people were set aside, to protect small groups, so these bounds are a "
                   "little wider than they need be)" if b.widened else "")
        lines.append(f"- {md(o.measure_name)} ({what}): between **{fmt_num(b.lower, places)} and "
                     f"{fmt_num(b.upper, places)}** {md(record.overall(b.outcome).units)} (95% interval "
                     f"{fmt_ci(b.ci_low, b.ci_high, places)}){trimmed}{widened}.")
    lines.append("\nIf the bounds are on the same side of zero, the result does not hang on who dropped out.\n")
    return "\n".join(lines + _response_weighting(record))


def _response_weighting(record: EvidenceRecord) -> list[str]:
    """Beside the bounds: the design's own estimate with those who answered weighted to look like everyone who
    started (diagnostics/response_weighting.py), right if nothing unmeasured decided who answered."""
    from evaluations.diagnostics.response_weighting import NOT_ESTIMATED

    rows = record.diagnostics.response_weighting
    if not rows:
        return []
    names = {o.column: o for o in record.outcomes}
    lines = ["A narrower check assumes instead that who answered the follow-up depended only on what the baseline "
             "survey measured (their group, their baseline answer and the characteristics the evaluation names). Each "
             "person who answered then stands for the people like them who did not, and the estimate is made "
             "again:\n"]
    for r in rows:
        o = names[r.outcome]
        places = decimals(o)
        if r.suppressed:
            said = md(r.suppression_reason)  # a whole sentence
        elif r.not_estimated:
            said = f"not estimated: {NOT_ESTIMATED[r.not_estimated]}."
        else:
            said = (f"**{fmt_signed(r.estimate, places)}** {md(record.overall(r.outcome).units)} (95% interval "
                    f"{fmt_ci(r.ci_low, r.ci_high, places)}).")
        lines.append(f"- {md(o.measure_name)}, weighting those who answered to look like everyone who started: "
                     f"{said}")
    lines.append("\nIf this is close to the estimate above, who dropped out does not change the result, as far as "
                 "the baseline survey can tell.\n")
    return lines


VERDICT_WORDS = {"satisfied": "satisfied", "satisfied_with_adjustment": "satisfied, with statistical adjustment",
                 "not_satisfied": "**not satisfied**", None: "could not be judged"}


def _wwc_lines(diag: PublishedDiagnostics) -> list[str]:
    """The What Works Clearinghouse verdicts on attrition and on baseline equivalence, in plain words."""
    lines = []
    w = diag.wwc_attrition
    if w is not None:
        limit = (f" (at this overall attrition, the groups' attrition may differ by at most "
                 f"{100 * w.max_differential:.1f} percentage points)" if isinstance(w.max_differential, float) else "")
        lines.append(f"- Attrition by the What Works Clearinghouse standard ({md(w.boundary)} boundary, which "
                     f"combines overall and differential attrition): **{md(w.verdict)}**{limit}.")
    be = diag.baseline_equivalence
    if be is not None and be.rows:
        lines += [f"- Baseline equivalence by the What Works Clearinghouse rule, among the people analysed for the "
                  f"primary outcome: {VERDICT_WORDS[be.verdict]}. A difference (Hedges' g; the Cox index for a "
                  f"yes/no characteristic) of at most {fmt_num(be.satisfies)} satisfies it; up to {fmt_num(be.adjustable)} only if "
                  "the analysis adjusts for it; more fails.", "",
                  "| Characteristic | Difference g | Analysis adjusts for it | Verdict |", "| --- | --- | --- | --- |"]
        for r in be.rows:
            name = f"{md(r.variable)} (at baseline)" if r.kind == "baseline outcome" else md(r.variable)
            shown = md(r.suppression_reason) if r.suppressed else fmt_num(r.g)
            verdict = "–" if r.suppressed else VERDICT_WORDS[r.verdict]
            lines.append(f"| {name} | {shown} | {'yes' if r.adjusted else 'no'} | {verdict} |")
        lines.append("")
    return lines


def _overlap_lines(diag: PublishedDiagnostics) -> list[str]:
    o = diag.overlap
    if o is None:
        return []
    verdict = ("**limited**: " + "; ".join(md(r) for r in o.reasons) if o.limited
               else "good: nearly every participant had comparable people in the comparison group")
    scope = ("" if o.applies else " (for information: this design does not rely on matching people "
             "on these characteristics)")
    return [f"- Overlap of the chance of taking part, estimated from {md_list(o.covariates)}: {verdict}{scope}. "
            f"Outside the other group's range: {fmt_count(o.outside_support.programme)} participants and "
            f"{fmt_count(o.outside_support.comparison)} comparison people; with a chance below 10% or above 90%: "
            f"{fmt_count(o.trimmed.programme)} and {fmt_count(o.trimmed.comparison)}."]


def _refutation_table(record: EvidenceRecord) -> str:
    rows = record.diagnostics.refutations
    names = {o.column: md(o.measure_name) for o in record.outcomes}
    if not rows:
        return ""
    lines = ["### Robustness checks\n",
             "Each check changes the analysis in a way that should (or should not) move the estimate. "
             "A failed check takes a padlock off.\n",
             "| Check | Outcome | Estimate | After the change | p | Verdict |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {md(r.name)} | {names[r.outcome]} | {fmt_num(r.original_effect)} | {fmt_num(r.new_effect)} | "
                     f"{fmt_p(r.p_value)} | {md(r.verdict)} |")
    lines += ["", *[f"- *{md(name)}*: {md(text)}" for name, text in
                    dict.fromkeys((r.name, r.explanation) for r in rows)], ""]
    return "\n".join(lines)


def _figure(path: Path | None, page_dir: Path, alt: str, caption: str) -> str:
    if path is None:
        return ""
    rel = Path("..") / path.relative_to(page_dir.parent)
    return f"```{{figure}} {rel.as_posix()}\n:alt: {alt}\n:width: 100%\n\n{caption}\n```\n"


def evaluation_page(record: EvidenceRecord, page_dir: Path, figure_dir: Path, record_dir: Path) -> Path:
    """Write the evaluation's page and its figures; return the page path."""
    rid = record.id
    figs = {
        "effects": figures.effects_figure(record, figure_dir / f"{rid}-effects.png"),
        "event": figures.event_study_figure(record, figure_dir / f"{rid}-event-study.png"),
        "balance": figures.balance_figure(record, figure_dir / f"{rid}-balance.png"),
        "flow": figures.flow_figure(record, figure_dir / f"{rid}-flow.png"),
        "overlap": figures.overlap_figure(record, figure_dir / f"{rid}-overlap.png"),
    }
    p, d, dq, diag = record.programme, record.design, record.data_quality, record.diagnostics
    flow = record.flow
    parts = [f"# {md(record.title)}\n"]
    if record.synthetic:
        parts.append(SYNTHETIC_BANNER)
    parts += [
        "## In brief\n", summary(record), "",
        "## About the programme\n",
        f"*{md(p.name)}*, run by {md(p.organisation)} in {md_list(p.places)}, "
        f"{md(p.start_date)} to {md(p.end_date)}.\n",
        md_paragraphs(p.description) + "\n",
        f"## {d.effect_heading}\n",
        d.effect_explanation + "\n",
        _impact_table(record), "",
        pictures.pictures_section(record),  # shares, national figure, effect size in words, value for money
        _secondary_outcomes(record),
        _own_measures(record),
        _figure(figs["effects"], page_dir, "Effect sizes with 95% intervals for each outcome",
                "Effect on each outcome, standardised so outcomes can be compared. The primary outcome is in red."),
        collapsible("Checks on these estimates: other methods, people who dropped out, hidden bias, trends",
                    "\n".join([_sensitivity(record), _attrition_bounds(record), _hidden_bias(record),
                               _trend_drift(record)])),
    ]
    if figs["event"]:
        parts += ["### Effects over time\n",
                  "The programme started at different sites at different times. Each point is the average "
                  "effect a given number of waves after a site started; points before zero are checks that "
                  "the groups were moving in parallel before the programme.\n",
                  _figure(figs["event"], page_dir, "Event-study plot of effects by waves since start",
                          "Effects by time since the programme started (95% intervals)."),
                  event_study_numbers(record), _staggered_summaries(record)]
    if record.subgroups:
        parts += ["## For whom did it work?\n", _subgroup_section(record, page_dir, figure_dir), ""]
    parts += [
        "## Who took part\n",
        _figure(figs["flow"], page_dir, "Participant flow diagram", "How many people were in the files, answered each "
                f"survey and were analysed. Counts of {SUPPRESSED} people, and counts from which one could be "
                "worked out by subtraction, are not shown."),
        *_flow_table(flow, d.has_comparison),
        "",
        "## How sure are we?\n",
        how_sure_section(record), "",
        "## Technical detail\n",
        "For methodologists: the data behind the estimates, the methods and the diagnostics. Open each part "
        "to read it.\n",
        collapsible(RATING_IN_FULL, rating_in_full(record)),
        collapsible("Group means by wave", group_means(record)),
        collapsible("Estimators and their assumptions", assumptions(record)),
        open_details("Diagnostics: design, attrition, power, trends, balance, overlap and robustness checks"),
        f"- Design: {d.name}.",
        (f"- Units: places (schools, sites or areas), each row summarising at least {THRESHOLD} people; counts of places "
         "are shown exactly, as they count places, not people." if d.unit_word == "places" else None),
        (f"- Attrition: {_pct(diag.attrition.overall)} overall; {_pct(diag.attrition.programme)} in the "
         f"programme group and {_pct(diag.attrition.comparison)} in the comparison group."
         if d.linked_waves else "- Attrition: not defined: different people answered each wave."),
        f"- Minimum detectable effect size: {fmt_num(diag.mdes_planned)} planned from the baseline sample; "
        + ", ".join(f"{fmt_num(v)} achieved for {md(k)}" for k, v in diag.mdes_achieved.items()) + ".",
    ]
    if diag.n_clusters:
        parts.append(f"- Clusters ({md(d.cluster)}): {fmt_count(diag.n_clusters)}; uncertainty allows for people in one cluster being alike.")
    for j in record_pre_trend_judgements(record):
        adjusted = "" if j.p_adjusted is None else f"; adjusted for the secondary outcomes tested, {fmt_p_is(j.p_adjusted)}"
        parts.append(f"- Pre-programme trends in {md(j.outcome)}: {fmt_p_is(j.p_value)}{adjusted} "
                     f"({'groups were already diverging' if j.diverging else 'no sign of diverging trends'}).")
    parts += _trend_drift_numbers(record)
    if diag.max_abs_smd_covariates is not None:
        after = (f" before and {fmt_num(diag.max_abs_smd_covariates_after)} after re-weighting "
                 f"({md(diag.balance_after_weights)})" if diag.balance_after else "")
        parts.append(f"- Balance: the largest standardised difference in a baseline characteristic was "
                     f"{fmt_num(diag.max_abs_smd_covariates)}{after}.")
    parts += _wwc_lines(diag)
    parts += _overlap_lines(diag)
    balance_caption = ("Standardised differences between the groups before the programme (open circles) and after "
                       "the comparison group was re-weighted (filled); dotted lines at ±0.25."
                       if diag.balance_after else
                       "Standardised differences between the groups before the programme; dotted lines at ±0.25.")
    parts += ["", _figure(figs["balance"], page_dir, "Love plot of standardised differences at baseline", balance_caption),
              _figure(figs["overlap"], page_dir, "Histograms of the estimated chance of taking part in each group",
                      "Estimated chance of taking part: programme group above the line, comparison group below. "
                      f"Bars are merged so that none holds {SUPPRESSED} people."),
              unheaded(_refutation_table(record)), CLOSE_DETAILS,
              "## Data quality\n",
              f"- Rows read: {fmt_count(dq.rows_read)}; rows set aside for a data problem: {fmt_count(dq.rows_set_aside)}. "
              f"Every row is accounted for: {'yes' if dq.reconciled else 'NO'}.",
              *[f"- Set aside by the check {md(k)}: {fmt_count(v)}" for k, v in dq.set_aside_by_check.items()],
              *[f"- “Don't know” or refused answers to {md(k)}: {fmt_count(v)}" for k, v in dq.dont_know_answers.items()],
              "", "## Provenance and downloads\n",
              *_registration_lines(record.provenance.registration),
              f"- Code version: {md(record.provenance.code_version)}",
              f"- Pipeline run: {md(record.provenance.run_id or 'n/a')}",
              *[f"- {md(f.path)}: SHA-256 {md(f.sha256[:16])}…" for f in record.provenance.data_files],
              f"- Download the disclosure-safe record: {{download}}`JSON <../records/{rid}.json>`, "
              f"{{download}}`CSV <../records/{rid}.csv>`", ""]
    return write_text_atomic(page_dir / f"{rid}.md", number_figures("\n".join(x for x in parts if x is not None)) + "\n",
                             keep_identical=True)


def _staggered_summaries(record: EvidenceRecord) -> str:
    """The primary outcome's effects averaged by the wave sites started in and by calendar wave."""
    outcome = record.primary_outcome
    waves = record.design.waves or []
    label = {i + 1: w for i, w in enumerate(waves)}  # periods are 1..K in wave order
    lines = []
    for what, period, points in (("Sites that started in", "starting_wave", record.by_starting_wave),
                                 ("All started sites, in", "wave", record.by_calendar_wave)):
        for row in points.get(outcome, []):
            k = getattr(row, period)
            lines.append(f"| {what} {md(str(label.get(k, k)))} | {fmt_num(row.estimate)} "
                         f"({fmt_ci(row.ci_low, row.ci_high)}) |")
    if not lines:
        return ""
    return "\n".join(["", "| Effect on the primary outcome averaged over | Effect (95% interval) |",
                      "| --- | --- |", *lines, ""])


def _flow_table(flow: Flow, has_comparison: bool) -> list[str]:
    rows = (("registered", "In the data files"), ("baseline", "Answered at baseline"),
            ("follow_up", "Answered at follow-up"), ("analysed", "Analysed (primary outcome)"))
    if not has_comparison:
        return ["| | People who took part |", "| --- | --- |",
                *[f"| {label} | {fmt_count(getattr(flow.programme, k))} |" for k, label in rows]]
    return ["| | Programme | Comparison |", "| --- | --- | --- |",
            *[f"| {label} | {fmt_count(getattr(flow.programme, k))} | {fmt_count(getattr(flow.comparison, k))} |"
              for k, label in rows]]


def _registration_lines(reg: Registration | None) -> list[str]:
    """When the analysis plan was registered, and every later change to the registration."""
    if reg is None:
        return ["- Analysis plan: not registered (the rating says so)."]
    lines = [f"- Analysis plan registered on {md(reg.registered_at[:10])} (SHA-256 {md(reg.plan_sha256[:16])}…)"
             + (f"; amended on {md_list(a[:10] for a in reg.amendments)}" if reg.amendments else "") + "."]
    lines += [f"- This registration replaced an earlier one of the same id (registered on "
              f"{md(r.previous_registered_at[:10] or 'an unknown date')}) on {md(r.replaced_at[:10])}; "
              "the earlier plan is kept in the registry." for r in reg.replacements]
    return lines


def unpublished_page(evaluation_id: str, reason: str, page_dir: Path) -> Path:
    """The notice that stands in for an evaluation's page while it cannot be published."""
    text = (f"# Not published: {md(evaluation_id)}\n\n"
            f"The evaluation registered as {md(evaluation_id)} is not published at the moment: {md(reason)}. "
            "Every other evaluation in the library is published as usual.\n")
    return write_text_atomic(page_dir / f"{evaluation_id}.md", text, keep_identical=True)


def _pct(x) -> str:
    return "–" if x is None else md(x) if isinstance(x, str) else f"{x:.0%}"
