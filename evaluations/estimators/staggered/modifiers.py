"""Effect modifiers: the Callaway-Sant'Anna ATT at each level of a unit-level modifier, and their equality test.

For each level of a unit-level modifier (say ``lives_alone`` 0/1) the whole estimator runs on
the units at that level only (their own comparison units, covariate models and cohort shares),
and the level's effect is its simple aggregate ATT. We stratify rather than interact the modifier
into one fit because the Callaway-Sant'Anna ATT for a level is then exactly the published
estimator applied to that population: parallel trends, overlap and the outcome and propensity
models are only required within the level, cohorts are weighted by their size at that level, and
nothing extrapolates from one level to another (an interaction in the covariate models alone
would still give every level the other levels' comparison units). The equality test is a Wald
test on the levels' joint influence functions laid over the whole unit index, so units in one
cluster but different levels are correlated as they should be; without clustering the levels are
independent samples. Levels with fewer than 10 treated or 10 comparison units are not estimated
(the project's disclosure threshold).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.estimators.did import HeterogeneityTest
from evaluations.estimators.staggered.columns import require_columns, unit_constant
from evaluations.estimators.staggered.effect import effect_estimate
from evaluations.estimators.staggered.estimator import Fit, full_fit
from evaluations.estimators.staggered.influence import wald
from evaluations.estimators.staggered.results import ModifierLevelEffect, ModifierResult, SkippedLevel


MIN_UNITS_PER_LEVEL = 10  # the privacy threshold: no modifier level from fewer treated or comparison units


def staggered_by_modifier(df: pd.DataFrame, *, outcome: str, unit: str, time: str, first_treated: str,
                          modifier: str, cluster: str | None = None, control_group: str = "never_treated",
                          units: str = "scale points", covariates: list[str] | tuple[str, ...] = (),
                          est_method: str = "dr", weights: str | None = None) -> ModifierResult:
    """The simple aggregate ATT at each level of a unit-level modifier, and a test that they are equal.

    Each level is estimated on its own units, exactly as `staggered_effect` (group-time effects
    within the level, aggregated with the level's cohort sizes); see the module docstring for
    why. `modifier` must be constant within a unit; units with no value are left out and
    counted. Levels with fewer than 10 treated or 10 comparison units (as counted by
    `staggered_effect`), or whose fit fails, are returned in `skipped` with the reason.

    The equality test is a Wald test that all estimated levels' effects are equal (df = levels
    - 1): chi-square, or Hotelling's F when clustered, from the covariance of the levels'
    influence functions summed within clusters across levels.
    """
    require_columns(df, {"modifier": modifier, "unit": unit})
    if modifier in (unit, time, first_treated, outcome):
        raise ValueError(f"Column '{modifier}' is already the unit, time, first-treated or outcome column; "
                         "the modifier must be a column of its own.")
    per_unit = unit_constant(df, unit, modifier, "a person's modifier level does not change")
    missing = per_unit.isna()
    levels = sorted(pd.unique(per_unit[~missing]), key=str)
    common = dict(outcome=outcome, unit=unit, time=time, first_treated=first_treated, cluster=cluster,
                  control_group=control_group, covariates=covariates, est_method=est_method, weights=weights)
    estimated, skipped, fits = [], [], []
    for level in levels:
        label = _label(level)
        part = df[df[unit].isin(per_unit.index[per_unit == level])]
        try:
            fit = full_fit(part, base_period="varying", anticipation=0, **common)
        except ValueError as error:
            skipped.append(SkippedLevel(label, f"not estimated: {error}"))
            continue
        effect = effect_estimate(fit, outcome=outcome, units=units, subgroup=f"{modifier}={label}")
        small = [side for side, n in (("treated", effect.n_treated), ("comparison", effect.n_comparison))
                 if n < MIN_UNITS_PER_LEVEL]
        if small:
            skipped.append(SkippedLevel(label, f"not estimated: fewer than {MIN_UNITS_PER_LEVEL} "
                                               f"{' and '.join(small)} units (the disclosure threshold)"))
            continue
        estimated.append(ModifierLevelEffect(label, effect, fit.result))
        fits.append(fit)
    n_clusters, test = _equal_effects_test(modifier, estimated, fits, df, unit, cluster)
    return ModifierResult(outcome=outcome, modifier=modifier, levels=tuple(estimated), skipped=tuple(skipped),
                          equality_test=test, n_clusters=n_clusters, n_units_missing_modifier=int(missing.sum()),
                          notes=_missing_modifier_note(modifier, int(missing.sum())))


def _label(level) -> str:
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return str(int(level))
    return str(level)


def _missing_modifier_note(modifier: str, n_missing: int) -> tuple[str, ...]:
    if not n_missing:
        return ()
    shown = str(n_missing) if n_missing >= MIN_UNITS_PER_LEVEL else f"Fewer than {MIN_UNITS_PER_LEVEL}"
    return (f"{shown} units with no recorded {modifier} were not used for the {modifier} levels.",)


def _joint_influence(fits: list[Fit]) -> tuple[pd.Index, np.ndarray]:
    """Each level's simple-ATT influence function laid over the union of all levels' units.

    A level's estimate over n_l units has variance sum(psi^2) / n_l^2; psi / n_l per unit (zero
    outside the level) keeps that scale, so covariances are sums of cross products.
    """
    ids = pd.Index(np.concatenate([np.asarray(f.panel.units, dtype=object) for f in fits]))
    joint = np.zeros((len(ids), len(fits)))
    start = 0
    for k, f in enumerate(fits):
        n_k = len(f.panel.units)
        joint[start:start + n_k, k] = f.simple_influence / n_k
        start += n_k
    return ids, joint


def _equal_effects_test(modifier, estimated, fits, df, unit, cluster):
    n_clusters = None
    if cluster is not None and fits:
        n_clusters = int(pd.concat([df.loc[df[unit].isin(f.panel.units), cluster] for f in fits]).nunique())
    if len(fits) < 2:
        return n_clusters, None
    ids, joint = _joint_influence(fits)
    if cluster is None:
        sums = joint  # units are independent and belong to one level each
    else:
        labels = df.drop_duplicates(unit).set_index(unit)[cluster].reindex(ids)
        codes = pd.factorize(labels)[0]
        sums = np.zeros((codes.max() + 1, joint.shape[1]))
        np.add.at(sums, codes, joint)
    cov = sums.T @ sums
    estimates = np.array([e.effect.estimate for e in estimated])
    contrast = np.eye(len(estimates))[1:] - np.eye(len(estimates))[0]  # each level minus the first
    test = wald(contrast @ estimates, contrast @ cov @ contrast.T, n_clusters)
    if test is None:
        return n_clusters, None
    statistic, df_test, p_value = test
    reference = "Hotelling F, clustered" if cluster is not None else "chi-square"
    return n_clusters, HeterogeneityTest(
        modifier=modifier, statistic=statistic, df=df_test, p_value=p_value,
        method=f"Wald test that the Callaway-Sant'Anna ATTs are equal across {modifier} levels "
               f"(joint influence functions, {reference})")
