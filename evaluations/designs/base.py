"""What every evaluation design decides, and the rules designs share.

A design object owns, for one kind of evaluation: what its manifest must say (`manifest_problems`,
run by the manifest's validation, so `check` refuses what `run` could not do), what its data
must hold (`data_problems`, run by `check` on the validated rows), the analysis sample it
needs (`sample`), its default and allowed estimators and how they are called (`estimate`),
which diagnostics apply, its padlock ceiling and Maryland level, and the words its page uses.
Everything else asks the design (evaluations.designs.design_of) instead of branching on
manifest.design.type.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from evaluations.designs import samples
from evaluations.registry import SELECTION_ON_OBSERVABLES, Estimator

if TYPE_CHECKING:
    from evaluations.estimators.plan import Impacts
    from evaluations.registry import Design, Manifest

# Estimators of a two-wave comparison; those of the follow-up score analyse everyone followed up.
FOLLOW_UP_ESTIMATORS = (*SELECTION_ON_OBSERVABLES, Estimator.ancova, Estimator.difference_in_means)
CHANGE_SCORE_ESTIMATORS = (Estimator.did, Estimator.doubly_robust_did)
TWO_WAVE_ESTIMATORS = CHANGE_SCORE_ESTIMATORS + FOLLOW_UP_ESTIMATORS
# What the WWC baseline-equivalence rule counts as statistical adjustment (diagnostics/equivalence.py):
# estimators whose outcome model includes design.covariates, and those that use the baseline outcome
# (a change score, difference-in-differences or ANCOVA). Matching and IPW balance through the propensity
# score instead, which the rule does not count as adjusting.
COVARIATE_ADJUSTING = (Estimator.did, Estimator.doubly_robust_did, Estimator.ancova, Estimator.doubly_robust,
                       Estimator.callaway_santanna)
BASELINE_ADJUSTING = (*CHANGE_SCORE_ESTIMATORS, Estimator.ancova, Estimator.callaway_santanna)
# Estimators whose kernels take survey weights (a `weight` column). Matching refuses them at check:
# no design-based variance for nearest-neighbour matching with survey weights is established.
WEIGHTED_ESTIMATORS = (Estimator.did, Estimator.ancova, Estimator.difference_in_means, Estimator.mean_change,
                       Estimator.ipw, Estimator.doubly_robust, Estimator.doubly_robust_did)


class StudyDesign:
    key: str  # stable name, kept in the record
    name: str  # what the page calls it
    padlocks: int  # the most padlocks the design can earn (EEF)
    padlock_words: str
    sms_level: int  # Maryland Scientific Methods Scale
    sms_words: str
    default_estimator: Estimator
    allowed_estimators: tuple[Estimator, ...]
    has_comparison = True  # False: change, not impact
    judges_baseline_balance = True  # a baseline difference between the groups lowers the rating
    reweights_comparison = False  # balance after the estimator's weights is shown and judged
    rests_on_overlap = False  # limited propensity-score overlap lowers the rating
    refuted = False  # DoWhy's refuters re-run the estimate
    # who took part was not decided by chance, so an unmeasured difference could explain an effect: each overall
    # effect carries how strong it would have to be (E-value; robustness value for a regression; sensitivity/)
    rests_on_covariates = True
    linked_waves = True  # the same people answer each wave, so attrition is defined
    # The WWC attrition boundary the design is judged against (diagnostics/attrition_boundary.py): cautious, as a
    # programme that keeps in touch with its participants, not with the comparison group, plausibly changes who
    # answers the follow-up. None: not judged (no comparison group, so no differential attrition).
    wwc_attrition_boundary: str | None = "cautious"
    bounds_attrition = False  # Lee (2009) bounds beside each effect when people were lost (diagnostics/lee_bounds.py)
    supports_effect_modifiers = True
    # The page's words for its results ({direction} is better/worse, {name} the measure's name).
    effect_heading = "Impact on each outcome"
    effect_explanation = ("Effects are differences in how much each outcome changed for people who took part compared "
                          "with the comparison group, on the outcome's own scale, oriented so that a positive number "
                          "is an improvement.")
    clear_result = "People who took part did **{direction}** on {name} than similar people who did not: a difference of"
    unclear_result = "**We cannot tell** whether the programme changed {name}"
    result_caveat = ""

    # ------------------------------------------------------------------ check: the manifest
    def manifest_problems(self, manifest: Manifest) -> list[str]:
        d = manifest.design
        problems = self._wave_problems(d)
        if d.treatment is None and self.has_comparison:
            problems.append(f"design.treatment must name the column saying who took part (1) and who is in "
                            f"the comparison group (0); only a before-and-after design (type: pre_post) has none")
        chosen = d.analysis_estimator
        if chosen not in self.allowed_estimators:
            allowed = ", ".join(e.value for e in self.allowed_estimators)
            problems.append(f"design.estimator {chosen.value!r} does not fit {self.name.lower()}; use one of: "
                            f"{allowed} (or remove design.estimator for the default, {self.default_estimator.value})")
        if chosen in SELECTION_ON_OBSERVABLES and not d.covariates:
            problems.append(f"the {chosen.value} estimator compares people with similar characteristics, "
                            "so design.covariates must list them")
        if chosen == Estimator.ps_matching and d.cluster:
            problems.append("propensity-score matching has no cluster-robust standard errors here; with "
                            "design.cluster set, use design.estimator: doubly_robust (its standard error allows for clusters)")
        if d.weights and chosen not in self.weighted_estimators:
            instead = next((e for e in (Estimator.doubly_robust, *self.weighted_estimators)
                            if e in self.weighted_estimators), None)
            problems.append(f"design.weights: the {chosen.value} estimator does not take survey weights (matching "
                            "has no design-based standard error with them); use "
                            + (f"design.estimator: {instead.value}, or " if instead else "") + "remove design.weights")
        if d.effect_modifiers and not self.supports_effect_modifiers:
            problems.append(f"design.effect_modifiers: effects by group are not estimated for "
                            f"{self.name.lower()} yet; remove design.effect_modifiers")
        if d.units.value == "places" and not d.people:
            problems.append("design.people must name the column saying how many people each place's row summarises: "
                            "disclosure control counts people, and a row resting on fewer than 10 is set aside")
        if d.people and d.units.value != "places":
            problems.append("design.people is only for units that are places; add `units: places` under design, "
                            "or remove design.people")
        return problems

    def adjusts_for(self, manifest: Manifest) -> tuple[frozenset[str], bool]:
        """The covariates the chosen estimator adjusts for, and whether it adjusts for the baseline outcome."""
        chosen = manifest.design.analysis_estimator
        covariates = frozenset(manifest.design.covariates) if chosen in COVARIATE_ADJUSTING else frozenset()
        return covariates, chosen in BASELINE_ADJUSTING

    @property
    def weighted_estimators(self) -> tuple[Estimator, ...]:
        return tuple(e for e in self.allowed_estimators if e in WEIGHTED_ESTIMATORS)

    def _wave_problems(self, d: Design) -> list[str]:
        problems = []
        if d.first_treated is None:
            if not (d.baseline and d.follow_up):
                problems.append("design.baseline and design.follow_up must both name a wave label "
                                "(or set design.waves and design.first_treated for a staggered roll-out)")
            elif d.baseline == d.follow_up:
                problems.append("design.baseline and design.follow_up must be different wave labels")
        if d.waves and len(set(d.waves)) != len(d.waves):
            problems.append("design.waves lists the same wave twice")
        return problems

    # ------------------------------------------------------------------ check: the data
    def data_problems(self, folder, manifest: Manifest, valid: pd.DataFrame) -> list[str]:
        """Problems only the validated rows can show (beyond intake's own rules)."""
        return []

    # ------------------------------------------------------------------ run
    def sample(self, panel: pd.DataFrame, outcome: str, manifest: Manifest) -> pd.DataFrame:
        """The rows the estimator analyses for `outcome` (also given to diagnostics and refutations)."""
        if manifest.design.analysis_estimator in FOLLOW_UP_ESTIMATORS:
            return samples.follow_up_wide(panel, outcome, manifest)
        return samples.two_period_wide(panel, outcome, manifest)

    def estimate(self, panel: pd.DataFrame, outcome: str, manifest: Manifest, units: str, out: Impacts) -> None:
        raise NotImplementedError  # each design module defines it

    def planned_mdes(self, n_treated: int, n_comparison: int, n_clusters: int | None) -> float:
        """The smallest effect (in SDs) the baseline sample could reliably detect (diagnostics/power.py)."""
        from evaluations.diagnostics.power import planned_mdes

        return planned_mdes(n_treated, n_comparison, n_clusters)

    def sample_note(self, n_treated: int, n_comparison: int) -> str:
        return f"{n_treated} programme and {n_comparison} comparison people at baseline"

    def describe(self, manifest: Manifest) -> dict:
        """What the record keeps about the design, for the page and the library."""
        return {"key": self.key, "name": self.name, "has_comparison": self.has_comparison,
                "unit_word": "people" if manifest.design.units.value == "people" else "places",
                "linked_waves": self.linked_waves, "sms_level": self.sms_level,
                "effect_heading": self.effect_heading, "effect_explanation": self.effect_explanation,
                "clear_result": self.clear_result, "unclear_result": self.unclear_result,
                "result_caveat": self.result_caveat}
