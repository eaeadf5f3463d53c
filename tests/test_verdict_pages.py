"""The built pages' first screen answers did it work, for whom, how sure and at what cost, in plain words that
agree with the record; the technical detail is kept, folded, below it (issue 12)."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.conftest import SAMPLES
from tests.test_book import page, text_of

CONFIDENCE = ("no", "very low", "low", "moderate", "high", "very high")
# estimator names and test statistics a policymaker's summary must not carry
JARGON = re.compile(r"\bp\s*[=<>]|\bWald\b|chi-square|\bSE\b|\bt\s*=|\bg\s*=|\bF\s*=|Hedges|Callaway|LinearDML|"
                    r"doubly robust|difference-in-differences|\bDiD\b|influence function|Romano|Holm")


def record_of(lib, evaluation_id) -> dict:
    return json.loads((lib["book"] / "generated" / "records" / f"{evaluation_id}.json").read_text())


def in_brief(html: str) -> str:
    """The text of the page's "In brief" section (the first screen, after the title and the banner)."""
    section = re.search(r'<section id="in-brief">(.*?)(?=<section id=)', html, flags=re.S)
    assert section, "no In brief section"
    return re.sub(r"^\s*In brief\s*#\s*", "", unescape(text_of(section.group(1))))


def signed(x: float, places: int) -> str:
    text = f"{x:.{places}f}"
    if float(text) == 0:
        return text.lstrip("-")
    return ("+" + text if x > 0 else text).replace("-", "−")


