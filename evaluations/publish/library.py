"""Library pages across evaluations: the toolkit, a page per measure, the evidence gap map.

Written only from disclosure-controlled records; every string from a record or the measure
bank goes through evaluations.publish.text (`md` in Markdown, `html` in the raw-HTML tables).
The toolkit is a plain HTML table that book/_static/toolkit.js makes sortable and filterable
in the browser, offline.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from evaluations.disclosure import NOT_SHOWN
from evaluations.files import write_text_atomic
from evaluations.measures import DOMAINS, Measure
from evaluations.publish import figures, pictures
from evaluations.publish.pages import FAMILY_NAMES, decimals, fmt_ci, fmt_count, fmt_num, padlocks
from evaluations.publish.text import html as escape
from evaluations.publish.text import md, one_line
from evaluations.publish.verdict import rating_reason
from evaluations.record_model.record import EvidenceRecord, HiddenEffect, Outcome, ShownEffect
from evaluations.synthesis import (MIN_STUDIES_TO_POOL, effect_size_variance, enough_to_pool, heterogeneity_words,
                                   poolable, random_effects, reference_df, too_few_to_pool)

OWN_NOTE = " <em>(the charity's own question)</em>"  # not a bank measure: on no measure page, never pooled
SYNTHETIC_NOTE = ("Synthetic evaluations (marked) demonstrate the pipeline with invented data; "
                  "they are not evidence about real programmes.")


def _n_analysed(rec: EvidenceRecord) -> int | str:
    """Both groups together; hidden whenever either group is (the total would give the hidden part back)."""
    n = [rec.flow.programme.analysed, rec.flow.comparison.analysed]
    return sum(n) if all(isinstance(x, int) for x in n) else NOT_SHOWN


def padlock_reason(rec: EvidenceRecord) -> str:
    """The toolkit's one line on why an evaluation has its padlocks: the page's verdict reason (verdict.py)."""
    reason = rating_reason(rec)
    return f"Mainly because {reason}."


def _sort_value(value) -> str:
    return "" if value is None or isinstance(value, str) else f"{value:.6g}"


def toolkit_page(records: list[EvidenceRecord], path: Path, not_published: dict[str, str] | None = None) -> Path:
    """One row per evaluation: family, effect on the primary outcome, rating, cost, n; sortable and filterable."""
    families = sorted({FAMILY_NAMES[r.programme.family] for r in records})
    rows = []
    for rec in sorted(records, key=lambda r: r.title):
        o, e = rec.primary
        places = decimals(o)
        cost = rec.programme.cost_per_participant_gbp
        n = _n_analysed(rec)
        effect = (f"{fmt_num(e.estimate, places)} ({fmt_ci(e.ci_low, e.ci_high, places)}) {e.units}"
                  if e.estimate is not None else "not shown: too few people")  # escaped where it is written
        family = FAMILY_NAMES[rec.programme.family]
        own = OWN_NOTE if o.own_measure else ""
        synthetic = ' <em class="cg-synthetic">(synthetic)</em>' if rec.synthetic else ""
        stars = rec.rating.padlocks
        reason = padlock_reason(rec)  # on hover, and shown under the padlocks for keyboards, touch and print
        rows.append(
            f'<tr data-family="{escape(family)}">'
            f'<td data-sort="{escape(rec.title)}"><a href="evaluations/{rec.id}.html">{escape(rec.title)}</a>{synthetic}</td>'
            f"<td>{escape(family)}</td><td>{escape(o.measure_name)}{own}</td>"
            f'<td data-sort="{_sort_value(e.estimate)}">{escape(effect)}</td>'
            f'<td data-sort="{_sort_value(e.effect_size)}">{fmt_num(e.effect_size)}</td>'
            f'<td data-sort="{stars}" title="{escape(reason)}">{stars}/5 {padlocks(stars)}'
            f'<span class="cg-reason">{escape(reason)}</span></td>'
            f'<td data-sort="{_sort_value(cost)}" title="{escape(pictures.cost_cell(rec)[1])}">'
            f'{escape(pictures.cost_cell(rec)[0])} {"£" + format(cost, ",.0f") if cost is not None else ""}</td>'
            f'<td data-sort="{_sort_value(n)}">{escape(n if isinstance(n, str) else f"{n:,}")}</td></tr>')
    options = "".join(f'<option value="{escape(f)}">{escape(f)}</option>' for f in families)
    header = "".join(f'<th scope="col"><button type="button" class="cg-sort">{h}</button></th>' for h in (
        "Evaluation", "Programme type", "Primary outcome", "Effect (95% interval)", "Effect size",
        "Evidence", "Cost per participant", "People analysed"))
    empty = '<tr><td colspan="8"><em>No evaluations have been published yet.</em></td></tr>' if not rows else ""
    withheld = (["## Not published\n", "These registered evaluations are not published at the moment:\n"]
                + [f"- [{md(k)}](evaluations/{k}.md): {md(v)}" for k, v in sorted((not_published or {}).items())]
                + [""] if not_published else [])
    text = "\n".join([
        "# Toolkit: what works\n",
        "Each row is one registered evaluation. Effects are on the primary outcome, oriented so that a positive "
        "number is an improvement; the padlocks say how far the result can be trusted (0 to 5), with the main "
        "reason under them. Click a column "
        f"heading to sort; choose a programme type or type a word to filter. {SYNTHETIC_NOTE}\n",
        "See also the [evidence gap map](gap_map.md) and the [outcome measures](measures.md).\n",
        '<div class="cg-toolkit-controls">'
        '<label>Programme type <select id="cg-family"><option value="">All</option>' + options + "</select></label> "
        '<label>Search <input id="cg-search" type="search" placeholder="e.g. loneliness"></label>'
        '<span id="cg-count" aria-live="polite"></span></div>\n',
        f'<table id="cg-toolkit" class="table cg-stack"><thead><tr>{header}</tr></thead><tbody>',
        *rows, empty, "</tbody></table>\n", *toolkit_forest(records), *withheld])
    return write_text_atomic(path, text, keep_identical=True)


def _position(x: float, low: float, high: float) -> str:
    return f"{100 * (x - low) / (high - low):.2f}%"


def toolkit_forest(records: list[EvidenceRecord]) -> list[str]:
    """A forest plot across evaluations of the effect size on each one's primary outcome, drawn in HTML
    (each row's numbers are its text; the bar is decoration), so it reflows at any width and the toolkit's
    filters (book/_static/toolkit.js) hide the same evaluations in it as in the table. Nothing is pooled:
    the primary outcomes are different questions (synthesis.poolable)."""
    shown = [(rec, rec.primary[1]) for rec in sorted(records, key=lambda r: r.title)
             if rec.primary[1].effect_size is not None]
    if not shown:
        return []
    low = min(0.0, *(e.effect_size_ci_low for _, e in shown))
    high = max(0.0, *(e.effect_size_ci_high for _, e in shown))
    pad = 0.05 * (high - low or 1)
    low, high = low - pad, high + pad
    rows = []
    for rec, e in shown:
        o = rec.primary[0]
        bar = (f'<span class="cg-forest-track" aria-hidden="true">'
               f'<span class="cg-forest-zero" style="left:{_position(0, low, high)}"></span>'
               f'<span class="cg-forest-ci" style="left:{_position(e.effect_size_ci_low, low, high)};'
               f'width:{_position(e.effect_size_ci_high - e.effect_size_ci_low + low, low, high)}"></span>'
               f'<span class="cg-forest-point" style="left:{_position(e.effect_size, low, high)}"></span></span>')
        rows.append(f'<li class="cg-forest-row" data-family="{escape(FAMILY_NAMES[rec.programme.family])}">'
                    f'<span class="cg-forest-label"><a href="evaluations/{rec.id}.html">{escape(rec.title)}</a>'
                    f'{" (synthetic)" if rec.synthetic else ""}: {escape(o.measure_name)}</span>'
                    f'<span class="cg-forest-value">g = {fmt_num(e.effect_size)} '
                    f'({fmt_ci(e.effect_size_ci_low, e.effect_size_ci_high)})</span>{bar}</li>')
    return ["## Effect sizes side by side\n",
            "Each evaluation's effect on its primary outcome as a standardised effect size (Hedges' g) with its 95% "
            "interval: the dot is the estimate, the bar the interval, the vertical line no change; right of the line "
            "is better. The primary outcomes are different questions, so these are not pooled; the "
            "[outcome measures](measures.md) pages pool results on the same question.\n",
            f'<ul id="cg-forest" class="cg-forest" aria-label="Effect sizes on each evaluation\'s primary outcome, '
            f'axis from {fmt_num(low)} to {fmt_num(high)}">', *rows, "</ul>\n"]


class Result(NamedTuple):
    """One evaluation's overall effect on one outcome."""
    record: EvidenceRecord
    outcome: Outcome
    estimate: ShownEffect | HiddenEffect

    @property
    def label(self) -> str:
        return self.record.title + (" (synthetic)" if self.record.synthetic else "")


def _measure_rows(records: list[EvidenceRecord], measure_id: str) -> list[Result]:
    return [Result(rec, o, rec.overall(o.column)) for rec in sorted(records, key=lambda r: r.title)
            for o in rec.outcomes if poolable(o, measure_id)]


def measure_page(measure: Measure, records: list[EvidenceRecord], page_dir: Path, figure_dir: Path) -> tuple[Path, dict]:
    """A measure's question, its results across evaluations, a forest plot and the pooled effect."""
    rows = _measure_rows(records, measure.id)
    shown = [r for r in rows if r.estimate.effect_size is not None]
    pooled = None
    if enough_to_pool(len(shown)):
        pooled = random_effects([r.estimate.effect_size for r in shown], [
            effect_size_variance(r.estimate.effect_size_ci_low, r.estimate.effect_size_ci_high, reference_df(r.estimate))
            for r in shown])
    scale = (", ".join(f"{k} = {v}" for k, v in sorted(measure.scale.items())) if measure.scale
             else f"{measure.min:g} to {measure.max:g}")
    parts = [f"# {md(measure.name)}\n",
             f"**Domain:** {md(DOMAINS[measure.domain])}. **Asked of:** {md(measure.population)}. "
             f"**Source:** {md(measure.source or 'no national survey')}.\n",
             f"{md(measure.description)}\n", f"> {md(measure.question)}\n",
             f"Answers: {md(scale)}. {'Higher' if measure.higher_is_better else 'Lower'} answers are better; results "
             "below are turned round where needed so that a positive effect is always an improvement.\n"]
    if measure.source_note:
        parts.append(f"{md(measure.source_note)}\n")
    parts.append("## Results across evaluations\n")
    if not rows:
        parts.append("No published evaluation has used this measure yet.\n")
    else:
        parts += ["| Evaluation | Effect (95% interval) | Effect size g (95% interval) | Programme n | Comparison n | Evidence |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            e, places = r.estimate, decimals(r.outcome)
            effect = (f"{fmt_num(e.estimate, places)} ({fmt_ci(e.ci_low, e.ci_high, places)}) {md(e.units)}"
                      if e.estimate is not None else md(e.suppression_reason))
            parts.append(f"| [{md(r.label)}](../evaluations/{r.record.id}.md) | {effect} | {fmt_num(e.effect_size)} "
                         f"({fmt_ci(e.effect_size_ci_low, e.effect_size_ci_high)}) | {fmt_count(e.n_treated)} | "
                         f"{fmt_count(e.n_comparison)} | {padlocks(r.record.rating.padlocks)} |")
        parts.append("")
        forest = [(r.label, r.estimate.effect_size, r.estimate.effect_size_ci_low, r.estimate.effect_size_ci_high)
                  for r in shown]
        fig = figures.forest_figure(forest, pooled, figure_dir / f"measure-{measure.id}.png",
                                    f"{measure.name}: effect sizes across evaluations") if shown else None
        if fig:
            parts.append(f"```{{figure}} ../figures/{fig.name}\n:alt: Forest plot of effect sizes on {one_line(measure.name)}; "
                         f"the numbers are in the table above\n:width: 100%\n\nEach evaluation's effect size with its 95% "
                         f"interval{'; the diamond is the pooled effect' if pooled else ''}. The same numbers are in the "
                         "table above.\n```\n")
        if pooled:
            pred = (f" The effect of a new programme like these could plausibly be anywhere from "
                    f"{fmt_num(pooled.prediction_low)} to {fmt_num(pooled.prediction_high)} (95% prediction interval)."
                    if pooled.prediction_low is not None else "")
            parts.append(
                f"**Pooled effect size** (random-effects meta-analysis of {pooled.k} evaluations, with the "
                f"Hartung–Knapp interval for few studies): "
                f"**{fmt_num(pooled.estimate)}** (95% interval {fmt_ci(pooled.ci_low, pooled.ci_high)}). "
                f"Heterogeneity: I² = {pooled.i2:.0f}% ({heterogeneity_words(pooled.i2)}; "
                f"τ² = {pooled.tau2:.3f}, Q = {pooled.q:.2f} on {pooled.k - 1} df, p = {pooled.q_p_value:.3f}).{pred} "
                "Different programmes, designs and places are pooled here; read the pooled effect as a summary of "
                "this evidence, not as the effect of any one programme.\n")
        else:
            parts.append(f"{too_few_to_pool(len(shown))}\n")
    path = write_text_atomic(page_dir / f"{measure.id}.md", "\n".join(parts) + "\n", keep_identical=True)
    summary = {"k": len(shown), "pooled": None if pooled is None else pooled.estimate,
               "i2": None if pooled is None else pooled.i2}
    return path, summary


def measures_index(measures: dict[str, Measure], summaries: dict[str, dict], path: Path) -> Path:
    lines = ["# Outcome measures\n",
             "The measure bank: every outcome a charity can register, with the national survey it comes from. "
             "Each page shows the results on that measure across evaluations.\n",
             "| Measure | Domain | Evaluations | Pooled effect size |", "| --- | --- | --- | --- |"]
    for m in sorted(measures.values(), key=lambda m: (m.domain, m.name)):
        s = summaries[m.id]
        lines.append(f"| [{md(m.name)}](measures/{m.id}.md) | {md(DOMAINS[m.domain])} | {s['k']} | "
                     f"{fmt_num(s['pooled']) if s['pooled'] is not None else '–'} |")
    return write_text_atomic(path, "\n".join(lines) + "\n", keep_identical=True)


def direction(effect: ShownEffect | HiddenEffect) -> str:
    """'better', 'worse' or 'unclear' (the 95% interval spans no change, or the result is hidden)."""
    if effect.estimate is None or effect.ci_low is None or effect.ci_high is None:
        return "unclear"
    return "better" if effect.ci_low > 0 else "worse" if effect.ci_high < 0 else "unclear"


DIRECTION_MARK = {"better": "▲", "worse": "▼", "unclear": "●"}


def _cell_direction(results: list[Result]) -> str:
    """The cell's direction in words: pooled where the cell's results on one measure are enough to pool
    (synthesis.enough_to_pool), otherwise how many evaluations found each direction."""
    by_measure: dict[str, list[Result]] = {}
    for r in results:
        if not r.outcome.own_measure and r.estimate.effect_size is not None:
            by_measure.setdefault(r.outcome.measure, []).append(r)
    pooled = [m for m, rs in by_measure.items() if enough_to_pool(len({x.record.id for x in rs}))]
    if pooled:  # the best-supported measure: the one with most evaluations
        rs = max((by_measure[m] for m in pooled), key=len)
        meta = random_effects([r.estimate.effect_size for r in rs], [
            effect_size_variance(r.estimate.effect_size_ci_low, r.estimate.effect_size_ci_high, reference_df(r.estimate))
            for r in rs])
        way = "better" if meta.ci_low > 0 else "worse" if meta.ci_high < 0 else "unclear"
        return f"{DIRECTION_MARK[way]} pooled: {way}"
    per_eval: dict[str, set[str]] = {}
    for r in results:
        per_eval.setdefault(r.record.id, set()).add(direction(r.estimate))
    counts = {w: sum(w in ways for ways in per_eval.values()) for w in DIRECTION_MARK}
    return ", ".join(f"{DIRECTION_MARK[w]} {n} {w}" for w, n in counts.items() if n) + " (not pooled)"


def gap_map_page(records: list[EvidenceRecord], path: Path) -> Path:
    """Programme family × Indicators of Integration domain: in each cell how many evaluations, the direction
    of their results, the strongest rating among them, and links to them."""
    cells: dict[tuple[str, str], list[Result]] = {}
    for rec in sorted(records, key=lambda r: r.title):
        for o in rec.outcomes:
            cells.setdefault((rec.programme.family, o.domain), []).append(Result(rec, o, rec.overall(o.column)))
    head = "".join(f'<th scope="col" title="{escape(DOMAINS[d])}">{escape(DOMAINS[d].split(" (")[0])}</th>' for d in DOMAINS)
    body = []
    for family, name in FAMILY_NAMES.items():
        tds = []
        for domain in DOMAINS:
            results = cells.get((family, domain), [])
            label = escape(DOMAINS[domain].split(" (")[0])  # the column heading, shown beside the cell when stacked
            if not results:
                tds.append(f'<td class="cg-gap cg-gap-0" data-label="{label}">no evaluations</td>')
                continue
            recs = list({r.record.id: r.record for r in results}.values())
            best = max(r.rating.padlocks for r in recs)
            links = "".join(f'<li><a href="evaluations/{r.id}.html">{escape(r.title)}</a></li>' for r in recs)
            tds.append(f'<td class="cg-gap cg-gap-{min(len(recs), 3)}" data-label="{label}">'
                       f'<strong>{len(recs)} evaluation{"s" if len(recs) > 1 else ""}</strong><br>'
                       f'{escape(_cell_direction(results))}<br>'
                       f'strongest: {best}/5 <span aria-hidden="true">{padlocks(best)}</span>'
                       f'<ul class="cg-gap-links">{links}</ul></td>')
        body.append(f'<tr><th scope="row">{escape(name)}</th>{"".join(tds)}</tr>')
    text = "\n".join([
        "# Evidence gap map\n",
        "Rows are types of programme; columns are the domains of the Home Office Indicators of Integration "
        "framework (and related outcomes) that evaluations measured. Each cell shows how many evaluations "
        "measured that domain for that type of programme; the direction of their results (▲ better: the 95% "
        "interval is above no change; ▼ worse: below it; ● unclear: it spans no change or is not shown); the "
        "strongest evidence rating among them (0 to 5 padlocks); and links to them. "
        f"{too_few_to_pool_rule()} Empty cells are gaps in the evidence. {SYNTHETIC_NOTE}\n",
        f'<div class="cg-gap-map"><table class="table cg-stack"><thead><tr><th scope="col">Programme type</th>{head}'
        '</tr></thead><tbody>', *body, "</tbody></table></div>\n"])
    return write_text_atomic(path, text, keep_identical=True)


def too_few_to_pool_rule() -> str:
    return (f"Results on the same measure are pooled into one direction only where at least {MIN_STUDIES_TO_POOL} "
            "evaluations have one; otherwise the cell counts the evaluations in each direction.")
