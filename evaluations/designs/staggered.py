"""A staggered roll-out: places start the programme in different waves (Callaway & Sant'Anna 2021).

Each cohort (units first taking part in wave g) is compared, wave by wave, with units not taking
part, and the group-time effects are averaged into the overall, by-cohort, by-calendar-wave and
event-time summaries (evaluations/estimators/staggered/).

Where the event study has two or more pre-programme event times besides the base period (a cohort
with three or more waves before it starts), each outcome also gets Rambachan & Roth's (2023)
bounds under relative magnitudes (evaluations/sensitivity/honest_did.py): how far the groups' trends
could drift apart after the start, relative to the largest wave-to-wave drift seen before it, before
the effect could be zero. They bound the first wave after the start (e = 0, HonestDiD's default
target), not the average over later waves: the restriction lets the drift grow by up to Mbar times
the largest pre-programme change every wave, so the average's bounds mostly say how many waves
followed, while e = 0 lies as far from the base period as each pre-programme change does. They read
the universal-base event study (every wave against the one before the cohort started, as R's
honest_did requires); the published event study keeps the varying base, and its e = 0 point is
the same estimate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from evaluations.designs import samples
from evaluations.designs.base import StudyDesign
from evaluations.registry import Estimator, Manifest, Sample

ESTIMATORS = (Estimator.callaway_santanna, Estimator.did)  # did: the name older manifests used for it
DRIFT_MBAR = 1.0  # the robust interval published: post-programme drift no larger than the largest one before
DRIFT_METHOD = ("Rambachan-Roth relative magnitudes (HonestDiD C-LF), effect in the first wave after the start, "
                "universal base period")


@dataclass(frozen=True)
class TrendDriftBounds:
    """One outcome's relative-magnitudes bounds on the e = 0 effect, as a row of the impacts table."""

    outcome: str
    first_event_time: int  # the event times the bounds used, the base period -1 left out
    last_event_time: int
    estimate: float  # the e = 0 effect
    std_error: float
    lower: float  # the robust 95% interval at DRIFT_MBAR; -inf / inf where it reached the grid's edge
    upper: float  # (NaN both: no value accepted)
    breakdown_mbar: float | None  # None: not even exactly parallel trends keep zero out of the interval
    smallest_cohort: int  # the fewest units of a cohort, and of comparison units, in one of the cells used
    smallest_comparison: int

    def as_row(self) -> dict:
        """kind "trend_drift"; subgroup the event times used, statistic the breakdown Mbar."""
        return {"outcome": self.outcome, "kind": "trend_drift", "estimator": DRIFT_METHOD,
                "subgroup": f"e={self.first_event_time}..{self.last_event_time}", "estimate": self.estimate,
                "std_error": self.std_error, "ci_low": self.lower, "ci_high": self.upper,
                "statistic": math.nan if self.breakdown_mbar is None else self.breakdown_mbar,
                "n_treated": self.smallest_cohort, "n_comparison": self.smallest_comparison}


def trend_drift_bounds(panel, *, outcome: str, **columns) -> TrendDriftBounds | None:
    """The bounds for one outcome from a universal-base refit; None with fewer than two pre-programme
    event times, non-consecutive event times, or a needed event time without a standard error."""
    from evaluations.estimators.staggered import universal_event_study
    from evaluations.sensitivity import honest_did

    event = universal_event_study(panel, outcome=outcome, **columns)
    times = list(event.times)
    if times != list(range(times[0], times[-1] + 1)) or honest_did.REFERENCE_EVENT_TIME not in times:
        return None  # an event time without any cell: the pre-programme drifts are not wave to wave
    study = honest_did.from_event_times(times, event.estimates, event.covariance)
    if study is None:
        return None
    first = times.index(honest_did.REFERENCE_EVENT_TIME) - study.n_pre
    used = [k for k in range(first, first + study.n_pre + 1 + study.n_post)
            if times[k] != honest_did.REFERENCE_EVENT_TIME]
    interval = honest_did.robust_interval(study, DRIFT_MBAR)
    lower, upper = (math.nan, math.nan) if interval.lower is None else (interval.lower, interval.upper)
    if interval.open_ended:  # accepted at the grid's edge: the set goes on beyond it
        grid = study.grid(DRIFT_MBAR)
        lower = -math.inf if lower <= grid[0] else lower
        upper = math.inf if upper >= grid[-1] else upper
    return TrendDriftBounds(
        outcome=outcome, first_event_time=times[used[0]], last_event_time=times[used[-1]],
        estimate=float(study.betahat[study.n_pre]), std_error=study.sd_theta(), lower=lower, upper=upper,
        breakdown_mbar=honest_did.breakdown_mbar(study),
        smallest_cohort=min(event.smallest_cohort[k] for k in used),
        smallest_comparison=min(event.smallest_comparison[k] for k in used))


class Staggered(StudyDesign):
    key = "staggered"
    name = "Comparison group, before and after, with a staggered roll-out (difference-in-differences)"
    padlocks, padlock_words = 4, "a comparison group compared over time (difference-in-differences)"
    sms_level, sms_words = 3, "before and after, against a comparison group"
    default_estimator = Estimator.callaway_santanna
    allowed_estimators = ESTIMATORS

    @property
    def weighted_estimators(self):
        return ESTIMATORS

    def manifest_problems(self, manifest: Manifest) -> list[str]:
        problems = super().manifest_problems(manifest)
        d = manifest.design
        if not d.waves or len(d.waves) < 3:
            problems.append("design.first_treated is set (a staggered roll-out), so design.waves must list "
                            "three or more wave labels in time order")
        if d.type.value not in ("did", "matched_did"):
            problems.append("a staggered roll-out (design.first_treated) needs design.type: did")
        if d.sample != Sample.panel:
            problems.append("a staggered roll-out is analysed on a panel (the same units every wave); repeated "
                            "cross-sections are not supported for it yet: remove design.sample")
        if any(f.layout == "wide" for f in manifest.files):
            problems.append("staggered roll-outs need long-layout files (one row per unit and wave)")
        return problems

    def _wave_problems(self, d) -> list[str]:
        return ["design.waves lists the same wave twice"] if d.waves and len(set(d.waves)) != len(d.waves) else []

    def sample(self, panel, outcome, manifest):
        return samples.baseline_rows(panel)  # characteristics at the first wave; the estimator takes the panel

    def estimate(self, panel, outcome, manifest, units, out) -> None:
        from evaluations.estimators.staggered import staggered_by_modifier, staggered_effect

        d = manifest.design
        common = dict(outcome=outcome, unit="unit", time="period", first_treated="first_treated",
                      cluster="cluster" if d.cluster else None, covariates=list(d.covariates),
                      weights="weight" if d.weights else None)
        est, detail = staggered_effect(panel, units=units, **common)
        out.estimates.append(est)
        out.staggered[outcome] = detail
        bounds = trend_drift_bounds(panel, **common)
        if bounds is not None:
            out.trend_drift.append(bounds)
        for modifier in d.effect_modifiers:  # group-time effects within each level, aggregated
            result = staggered_by_modifier(panel, modifier=modifier, **common)
            out.subgroups += [level.effect for level in result.levels]
            if result.equality_test is not None:
                out.heterogeneity.append((outcome, result.equality_test))
            out.skipped_subgroups += [(outcome, modifier, skipped.level) for skipped in result.skipped]
