"""Diagnostics: overlap (publishable histogram, support, trimming), balance before and after the
doubly robust estimator's weights, DoWhy refutations, and how they reach the rating."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from evaluations import disclosure
from evaluations.diagnostics.report import run_diagnostics
from evaluations.diagnostics.balance import att_odds_weights, balance_before_after
from evaluations.diagnostics.overlap import overlap, propensity_scores, safe_histogram
from evaluations.estimators.plan import estimate_impacts
from evaluations.intake.panel import build_panel
from evaluations.intake.validate import read_raw, validate
from evaluations.measures import load_measures
from evaluations.rating import rate
from evaluations.record_model import Diagnostics
from evaluations.record_model.values import clean
from evaluations.registry import DEFAULT_REGISTRY, load_manifest

RECORD_KEYS = ["balance", "max_abs_smd_covariates", "attrition", "n_clusters", "baseline_equivalence",
               "wwc_attrition", "attrition_bounds", "mdes_planned", "mdes_achieved", "pre_trend_tests",
               "heterogeneity_tests"]


def selected(n: int, seed: int, strength: float) -> pd.DataFrame:
    """Participation rises with x1 (and x2): `strength` sets how far apart the groups' scores are."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.binomial(1, 0.5, n).astype(float)
    treated = rng.binomial(1, expit(-0.5 + strength * x1 + 0.5 * x2))
    return pd.DataFrame({"treated": treated, "x1": x1, "x2": x2})


# --------------------------------------------------------------------------- overlap


@pytest.mark.parametrize("seed", range(5))
def test_histogram_bins_are_publishable_and_keep_everyone(seed):
    rng = np.random.default_rng(seed)
    pt, pc = rng.beta(2, 5 + seed, 37 * (seed + 1)), rng.beta(1 + seed, 3, 300)
    h = safe_histogram(pt, pc)
    assert not h["suppressed"]
    for group, scores in (("programme", pt), ("comparison", pc)):
        counts = h[group]
        assert all(c == 0 or c >= 10 for c in counts)
        assert sum(counts) == len(scores)  # merging moves people between bins, never drops them
    assert h["edges"][0] == 0 and h["edges"][-1] == 1 and len(h["edges"]) == len(h["programme"]) + 1
    # the merged bins are unions of the original ones: each edge is one of the original 20
    assert all(abs(e * 20 - round(e * 20)) < 1e-9 for e in h["edges"])


def test_histogram_of_a_tiny_group_is_suppressed():
    h = safe_histogram(np.array([0.2, 0.5, 0.7]), np.linspace(0.05, 0.95, 100))
    assert h["suppressed"] and all(c is None for c in h["programme"] + h["comparison"])


def test_good_overlap_is_not_limited_and_poor_overlap_is():
    good = overlap(selected(2000, 1, 0.5), ["x1", "x2"])
    assert not good["limited"] and good["outside_support"]["programme"] in (0, disclosure.SUPPRESSED)
    poor_data = selected(2000, 1, 3.0)
    poor = overlap(poor_data, ["x1", "x2"])
    assert poor["limited"] and poor["reasons"]
    ps = propensity_scores(poor_data, ["x1", "x2"])
    pt = ps[poor_data.treated == 1]
    assert poor["trimmed"]["programme"] == disclosure.count(int(((pt < 0.1) | (pt > 0.9)).sum()))
    json.dumps(clean(poor))  # JSON-ready
    assert not disclosure.check_no_small_numbers(poor)


def test_participants_beyond_every_comparison_score_are_counted():
    df = selected(1000, 2, 1.0)
    df.loc[df.index[:25], ["treated", "x1"]] = [1, 8.0]  # 25 participants far beyond anyone in the comparison group
    result = overlap(df, ["x1", "x2"])
    ps = propensity_scores(df, ["x1", "x2"])
    beyond = int((ps[df.treated == 1] > ps[df.treated == 0].max()).sum())
    assert beyond >= 25 and result["outside_support"]["programme"] == beyond


# --------------------------------------------------------------------------- balance after weighting


def test_doubly_robust_weights_balance_the_covariates():
    df = selected(20000, 3, 1.0)
    table = balance_before_after(df, ["x1", "x2"], att_odds_weights(df, ["x1", "x2"]))
    assert (table["smd_before"].abs() > 0.2).any()
    assert (table["smd_after"].abs() < 0.03).all()
    # the weighted comparison mean is the odds-weighted mean, computed by hand
    ps = propensity_scores(df, ["x1", "x2"])
    c = df.treated == 0
    w = ps[c] / (1 - ps[c])
    x1 = table.set_index("variable").loc["x1"]
    assert x1["mean_comparison_after"] == pytest.approx(np.sum(w * df.x1[c]) / np.sum(w), rel=1e-10)
    assert x1["mean_treated"] == pytest.approx(df.x1[df.treated == 1].mean(), rel=1e-12)


# --------------------------------------------------------------------------- the whole of run_diagnostics


@pytest.fixture(scope="module")
def ncs(ncs_sample):
    run = ncs_sample
    return run.panel, run.manifest, run.table, run.diagnostics.model_dump(mode="json")


