"""Callaway & Sant'Anna (2021) difference-in-differences for staggered adoption.

Programmes often start in different places at different times (a school-linking
scheme rolled out cohort by cohort). A two-way fixed-effects regression then
compares late adopters with early adopters that are already treated, and can give
weights of the wrong sign. Callaway & Sant'Anna avoid this: they estimate one
small 2x2 DiD per cohort ``g`` (units first treated in period ``g``) and period
``t``, always against units that are not treated (yet), and only then average
those ATT(g,t) into summaries.

This package follows the R package ``did`` 2.5 (``att_gt`` and ``aggte``) for panel data,
with analytic influence-function standard errors (``bstrap = FALSE``):

- ATT(g,t) without covariates is the mean change of cohort g minus the mean change of the
  comparison units between the base period and t (with an intercept only, R's ``dr``,
  ``reg`` and ``ipw`` estimators all reduce to this).
- With covariates (R's ``xformla``) each 2x2 cell is estimated as R does, by the DRDID
  package's panel estimators on the cell's units (adjustment.py), with the units' covariate
  values in the earlier of the cell's two periods, so a covariate that changes over time
  enters each cell at its base-period value (group_time.py).
- Sampling weights (R's ``weightsname``, constant within a unit) enter each cell's
  estimator (normalised to mean 1 within the cell, as DRDID does), the cohort-size weights
  P(G = g) of every aggregation and their influence functions.
- Standard errors come from per-unit influence functions (each cell's DRDID influence
  function rescaled by n / n_cell to the whole sample), summed within clusters when a
  cluster column is given (as recent R ``did`` does analytically; no small-sample factor,
  normal critical values).
- Aggregations ("simple", "group", "dynamic", "calendar") include the extra
  influence-function term from estimating the cohort-size weights (``wif`` in
  ``compute.aggte``).
- The pre-trend test is R's Wald test that all pre-treatment ATT(g,t) are zero,
  using the analytic covariance.

Effect modifiers (``staggered_by_modifier``, modifiers.py): the whole estimator runs within
each level of a unit-level modifier, and a Wald test compares the levels' simple ATTs.

Modules, in the order the data flows: columns.py (input columns checked and parsed), panel.py
(unit x period arrays), group_time.py (the cells and the units each compares), adjustment.py
(one cell's 2x2 estimator), influence.py (standard errors and Wald tests), aggregate.py and
pretrends.py (summaries of the cells), estimator.py (all of it in order), effect.py (the
shared EffectEstimate, and the universal-base event study with its covariance for HonestDiD's
bounds), modifiers.py; results.py holds the result types.

Why our own implementation rather than a library: the Python ports on PyPI in November 2026
were csdid 0.4.3 (which needs plotnine and twine at run time), differences 0.3.0 (polars)
and moderndid 0.2.0 (pre-1.0; polars, pyarrow, scipy >= 1.17). The estimator, covariates
included, is a few hundred lines of means, two small regressions per cell and influence
functions; writing it here keeps the dependency set small (pandas must stay below 3 for
DoWhy and dagster-duckdb-pandas), lets the cluster-robust influence functions, the
modifier levels and the cohort counts for disclosure control sit in one place, and
tests/test_staggered.py pins it to R's published output on ``mpdta`` and to moderndid, an
independent port, to 1e-6 (1e-8 with covariates). moderndid 0.2.0 also leaves sampling weights
out of the aggregations' cohort shares, which R weights; we follow R.

Pure functions: a DataFrame in, frozen results out, no I/O.
"""
from evaluations.estimators.staggered.effect import (ASSUMPTIONS, UniversalEventStudy, staggered_effect,
                                                     universal_event_study)
from evaluations.estimators.staggered.estimator import callaway_santanna
from evaluations.estimators.staggered.modifiers import MIN_UNITS_PER_LEVEL, staggered_by_modifier
from evaluations.estimators.staggered.results import (BASE_PERIODS, CONTROL_GROUPS, EST_METHODS, Aggregate,
                                                      GroupTimeATT, ModifierLevelEffect, ModifierResult,
                                                      PreTrendTest, SkippedLevel, StaggeredResult)

__all__ = [
    "ASSUMPTIONS", "BASE_PERIODS", "CONTROL_GROUPS", "EST_METHODS", "MIN_UNITS_PER_LEVEL",
    "Aggregate", "GroupTimeATT", "ModifierLevelEffect", "ModifierResult", "PreTrendTest", "SkippedLevel",
    "StaggeredResult", "UniversalEventStudy", "callaway_santanna", "staggered_by_modifier", "staggered_effect",
    "universal_event_study",
]
