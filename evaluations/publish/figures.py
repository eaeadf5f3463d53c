"""Figures for the evidence pages, drawn only from a disclosure-controlled record.

PNG files are written without timestamps so the same record gives the same bytes, and
atomically, so a crash never leaves half a figure. Labels from the record pass through
evaluations.publish.text.label, and maths parsing is off: a `$` in a name is a dollar sign.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False  # user text is never mathtext ("$5 and $10" would be a formula)
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401  (used as matplotlib.ticker)

from evaluations.files import atomic_path  # noqa: E402
from evaluations.publish.text import label as figure_text  # noqa: E402
from evaluations.record_model.record import EvidenceRecord  # noqa: E402

INK, ACCENT, MUTED = "#1b2a41", "#c0392b", "#8a94a6"


def _save(fig, path: Path) -> Path:
    try:
        with atomic_path(path, keep_identical=True) as tmp:  # unchanged figure: Sphinx need not re-read its page
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def _names(record: EvidenceRecord) -> dict[str, str]:
    return {o.column: figure_text(o.measure_name) for o in record.outcomes}


def effects_figure(record: EvidenceRecord, path: Path) -> Path | None:
    """Standardised effect (Hedges' g) with 95% interval for every outcome."""
    rows = [e for e in record.estimates if e.effect_size is not None]
    if not rows:
        return None
    names = _names(record)
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.4))
    for i, e in enumerate(reversed(rows)):
        ax.errorbar(e.effect_size, i, xerr=[[e.effect_size - e.effect_size_ci_low],
                                            [e.effect_size_ci_high - e.effect_size]],
                    fmt="o", color=ACCENT if e.outcome == record.primary_outcome else INK, capsize=4)
    ax.set_yticks(range(len(rows)), [names[e.outcome] for e in reversed(rows)])
    ax.axvline(0, color=MUTED, lw=1, ls="--")
    ax.set_xlabel("Effect size (Hedges' g) with 95% interval; right of the line = better")
    ax.set_title("Effect on each outcome")
    return _save(fig, path)


def _interval(ax, y, g, low, high, color=INK, marker="o", size=6):
    ax.errorbar(g, y, xerr=[[g - low], [high - g]], fmt=marker, color=color, capsize=3, ms=size)


def subgroup_figure(record: EvidenceRecord, outcome: str, path: Path) -> Path | None:
    """Forest plot of one outcome's effect for each group of participants, under its overall effect: a
    row per published group, grouped by characteristic. Groups the record hides draw nothing."""
    rows = [e for e in record.subgroups if e.outcome == outcome and e.effect_size is not None]
    if not rows:
        return None
    overall = record.overall(outcome)
    items = []  # (label, g, low, high, is_overall)
    if overall.effect_size is not None:
        items.append(("All participants", overall.effect_size, overall.effect_size_ci_low,
                      overall.effect_size_ci_high, True))
    for e in rows:
        name = figure_text(record.group_name(e.subgroup))
        items.append((textwrap.fill(name, 40), e.effect_size, e.effect_size_ci_low, e.effect_size_ci_high, False))
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(items) + 1.5))
    n = len(items)
    for i, (_, g, low, high, is_overall) in enumerate(items):
        _interval(ax, n - 1 - i, g, low, high, ACCENT if is_overall else INK, "D" if is_overall else "o")
    ax.set_yticks(range(n), [label for label, *_ in reversed(items)], fontsize=10)
    ax.axvline(0, color=MUTED, lw=1, ls="--")
    ax.set_xlabel("Effect size (Hedges' g) with 95% interval; right of the line = better", fontsize=10)
    ax.set_title(textwrap.fill(figure_text(_names(record)[outcome]), 60), fontsize=11)
    return _save(fig, path)


