"""Before and after, with no comparison group: the change, not the programme's impact.

Without a comparison group the change over the programme includes everything else that changed
(people growing older, the seasons, other services), so the page words it as change and the
rating gives it no padlocks for impact. With the same people at both waves the mean paired change;
with different people each wave the difference between the two waves' means.
"""
from __future__ import annotations

from evaluations.designs import samples
from evaluations.designs.base import StudyDesign
from evaluations.registry import Estimator, Manifest, Sample


class BeforeAfter(StudyDesign):
    key = "pre_post"
    name = "Before and after, no comparison group"
    padlocks = 0
    padlock_words = "no comparison group (before and after only), so change cannot be attributed to the programme"
    sms_level, sms_words = 2, "before and after, with no comparison group"
    default_estimator = Estimator.mean_change
    allowed_estimators = (Estimator.mean_change,)
    has_comparison = False
    judges_baseline_balance = False
    wwc_attrition_boundary = None  # one group: no differential attrition to judge
    rests_on_covariates = False  # no comparison group to be confounded: the page says change, not impact
    supports_effect_modifiers = False
    effect_heading = "Change in each outcome"
    effect_explanation = ("With no comparison group, these are changes between the baseline and follow-up surveys "
                          "among people who took part, not the programme's impact: they include everything else "
                          "that changed over the period. Oriented so that a positive number is an improvement.")
    clear_result = "People who took part did **{direction}** on {name} at follow-up than at baseline: a change of"
    unclear_result = "**We cannot tell** whether {name} changed between the two surveys"
    result_caveat = (" This is change, not impact: with no comparison group we cannot say how much of it the "
                     "programme caused.")

    def __init__(self, design=None):
        self.linked_waves = design is None or design.sample == Sample.panel

    def manifest_problems(self, manifest: Manifest) -> list[str]:
        problems = super().manifest_problems(manifest)
        if manifest.design.treatment is not None:
            problems.append("design.treatment: a before-and-after design has no comparison group, so everyone in the "
                            "data took part; remove design.treatment (or, if some people did not take part, use "
                            "design.type: did)")
        return problems

    def data_problems(self, folder, manifest: Manifest, valid) -> list[str]:
        from evaluations.intake.validate import MIN_UNITS_PER_GROUP

        d = manifest.design
        at = {w: set(valid.loc[valid[d.wave] == w, d.unit_id]) for w in (d.baseline, d.follow_up)}
        if not self.linked_waves:
            return [f"{folder}: {len(ids)} people answered in wave {w!r}; at least {MIN_UNITS_PER_GROUP} are needed in "
                    "each wave: add the missing answers or check the wave column" for w, ids in at.items()
                    if len(ids) < MIN_UNITS_PER_GROUP]
        both = len(at[d.baseline] & at[d.follow_up])
        if both >= MIN_UNITS_PER_GROUP:
            return []
        return [f"{folder}: only {both} people answered both {d.baseline!r} and {d.follow_up!r} under the same "
                f"'{d.unit_id}' (at least {MIN_UNITS_PER_GROUP} are needed to measure each person's change). If "
                "different people answered each wave, add `sample: repeated_cross_section` under design; if they are "
                f"the same people, make '{d.unit_id}' the same for a person in every wave"]

    def planned_mdes(self, n_treated, n_comparison, n_clusters):
        from evaluations.diagnostics.power import planned_mdes_one_group

        return planned_mdes_one_group(n_treated, n_clusters)

    def sample_note(self, n_treated, n_comparison):
        return f"{n_treated} people who took part answered at baseline (no comparison group)"

    def sample(self, panel, outcome, manifest):
        if self.linked_waves:
            return samples.two_period_wide(panel, outcome, manifest)
        return samples.cross_sections(panel, outcome, manifest)

    def estimate(self, panel, outcome, manifest, units, out) -> None:
        from evaluations.estimators.change import cross_section_change, paired_change

        d = manifest.design
        kernel = paired_change if self.linked_waves else cross_section_change
        out.estimates.append(kernel(self.sample(panel, outcome, manifest), outcome=outcome,
                                    cluster=d.cluster is not None, weights=d.weights is not None, units=units))
