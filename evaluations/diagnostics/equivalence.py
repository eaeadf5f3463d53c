"""Baseline equivalence by the What Works Clearinghouse rule: the one place the rule and its statistic live.

The rule (WWC Procedures and Standards Handbook, Version 5.0, 2022, section on baseline
equivalence; unchanged from Standards Handbook 4.1, section II.D): for each characteristic that
must be equivalent (the baseline measure of the outcome, and the characteristics the review
protocol names), the standardised difference between the groups **in the analytic sample**

* |g| <= 0.05 satisfies the requirement;
* 0.05 < |g| <= 0.25 satisfies it only if the impact analysis statistically adjusts for that
  characteristic (for us: it is among design.covariates and the estimator adjusts for the
  covariates; for the baseline outcome: the estimator uses it, as a change score, a
  difference-in-differences or ANCOVA does);
* |g| > 0.25 fails, whatever the adjustment.

A study satisfies baseline equivalence when every characteristic does. Each row here also says
whether it could be judged (a statistic that cannot be computed is not judged).

The statistic. The WWC measures the difference with its effect-size formulas (Procedures
Handbook, effect sizes for continuous and dichotomous measures): Hedges' g, the difference in
means over the pooled within-group SD sqrt(((n_t - 1) s_t^2 + (n_c - 1) s_c^2) / (n_t + n_c - 2))
times the small-sample correction 1 - 3 / (4N - 9); and, for a 0/1 characteristic, the Cox
index (logit p_t - logit p_c) / 1.65, without the small-sample correction (as the R package
baselinr 0.6.0, which follows the Handbook, computes it). The balance table in balance.py
reports a different statistic, the SMD over sqrt((s_t^2 + s_c^2) / 2) with no correction (the
MatchIt / cobalt convention, kept for the love plot and for comparing before and after
matching), and on everyone answering at baseline, not on the people analysed. So the rule
reads its own statistic, computed here: Hedges' g from evaluations.estimators.result.hedges_g
(the formula the effect sizes use) or the Cox index. Where a group's share of a 0/1
characteristic is 0 or 1 the Cox index is not defined, and Hedges' g of the 0/1 values is
used instead (a large difference then still counts). Survey weights weight the means and the
SDs; a re-weighting design's balancing weights weight the means only, as in balance.py, so
the rule judges the weighted comparison the estimator made.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from evaluations.diagnostics.balance import _smallest_category as smallest_category
from evaluations.estimators.inference import weighted_sd
from evaluations.estimators.result import hedges_g

SATISFIES = 0.05  # |g| at or below: equivalent without adjustment
ADJUSTABLE = 0.25  # |g| at or below: equivalent only with statistical adjustment; above: fails
COX_SCALE = 1.65  # the Cox index: a log odds ratio over 1.65 is on the scale of Hedges' g
Verdict = Literal["satisfied", "satisfied_with_adjustment", "not_satisfied"]
BASELINE_OUTCOME = "baseline outcome"
COVARIATE = "covariate"


def verdict(g: float | None, adjusted: bool) -> Verdict | None:
    """The WWC verdict for one characteristic; None when its g could not be computed."""
    if g is None or not math.isfinite(g):
        return None
    size = abs(g)
    if size <= SATISFIES:
        return "satisfied"
    if size <= ADJUSTABLE:
        return "satisfied_with_adjustment" if adjusted else "not_satisfied"
    return "not_satisfied"


def overall(verdicts) -> Verdict | None:
    """Every characteristic must satisfy the rule; None when none could be judged."""
    judged = [v for v in verdicts if v is not None]
    if not judged:
        return None
    if "not_satisfied" in judged:
        return "not_satisfied"
    return "satisfied_with_adjustment" if "satisfied_with_adjustment" in judged else "satisfied"


def effect_size(xt: np.ndarray, xc: np.ndarray, wt: np.ndarray | None = None, wc: np.ndarray | None = None,
                bt: np.ndarray | None = None, bc: np.ndarray | None = None) -> float | None:
    """The WWC standardised difference of one characteristic (treated minus comparison).

    `wt`, `wc` are survey weights (means and SDs); `bt`, `bc` balancing weights (means only)."""
    xt, xc = np.asarray(xt, dtype=float), np.asarray(xc, dtype=float)
    if len(xt) < 2 or len(xc) < 2:
        return None
    wt = np.ones(len(xt)) if wt is None else np.asarray(wt, dtype=float)
    wc = np.ones(len(xc)) if wc is None else np.asarray(wc, dtype=float)
    mt = np.average(xt, weights=wt * (1 if bt is None else bt))
    mc = np.average(xc, weights=wc * (1 if bc is None else bc))
    binary = np.isin(np.concatenate([xt, xc]), (0.0, 1.0)).all()
    if binary and 0 < mt < 1 and 0 < mc < 1:
        return float((_logit(mt) - _logit(mc)) / COX_SCALE)
    g = hedges_g(mt - mc, (0.0, 0.0), weighted_sd(xt, wt), weighted_sd(xc, wc), len(xt), len(xc))[0]
    return float(g) if math.isfinite(g) else None


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def baseline_equivalence(sample: pd.DataFrame, covariates: list[str], outcome: str, *, adjusted_covariates,
                         adjusts_baseline_outcome: bool, balancing_weights: np.ndarray | None = None) -> dict:
    """Rows of the rule for each covariate and the baseline outcome, in the analytic `sample` (one row per
    person analysed, as designs' `sample` gives it), and the overall verdict.

    The baseline outcome is the sample's `y0` (a linked panel), its baseline wave's `y` (repeated
    cross-sections: `post` 0) or the outcome column of first-wave rows (a staggered roll-out).
    A `weight` column holds survey weights. Each row carries the people it rests on (`n_treated`,
    `n_comparison`, and for a 0/1 characteristic `smallest_category`) for disclosure control.
    """
    frame, baseline = _baseline_frame(sample, outcome)
    b = np.ones(len(sample)) if balancing_weights is None else np.asarray(balancing_weights, dtype=float)
    b = pd.Series(b, index=sample.index).loc[frame.index].to_numpy()
    survey = frame["weight"].astype(float).to_numpy() if "weight" in frame.columns else np.ones(len(frame))
    treated = (frame["treated"] == 1).to_numpy()
    adjusted = set(adjusted_covariates)
    rows = []
    variables = [(c, c, COVARIATE, c in adjusted) for c in covariates if c in frame.columns]
    if baseline is not None:
        variables.append((baseline, outcome, BASELINE_OUTCOME, adjusts_baseline_outcome))
    for column, name, kind, is_adjusted in variables:
        x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(x)
        t, c = ok & treated, ok & ~treated
        g = effect_size(x[t], x[c], survey[t], survey[c], b[t], b[c]) if t.sum() >= 2 and c.sum() >= 2 else None
        rows.append({"variable": name, "kind": kind, "g": g, "adjusted": is_adjusted,
                     "verdict": verdict(g, is_adjusted), "n_treated": int(t.sum()), "n_comparison": int(c.sum()),
                     "smallest_category": _smallest_category(x[t], x[c])})
    return {"rows": rows, "verdict": overall(r["verdict"] for r in rows),
            "satisfies": SATISFIES, "adjustable": ADJUSTABLE}


def _baseline_frame(sample: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, str | None]:
    if "y0" in sample.columns:
        return sample, "y0"
    if "post" in sample.columns and "y" in sample.columns:
        return sample[sample["post"] == 0], "y"
    return sample, outcome if outcome in sample.columns else None


def _smallest_category(xt: np.ndarray, xc: np.ndarray) -> int | None:
    """For a 0/1 characteristic, the fewest people holding one value in one group (ignoring 0):
    counted as the balance table counts it, for the same disclosure rule."""
    return smallest_category(xt, xc) if len(xt) and len(xc) else None


def judge(sample: pd.DataFrame, manifest, design) -> dict | None:
    """The rule for an evaluation: its covariates and the primary outcome's baseline measure, among the
    people analysed for the primary outcome (`sample`, from the design), weighted as the estimator weights
    them; what counts as adjusted is the design's answer (`adjusts_for`). None without a comparison group."""
    from evaluations.diagnostics.balance import att_odds_weights

    if not design.has_comparison:
        return None
    covariates = [c for c in manifest.design.covariates if c in sample.columns]
    adjusted, baseline_adjusted = design.adjusts_for(manifest)
    weights = att_odds_weights(sample, covariates) if design.reweights_comparison and covariates else None
    return baseline_equivalence(sample, covariates, manifest.primary_outcomes[0].column,
                                adjusted_covariates=adjusted, adjusts_baseline_outcome=baseline_adjusted,
                                balancing_weights=weights)
