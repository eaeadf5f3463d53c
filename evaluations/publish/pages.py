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
from evaluations.publish import figures
from evaluations.publish.text import md, md_list, md_paragraphs
from evaluations.record_model.record import EvidenceRecord, Flow, Outcome, PublishedDiagnostics, Registration

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
    if value is None:
        return "–"
    if isinstance(value, str):  # disclosure control's "not shown" / "fewer than 10"
        return md(value)
    return f"{value:.{places}f}".replace("-", "−")


def fmt_ci(low, high, places: int = 2) -> str:
    if low is None or high is None:
        return "–"
    return f"{fmt_num(low, places)} to {fmt_num(high, places)}"


def fmt_p(p) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_count(n) -> str:
    if n is None:
        return "–"
    return md(n) if isinstance(n, str) else f"{n:,}"


def padlocks(n: int) -> str:
    return "●" * n + "○" * (5 - n)


# ------------------------------------------------------------------ the summary

def summary(record: EvidenceRecord) -> str:
    outcome, est = record.primary
    places = decimals(outcome)
    name = md(outcome.measure_name.lower())
    scale = ("" if outcome.units == "percentage points"
             else f" on a {outcome.scale_min:g}–{outcome.scale_max:g} scale")
    mdes = record.diagnostics.mdes_achieved.get(outcome.column)
    rating = record.rating
    words = record.design  # each design's own words for its results (evaluations/designs/)
    if est.estimate is None:
        what = f"Too few people took part to report an effect on {name}."
    elif est.ci_low > 0 or est.ci_high < 0:
        direction = "better" if est.estimate > 0 else "worse"
        what = (words.clear_result.format(direction=direction, name=name)
                + f" **{fmt_num(abs(est.estimate), places)} {md(est.units)}**{scale} "
                f"(95% interval {fmt_ci(est.ci_low, est.ci_high, places)}; "
                f"effect size {fmt_num(est.effect_size)})." + words.result_caveat)
    else:
        what = (words.unclear_result.format(name=name) + ": the estimate was "
                f"{fmt_num(est.estimate, places)} {md(est.units)}{scale}, but the 95% interval "
                f"({fmt_ci(est.ci_low, est.ci_high, places)}) includes no effect at all.")
        if isinstance(mdes, (int, float)) and mdes >= 0.5:
            what += (f" Too few people took part to tell: the study could only reliably detect effects of "
                     f"{fmt_num(mdes)} standard deviations or more.")
    sure = f"**How sure we are:** {rating.padlocks} of 5 padlocks {padlocks(rating.padlocks)}."
    cost = record.programme.cost_per_participant_gbp
    cost_text = f" **Cost:** about £{cost:,.0f} per participant." if cost is not None else ""
    return f"{what}\n\n{sure}{cost_text}"


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


