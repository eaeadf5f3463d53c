"""What the two-wave designs on a linked panel share: estimator dispatch and effects by group.

The trial, the two-group DiD, the matched / doubly robust DiD and the after-only matched
comparison all analyse people followed from baseline to follow-up; they differ in their
default estimator, diagnostics and words (their own modules), not in how an estimator is called.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from evaluations.designs import samples
from evaluations.designs.base import CHANGE_SCORE_ESTIMATORS, StudyDesign
from evaluations.registry import SELECTION_ON_OBSERVABLES, Estimator, Manifest

FOREST_CHECK_MAX = 100_000  # people: the unpublished forest cross-check runs on a subsample above this
# The estimators fitted through estimators.matching (DoWhy), by the method name it takes; the
# doubly robust DiD is its doubly robust ATT of each person's change.
DOWHY_METHOD = {Estimator.ps_matching: "matching", Estimator.ipw: "ipw", Estimator.doubly_robust: "doubly_robust",
                Estimator.doubly_robust_did: "doubly_robust"}


class TwoWavePanel(StudyDesign):
    linked_waves = True
    bounds_attrition = True  # people followed from baseline, against a comparison group: Lee bounds apply

    def data_problems(self, folder, manifest: Manifest, valid: pd.DataFrame) -> list[str]:
        return _unlinked_waves(folder, manifest, valid)

    def estimate(self, panel, outcome, manifest, units, out) -> None:
        from evaluations.estimators.did import did_two_period, doubly_robust_did
        from evaluations.estimators.rct import ancova, difference_in_means

        d = manifest.design
        clustered, weighted = d.cluster is not None, d.weights is not None
        chosen = d.analysis_estimator
        data = self.sample(panel, outcome, manifest)
        if chosen in (Estimator.ancova, Estimator.difference_in_means):
            if chosen == Estimator.ancova and data["y0"].notna().any():
                out.estimates.append(ancova(data, outcome=outcome, covariates=d.covariates, cluster=clustered,
                                            weights=weighted, units=units))
                out.sensitivity.append(difference_in_means(data, outcome=outcome, cluster=clustered,
                                                           weights=weighted, units=units))
            else:
                out.estimates.append(difference_in_means(data, outcome=outcome, cluster=clustered,
                                                         weights=weighted, units=units))
        elif chosen in SELECTION_ON_OBSERVABLES:
            out.estimates.append(_selection_on_observables(data, outcome, manifest, units))
        elif chosen == Estimator.doubly_robust_did:
            out.estimates.append(doubly_robust_did(data, outcome=outcome, covariates=d.covariates, seed=manifest.seed,
                                                   units=units, cluster=clustered, weights=weighted))
        else:
            out.estimates.append(did_two_period(data, outcome=outcome, covariates=d.covariates, cluster=clustered,
                                                weights=weighted, units=units))
        if d.effect_modifiers:
            _effects_by_group(samples.two_period_wide(panel, outcome, manifest), outcome, manifest, units, out)


def _selection_on_observables(data: pd.DataFrame, outcome: str, manifest: Manifest, units: str):
    """The ATT on the follow-up outcome by matching, IPW or doubly robust AIPW (through DoWhy).

    For an after-only comparison (the `matching` design): everyone followed up, compared on
    the covariates. The matching options (k, caliper, replacement) come from the manifest.
    """
    from evaluations.estimators.matching import estimate_att  # DoWhy is slow to import; only this path needs it

    d = manifest.design
    est = estimate_att(data, outcome="y1", treatment="treated", covariates=list(d.covariates),
                       method=DOWHY_METHOD[d.analysis_estimator],
                       k=d.matching.k, caliper=d.matching.caliper, replace=d.matching.replace, seed=manifest.seed,
                       units=units, cluster="cluster" if d.cluster else None, weights=d.weights is not None)
    return dataclasses.replace(est, outcome=outcome)


def _effects_by_group(wide: pd.DataFrame, outcome: str, manifest: Manifest, units: str, out) -> None:
    """Published EconML group average effects, with the unpublished cross-checks (plan.py says why)."""
    from evaluations.estimators.did import subgroup_effects
    from evaluations.estimators.heterogeneity import SMALL_SAMPLE, group_average_effects

    d = manifest.design
    clustered, weighted = d.cluster is not None, d.weights is not None
    for result in group_average_effects(wide, outcome=outcome, modifiers=d.effect_modifiers,
                                        covariates=d.covariates, cluster=clustered, seed=manifest.seed, units=units,
                                        weights=weighted):
        out.subgroups.extend(result.gates)
        if result.test:
            out.heterogeneity.append((outcome, result.test))
        out.skipped_subgroups += [(outcome, result.modifier, level) for level in result.skipped_levels]
    for modifier in d.effect_modifiers:
        subs, test = subgroup_effects(wide, outcome=outcome, modifier=modifier, covariates=d.covariates,
                                      cluster=clustered, units=units, weights=weighted)
        out.subgroup_checks.extend(subs)
        if test:
            out.heterogeneity_checks.append((outcome, test))
    if len(wide) >= SMALL_SAMPLE and not weighted:  # EconML's forest check takes no survey weights here
        checked, note = wide, ""
        if len(wide) > FOREST_CHECK_MAX:  # the forest took over 300 s at a million people (benchmarks/)
            checked = wide.sample(n=FOREST_CHECK_MAX, random_state=manifest.seed)
            note = f"; on a random subsample of {FOREST_CHECK_MAX:,} people"
        for result in group_average_effects(checked, outcome=outcome, modifiers=d.effect_modifiers,
                                            covariates=d.covariates, cluster=clustered, seed=manifest.seed,
                                            units=units, method="forest"):
            out.subgroup_checks += [dataclasses.replace(g, estimator=g.estimator + note) for g in result.gates]
            if result.test:
                out.heterogeneity_checks.append((outcome, result.test))


def _unlinked_waves(folder, manifest: Manifest, valid: pd.DataFrame) -> list[str]:
    """A change-score estimator needs people answering at both waves. A repeated cross-section
    (different people each wave, e.g. an anonymous survey) is refused here, with the fix."""
    from evaluations.intake.validate import MIN_UNITS_PER_GROUP

    d = manifest.design
    if d.analysis_estimator not in CHANGE_SCORE_ESTIMATORS:
        return []
    at_follow_up = valid.loc[valid[d.wave] == d.follow_up, d.unit_id].unique()
    baseline = valid[valid[d.wave] == d.baseline]
    linked = baseline[baseline[d.unit_id].isin(at_follow_up)].drop_duplicates(d.unit_id)
    t = linked[d.treatment_column]
    groups = {"programme": int((t == 1).sum()), "comparison": int((t == 0).sum())}
    short = {g: n for g, n in groups.items() if n < MIN_UNITS_PER_GROUP}
    if not short:
        return []
    found = " and ".join(f"{n} in the {g} group" for g, n in short.items())
    return [f"{folder}: only {found} answered both {d.baseline!r} and {d.follow_up!r} under the same "
            f"'{d.unit_id}' (at least {MIN_UNITS_PER_GROUP} per group are needed). The {d.analysis_estimator.value} "
            "estimator compares each person's own change, so it needs the same people at both waves. If your "
            "survey asks different people each wave (a repeated cross-section), add `sample: repeated_cross_section` "
            f"under design; if they are the same people, make '{d.unit_id}' the same for a person in every wave"]
