"""Differencing attacks on a real evidence record built from a small panel with known group sizes.

The panel (long layout, waves before/after) is made so that the old record leaked:
- programme: 60 people in the file, 5 of them (P55-P59) only at follow-up, so 55 at baseline;
- comparison: 50 people, 5 of them (C45-C49) lost at follow-up;
- the modifier `town` has three levels: Lambeth (30 / 25), Boston (29 / 25) and one programme
  person, P54, whose level is a name ("Zebedee Quillfeather");
- the secondary outcome `cohesion` was answered by only 8 comparison people (C00-C07).
The record is built by the real pipeline functions (intake, panel, estimators, diagnostics,
rating, build_record); then every pair of published counts that describe nested groups is
subtracted and every total is compared with its published parts.
"""
from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluations import disclosure
from evaluations.simulate import write_file
from tests.conftest import pipeline_record

NAME = "Zebedee Quillfeather"
HIDDEN = (disclosure.NOT_SHOWN, disclosure.SUPPRESSED)


def _people() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(110):
        treated = i < 60
        k = i if treated else i - 60
        uid = f"P{k:02d}" if treated else f"C{k:02d}"
        town = "Lambeth" if k < (30 if treated else 25) else "Boston"
        if uid == "P54":
            town = NAME
        waves = ["after"] if treated and k >= 55 else ["before"] if not treated and k >= 45 else ["before", "after"]
        age, female = int(rng.integers(18, 80)), int(k % 2)
        for w in waves:
            lift = 8 if (treated and w == "after") else 0
            answers_cohesion = treated or k < 8
            rows.append({"person": uid, "town": town, "took_part": int(treated), "age": age, "female": female,
                         "wave": w, "thermometer": int(np.clip(rng.normal(50 + lift, 15), 0, 100)),
                         "cohesion": int(rng.integers(1, 5)) if answers_cohesion else np.nan})
    return pd.DataFrame(rows)


def _registration(folder, suffix: str):
    folder.mkdir(parents=True)
    df = _people()
    labels = None
    if suffix == ".sav":  # the name arrives only as an SPSS value label
        codes = {"Lambeth": 1, "Boston": 2, NAME: 3}
        df["town"] = df["town"].map(codes)
        labels = {"town": {v: k for k, v in codes.items()}}
    write_file(df, folder / f"survey{suffix}", value_labels=labels)
    manifest = {
        "id": "small-groups-2025", "title": "Small groups", "synthetic": True,
        "programme": {"name": "Small groups", "family": "exchange_visit", "organisation": "Test",
                      "places": ["Lambeth"], "start_date": "2025-01-01", "end_date": "2025-06-30",
                      "description": "A test."},
        "design": {"type": "did", "unit_id": "person", "treatment": "took_part", "wave": "wave",
                   "baseline": "before", "follow_up": "after", "covariates": ["age", "female"],
                   "effect_modifiers": ["town"]},
        "outcomes": [{"column": "thermometer", "measure": "outgroup_thermometer", "primary": True},
                     {"column": "cohesion", "measure": "local_area_cohesion", "primary": False}],
        "files": [{"path": f"survey{suffix}", "layout": "long"}],
        "seed": 1,
    }
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder


def _record(folder) -> dict:
    """The record as published (its JSON download): the document a reader could attack."""
    return pipeline_record(folder).record.to_json()


@pytest.fixture(scope="module", params=[".csv", ".sav"])
def record(request, tmp_path_factory) -> dict:
    return _record(_registration(tmp_path_factory.mktemp("reg") / "small-groups-2025", request.param))


def _published(counts: list) -> list[int]:
    return [c for c in counts if isinstance(c, int) and not isinstance(c, bool)]


def _nested_chains(record: dict, group: str, n: str) -> list[tuple[str, object, str, object]]:
    """(outer, value, inner, value): counts of the same people where the inner group is inside the outer."""
    flow = record["flow"][group]
    outers = {f"flow.{s}": flow[s] for s in ("registered", "baseline", "follow_up")}
    inners = {"flow.analysed": flow["analysed"]}
    inners |= {f"estimate {r['outcome']}": r[n] for r in record["estimates"]}
    inners |= {f"subgroup {r['outcome']} {r['subgroup']}": r[n] for r in record["subgroups"]}
    inners |= {f"balance {r['variable']}": r[n] for r in record["diagnostics"]["balance"]}
    pairs = [(a, va, b, vb) for (a, va), (b, vb) in itertools.product(outers.items(), inners.items())]
    pairs += [("flow.registered", flow["registered"], f"flow.{b}", flow[b]) for b in ("baseline", "follow_up")]
    for r in record["estimates"]:  # an outcome's overall n contains each of its subgroups
        pairs += [(f"estimate {r['outcome']}", r[n], f"subgroup {s['subgroup']}", s[n])
                  for s in record["subgroups"] if s["outcome"] == r["outcome"]]
    return pairs


