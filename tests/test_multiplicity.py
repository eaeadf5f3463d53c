"""Secondary outcomes' adjusted p-values (estimators/multiplicity.py): the step-down by hand, its known limits,
its error rate by simulation, the influence functions it combines, and the plan, disclosure and page using it."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.stats.multitest import multipletests

from evaluations import disclosure
from evaluations.estimators import multiplicity
from evaluations.estimators.plan import estimate_impacts
from evaluations.estimators.rct import difference_in_means
from evaluations.measures import load_measures
from evaluations.publish.pages import secondary_sentence
from evaluations.registry import Manifest


def test_the_step_down_worked_by_hand():
    """Three statistics and four resampled null draws (signs ignored: two-sided). By |t|: outcome 0 (3.0),
    outcome 2 (2.0), outcome 1 (1.0). Step 1: the maxima over all three are 2.5, 3.5, 2.5, 0.6 and one
    reaches 3.0, so (1 + 1) / (4 + 1) = 0.4. Step 2, outcomes 2 and 1: maxima 2.5, 0.2, 2.5, 0.6, two reach
    2.0: 3/5 = 0.6. Step 3, outcome 1: 2.5, 0.2, 0.9, 0.4, one reaches 1.0: 2/5 = 0.4, raised to 0.6 so the
    p-values keep the order of the statistics."""
    t = np.array([3.0, -1.0, 2.0])
    draws = np.array([[0.5, -2.5, 1.0],
                      [-3.5, 0.2, 0.1],
                      [1.0, 0.9, -2.5],
                      [0.3, 0.4, 0.6]])
    assert multiplicity.stepdown(t, draws) == pytest.approx([0.4, 0.6, 0.6], abs=1e-15)


# pyfixest's Romano-Wolf (pf.rwolf): four regressions on its simulated data, the coefficient of X1, 999
# wild-bootstrap draws. Its adjusted p-values as pyfixest 0.60.0 printed them when this test was written, in
# the order of the fits (so a change in pyfixest's draws shows here, not as a silent change of reference).
PYFIXEST_FITS = ("Y ~ X1 + X2", "Y2 ~ X1 + X2", "Y ~ X1 + X2 + f1", "Y2 ~ X1 + X2 + f1")
PYFIXEST_PRINTED = ("0.313", "0.373", "0.139", "0.400")


def pyfixest_romano_wolf() -> tuple[np.ndarray, np.ndarray]:
    """Our step-down and pyfixest's `rwolf` on the same statistics and the same wild-bootstrap draws: the
    draws come from each fit's public `wildboottest(..., return_bootstrapped_t_stats=True)` with the seed
    `rwolf` uses, so any difference is in the step-down itself (its order, plus-one and monotone step)."""
    import pyfixest as pf
    from pyfixest.utils import get_data

    data = get_data(N=120, seed=3).dropna()
    fits = [pf.feols(formula, data=data) for formula in PYFIXEST_FITS]
    theirs = pf.rwolf(fits, "X1", reps=999, seed=123).loc["RW Pr(>|t|)"].to_numpy(float)
    statistics, draws = [], []
    for fit in fits:
        result, boot = fit.wildboottest(param="X1", reps=999, return_bootstrapped_t_stats=True, seed=123)
        statistics.append(float(result["t value"]))
        draws.append(np.asarray(boot, dtype=float))
    return multiplicity.stepdown(np.array(statistics), np.column_stack(draws)), theirs


def test_the_step_down_is_pyfixests_rwolf_on_the_same_draws():
    """Non-trivial p-values (0.139 to 0.400: the step-down and the monotone step both matter), equal to
    pyfixest's to the last bit, and pyfixest's are still the ones it printed."""
    ours, theirs = pyfixest_romano_wolf()
    assert ours == pytest.approx(theirs, abs=1e-15)
    assert theirs == pytest.approx([float(p) for p in PYFIXEST_PRINTED], abs=5e-4)


def test_holm_is_statsmodels_holm():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.20, 0.04])
    assert multiplicity.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)


def test_independent_outcomes_give_sidak_and_identical_ones_give_the_p_value_itself():
    """Known limits of the step-down max-|t|: with independent statistics the first step is Sidak's
    1 - (1 - p)^k and the second 1 - (1 - p)^(k-1); with perfectly correlated ones there is nothing to
    adjust for. Within Monte Carlo error of 9,999 draws (SE about 0.005)."""
    p = np.array([0.01, 0.2, 0.5])
    independent = multiplicity.romano_wolf(p, np.eye(3), seed=1)
    assert independent[0] == pytest.approx(1 - 0.99**3, abs=0.006)
    assert independent[1] == pytest.approx(1 - 0.8**2, abs=0.015)
    assert independent[2] == pytest.approx(0.5, abs=0.015)
    same = multiplicity.romano_wolf(np.array([0.02, 0.02, 0.02]), np.ones((3, 3)), seed=1)
    assert same == pytest.approx([0.02] * 3, abs=0.004)


def test_family_wise_error_near_5_percent_never_above_bonferroni_and_power_at_least_holms():
    """2,000 families of 5 statistics with correlation 0.6 drawn from their exact null (then two of them with
    effects): any null rejected in 5% +- 3 Monte Carlo SEs (1.5 points) of families; no adjusted p-value above
    Bonferroni's (k p) beyond the Monte Carlo error of 999 draws; at least as many false nulls rejected as
    Holm rejects, and more, as the correlation is worth something."""
    rng = np.random.default_rng(7)
    k, reps = 5, 2000
    corr = np.full((k, k), 0.6) + 0.4 * np.eye(k)
    root = np.linalg.cholesky(corr)
    shift = np.array([3.0, 2.5, 0.0, 0.0, 0.0])
    any_null, above_bonferroni = 0, 0
    true_rejections = {"rw": 0, "holm": 0}
    for r in range(reps):
        z = root @ rng.standard_normal(k)
        p0 = 2 * stats.norm.sf(np.abs(z))
        rw = multiplicity.romano_wolf(p0, corr, seed=r, draws=999)
        any_null += rw.min() < 0.05
        above_bonferroni += (rw > np.minimum(p0 * k, 1) + 0.02).any()
        p1 = 2 * stats.norm.sf(np.abs(z + shift))
        true_rejections["rw"] += (multiplicity.romano_wolf(p1, corr, seed=r, draws=999)[:2] < 0.05).sum()
        true_rejections["holm"] += (multiplicity.holm(p1)[:2] < 0.05).sum()
    fwer = any_null / reps
    assert abs(fwer - 0.05) < 0.015, fwer
    assert above_bonferroni == 0
    assert true_rejections["rw"] >= true_rejections["holm"]
    assert true_rejections["rw"] > 1.02 * true_rejections["holm"]  # correlation 0.6 is worth something


def test_influence_functions_give_the_exact_covariance_of_two_differences_in_means():
    """For differences in means the covariance of two outcomes' estimates is sum over each group of
    (a - mean a)(b - mean b) / n_group^2. The second outcome's rows come shuffled and without 30 people
    (who answered only the first): the influence values are matched by person, not by row."""
    rng = np.random.default_rng(3)
    n = 400
    people = pd.DataFrame({"unit": [f"u{i}" for i in range(n)], "treated": rng.integers(0, 2, n)})
    a = rng.normal(size=n)
    b = 0.7 * a + rng.normal(size=n)
    first = people.assign(y1=a)
    keep = rng.permutation(n)[30:]
    second = people.assign(y1=b).iloc[keep]
    ea = difference_in_means(first, outcome="a")
    eb = difference_in_means(second, outcome="b")
    corr = multiplicity.correlation([ea.influence, eb.influence])
    both = people.assign(a=a, b=b).iloc[keep]
    full = people.assign(a=a)
    cov = sum(((g["a"] - full.loc[full.treated == t, "a"].mean()) * (g["b"] - g["b"].mean())).sum()
              / ((full.treated == t).sum() * (both.treated == t).sum()) for t, g in both.groupby("treated"))
    var_a = sum(g["a"].var(ddof=0) / len(g) for _, g in full.groupby("treated"))
    var_b = sum(g["b"].var(ddof=0) / len(g) for _, g in both.groupby("treated"))
    assert corr[0, 1] == pytest.approx(cov / np.sqrt(var_a * var_b), abs=1e-12)


def _manifest(design_type: str, **design) -> Manifest:
    return Manifest.model_validate({
        "id": "many-outcomes-test", "title": "Four outcomes", "synthetic": True,
        "programme": {"name": "Club", "family": "other", "organisation": "Test", "places": ["Here"],
                      "start_date": "2024-01-01", "end_date": "2024-06-30"},
        "design": {"type": design_type, "unit_id": "id", "treatment": "took_part", "wave": "wave",
                   "baseline": "before", "follow_up": "after", "covariates": ["age"], **design},
        "outcomes": [{"column": c, "measure": "mixing_different_backgrounds", "primary": c == "main"}
                     for c in ("main", "s1", "s2", "s3")],
        "files": [{"path": "data.csv"}], "seed": 5,
    })


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 1200
    age = rng.normal(size=n)
    treated = rng.binomial(1, expit(0.5 * age))
    common = rng.normal(size=n)
    base = pd.DataFrame({"unit": [f"p{i}" for i in range(n)], "treated": treated, "age": age})
    before, after = {}, {}
    for c, effect in {"main": 0.4, "s1": 0.3, "s2": 0.0, "s3": 0.0}.items():
        before[c] = 3 + 0.5 * age + rng.normal(0, 0.8, n)
        after[c] = before[c] + 0.2 * age + effect * treated + 0.6 * common + rng.normal(0, 0.6, n)
    return pd.concat([base.assign(wave="before", period=1, **before),
                      base.assign(wave="after", period=2, **after)], ignore_index=True)


def test_the_plan_adjusts_secondary_outcomes_together_and_tests_the_primary_alone(panel):
    table = estimate_impacts(panel, _manifest("did"), load_measures()).to_table()
    rows = table[table.kind == "overall"].set_index("outcome")
    assert pd.isna(rows.loc["main", "p_value_adjusted"]) and rows.loc["main", "adjustment"] is None
    secondary = rows.loc[["s1", "s2", "s3"]]
    assert (secondary["adjustment"] == "romano_wolf").all() and (secondary["adjusted_for"] == 3).all()
    assert (secondary["p_value_adjusted"] >= secondary["p_value"]).all()
    assert (secondary["p_value_adjusted"] <= multiplicity.holm(secondary["p_value"]) + 0.002).all()
    assert secondary.loc["s1", "p_value_adjusted"] < 0.05  # the real effect survives the adjustment
    again = estimate_impacts(panel, _manifest("did"), load_measures()).to_table()
    assert again["p_value_adjusted"].equals(table["p_value_adjusted"])  # seeded: the same book every run


def test_matching_has_no_influence_function_so_its_secondary_outcomes_get_holm(panel):
    table = estimate_impacts(panel, _manifest("matching"), load_measures()).to_table()
    secondary = table[(table.kind == "overall") & (table.outcome != "main")]
    assert (secondary["adjustment"] == "holm").all()
    assert secondary["p_value_adjusted"].to_numpy() == pytest.approx(multiplicity.holm(secondary["p_value"]))


def test_an_adjusted_p_value_is_hidden_with_its_estimate():
    rows = pd.DataFrame([{"outcome": "s1", "estimate": 0.2, "p_value": 0.01, "p_value_adjusted": 0.03,
                          "n_treated": 6, "n_comparison": 40},
                         {"outcome": "s2", "estimate": 0.1, "p_value": 0.2, "p_value_adjusted": 0.4,
                          "n_treated": 60, "n_comparison": 40}])
    out = disclosure.suppress_estimates(rows)
    assert out.loc[0, "p_value_adjusted"] is None and out.loc[1, "p_value_adjusted"] == 0.4


def test_the_page_words_for_a_secondary_outcome_follow_its_adjusted_p_value():
    record = SimpleNamespace(design=SimpleNamespace(
        clear_result="People who took part did **{direction}** on {name} than similar people who did not: "
                     "a difference of",
        unclear_result="**We cannot tell** whether the programme changed {name}"))
    outcome = SimpleNamespace(measure_name="Belonging", units="scale points", scale_min=1, scale_max=5)
    effect = SimpleNamespace(estimate=0.2, ci_low=0.02, ci_high=0.38, units="scale points", p_value=0.03,
                             p_value_adjusted=0.09, adjusted_for=4)
    unclear = secondary_sentence(record, outcome, effect)
    assert unclear.startswith("**We cannot tell** whether the programme changed belonging")
    assert "adjusted p = 0.090, unadjusted p = 0.030" in unclear
    clear = secondary_sentence(record, outcome, SimpleNamespace(**{**vars(effect), "p_value_adjusted": 0.04}))
    assert clear.startswith("People who took part did **better** on belonging")
