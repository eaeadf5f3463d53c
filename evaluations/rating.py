"""Evidence strength: a 0-5 padlock rating in the manner of the EEF's, and the Maryland SMS level.

The initial rating is the weakest of three things, each scored 0-5 as in the EEF's
padlock guidance: the design, the minimum detectable effect size the achieved sample could
find, and attrition. Each problem found in the diagnostics then takes off one padlock.
Every step is kept as a plain-English reason so readers can see why.
"""
from __future__ import annotations

import math

from evaluations import disclosure
from evaluations.designs import design_of
from evaluations.record_model.diagnostics import Diagnostics
from evaluations.record_model.rating import Rating
from evaluations.record_model.record import PublishedDiagnostics
from evaluations.registry import Manifest

# Each design's padlock ceiling and Maryland Scientific Methods Scale level (Sherman et al. 1997;
# What Works Centre for Local Economic Growth) are decided in its module under evaluations/designs/.
MDES_BANDS = [(0.2, 5), (0.3, 4), (0.4, 3), (0.5, 2), (0.6, 1)]  # MDES below the bound -> padlocks
ATTRITION_BANDS = [(0.10, 5), (0.20, 4), (0.30, 3), (0.40, 2), (0.50, 1)]
FEW_CLUSTERS = 20  # cluster-robust inference is unreliable with fewer clusters (Cameron & Miller 2015)
DIFFERENTIAL_ATTRITION = 0.10


def _band(value: float, bands) -> int:
    if value is None or not math.isfinite(value):
        return 0
    return next((p for bound, p in bands if value < bound), 0)


def _smd_words(smd: float, diagnostics: Diagnostics, manifest: Manifest, after: bool) -> str:
    """The largest SMD as a number only when it is the one published beside the balance table."""
    rows = disclosure.balance_rows([r.model_dump() for r in (diagnostics.balance_after if after else diagnostics.balance)])
    published = disclosure.max_abs_smd(rows, manifest.design.covariates, "smd_after" if after else "smd")
    return f"{smd:.2f}" if published is not None and round(smd, 3) == published else "not shown (a small group)"


def rate(manifest: Manifest, diagnostics: Diagnostics, plan_deviations: list[str] | None = None,
         failed_refutations: list[str] | None = None, registration_problems: list[str] | None = None) -> Rating:
    """Padlocks and SMS level from the diagnostics.

    `failed_refutations` defaults to the diagnostics' own `failed_refutations` (DoWhy
    refuters run by run_diagnostics for selection-on-observables designs); pass a list to
    override it. `registration_problems` are full sentences saying why registration.json cannot vouch
    for the registered plan (evaluations/registration.py); each takes off a padlock like a deviation.
    Limited propensity-score overlap (diagnostics `overlap.limited`) takes off
    a padlock for designs whose comparison rests on the covariates (the design object's `rests_on_overlap`).
    """
    if failed_refutations is None:
        failed_refutations = diagnostics.failed_refutations
    d = manifest.design
    design = design_of(d)
    design_p, design_words = design.padlocks, design.padlock_words
    mdes = max(diagnostics.mdes_achieved.values(), default=math.inf)
    mdes_p = _band(mdes, MDES_BANDS)
    att = diagnostics.attrition
    overall = att.overall_attrition
    linked = att.applies
    attr_p = _band(overall, ATTRITION_BANDS) if linked else 5  # no one is followed up: nothing to lose
    initial = min(design_p, mdes_p, attr_p)
    # The rating judges the exact figures, but its sentences are published: a figure that disclosure
    # control hides is worded by the rule it broke, not given (here after primary suppression;
    # `publishable` words them again from the record, after secondary suppression).
    shown_attrition = disclosure.attrition_rates(att.model_dump())
    reasons = [
        f"Design: {design_words} (at most {design_p} padlocks).",
        _mdes_reason(mdes, mdes_p),
        _attrition_reason(overall if isinstance(shown_attrition["overall"], float) else None, attr_p) if linked
        else NO_ATTRITION_REASON,
    ]
    downgrades = []
    # A re-weighting design is judged on the balance its weights achieved, others on the raw groups.
    smd, when = diagnostics.max_abs_smd_covariates_after, " after re-weighting the comparison group"
    if smd is None or not math.isfinite(smd):
        smd, when = diagnostics.max_abs_smd_covariates, ""
    if smd is not None and math.isfinite(smd) and smd > diagnostics.imbalance_threshold and design.judges_baseline_balance:
        downgrades.append(f"The groups differed at baseline{when}: the largest standardised difference in a "
                          f"characteristic was {_smd_words(smd, diagnostics, manifest, bool(when))} "
                          f"(more than {diagnostics.imbalance_threshold}).")
    diff = att.differential_attrition
    if diff is not None and math.isfinite(diff) and diff > DIFFERENTIAL_ATTRITION:
        downgrades.append(_differential_downgrade(diff if isinstance(shown_attrition["differential"], float) else None))
    n_clusters = diagnostics.n_clusters
    if n_clusters is not None and n_clusters < FEW_CLUSTERS:
        downgrades.append(f"Only {n_clusters} clusters: with fewer than {FEW_CLUSTERS}, the uncertainty "
                          "intervals are themselves uncertain.")
    for outcome, test in diagnostics.pre_trend_tests.items():
        if test.p_value < 0.05:
            downgrades.append(f"Before the programme, the groups' {outcome} was already moving apart "
                              f"(pre-trend test p = {test.p_value:.3f}), which undermines the comparison.")
    overlap = diagnostics.overlap
    if overlap is not None and overlap.limited and design.rests_on_overlap:
        downgrades.append(_overlap_downgrade(overlap.reasons))
    for name in failed_refutations or []:
        downgrades.append(f"A robustness check failed: {name}.")
    downgrades += list(registration_problems or [])
    for change in plan_deviations or []:
        downgrades.append(f"The analysis differs from the registered plan: {change}.")
    padlocks = max(0, initial - len(downgrades))
    sms, sms_words = design.sms_level, design.sms_words
    return Rating(padlocks=padlocks, design_padlocks=design_p, mdes_padlocks=mdes_p, attrition_padlocks=attr_p,
                  initial=initial, downgrades=tuple(downgrades), reasons=tuple(reasons), sms_level=sms,
                  sms_reason=f"Level {sms}: {sms_words}.")