def test_no_two_nested_published_counts_differ_by_one_to_nine(record):
    attacks = 0
    for group, n in (("programme", "n_treated"), ("comparison", "n_comparison")):
        for outer, a, inner, b in _nested_chains(record, group, n):
            if _published([a]) and _published([b]):
                attacks += 1
                assert not 0 < a - b < 10, (group, outer, a, inner, b)
    assert attacks >= 10  # stages, estimates, subgroups and balance rows that are published


def test_no_two_flow_stages_differ_by_one_to_nine_either_way(record):
    """Registered, baseline, follow-up and analysed, each from each (baseline minus follow-up reads
    as the people lost, though some may answer only at follow-up)."""
    for group in ("programme", "comparison"):
        for a, b in itertools.combinations(_published(record["flow"][group].values()), 2):
            assert not 0 < abs(a - b) < 10, (group, a, b)


def test_no_total_minus_its_published_parts_is_one_to_nine(record):
    """Overall n minus the published subgroup n (per outcome and group); rows set aside minus the
    per-check counts; and, if the overall n is hidden, the parts must not add up to something a
    published stage would give away."""
    for r in record["estimates"]:
        for n in ("n_treated", "n_comparison"):
            parts = [s[n] for s in record["subgroups"] if s["outcome"] == r["outcome"]]
            if _published([r[n]]):
                assert not 0 < r[n] - sum(_published(parts)) < 10, (r["outcome"], n)
            elif parts and len(_published(parts)) == len(parts):
                group = "programme" if n == "n_treated" else "comparison"
                for stage in _published(record["flow"][group].values()):
                    assert not 0 < stage - sum(parts) < 10, (r["outcome"], n, stage, parts)
    dq = record["data_quality"]
    if _published([dq["rows_set_aside"]]):
        assert not 0 < dq["rows_set_aside"] - sum(_published(dq["set_aside_by_check"].values())) < 10


def test_exactly_the_cells_that_would_leak_are_hidden(record):
    assert record["flow"] == {
        # 60 in the file - 55 at baseline = 5; 55 analysed = follow-up 60 - 5
        "programme": {"registered": 60, "baseline": disclosure.NOT_SHOWN, "follow_up": 60,
                      "analysed": disclosure.NOT_SHOWN},
        # 50 - 45 followed up = 5
        "comparison": {"registered": 50, "baseline": 50, "follow_up": disclosure.NOT_SHOWN,
                       "analysed": disclosure.NOT_SHOWN}}
    est = {r["outcome"]: r for r in record["estimates"]}
    assert (est["thermometer"]["n_treated"], est["thermometer"]["n_comparison"]) == (disclosure.NOT_SHOWN,) * 2
    assert est["thermometer"]["estimate"] is not None  # 55 and 45 people: the effect itself is published
    # cohesion was answered by 8 comparison people: no estimate, no interval
    assert est["cohesion"]["n_comparison"] == disclosure.SUPPRESSED and est["cohesion"]["estimate"] is None
    assert est["cohesion"]["ci_low"] is None and est["cohesion"]["suppressed"] is True
    subgroups = {(r["outcome"], r["subgroup"]): (r["n_treated"], r["n_comparison"]) for r in record["subgroups"]}
    # Lambeth 30 / 25 and Boston 24 / 20 add up to 54 / 45: 6 and 5 short of published stages,
    # so the smaller level is hidden; the one-person level is never estimated
    assert subgroups[("thermometer", "town=Lambeth")] == (30, 25)
    assert subgroups[("thermometer", "town=Boston")] == (disclosure.NOT_SHOWN, disclosure.NOT_SHOWN)
    assert not any(o == "cohesion" for o, _ in subgroups)  # 8 comparison people: no level has 10
    att = record["diagnostics"]["attrition"]
    assert att["comparison"] == att["overall"] == disclosure.SUPPRESSED  # 5 people lost
    assert att["differential"] == disclosure.NOT_SHOWN
    assert record["diagnostics"]["mdes_planned"] == disclosure.NOT_SHOWN  # it would give the baseline back
    overlap = record["diagnostics"]["overlap"]
    # the bars add up to the hidden number analysed, so the whole histogram goes
    assert overlap["histogram"]["suppressed"] is True and set(overlap["histogram"]["programme"]) == {None}
    assert overlap["outside_support"]["programme"] == disclosure.SUPPRESSED
    assert overlap["reasons"][0].startswith("more than 5% of participants")  # not the exact share of a few
    assert record["rating"]["reasons"][2].startswith("Attrition: a share (not shown, to protect a small group)")
    assert disclosure.disclosure_problems(record) == []


def test_no_balance_mean_rests_on_fewer_than_ten(record):
    balance = {r["variable"]: r for r in record["diagnostics"]["balance"]}
    cohesion = balance["cohesion"]  # 8 comparison people answered it
    assert cohesion["suppressed"] is True and cohesion["n_comparison"] == disclosure.SUPPRESSED
    assert cohesion["mean_treated"] is None and cohesion["mean_comparison"] is None and cohesion["smd"] is None
    for row in balance.values():
        if row["mean_treated"] is not None:
            for n in (row["n_treated"], row["n_comparison"]):
                assert n == disclosure.NOT_SHOWN or (isinstance(n, int) and n >= 10), row
    assert balance["age"]["n_comparison"] == 50 and balance["age"]["n_treated"] == disclosure.NOT_SHOWN  # 60 - 55
    assert balance["age"]["mean_treated"] == round(balance["age"]["mean_treated"], 3)  # no exact fraction
    shown_covariates = [abs(r["smd"]) for v, r in balance.items() if v in ("age", "female")]
    assert record["diagnostics"]["max_abs_smd_covariates"] == max(shown_covariates)


