"""Refutations: DoWhy's robustness checks of a selection-on-observables estimate.

For designs whose comparison rests on the covariates (their design object says `refuted`), the primary
outcomes' estimates are re-run through DoWhy's refuters (evaluations.estimators.refute, by DoWhy's
public CausalModel.refute_estimate): a placebo treatment (the treatment column randomly permuted: the
effect should vanish), a random common cause (a made-up noise covariate added: the estimate should not
move) and a data subset (random 80% subsets: the estimate should be stable). The estimator
refuted is the one the analysis uses, fitted through DoWhy: matching, IPW or AIPW on the follow-up
score, or for the doubly robust DiD the doubly robust ATT of each person's change (the same
estimator without DRDID's trimming of comparison people whose score reaches 0.995), with the
survey weights when the manifest gives them.
Verdicts follow DoWhy's own significance test (``passed`` when p >= 0.05), with 100
simulations so DoWhy uses its bootstrap-type test.
"""
from __future__ import annotations

import pandas as pd

from evaluations.designs import design_of
from evaluations.registry import Estimator, Manifest

N_SIMULATIONS = 100


def refutations(wides: dict[str, pd.DataFrame], manifest: Manifest, num_simulations: int = N_SIMULATIONS) -> list[dict]:
    """Run the three refuters for each outcome in `wides` (outcome -> one-row-per-person table).

    Returns plain dicts: name, outcome, verdict, new_effect, original_effect, p_value,
    explanation, n_simulations. Empty for designs that do not rest on the covariates.
    """
    d = manifest.design
    if not design_of(d).refuted or not d.covariates:
        return []
    from evaluations.designs.two_wave import DOWHY_METHOD

    if d.analysis_estimator not in DOWHY_METHOD:
        return []
    from evaluations.estimators.refute import refute  # DoWhy is slow to import

    method = DOWHY_METHOD[d.analysis_estimator]
    target = "change" if d.analysis_estimator == Estimator.doubly_robust_did else "y1"  # the outcome it estimates
    out = []
    for outcome, wide in wides.items():
        data = wide.assign(change=wide["y1"] - wide["y0"])
        covs = [c for c in d.covariates if data[c].nunique() > 1]
        if not covs:
            continue
        for r in refute(data, outcome=target, treatment="treated", covariates=covs, method=method,
                        seed=manifest.seed, k=d.matching.k, caliper=d.matching.caliper, replace=d.matching.replace,
                        num_simulations=num_simulations, weights=d.weights is not None):
            out.append({"name": r.name, "outcome": outcome, "verdict": r.verdict, "new_effect": r.new_effect,
                        "original_effect": r.original_effect, "p_value": r.p_value,
                        "explanation": r.explanation, "n_simulations": r.n_simulations})
    return out


def failed(refuted: list[dict]) -> list[str]:
    """Names for the rating, e.g. "placebo treatment (mixing)"."""
    return [f"{r['name']} ({r['outcome']})" for r in refuted if r["verdict"] != "passed"]
