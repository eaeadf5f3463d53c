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
from evaluations.publish import figures
from evaluations.publish.pages import FAMILY_NAMES, decimals, fmt_ci, fmt_count, fmt_num, padlocks
from evaluations.publish.text import html as escape
from evaluations.publish.text import md, one_line
from evaluations.record_model.record import EvidenceRecord, HiddenEffect, Outcome, ShownEffect
from evaluations.synthesis import effect_size_variance, heterogeneity_words, poolable, random_effects, reference_df

OWN_NOTE = " <em>(the charity's own question)</em>"  # not a bank measure: on no measure page, never pooled
SYNTHETIC_NOTE = ("Synthetic evaluations (marked) demonstrate the pipeline with invented data; "
                  "they are not evidence about real programmes.")


def _n_analysed(rec: EvidenceRecord) -> int | str:
    """Both groups together; hidden whenever either group is (the total would give the hidden part back)."""
    n = [rec.flow.programme.analysed, rec.flow.comparison.analysed]
    return sum(n) if all(isinstance(x, int) for x in n) else NOT_SHOWN


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
        rows.append(
            f'<tr data-family="{escape(family)}">'
            f'<td data-sort="{escape(rec.title)}"><a href="evaluations/{rec.id}.html">{escape(rec.title)}</a>{synthetic}</td>'
            f"<td>{escape(family)}</td><td>{escape(o.measure_name)}{own}</td>"
            f'<td data-sort="{_sort_value(e.estimate)}">{escape(effect)}</td>'
            f'<td data-sort="{_sort_value(e.effect_size)}">{fmt_num(e.effect_size)}</td>'
            f'<td data-sort="{stars}" title="{stars} of 5 padlocks">{stars}/5 {padlocks(stars)}</td>'
            f'<td data-sort="{_sort_value(cost)}">{"£" + format(cost, ",.0f") if cost is not None else "–"}</td>'
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
        "number is an improvement; the padlocks say how far the result can be trusted (0 to 5). Click a column "
        f"heading to sort; choose a programme type or type a word to filter. {SYNTHETIC_NOTE}\n",
        "See also the [evidence gap map](gap_map.md) and the [outcome measures](measures.md).\n",
        '<div class="cg-toolkit-controls">'
        '<label>Programme type <select id="cg-family"><option value="">All</option>' + options + "</select></label> "
        '<label>Search <input id="cg-search" type="search" placeholder="e.g. loneliness"></label>'
        '<span id="cg-count" aria-live="polite"></span></div>\n',
        f'<table id="cg-toolkit" class="table"><thead><tr>{header}</tr></thead><tbody>',
        *rows, empty, "</tbody></table>\n", *withheld])
    return write_text_atomic(path, text)


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
    if len(shown) >= 2:
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
            parts.append(f"```{{figure}} ../figures/{fig.name}\n:alt: Forest plot of effect sizes on {one_line(measure.name)}\n"
                         f":width: 100%\n\nEach evaluation's effect size with its 95% interval"
                         f"{'; the diamond is the pooled effect' if pooled else ''}.\n```\n")
        if pooled:
            pred = (f" The effect of a new programme like these could plausibly be anywhere from "
                    f"{fmt_num(pooled.prediction_low)} to {fmt_num(pooled.prediction_high)} (95% prediction interval)."
                    if pooled.prediction_low is not None else "")
            parts.append(
                f"**Pooled effect size** (random-effects meta-analysis of {pooled.k} evaluations): "
                f"**{fmt_num(pooled.estimate)}** (95% interval {fmt_ci(pooled.ci_low, pooled.ci_high)}). "
                f"Heterogeneity: I² = {pooled.i2:.0f}% ({heterogeneity_words(pooled.i2)}; "
                f"τ² = {pooled.tau2:.3f}, Q = {pooled.q:.2f} on {pooled.k - 1} df, p = {pooled.q_p_value:.3f}).{pred} "
                "Different programmes, designs and places are pooled here; read the pooled effect as a summary of "
                "this evidence, not as the effect of any one programme.\n")
        else:
            parts.append("Only one evaluation has published a result on this measure, so there is nothing to pool yet.\n")
    path = write_text_atomic(page_dir / f"{measure.id}.md", "\n".join(parts) + "\n")
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
    return write_text_atomic(path, "\n".join(lines) + "\n")


def gap_map_page(records: list[EvidenceRecord], path: Path) -> Path:
    """Programme family × Indicators of Integration domain: how many evaluations, and how strong."""
    cells: dict[tuple[str, str], list[EvidenceRecord]] = {}
    for rec in records:
        for domain in {o.domain for o in rec.outcomes}:
            cells.setdefault((rec.programme.family, domain), []).append(rec)
    head = "".join(f'<th scope="col" title="{escape(DOMAINS[d])}">{escape(DOMAINS[d].split(" (")[0])}</th>' for d in DOMAINS)
    body = []
    for family, name in FAMILY_NAMES.items():
        tds = []
        for domain in DOMAINS:
            recs = cells.get((family, domain), [])
            if not recs:
                tds.append('<td class="cg-gap cg-gap-0">–</td>')
                continue
            best = max(r.rating.padlocks for r in recs)
            titles = "; ".join(r.title for r in recs)
            tds.append(f'<td class="cg-gap cg-gap-{min(len(recs), 3)}" title="{escape(titles)}">'
                       f'{len(recs)} evaluation{"s" if len(recs) > 1 else ""}<br>'
                       f'<span title="strongest rating: {best} of 5 padlocks">{padlocks(best)}</span></td>')
        body.append(f'<tr><th scope="row">{escape(name)}</th>{"".join(tds)}</tr>')
    text = "\n".join([
        "# Evidence gap map\n",
        "Rows are types of programme; columns are the domains of the Home Office Indicators of Integration "
        "framework (and related outcomes) that evaluations measured. Each cell shows how many evaluations "
        "measured that domain for that type of programme, and the strongest evidence rating among them. "
        f"Empty cells are gaps in the evidence. {SYNTHETIC_NOTE}\n",
        f'<div class="cg-gap-map"><table class="table"><thead><tr><th></th>{head}</tr></thead><tbody>',
        *body, "</tbody></table></div>\n"])
    return write_text_atomic(path, text)
