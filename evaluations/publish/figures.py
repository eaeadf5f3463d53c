"""Figures for the evidence pages, drawn only from a disclosure-controlled record.

PNG files are written without timestamps so the same record gives the same bytes, and
atomically, so a crash never leaves half a figure. Labels from the record pass through
evaluations.publish.text.label, and maths parsing is off: a `$` in a name is a dollar sign.
"""
from __future__ import annotations

import functools
import hashlib
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False  # user text is never mathtext ("$5 and $10" would be a formula)
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ft2font  # noqa: E402
import matplotlib.text  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401  (used as matplotlib.ticker)
from matplotlib.font_manager import FontProperties, fontManager, get_font  # noqa: E402

from evaluations.files import atomic_path  # noqa: E402
from evaluations.publish.text import label as figure_text  # noqa: E402
from evaluations.record_model.record import EvidenceRecord  # noqa: E402

INK, ACCENT, MUTED = "#1b2a41", "#c0392b", "#8a94a6"
_NO_HINTING = (matplotlib.ft2font.LoadFlags.NO_HINTING if hasattr(matplotlib.ft2font, "LoadFlags")
               else matplotlib.ft2font.LOAD_NO_HINTING)  # matplotlib < 3.10


DPI = 110  # pixels per inch of every PNG


def _save(fig, path: Path, tight: bool = True, drawn_from: str | None = None) -> Path:
    """Write the figure; `tight` crops it to what is drawn, at the cost of laying out every text twice
    (a figure that sets its own margins, as forest_figure does, passes tight=False). `drawn_from` is
    kept in the PNG (`_drawn_already`)."""
    metadata = {"Software": None} | ({DRAWN_FROM: drawn_from} if drawn_from else {})
    try:
        with atomic_path(path, keep_identical=True) as tmp:  # unchanged figure: Sphinx need not re-read its page
            fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight" if tight else None, metadata=metadata)
    finally:
        plt.close(fig)
    return path


def _names(record: EvidenceRecord) -> dict[str, str]:
    return {o.column: figure_text(o.measure_name) for o in record.outcomes}


def effects_figure(record: EvidenceRecord, path: Path) -> Path | None:
    """Standardised effect (Hedges' g) with 95% interval for every outcome, the primary one in red."""
    rows = [e for e in record.estimates if e.effect_size is not None]
    if not rows:
        return None
    names = _names(record)
    return _interval_figure(
        [textwrap.fill(names[e.outcome], 48) for e in rows],
        [Interval(e.effect_size, e.effect_size_ci_low, e.effect_size_ci_high,
                  ACCENT if e.outcome == record.primary_outcome else INK, "o") for e in rows],
        None, path, "Effect on each outcome")


def subgroup_figure(record: EvidenceRecord, outcome: str, path: Path) -> Path | None:
    """Forest plot of one outcome's effect for each group of participants, under its overall effect
    (a red diamond): a row per published group, grouped by characteristic. Groups the record hides
    draw nothing."""
    rows = [e for e in record.subgroups if e.outcome == outcome and e.effect_size is not None]
    if not rows:
        return None
    overall = record.overall(outcome)
    labels, intervals = [], []
    if overall.effect_size is not None:
        labels.append("All participants")
        intervals.append(Interval(overall.effect_size, overall.effect_size_ci_low, overall.effect_size_ci_high,
                                  ACCENT, "D"))
    for e in rows:
        labels.append(textwrap.fill(figure_text(record.group_name(e.subgroup)), 40))
        intervals.append(Interval(e.effect_size, e.effect_size_ci_low, e.effect_size_ci_high, INK, "o"))
    return _interval_figure(labels, intervals, None, path, textwrap.fill(_names(record)[outcome], 60))


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


@functools.lru_cache(maxsize=4096)
def _advance(char: str, size: float) -> float:
    """Width in inches of one character at `size` points, from the font's advance (no hinting).
    A character the font lacks counts as a full em, the width of most fallback glyphs."""
    font = get_font(fontManager._find_fonts_by_props(FontProperties(size=size)))
    font.set_size(size, 72)
    if not font.get_char_index(ord(char)):
        return size / 72
    return font.load_char(ord(char), flags=_NO_HINTING).linearHoriAdvance / 65536 / 72


def _width(text: str, size: float) -> float:
    """Estimated width in inches of the widest line of `text` (kerning ignored: a shade too wide).
    Only sizes the figure; the margins are then set from matplotlib's own measurement."""
    return max(sum(_advance(c, size) for c in line) for line in text.split("\n"))


# A library figure is drawn again only when what it shows, or the code that draws it, changed: its PNG keeps
# a hash of both under this key. Every publish writes every measure page, and the forest plots of a
# 300-evaluation library took 6 s of each rebuild to draw again as they were.
DRAWN_FROM = "Common Ground drawn from"


