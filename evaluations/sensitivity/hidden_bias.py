"""How strong hidden bias would have to be to explain an overall effect away: the reading published
beside every effect of a design that rests on covariates (StudyDesign.rests_on_covariates decides which).

For one outcome, `hidden_bias` takes the rows the estimator analysed (the design's `sample`) and the
published estimate, and returns:

- the E-value of the standardised effect (Hedges' g) and of its interval limit nearer no effect
  (VanderWeele & Ding 2017; evalue.py);
- for an estimate that is a regression coefficient (the regression DiD of each person's change, the
  regression DiD on repeated cross-sections, ANCOVA, a difference in means), Cinelli & Hazlett's
  robustness values of that regression and the strongest covariate measured as a benchmark
  (robustness_value.py). Matching, weighting and doubly robust estimates have no such regression
  and carry the E-value only.

The regression is refitted here by OLS (WLS with survey weights) on the same rows and terms as the
estimator's, because the robustness value needs the coefficient's classical t, while the published
interval uses robust or cluster-robust errors. The refit must give back the published estimate; if it
does not, the estimator and this module have drifted apart, and this refuses rather than publish a
reading of another regression. With clusters the significance version (RV_{q,alpha}) is left out: it
assumes independent errors and would overstate the evidence.

The benchmark is the covariate a confounder as strong as which would bias the estimate most, among
the covariates whose statistics rest on enough people to publish: a 0/1 (or two-valued) covariate
needs THRESHOLD people with each value in each group (evaluations/disclosure.py), as its balance row does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from evaluations import disclosure
from evaluations.designs import design_of
from evaluations.estimators.inference import survey_weights
from evaluations.record_model.diagnostics import Benchmark, HiddenBias, Robustness
from evaluations.registry import Estimator, Manifest
from evaluations.sensitivity.evalue import standardised_effect_evalue
from evaluations.sensitivity.robustness_value import RegressionSensitivity, ols_sensitivity

RESERVED = ("y", "y0", "y1", "treated", "post", "cluster", "weight")  # sample columns that are not covariates


@dataclass(frozen=True)
class Regression:
    """The estimator's regression: outcome, regressors (no constant), the effect's term, the covariates in it."""
    y: pd.Series
    X: pd.DataFrame
    term: str
    covariates: list[str]
    rows: pd.DataFrame  # the rows fitted


def hidden_bias(sample: pd.DataFrame, manifest: Manifest, estimate) -> HiddenBias | None:
    """The reading for one overall effect; None when the design does not rest on covariates.

    `estimate` is the published effect (an EffectEstimate, or a row of the estimates table): its
    outcome, estimate, effect_size and effect_size_ci_low/high are read.
    """
    if not design_of(manifest.design).rests_on_covariates:
        return None
    g, lo, hi = (_number(getattr(estimate, f)) for f in ("effect_size", "effect_size_ci_low", "effect_size_ci_high"))
    e = standardised_effect_evalue(g, lo, hi) if None not in (g, lo, hi) else None
    return HiddenBias(e_value=_number(e.point) if e else None, e_value_limit=_number(e.limit) if e else None,
                      robustness=_robustness(sample, manifest, estimate))


def regression(sample: pd.DataFrame, manifest: Manifest) -> Regression | None:
    """The published estimator's regression on its sample, term for term (estimators/did.py, cross_sections.py,
    rct.py); None when the estimate is not a regression coefficient."""
    d = manifest.design
    chosen, columns = d.analysis_estimator, set(sample.columns)
    covariates = [c for c in dict.fromkeys(d.covariates) if c not in RESERVED]
    if chosen == Estimator.did and {"y", "post"} <= columns:  # repeated cross-sections
        covs = _usable(sample, covariates)
        X = pd.DataFrame({"treated": sample["treated"].astype(float), "post": sample["post"].astype(float),
                          "treated_x_post": (sample["treated"] * sample["post"]).astype(float)}, index=sample.index)
        return Regression(sample["y"], pd.concat([X, sample[covs].astype(float)], axis=1), "treated_x_post", covs,
                          sample)
    if not {"y0", "y1"} <= columns:
        return None
    if chosen == Estimator.did:  # each person's change
        covs = _usable(sample, covariates)
        return Regression(sample["y1"] - sample["y0"], sample[["treated"] + covs], "treated", covs, sample)
    if chosen not in (Estimator.ancova, Estimator.difference_in_means):
        return None
    rows = sample[sample["y1"].notna()].copy()
    if chosen == Estimator.difference_in_means or not rows["y0"].notna().any():  # ANCOVA with no baseline: DiM
        return Regression(rows["y1"], rows[["treated"]], "treated", [], rows)
    terms = ["treated", "y0"]
    if rows["y0"].isna().any():  # the missing-indicator method, as rct.ancova
        rows["_baseline_missing"] = rows["y0"].isna().astype(float)
        rows["y0"] = rows["y0"].fillna(rows["y0"].mean())
        terms.append("_baseline_missing")
    covs = _usable(rows, covariates)
    return Regression(rows["y1"], rows[terms + covs], "treated", covs, rows)


def _robustness(sample: pd.DataFrame, manifest: Manifest, estimate) -> Robustness | None:
    model = regression(sample, manifest)
    if model is None:
        return None
    d = manifest.design
    weights = survey_weights(model.rows, estimate.outcome) if d.weights else None
    candidates = [c for c in model.covariates if _publishable(model.rows, c)]
    fit = ols_sensitivity(model.y, model.X, model.term, candidates, weights)
    published = float(estimate.estimate)
    if not math.isclose(fit.estimate, published, rel_tol=1e-6, abs_tol=1e-9):
        raise RuntimeError(f"{estimate.outcome}: the regression refitted for the robustness value gives "
                           f"{fit.estimate!r}, not the published estimate {published!r}; evaluations/sensitivity/"
                           "hidden_bias.py must fit the estimator's own regression")
    if fit.dof < 2 or not math.isfinite(fit.t):  # no residual variation to speak of: nothing to read
        return None
    return _published(fit, clustered=d.cluster is not None)


def _published(fit: RegressionSensitivity, clustered: bool) -> Robustness:
    b = fit.strongest
    benchmark = None if b is None else Benchmark(
        covariate=b.covariate, r2_treatment=b.r2dz_x, r2_outcome=b.r2yz_dx, adjusted_estimate=b.adjusted.estimate,
        times_as_strong=_number(b.times_as_strong))
    return Robustness(partial_r2=fit.partial_r2, robustness_value=fit.rv,
                      robustness_value_alpha=None if clustered else fit.rv_alpha, benchmark=benchmark)


def _usable(rows: pd.DataFrame, covariates: list[str]) -> list[str]:
    # A covariate constant in the sample cannot be adjusted for (the estimators leave it out too).
    return [c for c in covariates if c in rows.columns and rows[c].nunique() > 1]


def _publishable(rows: pd.DataFrame, covariate: str) -> bool:
    """Whether a benchmark may rest on this covariate: a two-valued one needs enough people with each value
    in each group (a partial R2 of a 0/1 variable describes its cells)."""
    values = rows[covariate].dropna().unique()
    if len(values) > 2:
        return True
    return disclosure.enough(*[int(((rows["treated"] == g) & (rows[covariate] == v)).sum())
                               for g in (0, 1) for v in values])


def _number(x) -> float | None:
    return float(x) if x is not None and not pd.isna(x) and math.isfinite(float(x)) else None
