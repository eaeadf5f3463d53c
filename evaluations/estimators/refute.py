"""Refutations of a selection-on-observables ATT, worded for the evidence page.

DoWhy's placebo-treatment, random-common-cause and data-subset refuters (dowhy_bridge.py) re-fit
the same DoWhy estimator as estimate_att (matching.py). They are given an untouched copy of the
data (DoWhy's weighting estimator writes propensity-score columns into the data it estimates on,
and refuters fed such data would silently re-use the old scores). Verdicts follow DoWhy's own test (two-sided,
bootstrap-type with 100 or more simulations): "passed" when p >= 0.05, i.e. zero is a plausible
placebo effect, and the original estimate is plausible under a random common cause or a data subset.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluations.estimators.checks import whole_number
from evaluations.estimators.dowhy_bridge import check_method, checked_fit, refute_with_dowhy
from evaluations.estimators.nearest_neighbour import check_spec


@dataclass(frozen=True)
class Refutation:
    """One DoWhy refutation of an estimate, with a verdict in plain English."""

    name: str  # "placebo treatment", "random common cause", "data subset"
    method: str
    original_effect: float
    new_effect: float
    p_value: float
    verdict: str  # "passed" or "failed"
    explanation: str
    n_simulations: int = 0


# The explanations quote no figure: the page's table beside them shows the estimates and p, formatted in
# one place (evaluations/publish/pages.py fmt_*), so a sentence never reads a number another way.
_TEXT = {
    "placebo treatment": (
        "The treatment column was replaced by a random reshuffle of itself {n} times and the effect "
        "re-estimated. A real effect should vanish: the placebo effect (after the change) should be close to "
        "zero, and p is for a zero placebo effect."
    ),
    "random common cause": (
        "A made-up covariate of pure noise was added to the adjustment set {n} times. A sound estimate "
        "should barely move: after the change it should be close to the estimate."
    ),
    "data subset": (
        "The effect was re-estimated on {n} random 80% subsets of the data. A stable estimate should "
        "stay close: after the change it should be close to the estimate."
    ),
}


def refute(df: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str], method: str = "matching",
           seed: int = 0, k: int = 1, caliper: float | None = 0.2, replace: bool = True,
           num_simulations: int = 100, weights: bool = False) -> tuple[Refutation, ...]:
    """Run DoWhy's placebo-treatment, random-common-cause and data-subset refuters on the ATT.

    The placebo is a permutation of the treatment column; every refuter is seeded from `seed`.
    ``weights``: the estimator uses the ``weight`` column (survey weights), as estimate_att does.
    Raises ValueError for the same bad inputs as estimate_att.
    """
    check_method(method)
    check_spec(k, caliper)
    whole_number(num_simulations, "num_simulations", 10)
    data, fit = checked_fit(df, outcome=outcome, treatment=treatment, covariates=covariates, method=method,
                            k=k, caliper=caliper, replace=replace, weights=weights)
    covariates = list(covariates)
    n = int(num_simulations)
    out = []
    for r in refute_with_dowhy(data, fit, outcome=outcome, treatment=treatment, covariates=covariates,
                               seed=seed, num_simulations=n):
        verdict = "passed" if r.p_value >= 0.05 else "failed"
        text = _TEXT[r.name].format(n=n, new=r.new_effect, orig=r.original_effect, p=r.p_value)
        text += " Passed." if verdict == "passed" else " Failed: treat the estimate with caution."
        out.append(Refutation(name=r.name, method=method, original_effect=r.original_effect,
                              new_effect=r.new_effect, p_value=r.p_value, verdict=verdict,
                              explanation=text, n_simulations=n))
    return tuple(out)