def _drawing_key(*inputs) -> str:
    """A hash of the inputs, this module and the one that makes user text safe for a figure, and matplotlib."""
    key = hashlib.sha256(repr(inputs).encode("utf-8", errors="surrogatepass"))
    for module in (__name__, figure_text.__module__):
        key.update(Path(sys.modules[module].__file__).read_bytes())
    key.update(matplotlib.__version__.encode())
    return key.hexdigest()


def _drawn_already(path: Path, key: str) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the chunks before the pixels: the key, not the image
            return image.format == "PNG" and image.info.get(DRAWN_FROM) == key
    except (OSError, UnidentifiedImageError, ValueError):
        return False


class Interval(NamedTuple):
    """One row of an interval plot: an estimate, its 95% interval, and how its marker is drawn."""
    estimate: float
    low: float
    high: float
    color: str = INK
    marker: str = "s"


def forest_figure(rows: list[tuple[str, float, float, float]], pooled, path: Path, title: str) -> Path:
    """Forest plot: each evaluation's effect size with its interval (label, g, low, high), and the pooled diamond."""
    return _interval_figure([textwrap.fill(figure_text(label), 48) for label, *_ in rows],
                            [Interval(g, low, high) for _, g, low, high in rows], pooled, path, figure_text(title))


def _interval_figure(labels: list[str], rows: list[Interval], pooled, path: Path, title: str) -> Path:
    """Estimates with their intervals, a row each, top down, under `title` (labels and title already
    made figure text and wrapped; `pooled`, with estimate, ci_low and ci_high, adds a diamond row at
    the foot).

    Drawn for every evaluation and for hundreds of evaluations on a measure's page, so it is laid out
    by hand rather than with bbox_inches="tight" (which lays every label out a second time): the
    figure is sized from its rows and an estimate of the labels' width, then the margins are set from
    matplotlib's measurement of the labels, made with the renderer savefig reuses, so nothing is
    clipped and each label is measured once. Rows are spaced by the lines of their labels, so wrapped
    labels never overlap. A plot whose rows, pooled estimate and title are those it was drawn from is
    left as it is."""
    key = _drawing_key(labels, [tuple(r) for r in rows],
                       (pooled.estimate, pooled.ci_low, pooled.ci_high) if pooled else None, title)
    if _drawn_already(path, key):
        return path
    labels = list(labels) + (["Pooled (random effects)"] if pooled else [])
    n = len(labels)
    size, pad, row, line = 10, 0.1, 0.45, 1 / 6  # points; inches: margin, one-line row, a 10-point line
    lines = [label.count("\n") + 1 for label in labels]
    ys = [0.0] if labels else []  # in rows, top down: a gap of at least one row, more between tall labels
    for above, below in zip(lines, lines[1:]):
        ys.append(ys[-1] - max(1.0, ((above + below) / 2 * line + 0.1) / row))
    ends = [max(0.7, (k / 2 * line + 0.05) / row) for k in (lines[:1] + lines[-1:] or [1, 1])]
    ylim = (min(ys, default=0.0) - ends[1], ends[0])
    # never shorter than the plot was when the figure was 0.55 inch a row and cropped tight
    axes_w, axes_h = 5.8, max((ylim[1] - ylim[0]) * row, 0.77 * (0.55 * n + 1.5))
    label_w = max((_width(label, size) for label in labels), default=0.0) + 0.15  # + tick and its gap
    overhang = max(0.0, _width(title, size) - axes_w) / 2  # a title wider than the axes
    left, right, bottom, top = max(label_w, overhang) + pad, max(0.3, overhang) + pad, 0.6 + pad, 0.3 + pad
    fig = plt.figure(figsize=(left + axes_w + right, bottom + axes_h + top), dpi=DPI)
    fig_w, fig_h = fig.get_size_inches()
    ax = fig.add_axes((left / fig_w, bottom / fig_h, axes_w / fig_w, axes_h / fig_h))
    styles: dict[tuple[str, str], list[int]] = {}  # one errorbar per colour and marker draws what one per row drew
    for i, r in enumerate(rows):
        styles.setdefault((r.color, r.marker), []).append(i)
    for (color, marker), members in styles.items():
        picked = [rows[i] for i in members]
        ax.errorbar([r.estimate for r in picked], [ys[i] for i in members],
                    xerr=[[r.estimate - r.low for r in picked], [r.high - r.estimate for r in picked]],
                    fmt=marker, color=color, capsize=3, ms=6)
    if pooled:
        y = ys[-1]
        ax.fill([pooled.ci_low, pooled.estimate, pooled.ci_high, pooled.estimate], [y, y + 0.25, y, y - 0.25],
                color=ACCENT)
    ax.set_yticks(ys, labels, fontsize=size)
    ax.set_ylim(ylim)
    ax.axvline(0, color=MUTED, lw=1, ls="--")
    ax.set_xlabel("Effect size (Hedges' g) with 95% interval; right of the line = better")
    ax.set_title(title, fontsize=size, y=1.0)  # placed, not searched for: nothing is drawn above the axes
    ax.yaxis.set_label_coords(0, 0.5)  # no y label: matplotlib need not measure every tick label to place it
    fitted = _fit_margins(fig, ax, labels, size, pad)
    return _save(fig, path, tight=not fitted, drawn_from=key)