def _limited(diag: dict, reasons: list[str]) -> Diagnostics:
    return Diagnostics.model_validate({**diag, "overlap": {**diag["overlap"], "limited": True, "reasons": reasons}})


def test_run_diagnostics_keeps_the_record_keys_and_adds_the_new_ones(ncs):
    _, manifest, _, diag = ncs
    assert all(key in diag for key in RECORD_KEYS)
    for key in ("overlap", "balance_after", "refutations", "failed_refutations", "heterogeneity_checks"):
        assert key in diag
    json.dumps(diag)
    assert not diag["overlap"]["limited"] and diag["overlap"]["applies"]
    assert diag["balance_after_weights"].startswith("ATT odds weights")
    after = {r["variable"]: r for r in diag["balance_after"]}
    assert set(manifest.design.covariates) <= set(after)
    assert diag["max_abs_smd_covariates_after"] < 0.05 < diag["max_abs_smd_covariates"]
    assert all("method" in t for t in diag["heterogeneity_tests"])


def test_refutations_pass_on_the_ncs_sample_and_reach_the_rating(ncs):
    _, manifest, _, diag = ncs
    refs = diag["refutations"]
    primary = [o.column for o in manifest.primary_outcomes]
    assert {(r["name"], r["outcome"]) for r in refs} == {
        (n, o) for n in ("placebo treatment", "random common cause", "data subset") for o in primary}
    placebo = next(r for r in refs if r["name"] == "placebo treatment")
    assert abs(placebo["new_effect"]) < 0.05 < abs(placebo["original_effect"])  # the effect vanishes
    assert all(r["verdict"] == "passed" for r in refs) and diag["failed_refutations"] == []
    base = rate(manifest, Diagnostics.model_validate(diag))
    failing = rate(manifest, Diagnostics.model_validate({**diag, "failed_refutations": ["placebo treatment (mixing)"]}))
    assert failing.padlocks == max(0, base.padlocks - 1)
    assert any("placebo treatment (mixing)" in x for x in failing.downgrades)
    limited = rate(manifest, _limited(diag, ["no one alike"]))
    assert any("Limited overlap" in x for x in limited.downgrades)


def test_designs_resting_on_trends_are_not_refuted_or_downgraded_for_overlap():
    folder = DEFAULT_REGISTRY / "school-linking-2024"
    manifest, measures = load_manifest(folder), load_measures()
    panel = build_panel(validate(read_raw(folder, manifest), manifest, measures).valid, manifest, measures)
    table = estimate_impacts(panel, manifest, measures).to_table()
    diag = run_diagnostics(panel, manifest, table).model_dump(mode="json")
    assert diag["refutations"] == [] and diag["balance_after"] == []
    assert not diag["overlap"]["applies"]
    forced = rate(manifest, _limited(diag, ["x"]))
    assert not any("overlap" in x for x in forced.downgrades)
    checks = diag["heterogeneity_checks"]
    assert {c["outcome"] for c in checks} == {"comfort", "friends"}
    assert all(c["same_verdict_as_published"] for c in checks)


def test_the_remembered_normal_quantiles_are_scipys_bit_for_bit():
    """power.py answers the normal-reference MDES without importing scipy (issue 13: `check` under 2 s)
    from the two quantiles it remembers; they must be exactly what scipy.special.ndtri returns."""
    from scipy.special import ndtri

    from evaluations.diagnostics import power

    assert set(power._NORMAL_QUANTILES) == {1 - power.ALPHA / 2, power.POWER}
    for p, z in power._NORMAL_QUANTILES.items():
        assert z == float(ndtri(p)), p
    assert power.multiplier() == float(ndtri(1 - power.ALPHA / 2)) + float(ndtri(power.POWER))


def test_the_t_quantiles_computed_without_scipy_are_scipys():
    """A whole number of degrees of freedom (every planned MDES) gets its t quantile from power.py's
    own series or expansion, so `check` imports no scipy; it must be the t quantile: exact closed
    forms at 1 and 2 degrees of freedom, scipy.special.stdtrit elsewhere (itself off by up to 4e-11),
    on both sides of the switch from the series to the expansion, up to ten million."""
    from scipy.special import stdtrit

    from evaluations.diagnostics import power

    for p in power._NORMAL_QUANTILES:
        assert power._quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-14)
        assert power._quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-14)
        cut = power._SERIES_UP_TO
        for df in [*range(1, 160), 499, cut - 1, cut, cut + 1, cut + 2, 4321, 10**5, 10**7]:
            assert power._quantile(p, df) == pytest.approx(float(stdtrit(df, p)), rel=1e-10, abs=0), (p, df)
            assert power._quantile(p, float(df)) == power._quantile(p, df)  # df from an estimate is a float
        assert power._quantile(p, 12.5) == float(stdtrit(12.5, p))  # a Welch df: scipy's
    assert power.multiplier(30) == pytest.approx(float(stdtrit(30, 0.975) + stdtrit(30, 0.8)), rel=1e-12)
