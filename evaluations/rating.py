"""Evidence strength: a 0-5 padlock rating in the manner of the EEF's, and the Maryland SMS level.

The initial rating is the weakest of three things, each scored 0-5 as in the EEF's
padlock guidance: the design, the minimum detectable effect size the achieved sample could
find, and attrition (the overall share lost: the EEF's bands). Each problem found in the
diagnostics then takes off one padlock. Every step is kept as a plain-English reason so readers
can see why.

Two problems are judged as a What Works Clearinghouse assessor judges them:

* attrition, by the WWC standard: overall and differential attrition against the design's
  boundary (diagnostics/attrition_boundary.py). The attrition reason says the verdict; high
  attrition takes off a padlock. (It replaces a flat 10-point limit on differential attrition:
  every difference above 10.9 points is high attrition under either boundary.) The EEF's bands
  for the overall share still set the attrition padlocks: the WWC verdict is a reason and a
  downgrade, not a band.
* baseline equivalence, by the WWC rule (diagnostics/equivalence.py), for designs that judge
  baseline balance, and for a trial whose attrition is high (the WWC then asks a trial to show
  its analysed groups are still alike). Not satisfied takes off a padlock.

Groups already moving apart before the programme (a pre-trend test) take off one padlock, however
many outcomes show it: it is one threat to the design (its parallel-trends assumption). A primary
outcome's test is judged alone at 5%; the secondary outcomes' tests are Holm-adjusted among
themselves, as their effects are adjusted (estimators/multiplicity.py): five tests at 5% each would
find a divergence by chance in nearly a quarter of evaluations whose groups moved together.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from evaluations import disclosure
from evaluations.designs import design_of
from evaluations.record_model.diagnostics import Diagnostics, PreTrendTest
from evaluations.record_model.rating import Rating
from evaluations.record_model.record import PublishedDiagnostics
from evaluations.registry import Manifest

# Each design's padlock ceiling and Maryland Scientific Methods Scale level (Sherman et al. 1997;
# What Works Centre for Local Economic Growth) are decided in its module under evaluations/designs/.
MDES_BANDS = [(0.2, 5), (0.3, 4), (0.4, 3), (0.5, 2), (0.6, 1)]  # MDES below the bound -> padlocks
ATTRITION_BANDS = [(0.10, 5), (0.20, 4), (0.30, 3), (0.40, 2), (0.50, 1)]
FEW_CLUSTERS = 20  # cluster-robust inference is unreliable with fewer clusters (Cameron & Miller 2015)
PRE_TREND_P = 0.05  # a divergence before the programme is judged at the level the effects are


@dataclass(frozen=True)
class PreTrendJudgement:
    outcome: str
    p_value: float  # the test's own
    p_adjusted: float | None  # Holm-adjusted among the secondary outcomes' tests (None: primary, or the only secondary)

    @property
    def diverging(self) -> bool:
        return (self.p_adjusted if self.p_adjusted is not None else self.p_value) < PRE_TREND_P


def pre_trend_judgements(tests: Mapping[str, PreTrendTest], primary: Iterable[str]) -> list[PreTrendJudgement]:
    """Each outcome's pre-trend test as the rating judges it (module docstring), in the tests' order."""
    from evaluations.estimators.multiplicity import holm  # scipy.stats: not for every importer of the rating

    primary = set(primary)
    secondary = [o for o in tests if o not in primary]
    adjusted = dict(zip(secondary, holm(tests[o].p_value for o in secondary))) if len(secondary) > 1 else {}
    return [PreTrendJudgement(o, t.p_value, float(adjusted[o]) if o in adjusted else None) for o, t in tests.items()]


def _band(value: float, bands) -> int:
    if value is None or not math.isfinite(value):
        return 0
    return next((p for bound, p in bands if value < bound), 0)


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
    shown_overall = overall if isinstance(shown_attrition["overall"], float) else None
    shown_differential = att.differential_attrition if isinstance(shown_attrition["differential"], float) else None
    wwc = diagnostics.wwc_attrition
    reasons = [
        f"Design: {design_words} (at most {design_p} padlocks).",
        _mdes_reason(mdes, mdes_p),
        _attrition_reason(shown_overall, attr_p, wwc) if linked else NO_ATTRITION_REASON,
    ]
    downgrades = []
    high_attrition = wwc is not None and wwc.verdict == "high"
    # The WWC rule, among the people analysed (weighted as a re-weighting estimator weights them).
    equivalence = diagnostics.baseline_equivalence
    if (equivalence is not None and equivalence.verdict == "not_satisfied"
            and (design.judges_baseline_balance or high_attrition)):
        downgrades.append(_equivalence_downgrade(equivalence, trial=not design.judges_baseline_balance,
                                                 manifest=manifest))
    if high_attrition:
        downgrades.append(_wwc_attrition_downgrade(shown_overall, shown_differential, wwc.boundary,
                                                   wwc.max_differential if shown_overall is not None else None,
                                                   beyond=wwc.max_differential is None))
    n_clusters = diagnostics.n_clusters
    if n_clusters is not None and n_clusters < FEW_CLUSTERS:
        downgrades.append(f"Only {n_clusters} clusters: with fewer than {FEW_CLUSTERS}, the uncertainty "
                          "intervals are themselves uncertain.")
    diverging = [j for j in pre_trend_judgements(diagnostics.pre_trend_tests,
                                                 [o.column for o in manifest.primary_outcomes]) if j.diverging]
    if diverging:
        downgrades.append(_pre_trend_downgrade(diverging))
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


def _attrition_reason(overall, padlocks: int, wwc=None) -> str:
    share = f"{overall:.0%} of people" if overall is not None else \
        "a share (not shown, to protect a small group) of people"
    verdict = "" if wwc is None else (
        f" By the What Works Clearinghouse standard ({wwc.boundary} boundary{BOUNDARY_WHY.get(wwc.boundary, '')}), "
        f"attrition is {wwc.verdict}.")
    return (f"Attrition: {share} who answered at baseline did not answer at follow-up "
            f"(at most {padlocks} padlocks; 5 needs 10% or less).{verdict}")


BOUNDARY_WHY = {"cautious": ", for programmes that could change who answers the follow-up",
                "optimistic": ", for programmes unlikely to change who answers the follow-up"}
WWC_ATTRITION_HIGH = "Attrition is high by the What Works Clearinghouse standard"


def _points(share: float) -> str:
    return f"{share * 100:.1f} percentage points"


def _wwc_attrition_downgrade(overall, differential, boundary: str, limit, beyond: bool) -> str:
    """High attrition by the WWC standard. A figure given as None is one the record does not publish
    (the boundary's limit reads the overall rate, so it is given only beside it)."""
    lost = f"with {overall:.0%} of people lost overall" if overall is not None else \
        "with the share lost overall (not shown, to protect a small group)"
    if beyond:
        return f"{WWC_ATTRITION_HIGH} ({boundary} boundary): {lost}, attrition is high whatever the difference " \
               "between the groups."
    allowed = f"the groups' attrition may differ by at most {_points(limit)}" if limit is not None else \
        "the groups' attrition may differ only a little"
    actual = f"they differed by {_points(differential)}" if differential is not None else \
        "they differed by more (the difference is not shown, to protect a small group)"
    return (f"{WWC_ATTRITION_HIGH} ({boundary} boundary): {lost}, {allowed}, and {actual}, so the people left "
            "may no longer be comparable.")


def _equivalence_downgrade(equivalence, trial: bool, manifest: Manifest) -> str:
    """The characteristics that fail the WWC rule, quoting g and the name as the record publishes them (a
    category too small to publish is 'another group')."""
    from evaluations.covariates import hidden_labels
    from evaluations.diagnostics.equivalence import ADJUSTABLE, SATISFIES

    rows = disclosure.equivalence_rows([r.model_dump() for r in equivalence.rows],
                                       hidden_labels(manifest.design.categorical_covariates))
    failing = []
    for raw, shown in zip(equivalence.rows, rows):
        if raw.verdict != "not_satisfied":
            continue
        what = f"{shown['variable']} at baseline" if raw.kind == "baseline outcome" else shown["variable"]
        if shown["suppressed"]:
            failing.append(f"{what} (not shown: a small group)")
        elif abs(raw.g) > ADJUSTABLE:
            failing.append(f"{what} (g = {shown['g']:.2f}, more than {ADJUSTABLE})")
        else:
            failing.append(f"{what} (g = {shown['g']:.2f}, more than {SATISFIES}, and the analysis does not adjust "
                           "for it)")
    lead = ("Attrition was high, so the trial must show that the people analysed were still alike at baseline; "
            "they were not" if trial else
            "The groups analysed were not alike at baseline")
    return f"{lead} by the What Works Clearinghouse rule: " + "; ".join(failing) + "."


def _pre_trend_downgrade(diverging: list[PreTrendJudgement]) -> str:
    tests = "; ".join(f"{j.outcome}: p = {j.p_value:.3f}" + ("" if j.p_adjusted is None else
                      f", {j.p_adjusted:.3f} adjusted for the secondary outcomes tested") for j in diverging)
    which = "groups' " + " and ".join(j.outcome for j in diverging)
    verb = "was" if len(diverging) == 1 else "were"
    return (f"Before the programme, the {which} {verb} already moving apart (pre-trend "
            f"test{'s' if len(diverging) > 1 else ''}: {tests}), which undermines the comparison.")


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
    overall = att.overall if isinstance(att.overall, float) else None
    wwc = published.wwc_attrition
    if reasons[2] != NO_ATTRITION_REASON:
        reasons[2] = _attrition_reason(overall, rating.attrition_padlocks, wwc)
    downgrades = []
    for sentence in rating.downgrades:
        if sentence.startswith(WWC_ATTRITION_HIGH) and wwc is not None:
            limit = wwc.max_differential if isinstance(wwc.max_differential, float) and overall is not None else None
            sentence = _wwc_attrition_downgrade(overall, att.differential if isinstance(att.differential, float)
                                                else None, wwc.boundary, limit, beyond=wwc.max_differential is None)
        elif sentence.startswith("Limited overlap: "):
            sentence = _overlap_downgrade(published.overlap.reasons if published.overlap else [])
        downgrades.append(sentence)
    return rating.model_copy(update={"reasons": tuple(reasons), "downgrades": tuple(downgrades)})