def _text_as_bitmaps(renderer) -> None:
    """Let this Agg renderer draw each line of plain horizontal text as one bitmap, made when the line
    is measured, instead of laying the line out again and drawing it glyph by glyph (matplotlib 3.11
    does that, in Python: most of a forest plot's time with a hundred labels). This is how matplotlib
    up to 3.10 drew text, and the result differs from 3.11's only by fractions of a pixel. Only for
    matplotlib versions that draw glyph by glyph and have the pieces used here; any other text (maths,
    rotated, not antialiased, or not measured first) is drawn by matplotlib as before."""
    inner = getattr(renderer, "_renderer", None)
    if not (hasattr(renderer, "_draw_text_glyphs_and_boxes") and hasattr(inner, "draw_text_image")
            and hasattr(matplotlib.ft2font.FT2Font, "draw_glyphs_to_bitmap")):
        return
    measure, draw, bitmaps = renderer.get_text_width_height_descent, renderer.draw_text, {}

    def get_text_width_height_descent(s, prop, ismath):
        width, height, descent = measure(s, prop, ismath)
        if ismath is False and matplotlib.rcParams["text.antialiased"]:
            font = get_font(fontManager._find_fonts_by_props(prop))  # still holds `s`, laid out by measure
            if font.get_width_height() != (width * 64, height * 64):  # not the font measure used: no shortcut
                return width, height, descent
            font.draw_glyphs_to_bitmap(antialiased=True)
            x, y = font.get_bitmap_offset()
            bitmaps[s, hash(prop)] = (font.get_image().copy(), x / 64, y / 64 + font.get_descent() / 64)
        return width, height, descent

    def draw_text(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        found = bitmaps.get((s, hash(prop))) if not ismath and not angle and gc.get_antialiased() else None
        if found is None:
            return draw(gc, x, y, s, prop, angle, ismath, mtext)
        image, dx, dy = found
        inner.draw_text_image(image, round(x + dx), round(y + dy) + 1, 0, gc)

    renderer.get_text_width_height_descent = get_text_width_height_descent
    renderer.draw_text = draw_text


def _fit_margins(fig, ax, labels: list[str], size: float, pad: float) -> bool:
    """Place the axes so that the tick labels, x-axis label and title lie `pad` inches inside the figure,
    as bbox_inches="tight" would crop them. Measured with the renderer savefig then reuses (same size
    and dpi), whose cache of text sizes the drawing reads. A figure too small for its text is enlarged
    (a slower path: a new renderer measures again); False if it still does not fit (save it tight)."""
    planned_w, planned_h = ax.bbox.width, ax.bbox.height
    for _ in range(3):
        renderer = fig.canvas.get_renderer()
        _text_as_bitmaps(renderer)
        dpi, page, axes = fig.dpi, fig.bbox, ax.bbox
        px = pad * dpi
        widest = max((matplotlib.text.Text(0, 0, label, fontsize=size, figure=fig).get_window_extent(renderer).width
                      for label in labels), default=0.0)
        tick = (ax.yaxis.get_tick_padding() + matplotlib.rcParams["ytick.major.pad"]) * dpi / 72
        xaxis = ax.xaxis.get_tightbbox(renderer)
        head = ax.title.get_window_extent(renderer)
        left = max(widest + tick, axes.x0 - xaxis.x0) + px
        right = max(0.2 * dpi, xaxis.x1 - axes.x1) + px  # a tick label can move to the end
        bottom, top = axes.y0 - xaxis.y0 + px, head.y1 - axes.y1 + px
        # the title is centred on the axes, at (page.width + left - right) / 2: move it inwards until
        # both halves fit
        half = head.width / 2 + px
        left = max(left, 2 * half - page.width + right)
        right = max(right, left + 2 * half - page.width)
        width, height = page.width - left - right, page.height - bottom - top
        centre = (page.width + left - right) / 2
        more_w = max(0.0, 0.9 * planned_w - width, 2 * (half - centre))
        more_h = max(0.0, 0.9 * planned_h - height)
        if more_w > 0.5 or more_h > 0.5:
            w, h = fig.get_size_inches()
            fig.set_size_inches(w + (more_w + px) / dpi, h + (more_h + px) / dpi)
            continue
        ax.set_position((left / page.width, bottom / page.height, width / page.width, height / page.height))
        return True
    return False