def event_study_figure(record: EvidenceRecord, path: Path) -> Path | None:
    """Effects by waves since a site started, one panel per outcome stacked vertically (primary first),
    so no two panels' labels can collide at the page's width."""
    series = record.event_study
    if not series:
        return None
    names = _names(record)
    order = sorted(series, key=lambda o: (o != record.primary_outcome, list(series).index(o)))
    fig, axes = plt.subplots(len(order), 1, figsize=(7, 2.9 * len(order) + 0.6), squeeze=False)
    for ax, outcome in zip(axes[:, 0], order):
        pts = [p for p in series[outcome] if p.estimate is not None]
        x = [p.event_time for p in pts]
        ax.errorbar(x, [p.estimate for p in pts],
                    yerr=[[p.estimate - p.ci_low for p in pts], [p.ci_high - p.estimate for p in pts]],
                    fmt="o-", color=ACCENT if outcome == record.primary_outcome else INK, capsize=3)
        ax.axhline(0, color=MUTED, lw=1, ls="--")
        ax.axvline(-0.5, color=MUTED, lw=1)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.tick_params(labelsize=10)
        primary = " (primary outcome)" if outcome == record.primary_outcome else ""
        ax.set_title(textwrap.fill(names[outcome] + primary, 70), fontsize=11)
        ax.set_ylabel("Effect (scale points)", fontsize=10)
    axes[-1, 0].set_xlabel("Waves since the programme started at the site (negative = before)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def balance_figure(record: EvidenceRecord, path: Path) -> Path | None:
    """Love plot: standardised mean differences between the groups at baseline, and after the
    estimator's re-weighting where the design re-weights the comparison group."""
    diag = record.diagnostics
    after = diag.balance_after
    # (variable, SMD before, SMD after re-weighting); rows too small to publish carry no SMD
    rows = ([(r.variable, r.smd_before, r.smd_after) for r in after]
            or [(r.variable, r.smd, None) for r in diag.balance])
    rows = [r for r in reversed(rows) if r[1] is not None]  # drawn bottom up
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(rows) + 1.6))
    ys = range(len(rows))
    ax.plot([before for _, before, _ in rows], ys, "o", mfc="white", color=INK, label="Before")
    if after:
        ax.plot([later for _, _, later in rows], ys, "o", color=ACCENT, label="After re-weighting")
        ax.legend(loc="best", fontsize=8)
    ax.set_yticks(ys, [figure_text(variable) for variable, _, _ in rows])
    for x in (-0.25, 0.25):
        ax.axvline(x, color=ACCENT, lw=1, ls=":")
    ax.axvline(0, color=MUTED, lw=1)
    ax.set_xlabel("Standardised mean difference at baseline (programme - comparison)")
    ax.set_title("Balance between the groups before the programme")
    return _save(fig, path)


def overlap_figure(record: EvidenceRecord, path: Path) -> Path | None:
    """Propensity-score histograms, programme above the axis and comparison below, on the
    merged bins that keep every bar at 0 or at least 10 people."""
    overlap = record.diagnostics.overlap
    if overlap is None or overlap.histogram.suppressed:
        return None
    hist = overlap.histogram
    edges = hist.edges
    widths = [b - a for a, b in zip(edges, edges[1:])]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.bar(edges[:-1], hist.programme, width=widths, align="edge", color=ACCENT, ec="white",
           label="Programme group")
    ax.bar(edges[:-1], [-c for c in hist.comparison], width=widths, align="edge", color=INK, ec="white",
           label="Comparison group")
    ax.axhline(0, color=MUTED, lw=1)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{abs(v):,.0f}"))
    ax.set_xlim(0, 1)
    ax.set_xlabel("Estimated chance of taking part, given the baseline characteristics")
    ax.set_ylabel("People")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Overlap: were there comparable people in both groups?")
    return _save(fig, path)


def flow_figure(record: EvidenceRecord, path: Path) -> Path:
    """Participant flow: registered, baseline, follow-up and analysed, per group."""
    stages = [("registered", "In the data files"), ("baseline", "Answered at baseline"),
              ("follow_up", "Answered at follow-up"), ("analysed", "Analysed (both waves)")]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.set_axis_off()
    for col, (group, title) in enumerate((("programme", "Programme group"), ("comparison", "Comparison group"))):
        x = 0.25 + 0.5 * col
        ax.text(x, 0.97, title, ha="center", va="top", fontsize=11, weight="bold", color=INK)
        for row, (key, label) in enumerate(stages):
            y = 0.8 - row * 0.22
            value = getattr(getattr(record.flow, group), key)
            ax.text(x, y, f"{label}\n{value:,}" if isinstance(value, int) else f"{label}\n{value}",
                    ha="center", va="center", fontsize=10, color=INK,
                    bbox={"boxstyle": "round,pad=0.5", "fc": "#eef2f7", "ec": INK})
            if row:
                ax.annotate("", xy=(x, y + 0.075), xytext=(x, y + 0.145),
                            arrowprops={"arrowstyle": "->", "color": MUTED})
    return _save(fig, path)


def forest_figure(rows: list[tuple[str, float, float, float]], pooled, path: Path, title: str) -> Path:
    """Forest plot: each evaluation's effect size with its interval (label, g, low, high), and the pooled diamond."""
    n = len(rows) + (1 if pooled else 0)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * n + 1.5))
    for i, (_, g, low, high) in enumerate(rows):
        _interval(ax, n - 1 - i, g, low, high, marker="s")
    labels = [textwrap.fill(figure_text(label), 48) for label, *_ in rows]
    if pooled:
        ax.fill([pooled.ci_low, pooled.estimate, pooled.ci_high, pooled.estimate], [0, 0.25, 0, -0.25],
                color=ACCENT)
        labels.append("Pooled (random effects)")
    ax.set_yticks(range(n), list(reversed(labels)), fontsize=10)
    ax.axvline(0, color=MUTED, lw=1, ls="--")
    ax.set_xlabel("Effect size (Hedges' g) with 95% interval; right of the line = better")
    ax.set_title(figure_text(title), fontsize=10)
    return _save(fig, path)
