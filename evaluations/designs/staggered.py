"""A staggered roll-out: places start the programme in different waves (Callaway & Sant'Anna 2021).

Each cohort (units first taking part in wave g) is compared, wave by wave, with units not taking
part, and the group-time effects are averaged into the overall, by-cohort, by-calendar-wave and
event-time summaries (evaluations/estimators/staggered/).
"""
from __future__ import annotations

from evaluations.designs import samples
from evaluations.designs.base import StudyDesign
from evaluations.registry import Estimator, Manifest, Sample

ESTIMATORS = (Estimator.callaway_santanna, Estimator.did)  # did: the name older manifests used for it


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
        for modifier in d.effect_modifiers:  # group-time effects within each level, aggregated
            result = staggered_by_modifier(panel, modifier=modifier, **common)
            out.subgroups += [level.effect for level in result.levels]
            if result.equality_test is not None:
                out.heterogeneity.append((outcome, result.equality_test))
            out.skipped_subgroups += [(outcome, modifier, skipped.level) for skipped in result.skipped]
