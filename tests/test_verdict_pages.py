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


# ------------------------------------------------------------------ plain words for groups, reasons, how sure, CSV

def model_of(lib, evaluation_id):
    from evaluations.record_model import EvidenceRecord

    return EvidenceRecord.model_validate(record_of(lib, evaluation_id))


def section(html: str, section_id: str) -> str:
    """The text of one of the page's top-level sections, up to the next."""
    found = re.search(rf'<section id="{section_id}">(.*?)(?=<section id="(?!{section_id})[^"]*">\s*<h2)', html, flags=re.S)
    assert found, f"no {section_id} section"
    return unescape(text_of(found.group(1)))


def test_groups_are_named_in_the_manifests_words(published_library):
    """ncs-youth-2024 names its 0/1 modifiers in its manifest; intergenerational-2023 lists lives_alone plainly."""
    ncs = record_of(published_library, "ncs-youth-2024")
    assert ncs["design"]["effect_modifier_words"] == {
        "fsm": {"label": "Free school meals", "values": {"0": "no", "1": "yes"}},
        "female": {"label": "Sex", "values": {"0": "male", "1": "female"}}}
    text = section(page(published_library, "ncs-youth-2024"), "for-whom-did-it-work")
    for name in ("Free school meals: yes", "Free school meals: no", "Sex: female", "Sex: male"):
        assert name in text, name
    assert "Does the effect differ between groups? By free school meals, " in text and "; by sex, " in text
    plain = record_of(published_library, "intergenerational-2023")
    assert plain["design"]["effect_modifier_words"]["lives_alone"]["label"] == "Lives alone"
    levels = {g["subgroup"].split("=", 1)[1] for g in plain["subgroups"]}
    assert plain["design"]["effect_modifier_words"]["lives_alone"]["values"] == {
        level: {"0": "no", "1": "yes"}.get(level, level) for level in levels}


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_every_group_on_the_page_is_named_in_words(published_library, evaluation_id):
    rec = model_of(published_library, evaluation_id)
    if not rec.subgroups:
        return
    text = section(page(published_library, evaluation_id), "for-whom-did-it-work")
    for g in rec.subgroups:
        column, level = g.subgroup.split("=", 1)
        words = rec.design.effect_modifier_words[column]
        assert f"{words.label}: {words.values[level]}" in text
        assert not re.search(rf"\b{re.escape(column)}\s*=", text), column


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_how_sure_is_in_plain_words_and_the_rating_in_full_is_folded(published_library, evaluation_id):
    from evaluations.publish.verdict import problems_found

    html = page(published_library, evaluation_id)
    rec = model_of(published_library, evaluation_id)
    sure = section(html, "how-sure-are-we")
    assert not JARGON.findall(sure), JARGON.findall(sure)
    assert f"{rec.rating.padlocks} of 5 padlocks" in sure
    for words, k in problems_found(rec):
        assert f"{words[:1].upper() + words[1:]} ({k} padlock{'' if k == 1 else 's'})." in sure
    assert len(problems_found(rec)) == 0 or sum(k for _, k in problems_found(rec)) == len(rec.rating.downgrades)
    folded = unescape(text_of(" ".join(re.findall(r'<details class="cg-technical">(.*?)</details>', html, flags=re.S))))
    for sentence in [*rec.rating.downgrades, *rec.rating.reasons]:  # the rating's own sentences, figures and all
        assert " ".join(sentence.split()) in folded, sentence


