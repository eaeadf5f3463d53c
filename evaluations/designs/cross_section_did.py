"""Difference-in-differences on repeated cross-sections: different people answer each wave (an
anonymous survey, a neighbourhood survey asking new residents), against a comparison group.

Nothing links a person's answers, so the change is measured on group-by-wave means: by regression
DiD (type: did) or by Sant'Anna & Zhao's doubly robust DiD for repeated cross-sections (type:
matched_did). Both assume who answers in each group does not change in a way that matters
(stable composition), which the page says.
"""
from __future__ import annotations

import pandas as pd

from evaluations.designs import samples
from evaluations.designs.base import StudyDesign
from evaluations.registry import Estimator, Manifest

ESTIMATORS = (Estimator.did, Estimator.doubly_robust_did)


class CrossSectionDiD(StudyDesign):
    key = "did_repeated_cross_section"
    name = "Comparison group, before and after, different people each wave (difference-in-differences on repeated cross-sections)"
    padlocks = 3
    padlock_words = ("a comparison group compared over time, with different people answering each wave "
                     "(repeated cross-sections), so a change in who answered could look like an effect")
    sms_level, sms_words = 3, "before and after, against a comparison group"
    default_estimator = Estimator.did
    allowed_estimators = ESTIMATORS
    linked_waves = False
    supports_effect_modifiers = False
    effect_explanation = ("Different people answered each survey, so effects are differences in how much each "
                          "outcome's average changed in the programme group compared with the comparison group, on "
                          "the outcome's own scale, oriented so that a positive number is an improvement.")

    def manifest_problems(self, manifest: Manifest) -> list[str]:
        problems = super().manifest_problems(manifest)
        d = manifest.design
        if d.analysis_estimator == Estimator.doubly_robust_did and not d.covariates:
            problems.append("the doubly robust DiD compares people with similar characteristics, so "
                            "design.covariates must list them (or use design.estimator: did)")
        return problems

    @property
    def weighted_estimators(self):
        return ESTIMATORS  # both kernels take survey weights

    def data_problems(self, folder, manifest: Manifest, valid: pd.DataFrame) -> list[str]:
        from evaluations.intake.validate import MIN_UNITS_PER_GROUP

        d = manifest.design
        problems = []
        for wave in (d.baseline, d.follow_up):
            rows = valid[valid[d.wave] == wave]
            for name, code in (("programme", 1), ("comparison", 0)):
                n = int((rows[d.treatment_column] == code).sum())
                if n < MIN_UNITS_PER_GROUP:
                    problems.append(f"{folder}: the {name} group has {n} answers in wave {wave!r}; a comparison of "
                                    f"repeated cross-sections needs at least {MIN_UNITS_PER_GROUP} in each group in "
                                    "each wave: add the missing answers or check the wave and group columns")
        return problems

    def sample(self, panel, outcome, manifest):
        return samples.cross_sections(panel, outcome, manifest)

    def estimate(self, panel, outcome, manifest, units, out) -> None:
        from evaluations.estimators.cross_sections import did_repeated_cross_sections, doubly_robust_did_rcs

        d = manifest.design
        kernel = doubly_robust_did_rcs if d.analysis_estimator == Estimator.doubly_robust_did \
            else did_repeated_cross_sections
        out.estimates.append(kernel(self.sample(panel, outcome, manifest), outcome=outcome,
                                    covariates=list(d.covariates), cluster=d.cluster is not None,
                                    weights=d.weights is not None, units=units))


class MatchedCrossSectionDiD(CrossSectionDiD):
    key = "matched_did_repeated_cross_section"
    name = ("Comparison group made comparable on characteristics, before and after, different people each wave "
            "(doubly robust difference-in-differences on repeated cross-sections)")
    default_estimator = Estimator.doubly_robust_did
    reweights_comparison = False  # its weights are not the ATT odds weights the balance table shows
    rests_on_overlap = True
