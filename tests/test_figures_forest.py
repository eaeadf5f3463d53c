"""The interval plots (the measure pages' forest plot, an evaluation page's effects and subgroup plots),
laid out by hand (no bbox_inches="tight") so that a library of hundreds of evaluations draws them
quickly: every label and the title inside the image, no two labels overlapping, the same rows and
labels in order, the same bytes every time, and text drawn as matplotlib draws it."""
from __future__ import annotations

import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from evaluations.publish import figures

POOLED = SimpleNamespace(estimate=0.14, ci_low=0.05, ci_high=0.23)
TITLE = "Feeling that people from different backgrounds get on well together: effect sizes across evaluations"
WORDS = ("Intergenerational befriending in Leeds and Bradford care homes with a $5 voucher and 50% "
         "more visits, évaluation pilote, National Citizen Service youth summer programme").split()


def rows(n: int) -> list[tuple[str, float, float, float]]:
    out = []
    for i in range(n):
        words = WORDS[i % 7:] + WORDS[:i % 7]
        label = " ".join(words)[:40 + (i * 7) % 51].strip() + (" (synthetic)" if i % 3 == 0 else "")
        g = 0.3 * np.sin(i) + 0.1
        out.append((label, g, g - 0.1 - 0.05 * (i % 4), g + 0.12))
    return out


@pytest.fixture
def drawn(monkeypatch):
    """forest_figure's figure as saved: its tick labels, title and x label, each with its extent."""
    seen = {}
    save = figures._save

    def inspect(fig, path, tight=True, drawn_from=None):
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        seen["tight"] = tight
        seen["figure"] = fig.bbox.frozen()
        seen["labels"] = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.get_yticklabels()]
        seen["ticks"] = list(ax.get_yticks())
        seen["others"] = [t.get_window_extent(renderer) for t in (ax.title, ax.xaxis.label)]
        seen["x"] = ax.xaxis.get_tightbbox(renderer)
        return save(fig, path, tight, drawn_from)
    monkeypatch.setattr(figures, "_save", inspect)
    return seen


@pytest.mark.parametrize("n", [1, 12, 60])
def test_every_label_and_the_title_lie_inside_the_figure_and_no_labels_overlap(tmp_path, drawn, n):
    data = rows(n)
    path = figures.forest_figure(data, POOLED, tmp_path / "measure-x.png", TITLE)
    assert drawn["tight"] is False  # laid out by hand: nothing is measured twice
    want = [textwrap.fill(label, 48) for label, *_ in data] + ["Pooled (random effects)"]
    assert [text for text, _ in drawn["labels"]] == want  # top down, the pooled row last
    _inside(drawn)
    page = drawn["figure"]
    boxes = [b for _, b in drawn["labels"]]
    for above, below in zip(boxes, boxes[1:]):
        assert below.y1 < above.y0  # a gap between consecutive labels, however many lines each has
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[:2] == (int(page.height), int(page.width))
    edge = np.concatenate([image[:3].reshape(-1, 3), image[-3:].reshape(-1, 3),
                           image[:, :3].reshape(-1, 3), image[:, -3:].reshape(-1, 3)])
    assert (edge == 255).all()  # a white margin all round: nothing is cut off at the edge


def test_a_title_wider_than_the_plot_widens_the_figure(tmp_path, drawn):
    title = "A measure with a very long name indeed, " * 4 + "effect sizes across evaluations"
    figures.forest_figure(rows(2), None, tmp_path / "measure-long.png", title)
    head = drawn["others"][0]
    assert drawn["figure"].x0 < head.x0 and head.x1 < drawn["figure"].x1
    assert [text for text, _ in drawn["labels"]][-1] != "Pooled (random effects)"  # no pool, no pooled row


def test_the_same_rows_give_the_same_bytes(tmp_path):
    a = figures.forest_figure(rows(15), POOLED, tmp_path / "a.png", TITLE).read_bytes()
    b = figures.forest_figure(rows(15), POOLED, tmp_path / "b.png", TITLE).read_bytes()
    assert a == b


