"""After a full run (as `make run` does): the book has a page per evaluation, matching its record."""
from __future__ import annotations

import json
import re

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from tests.conftest import SAMPLES


def page(lib, evaluation_id):
    return (lib["html"] / "generated" / "evaluations" / f"{evaluation_id}.html").read_text(encoding="utf-8")


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#8722;", "−")


def test_one_page_per_registered_evaluation(published_library):
    pages = sorted(p.stem for p in (published_library["html"] / "generated" / "evaluations").glob("*.html"))
    assert pages == SAMPLES
    toolkit = (published_library["html"] / "generated" / "toolkit.html").read_text(encoding="utf-8")
    for evaluation_id in SAMPLES:
        assert f'href="evaluations/{evaluation_id}.html"' in toolkit


@pytest.mark.parametrize("evaluation_id", SAMPLES)
def test_page_shows_its_record_and_figures(published_library, evaluation_id):
    html = page(published_library, evaluation_id)
    record = json.loads((published_library["book"] / "generated" / "records" / f"{evaluation_id}.json").read_text())
    text = text_of(html)
    assert "Synthetic data" in text and "not evidence about any real programme" in text
    for est in record["estimates"]:
        outcome = next(o for o in record["outcomes"] if o["column"] == est["outcome"])
        places = 1 if outcome["units"] == "percentage points" or outcome["scale_max"] - outcome["scale_min"] >= 20 else 2
        shown = f"{est['estimate']:.{places}f} ({est['ci_low']:.{places}f} to {est['ci_high']:.{places}f})"
        assert shown.replace("-", "−") in text, shown
        for n in (est["n_treated"], est["n_comparison"]):  # a count, or disclosure control's "not shown"
            assert (f"{n:,}" if isinstance(n, int) else n) in text, n
    assert f"{record['rating']['padlocks']} of 5 padlocks" in text
    registered = record["provenance"]["registration"]
    assert f"Analysis plan registered on {registered['registered_at'][:10]} (SHA-256 {registered['plan_sha256'][:16]}…)." in text
    images = re.findall(r'<img[^>]+src="([^"]+)"', html)
    # effects, flow and (with a comparison group to balance against) balance at least
    assert len(images) >= (3 if record["design"]["has_comparison"] else 2)
    for src in images:
        assert (published_library["html"] / "generated" / "evaluations" / src).resolve().is_file(), src
    for fmt in ("json", "csv"):
        assert re.search(rf'href="[^"]*_downloads/[^"]+/{evaluation_id}\.{fmt}"', html)


def test_before_and_after_page_reports_change_not_impact(published_library):
    text = text_of(page(published_library, "befriending-pre-post-2024"))
    record = json.loads((published_library["book"] / "generated" / "records" / "befriending-pre-post-2024.json").read_text())
    assert "Change in each outcome" in text and "Impact on each outcome" not in text
    assert "This is change, not impact" in text
    assert record["rating"]["padlocks"] == 0 and record["rating"]["sms_level"] == 2
    assert "People who took part" in text and "Comparison n" in text  # the impact table keeps its columns
    assert all(e["estimand"] == "mean change" and e["n_comparison"] == 0 for e in record["estimates"])


def test_repeated_cross_section_page_says_different_people_answered(published_library):
    text = text_of(page(published_library, "school-linking-survey-2025"))
    record = json.loads((published_library["book"] / "generated" / "records" / "school-linking-survey-2025.json").read_text())
    assert "different people answered each wave" in text.lower()
    assert "Attrition: not defined" in text
    assert record["design"]["key"] == "did_repeated_cross_section" and record["rating"]["design_padlocks"] == 3
    assert all("survey-weighted" in e["estimator"] for e in record["estimates"])


def test_staggered_page_has_an_event_study(published_library):
    assert "intergenerational-2023-event-study.png" in page(published_library, "intergenerational-2023")