# ------------------------------------------------------------------ sentences that quote a figure
# Each is written once here, so the rating and its published wording (after disclosure control)
# cannot drift apart. A figure given as None is one the record does not publish.

def _mdes_reason(mdes, padlocks: int) -> str:
    figure = f"{mdes:.2f} standard deviations" if mdes is not None else \
        "not shown (it rests on an estimate too small to publish)"
    return (f"Sample size: the smallest effect this analysis could reliably detect is {figure} "
            f"(at most {padlocks} padlocks; 5 needs under 0.2).")


NO_ATTRITION_REASON = ("Attrition: not measured: different people answered each wave (repeated cross-sections), "
                       "so no one could drop out; whether the people answering changed is a risk the design "
                       "rating already reflects.")


def _attrition_reason(overall, padlocks: int) -> str:
    share = f"{overall:.0%} of people" if overall is not None else \
        "a share (not shown, to protect a small group) of people"
    return (f"Attrition: {share} who answered at baseline did not answer at follow-up "
            f"(at most {padlocks} padlocks; 5 needs 10% or less).")


def _differential_downgrade(diff) -> str:
    figure = f"{diff:.0%}" if diff is not None else f"more than {DIFFERENTIAL_ATTRITION:.0%}"
    return f"Attrition differed between the groups by {figure} points, so the people left may no longer be comparable."


def _overlap_downgrade(reasons) -> str:
    return "Limited overlap: " + "; ".join(reasons) + "."


def publishable(rating: Rating, published: PublishedDiagnostics) -> Rating:
    """The rating as published: its sentences that quote a figure are worded again from the
    record's published diagnostics (after secondary suppression), so no sentence gives back a
    number the record hides. Padlocks and bands are unchanged: they are judgements."""
    att = published.attrition
    mdes_values = list(published.mdes_achieved.values())
    mdes = max(mdes_values) if mdes_values and all(isinstance(v, float) for v in mdes_values) else None
    reasons = list(rating.reasons)
    reasons[1] = _mdes_reason(mdes, rating.mdes_padlocks)
    if reasons[2] != NO_ATTRITION_REASON:
        reasons[2] = _attrition_reason(att.overall if isinstance(att.overall, float) else None,
                                       rating.attrition_padlocks)
    downgrades = []
    for sentence in rating.downgrades:
        if sentence.startswith("Attrition differed between the groups by"):
            sentence = _differential_downgrade(att.differential if isinstance(att.differential, float) else None)
        elif sentence.startswith("Limited overlap: "):
            sentence = _overlap_downgrade(published.overlap.reasons if published.overlap else [])
        downgrades.append(sentence)
    return rating.model_copy(update={"reasons": tuple(reasons), "downgrades": tuple(downgrades)})