def test_text_drawn_as_bitmaps_looks_as_matplotlib_draws_it(tmp_path, monkeypatch):
    fast = np.asarray(Image.open(figures.forest_figure(rows(12), POOLED, tmp_path / "fast.png", TITLE)), float)
    monkeypatch.setattr(figures, "_text_as_bitmaps", lambda renderer: None)
    plain = np.asarray(Image.open(figures.forest_figure(rows(12), POOLED, tmp_path / "plain.png", TITLE)), float)
    assert fast.shape == plain.shape
    assert np.abs(fast - plain).mean() < 4  # of 255: glyphs placed to the pixel rather than a fraction of one
    # where the text is: under a tenth of the inked pixels differ strongly (4% measured with matplotlib
    # 3.11.2; text one pixel higher or two to the right differs in 60-100% of them)
    ink, strong = plain.mean(axis=2) < 128, np.abs(fast - plain).max(axis=2) > 128
    assert strong.sum() < 0.1 * ink.sum()
    from matplotlib.backends.backend_agg import RendererAgg
    if hasattr(RendererAgg, "_draw_text_glyphs_and_boxes"):  # matplotlib >= 3.11: the shortcut was taken
        assert np.abs(fast - plain).mean() > 0


def test_a_plot_is_drawn_again_only_when_what_it_shows_changed(tmp_path, monkeypatch):
    """Every publish writes every measure page: a plot already drawn from the same rows is left as it is
    (its PNG keeps the hash of what it was drawn from), and any change to a row or the title redraws it."""
    path = tmp_path / "forest.png"
    figures.forest_figure(rows(30), POOLED, path, TITLE)
    first, stamp = path.read_bytes(), path.stat().st_mtime_ns
    drawn = []
    figure = figures.plt.figure
    monkeypatch.setattr(figures.plt, "figure", lambda *a, **k: drawn.append(1) or figure(*a, **k))
    figures.forest_figure(rows(30), POOLED, path, TITLE)
    assert drawn == [] and path.read_bytes() == first and path.stat().st_mtime_ns == stamp
    changed = rows(30)
    changed[17] = (changed[17][0], changed[17][1], changed[17][2] - 0.01, changed[17][3])
    for args in ((changed, POOLED, TITLE), (rows(30), None, TITLE), (rows(30), POOLED, TITLE + ".")):
        figures.forest_figure(args[0], args[1], path, args[2])
        assert path.read_bytes() != first
        figures.forest_figure(rows(30), POOLED, path, TITLE)
        assert path.read_bytes() == first
    assert len(drawn) == 6
    path.write_bytes(b"not a png")  # a damaged file is drawn again, never trusted
    figures.forest_figure(rows(30), POOLED, path, TITLE)
    assert path.read_bytes() == first


def test_an_evaluation_pages_interval_plots_share_the_layout(tmp_path, drawn, ncs_sample):
    """The effects plot and each subgroup plot of an evaluation page are laid out by the same hand (no
    second layout), their rows top down as the record lists them, every label inside the image."""
    record = ncs_sample.record
    names = {o.column: o.measure_name for o in record.outcomes}
    figures.effects_figure(record, tmp_path / "effects.png")
    shown = [e for e in record.estimates if e.effect_size is not None]
    assert drawn["tight"] is False and len(shown) >= 2
    assert [text for text, _ in drawn["labels"]] == [textwrap.fill(names[e.outcome], 48) for e in shown]
    _inside(drawn)
    outcome = next(e.outcome for e in record.subgroups if e.effect_size is not None)
    figures.subgroup_figure(record, outcome, tmp_path / "subgroups.png")
    groups = [textwrap.fill(record.group_name(e.subgroup), 40) for e in record.subgroups
              if e.outcome == outcome and e.effect_size is not None]
    assert drawn["tight"] is False and len(groups) >= 2
    assert [text for text, _ in drawn["labels"]] == ["All participants", *groups]
    _inside(drawn)


def _inside(drawn: dict) -> None:
    """Rows top down; every label, the title and the x axis at least 5 pixels inside the image."""
    page = drawn["figure"]
    assert drawn["ticks"] == sorted(drawn["ticks"], reverse=True)
    for box in [b for _, b in drawn["labels"]] + drawn["others"] + [drawn["x"]]:
        assert page.x0 + 5 <= box.x0 and box.x1 <= page.x1 - 5 and page.y0 + 5 <= box.y0 and box.y1 <= page.y1 - 5