def plain(x: float, places: int) -> str:
    text = f"{x:.{places}f}"
    return (text.lstrip("-") if float(text) == 0 else text).replace("-", "−")


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_the_verdict_agrees_with_the_record(published_library, evaluation_id):
    rec = record_of(published_library, evaluation_id)
    brief = in_brief(page(published_library, evaluation_id))
    primary = next(e for e in rec["estimates"] if e["outcome"] == rec["primary_outcome"])
    outcome = next(o for o in rec["outcomes"] if o["column"] == rec["primary_outcome"])
    verdict = brief.split(" Impact Evidence strength Cost ")[0]
    clear = primary["estimate"] is not None and (primary["ci_low"] > 0 or primary["ci_high"] < 0)
    # what changed: the direction, as the record's interval says
    if primary["estimate"] is None:
        assert verdict.startswith("Too few people")
    elif not clear:
        assert verdict.startswith("We cannot tell whether") and "improved" not in verdict and "worsened" not in verdict
    elif rec["design"]["has_comparison"]:
        assert ("improved" if primary["estimate"] > 0 else "worsened") in verdict
    else:
        assert ("got better" if primary["estimate"] > 0 else "got worse") in verdict
        assert "no comparison group" in verdict
    # for whom, how sure and why, what it cost
    assert "who took part in" in verdict
    n = rec["rating"]["padlocks"]
    assert f"we have {CONFIDENCE[n]} confidence in this ({n} of 5 padlocks), mainly because " in verdict
    cost = rec["programme"]["cost_per_participant_gbp"]
    assert f"it cost about £{cost:,.0f} per participant." in verdict
    # the reason is the rating's: a problem that took a padlock off comes first when there is one
    reason = verdict.split("mainly because ", 1)[1]
    downgrades = " ".join(rec["rating"]["downgrades"])
    if "clusters" in downgrades:
        assert f"only {rec['diagnostics']['n_clusters']} sites (clusters)" in reason
    if "already moving apart" in downgrades:
        assert "drifting apart before the programme" in reason
    if not rec["design"]["has_comparison"]:
        assert "no comparison group" in reason
    # the three headline figures
    places = 1 if outcome["units"] == "percentage points" or outcome["scale_max"] - outcome["scale_min"] >= 20 else 2
    assert f"{signed(primary['estimate'], places)} {outcome['units']}" in brief
    assert f"(95% interval {plain(primary['ci_low'], places)} to {plain(primary['ci_high'], places)})" in brief
    assert f"{n} of 5 padlocks £{cost:,.0f} per participant" in brief


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_every_number_in_the_summary_is_the_records(published_library, evaluation_id):
    rec = record_of(published_library, evaluation_id)
    brief = in_brief(page(published_library, evaluation_id))
    primary = next(e for e in rec["estimates"] if e["outcome"] == rec["primary_outcome"])
    outcome = next(o for o in rec["outcomes"] if o["column"] == rec["primary_outcome"])
    places = 1 if outcome["units"] == "percentage points" or outcome["scale_max"] - outcome["scale_min"] >= 20 else 2
    allowed = {"95", "5", str(rec["rating"]["padlocks"]), f"{rec['programme']['cost_per_participant_gbp']:,.0f}",
               f"{outcome['scale_min']:g}", f"{outcome['scale_max']:g}",
               *[plain(primary[k], places).lstrip("−") for k in ("estimate", "ci_low", "ci_high")]}
    if isinstance(primary["n_treated"], int):
        allowed.add(f"{primary['n_treated']:,}")
    if rec["diagnostics"]["n_clusters"]:
        allowed.add(str(rec["diagnostics"]["n_clusters"]))
    # numbers in the names the registration gave (programme, places, measure) are the registration's
    named = " ".join([rec["programme"]["name"], *rec["programme"]["places"], outcome["measure_name"]])
    allowed |= set(re.findall(r"\d[\d,]*(?:\.\d+)?", named))
    numbers = re.findall(r"\d[\d,]*(?:\.\d+)?", brief)
    assert numbers and set(numbers) <= allowed, set(numbers) - allowed


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_the_summary_names_no_estimator_and_quotes_no_test(published_library, evaluation_id):
    rec = record_of(published_library, evaluation_id)
    brief = in_brief(page(published_library, evaluation_id))
    assert not JARGON.findall(brief), JARGON.findall(brief)
    for e in rec["estimates"] + rec["sensitivity"]:
        assert e["estimator"] not in brief


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_technical_detail_is_kept_folded_below_the_summary(published_library, evaluation_id):
    html = page(published_library, evaluation_id)
    rec = record_of(published_library, evaluation_id)
    assert html.count("<details") == html.count("</details>") > 0
    folded = re.findall(r'<details class="cg-technical">(.*?)</details>', html, flags=re.S)
    text = unescape(text_of(" ".join(folded)))
    for e in rec["estimates"]:  # every estimator and its assumptions, listed once per distinct pair
        assert " ".join(e["estimator"].split()) in text and " ".join(e["assumptions"].split())[:60] in text
    first = html.index('<section id="in-brief">')
    assert html.index('<details class="cg-technical">') > first
    # figure numbers restart on each page, and the book's own running numbers are off
    captions = re.findall(r"Figure (\d+)\. ", text_of(html))
    assert captions and captions == [str(i) for i in range(1, len(captions) + 1)]
    # Sphinx's running number (numfig, which Jupyter Book 1.x keeps on) is hidden by the book's stylesheet
    css = (published_library["html"] / "_static" / "commonground.css").read_text(encoding="utf-8")
    assert "figure .caption-number { display: none; }" in css


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_group_means_by_wave_are_on_the_page_and_disclosure_safe(published_library, evaluation_id):
    rec = record_of(published_library, evaluation_id)
    text = unescape(text_of(page(published_library, evaluation_id)))
    waves = rec["design"]["waves"] or [rec["design"]["baseline"], rec["design"]["follow_up"]]
    assert len(rec["group_means"]) == len(rec["outcomes"]) * len(waves)
    names = {o["column"]: o for o in rec["outcomes"]}
    for g in rec["group_means"]:
        for group, n in (("treated", "n_treated"), ("comparison", "n_comparison")):
            assert g[f"mean_{group}"] is None or g[n] == "not shown" or g[n] >= 10
            assert not isinstance(g[n], int) or g[n] == 0 or g[n] >= 10
        o = names[g["outcome"]]
        places = 1 if o["units"] == "percentage points" or o["scale_max"] - o["scale_min"] >= 20 else 2

        def cell(x):
            return "–" if x is None else (plain(x, places) if isinstance(x, float) else
                                          (f"{x:,}" if isinstance(x, int) else x))
        row = f"{g['wave']} {cell(g['mean_treated'])} {cell(g['n_treated'])}"
        if rec["design"]["has_comparison"]:
            row += f" {cell(g['mean_comparison'])} {cell(g['n_comparison'])}"
        assert row in text, row


def test_no_number_reads_two_ways(published_library):
    for path in (published_library["html"] / "generated").rglob("*.html"):
        text = text_of(path.read_text(encoding="utf-8"))
        assert "p = <" not in text and "p = &lt;" not in text, path
        assert not re.search(r"−0\.0+(?!\d)", text), (path, re.findall(r".{40}−0\.0+(?!\d).{10}", text))
    for evaluation_id in SAMPLES:
        text = text_of(page(published_library, evaluation_id))
        raw = re.findall(r"(?<![\d.])[−-]?\d+\.\d{5,}", text)  # no raw floats on an evaluation page
        assert not raw, (evaluation_id, raw)