def test_the_toolkit_row_gives_the_verdicts_reason(published_library):
    from evaluations.publish.verdict import rating_reason

    toolkit = (published_library["html"] / "generated" / "toolkit.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr data-family="[^"]*"><td[^>]*><a href="evaluations/([a-z0-9-]+)\.html">(.*?)</tr>',
                           toolkit, flags=re.S))
    assert sorted(rows) == SAMPLES
    for evaluation_id, row in rows.items():
        reason = f"Mainly because {rating_reason(model_of(published_library, evaluation_id))}."
        evidence = re.search(r'<td data-sort="\d" title="([^"]*)">\d/5 [●○]{5}<span class="cg-reason">([^<]*)</span></td>',
                             row)
        assert evidence, row
        assert unescape(evidence.group(1)) == unescape(evidence.group(2)) == reason


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_the_csv_download_carries_value_for_money_and_group_names(published_library, evaluation_id):
    import pandas as pd

    rec = model_of(published_library, evaluation_id)
    csv = pd.read_csv(published_library["book"] / "generated" / "records" / f"{evaluation_id}.csv",
                      dtype={"subgroup": str, "group": str})
    assert len(csv) == len(rec.estimates) + len(rec.subgroups)
    assert list(csv["group"]) == [rec.group_name(e.subgroup) for e in [*rec.estimates, *rec.subgroups]]
    pictures = {p.outcome: p for p in rec.pictures}
    fields = ["cost_per_extra_person_gbp", "cost_per_extra_person_ci_low", "cost_per_extra_person_ci_high",
              "wellby_value_gbp", "wellby_value_ci_low", "wellby_value_ci_high", "benefit_cost_ratio",
              "benefit_cost_ratio_ci_low", "benefit_cost_ratio_ci_high", "effect_size_words"]
    for _, row in csv.iterrows():
        p = pictures.get(row["outcome"]) if row["subgroup"] == "all" else None
        for f in fields:
            want = getattr(p, f) if p is not None else None
            got = None if pd.isna(row[f]) else row[f]
            assert got == pytest.approx(want) if isinstance(want, float) else got == want, (row["outcome"], f)


def test_life_satisfaction_is_valued_in_wellbys_on_the_page_and_in_the_csv(published_library):
    """intergenerational-2023 asks the ONS life-satisfaction question: its effect and interval, times the Green
    Book's £13,000 per WELLBY, over its £220 per participant, on the page and in the CSV."""
    import pandas as pd

    from evaluations import value

    rec = model_of(published_library, "intergenerational-2023")
    effect = rec.overall("life_satisfaction")
    pic = next(p for p in rec.pictures if p.outcome == "life_satisfaction")
    worth = [x * 13_000 for x in (effect.estimate, effect.ci_low, effect.ci_high)]
    assert [pic.wellby_value_gbp, pic.wellby_value_ci_low, pic.wellby_value_ci_high] == pytest.approx(worth)
    assert [pic.benefit_cost_ratio, pic.benefit_cost_ratio_ci_low, pic.benefit_cost_ratio_ci_high] == \
        pytest.approx([w / 220 for w in worth])
    assert value.WELLBY_VALUE_GBP == 13_000 and rec.value_for_money.cost_per_participant_gbp == 220
    assert all(p.wellby_value_gbp is None for p in rec.pictures if p.outcome != "life_satisfaction")
    csv = pd.read_csv(published_library["book"] / "generated" / "records" / "intergenerational-2023.csv")
    row = csv[(csv["outcome"] == "life_satisfaction") & (csv["subgroup"] == "all")].iloc[0]
    assert [row[f"wellby_value_{k}"] for k in ("gbp", "ci_low", "ci_high")] == pytest.approx(worth)
    assert csv.loc[csv["subgroup"] != "all", "wellby_value_gbp"].isna().all()  # a group's row: no value
    text = " ".join(unescape(text_of(page(published_library, "intergenerational-2023"))).split())
    pounds = [f"£{x:,.0f}" for x in worth]
    assert (f"Valued at HM Treasury's Green Book figure of £13,000 per WELLBY (2019 prices), the change in life "
            f"satisfaction is worth about {pounds[0]} per participant over a year (95% interval {pounds[1]} to "
            f"{pounds[2]}): {worth[0] / 220:.1f} pounds of wellbeing for each pound spent") in text


def test_a_loss_in_pounds_has_a_true_minus_sign():
    from evaluations.publish.pictures import _pounds

    assert [_pounds(-734.57), _pounds(2028.25), _pounds(-0.2), _pounds(None)] == \
        ["−£735", "£2,028", "£0", "no upper limit"]