def test_matched_design_page_shows_balance_after_weighting_overlap_and_refutations(published_library):
    html = page(published_library, "ncs-youth-2024")
    text = text_of(html)
    record = json.loads((published_library["book"] / "generated" / "records" / "ncs-youth-2024.json").read_text())
    diag = record["diagnostics"]
    assert (f"{diag['max_abs_smd_covariates']:.2f} before and {diag['max_abs_smd_covariates_after']:.2f} after "
            "re-weighting") in text
    assert diag["max_abs_smd_covariates_after"] < 0.1 < diag["max_abs_smd_covariates"]
    assert "ncs-youth-2024-overlap.png" in html and "ncs-youth-2024-balance.png" in html
    # The histogram holds exactly the people analysed for the primary outcome, in bars of 0 or 10+.
    hist = diag["overlap"]["histogram"]
    primary = next(e for e in record["estimates"] if e["outcome"] == record["primary_outcome"])
    assert (sum(hist["programme"]), sum(hist["comparison"])) == (primary["n_treated"], primary["n_comparison"])
    assert all(c == 0 or c >= 10 for c in hist["programme"] + hist["comparison"])
    assert {r["name"] for r in diag["refutations"]} == {"placebo treatment", "random common cause", "data subset"}
    for r in diag["refutations"]:
        row = (f"{r['name']} Mixing socially with people from different backgrounds {r['original_effect']:.2f} "
               f"{abs(r['new_effect']) if round(r['new_effect'], 2) == 0 else r['new_effect']:.2f}"
               ).replace("-", "−")  # a placebo effect that rounds to zero reads 0.00, never −0.00
        assert row in text, row
    placebo = next(r for r in diag["refutations"] if r["name"] == "placebo treatment")
    assert abs(placebo["new_effect"]) < 0.05 and placebo["verdict"] == "passed"


def test_nothing_loads_from_the_internet(published_library):
    for path in published_library["html"].rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?:)?//', html)
        assert not remote, (path, remote)
        inline = [s for s in re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S) if "http" in s]
        assert not inline, (path, inline)  # e.g. a CDN address for Thebe that a click would fetch


def test_runs_are_recorded_in_the_project_dagster_instance(published_library):
    with DagsterInstance.from_config(str(published_library["dagster_home"])) as instance:
        runs = instance.get_runs(RunsFilter(job_name="evaluation_job", statuses=[DagsterRunStatus.SUCCESS]))
        assert sorted(r.tags["dagster/partition"] for r in runs) == SAMPLES
        assert instance.get_runs(RunsFilter(job_name="book_job", statuses=[DagsterRunStatus.SUCCESS]))


def test_changing_one_evaluation_regenerates_only_its_pages_and_the_library(tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from evaluations.registry import DEFAULT_REGISTRY
    from tests.conftest import copy_book_sources

    registry = tmp_path / "registry"
    for evaluation_id in ("school-linking-2024", "town-exchange-2023"):
        shutil.copytree(DEFAULT_REGISTRY / evaluation_id, registry / evaluation_id)
    book = copy_book_sources(tmp_path / "book")
    env = {**os.environ, "COMMONGROUND_REGISTRY": str(registry), "COMMONGROUND_WAREHOUSE": str(tmp_path / "wh"),
           "COMMONGROUND_BOOK": str(book), "DAGSTER_HOME": str(tmp_path / "dh")}
    cli = str(Path(sys.executable).parent / "commonground")
    assert subprocess.run([cli, "run"], env=env, capture_output=True, timeout=600).returncode == 0
    gen = book / "generated"

    def stamps(pattern):
        return {p.name: p.stat().st_mtime_ns for p in gen.rglob(pattern)}

    before = {**stamps("school-linking-2024*"), **stamps("town-exchange-2023*"), "toolkit.md": (gen / "toolkit.md").stat().st_mtime_ns}
    manifest = registry / "town-exchange-2023" / "evaluation.yaml"
    m = yaml.safe_load(manifest.read_text())
    m["title"] = "Town exchange: warmth across the referendum divide (revised title)"
    manifest.write_text(yaml.safe_dump(m, sort_keys=False))
    assert subprocess.run([cli, "run", "town-exchange-2023"], env=env, capture_output=True, timeout=600).returncode == 0
    after = {**stamps("school-linking-2024*"), **stamps("town-exchange-2023*"), "toolkit.md": (gen / "toolkit.md").stat().st_mtime_ns}
    changed = sorted(k for k in before if before[k] != after[k])
    assert changed and all(k.startswith("town-exchange-2023") or k == "toolkit.md" for k in changed), changed
    assert "town-exchange-2023.md" in changed and "toolkit.md" in changed
    assert "(revised title)" in (book / "_build" / "html" / "generated" / "toolkit.html").read_text()
