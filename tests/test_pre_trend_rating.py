"""Diverging pre-programme trends in the rating: one padlock however many outcomes show them; a primary
outcome judged alone at 5%, secondary outcomes Holm-adjusted among themselves (evaluations/rating.py)."""
from __future__ import annotations

import pytest

from evaluations.rating import pre_trend_judgements, rate
from evaluations.record_model.diagnostics import Diagnostics, PreTrendTest
from evaluations.registry import DEFAULT_REGISTRY, load_manifest


def p_tests(**p_values: float) -> dict[str, PreTrendTest]:
    return {o: PreTrendTest(statistic=1.0, df=2, p_value=p) for o, p in p_values.items()}


def test_a_primary_outcome_is_judged_alone_and_secondaries_together():
    judged = {j.outcome: j for j in pre_trend_judgements(p_tests(a=0.04, b=0.04, c=0.5, d=0.012), primary=["a"])}
    assert judged["a"].p_adjusted is None and judged["a"].diverging  # 0.04 < 0.05, alone
    # Holm among b, c, d: 0.012 x 3 = 0.036; 0.04 x 2 = 0.08; 0.5
    assert judged["d"].p_adjusted == pytest.approx(0.036) and judged["d"].diverging
    assert judged["b"].p_adjusted == pytest.approx(0.08) and not judged["b"].diverging
    assert judged["c"].p_adjusted == pytest.approx(0.5)
    assert list(judged) == ["a", "b", "c", "d"]


def test_a_lone_secondary_outcome_needs_no_adjustment():
    (only,) = [j for j in pre_trend_judgements(p_tests(a=0.3, b=0.049), primary=["a"]) if j.outcome == "b"]
    assert only.p_adjusted is None and only.diverging


@pytest.fixture(scope="module")
def intergenerational():
    """The intergenerational sample (four outcomes, three secondary) as the pipeline judged it."""
    from tests.conftest import pipeline_record

    folder = DEFAULT_REGISTRY / "intergenerational-2023"
    return load_manifest(folder), pipeline_record(folder).diagnostics


def test_several_diverging_outcomes_take_one_padlock_and_say_which(intergenerational):
    manifest, diagnostics = intergenerational
    primary = manifest.primary_outcomes[0].column
    secondary = [o.column for o in manifest.outcomes if not o.primary]

    def with_tests(**p):  # a pre-trend test for every outcome, p = 0.9 unless given
        tests = {o.column: {"statistic": 1.0, "df": 1, "p_value": p.get(o.column, 0.9)} for o in manifest.outcomes}
        return Diagnostics.model_validate({**diagnostics.model_dump(), "pre_trend_tests": tests})

    base = rate(manifest, with_tests())
    assert not any("moving apart" in d for d in base.downgrades) and len(secondary) >= 2
    others = secondary[:1]
    both = rate(manifest, with_tests(**{primary: 0.01, others[0]: 0.001}))
    (sentence,) = [d for d in both.downgrades if "moving apart" in d]
    assert both.padlocks == max(0, base.padlocks - 1)
    assert f"{primary} and {others[0]} were already moving apart" in sentence and "p = 0.010" in sentence
    assert f"{others[0]}: p = 0.001, {0.001 * len(secondary):.3f} adjusted for the secondary outcomes tested" in sentence
    # a secondary outcome at 0.04 among several is no divergence once adjusted: no padlock taken
    assert rate(manifest, with_tests(**{others[0]: 0.04})).padlocks == base.padlocks
    primary_only = rate(manifest, with_tests(**{primary: 0.049}))
    assert primary_only.padlocks == max(0, base.padlocks - 1)
    assert f"the groups' {primary} was already moving apart (pre-trend test: {primary}: p = 0.049)" in \
        " ".join(primary_only.downgrades)


def test_the_sample_whose_two_secondary_outcomes_diverged_loses_one_padlock_for_it(intergenerational):
    manifest, diagnostics = intergenerational
    judged = {j.outcome: j.diverging for j in pre_trend_judgements(diagnostics.pre_trend_tests, ["loneliness"])}
    assert judged == {"loneliness": False, "ages_get_on": True, "cohesion": True, "life_satisfaction": False}
    rating = rate(manifest, diagnostics)
    assert sum("moving apart" in d for d in rating.downgrades) == 1
    assert rating.padlocks == rating.initial - len(rating.downgrades) == rating.initial - 2  # and few clusters