def _subgroup_table(record: EvidenceRecord) -> str:
    names = {o.column: o for o in record.outcomes}
    lines = ["| Outcome | Group | Effect (95% interval) | Effect size g | Programme n | Comparison n |",
             "| --- | --- | --- | --- | --- | --- |"]
    for e in record.subgroups:
        o = names[e.outcome]
        places = decimals(o)
        effect = (f"{fmt_num(e.estimate, places)} ({fmt_ci(e.ci_low, e.ci_high, places)})"
                  if e.estimate is not None else md(e.suppression_reason))
        lines.append(f"| {md(o.measure_name)} | {_group(e.subgroup)} | {effect} | "
                     f"{fmt_num(e.effect_size)} | {fmt_count(e.n_treated)} | {fmt_count(e.n_comparison)} |")
    tests = record.heterogeneity_tests
    if tests:
        lines += ["", "Do the effects really differ between groups? A test of the difference "
                  "(a small p, below 0.05, suggests they do):", ""]
        lines += [f"- {md(names[t.outcome].measure_name)} by {md(t.modifier)}: p = {fmt_p(t.p_value)}"
                  + (f" ({md(t.method)})" if t.method else "") for t in tests]
    skipped = record.subgroups_skipped
    if skipped:
        lines += ["", f"Not estimated, because {SUPPRESSED} people would be in a group:", ""]
        lines += [f"- {md(names[x.outcome].measure_name)}: {_group(x.subgroup)}" for x in skipped]
    return "\n".join(lines)


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
        "subgroups": figures.subgroup_figure(record, figure_dir / f"{rid}-subgroups.png"),
        "event": figures.event_study_figure(record, figure_dir / f"{rid}-event-study.png"),
        "balance": figures.balance_figure(record, figure_dir / f"{rid}-balance.png"),
        "flow": figures.flow_figure(record, figure_dir / f"{rid}-flow.png"),
        "overlap": figures.overlap_figure(record, figure_dir / f"{rid}-overlap.png"),
    }
    p, d, r, dq, diag = record.programme, record.design, record.rating, record.data_quality, record.diagnostics
    flow = record.flow
    parts = [f"# {md(record.title)}\n"]
    if record.synthetic:
        parts.append(SYNTHETIC_BANNER)
    parts += [
        "## In brief\n", summary(record), "",
        f"*{md(p.name)}*, run by {md(p.organisation)} in {md_list(p.places)}, "
        f"{md(p.start_date)} to {md(p.end_date)}.\n",
        md_paragraphs(p.description) + "\n",
        f"## {d.effect_heading}\n",
        d.effect_explanation + "\n",
        _impact_table(record), "",
        _own_measures(record),
        _figure(figs["effects"], page_dir, "Effect sizes with 95% intervals for each outcome",
                "Effect on each outcome, standardised so outcomes can be compared. The primary outcome is in red."),
        _sensitivity(record),
    ]
    if figs["event"]:
        parts += ["### Effects over time\n",
                  "The programme started at different sites at different times. Each point is the average "
                  "effect a given number of waves after a site started; points before zero are checks that "
                  "the groups were moving in parallel before the programme.\n",
                  _figure(figs["event"], page_dir, "Event-study plot of effects by waves since start",
                          "Effects by time since the programme started (95% intervals)."),
                  _staggered_summaries(record)]
    if record.subgroups:
        parts += ["## For whom did it work?\n", _subgroup_table(record), "",
                  _figure(figs["subgroups"], page_dir, "Effect sizes by subgroup", "Effects for each group of participants.")]
    parts += [
        "## Who took part\n",
        _figure(figs["flow"], page_dir, "Participant flow diagram", "How many people were in the files, answered each "
                f"survey and were analysed. Counts of {SUPPRESSED} people, and counts from which one could be "
                "worked out by subtraction, are not shown."),
        *_flow_table(flow, d.has_comparison),
        "",
        "## How sure are we?\n",
        f"**{r.padlocks} of 5 padlocks** {padlocks(r.padlocks)} — Maryland Scientific Methods Scale "
        f"{md(r.sms_reason)}\n",
        f"The starting rating is the weakest of design, sample size and attrition ({r.initial} of 5):\n",
        *[f"- {md(reason)}" for reason in r.reasons], "",
        ("Then one padlock is taken off for each problem found:\n\n" + "\n".join(f"- {md(x)}" for x in r.downgrades)
         if r.downgrades else "No problems were found that lower the rating further."), "",
        "## Diagnostics\n",
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
    for outcome, t in diag.pre_trend_tests.items():
        parts.append(f"- Pre-programme trends in {md(outcome)}: p = {fmt_p(t.p_value)} "
                     f"({'groups were already diverging' if t.p_value < 0.05 else 'no sign of diverging trends'}).")
    if diag.max_abs_smd_covariates is not None:
        after = (f" before and {fmt_num(diag.max_abs_smd_covariates_after)} after re-weighting "
                 f"({md(diag.balance_after_weights)})" if diag.balance_after else "")
        parts.append(f"- Balance: the largest standardised difference in a baseline characteristic was "
                     f"{fmt_num(diag.max_abs_smd_covariates)}{after}.")
    parts += _overlap_lines(diag)
    balance_caption = ("Standardised differences between the groups before the programme (open circles) and after "
                       "the comparison group was re-weighted (filled); dotted lines at ±0.25."
                       if diag.balance_after else
                       "Standardised differences between the groups before the programme; dotted lines at ±0.25.")
    parts += ["", _figure(figs["balance"], page_dir, "Love plot of standardised differences at baseline", balance_caption),
              _figure(figs["overlap"], page_dir, "Histograms of the estimated chance of taking part in each group",
                      "Estimated chance of taking part: programme group above the line, comparison group below. "
                      f"Bars are merged so that none holds {SUPPRESSED} people."),
              _refutation_table(record),
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
    return write_text_atomic(page_dir / f"{rid}.md", "\n".join(x for x in parts if x is not None) + "\n")


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
    return write_text_atomic(page_dir / f"{evaluation_id}.md", text)


def _group(subgroup: str) -> str:
    """'town=Boston' as 'town = Boston'; both sides are the charity's words."""
    modifier, sep, value = subgroup.partition("=")
    return f"{md(modifier)} = {md(value)}" if sep else md(subgroup)


def _pct(x) -> str:
    return "–" if x is None else md(x) if isinstance(x, str) else f"{x:.0%}"
