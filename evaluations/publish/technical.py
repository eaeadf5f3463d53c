"""The technical detail of an evaluation page, kept complete but folded away below the summary.

A policymaker reads the verdict and the headline figures (publish/verdict.py); a methodologist
opens these: the group means by wave for each outcome, each estimate's estimator and
assumptions, and the checks and diagnostics the page already had. Each is a native HTML
`<details>` block (no JavaScript, works offline, keyboard-accessible); its summary line is text
through text.html, its body MyST as the rest of the page. Sphinx cannot close a section inside an
HTML block, so a heading in a folded body is shown as a bold line instead.

`number_figures` numbers a page's figures from 1 (the book's own numbering, numfig, is off in
book/_config.yml: it ran across the whole book).
"""
from __future__ import annotations

import re

from evaluations.publish.text import html, md
from evaluations.record_model.record import EvidenceRecord

HEADING = re.compile(r"^#{2,6} +(.+?) *$", flags=re.M)
FIGURE = re.compile(r"(```\{figure\}[^\n]*\n(?::[^\n]*\n)*\n)")


def collapsible(title: str, body: str, open_: bool = False) -> str:
    """`body` (MyST) folded under `title` (plain text); nothing when there is no body."""
    if not body or not body.strip():
        return ""
    body = HEADING.sub(r"**\1**", body.strip())
    return (f'<details class="cg-technical"{" open" if open_ else ""}>\n<summary>{html(title)}</summary>\n\n'
            f"{body}\n\n</details>\n")


def number_figures(page: str) -> str:
    """Each figure's caption starts "Figure 1.", "Figure 2.", ... in page order."""
    count = iter(range(1, 10_000))
    return FIGURE.sub(lambda m: f"{m.group(1)}Figure {next(count)}. ", page)


def group_means(record: EvidenceRecord) -> str:
    """For each outcome, each group's mean answer and n at each wave (blank where a group is too small)."""
    from evaluations.publish.pages import decimals, fmt_count, fmt_num

    if not record.group_means:
        return ""
    comparison = record.design.has_comparison
    lines = ["Each group's average answer at each survey wave, among everyone who answered that question then "
             "(outcomes scored so that higher is better; a yes/no question as the percentage answering yes). "
             "These are descriptions, not estimates of the effect: the estimates adjust for who answered and "
             "for the characteristics listed under the assumptions. A mean is left blank (–) where fewer than "
             "10 people in a group answered; a count is “not shown” where it would let a smaller group be worked "
             "out by subtraction.\n"]
    for o in record.outcomes:
        rows = [g for g in record.group_means if g.outcome == o.column]
        if not rows:
            continue
        places = decimals(o)
        lines += [f"**{md(o.measure_name)}**\n",
                  "| Wave | Programme mean | Programme n | Comparison mean | Comparison n |" if comparison
                  else "| Wave | Mean | n |",
                  "| --- | --- | --- | --- | --- |" if comparison else "| --- | --- | --- |"]
        for g in rows:
            cells = [md(g.wave), fmt_num(g.mean_treated, places), fmt_count(g.n_treated)]
            if comparison:
                cells += [fmt_num(g.mean_comparison, places), fmt_count(g.n_comparison)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def assumptions(record: EvidenceRecord) -> str:
    """Every estimate's estimator and the assumptions it rests on, once per distinct pair."""
    names = {o.column: o.measure_name for o in record.outcomes}
    groups: dict[tuple[str, str], list[str]] = {}
    for e in [*record.estimates, *record.sensitivity]:
        groups.setdefault((e.estimator, e.assumptions), [])
        if names[e.outcome] not in groups[(e.estimator, e.assumptions)]:
            groups[(e.estimator, e.assumptions)].append(names[e.outcome])
    lines = ["Each estimate rests on assumptions that the data cannot fully check; the diagnostics below test "
             "what can be tested.\n"]
    for (estimator, text), outcomes in groups.items():
        lines.append(f"- **{md(estimator)}** (for {', '.join(md(x) for x in outcomes)}): {md(text)}")
    return "\n".join(lines) + "\n"


def open_details(title: str) -> str:
    """The start of a folded block whose body the page writes line by line; end it with CLOSE_DETAILS."""
    return f'<details class="cg-technical">\n<summary>{html(title)}</summary>\n'


CLOSE_DETAILS = "\n</details>\n"


def unheaded(body: str) -> str:
    """A section written with its own heading, for inside a folded block: the heading as a bold line."""
    return HEADING.sub(r"**\1**", body) if body else body