def test_the_one_person_category_is_never_named(record):
    text = json.dumps(record)
    assert NAME not in text and "Zebedee" not in text
    skipped = record["subgroups_skipped"]
    assert {(x["outcome"], x["subgroup"]) for x in skipped} == {("thermometer", "town=another group"),
                                                                 ("cohesion", "town=another group")}


def test_the_guard_refuses_a_record_that_still_leaks(record):
    leaky = json.loads(json.dumps(record))
    leaky["flow"]["programme"]["baseline"] = 55
    leaky["subgroups"][0]["estimate"] = 0.1
    leaky["subgroups"][0]["n_treated"] = disclosure.SUPPRESSED
    problems = disclosure.disclosure_problems(leaky)
    assert "flow.programme.registered = 60 contains flow.programme.baseline = 55: they differ by 5" in problems
    assert "subgroups[0] has an estimate from fewer than 10 people in a group" in problems


def test_rows_read_is_hidden_when_a_flow_count_is(record):
    # rows read - rows set aside = every baseline and follow-up row: beside all flow counts but one,
    # it gives the hidden one back
    assert any(isinstance(record["flow"][g][s], str) for g in ("programme", "comparison")
               for s in ("registered", "baseline", "follow_up", "analysed"))
    assert record["data_quality"]["rows_read"] == disclosure.NOT_SHOWN
    leaky = copy.deepcopy(record)
    leaky["data_quality"]["rows_read"] = 215
    assert "data_quality.rows_read is shown beside a hidden flow count" in disclosure.disclosure_problems(leaky)


def test_rating_sentences_are_worded_from_the_published_figures():
    from evaluations.rating import publishable
    from evaluations.record_model import Rating
    from evaluations.record_model.diagnostics import Overlap
    from evaluations.record_model.record import PublishedAttrition, PublishedDiagnostics, PublishedWwcAttrition

    # only the fields publishable reads (model_construct does not ask for the rest)
    rating = Rating.model_construct(
        mdes_padlocks=3, attrition_padlocks=2,
        reasons=("Design: x.", "Sample size: … 0.35 standard deviations …", "Attrition: 25% of people …"),
        downgrades=("Attrition is high by the What Works Clearinghouse standard (cautious boundary): with 25% of "
                    "people lost overall, the groups' attrition may differ by at most 4.8 percentage points, and "
                    "they differed by 12.0 percentage points, so the people left may no longer be comparable.",
                    "Limited overlap: 7% of participants had a higher or lower chance."))
    published = PublishedDiagnostics.model_construct(
        attrition=PublishedAttrition.model_construct(overall=disclosure.NOT_SHOWN, differential=disclosure.NOT_SHOWN),
        wwc_attrition=PublishedWwcAttrition(boundary="cautious", verdict="high", max_differential=disclosure.NOT_SHOWN),
        mdes_achieved={"y": disclosure.NOT_SHOWN, "z": 0.31},
        overlap=Overlap.model_construct(reasons=["more than 5% of participants had a higher or lower chance"]))
    words = publishable(rating, published)
    assert words.reasons == (
        "Design: x.",
        "Sample size: the smallest effect this analysis could reliably detect is not shown (it rests on an estimate "
        "too small to publish) (at most 3 padlocks; 5 needs under 0.2).",
        "Attrition: a share (not shown, to protect a small group) of people who answered at baseline did not answer "
        "at follow-up (at most 2 padlocks; 5 needs 10% or less). By the What Works Clearinghouse standard (cautious "
        "boundary, for programmes that could change who answers the follow-up), attrition is high.")
    assert words.downgrades == (
        "Attrition is high by the What Works Clearinghouse standard (cautious boundary): with the share lost overall "
        "(not shown, to protect a small group), the groups' attrition may differ only a little, and they differed by "
        "more (the difference is not shown, to protect a small group), so the people left may no longer be "
        "comparable.",
        "Limited overlap: more than 5% of participants had a higher or lower chance.")


def test_the_achieved_mdes_of_a_blanked_estimate_is_blanked_too(record):
    for row in record["estimates"]:
        value = record["diagnostics"]["mdes_achieved"].get(row["outcome"])
        if row["estimate"] is None:
            assert value in (None, disclosure.NOT_SHOWN), row["outcome"]
    leaky = copy.deepcopy(record)
    blank = {**leaky["estimates"][0], "estimate": None}
    leaky["estimates"][0] = blank
    leaky["diagnostics"]["mdes_achieved"][blank["outcome"]] = 0.4
    assert (f"mdes_achieved of {blank['outcome']!r} is shown though its estimate is not"
            in disclosure.disclosure_problems(leaky))
