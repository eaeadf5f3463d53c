"""Overlap: could every participant have been compared with someone like them?

The propensity score (the chance of taking part given the covariates; the same logistic
model the matching, IPW and doubly robust estimators use) is estimated for everyone in the
analysed sample. Reported, for a figure and for the rating:

- a histogram of the scores in each group on common bins, with adjacent bins merged until
  every bin holds either no one or at least ``MIN_COUNT`` (10) people from each group (all
  counts are suppressed if even one bin cannot be made safe), so it can be published;
- how many people lie outside the common support (participants scored above or below every
  comparison unit, and comparison units outside the participants' range: the min/max rule
  of Dehejia & Wahba 1999);
- how many would be trimmed by Crump, Hotz, Imbens & Mitnik's (2009) rule of thumb, which
  keeps scores in [0.1, 0.9].

Counts are published through the disclosure rule (0, 10 or more, or "fewer than 10"); the
verdict (``limited``) and its reason are computed from the exact numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluations import disclosure

MIN_COUNT = 10
N_BINS = 20
CRUMP_BOUNDS = (0.1, 0.9)
# Overlap is called limited when more than this share of participants lies outside the comparison
# group's range of scores (they have no comparable comparison unit) ...
OUTSIDE_SUPPORT_SHARE = 0.05
# ... or more than this share of participants would be trimmed by the Crump et al. rule.
CRUMP_SHARE = 0.10


def propensity_scores(df: pd.DataFrame, covariates: list[str], treatment: str = "treated",
                      survey_weights: np.ndarray | None = None) -> np.ndarray:
    """Logistic propensity scores on the covariates (the estimators' own model, survey-weighted when they are)."""
    from evaluations.estimators.matching import LogitPropensityModel

    covs = [c for c in covariates if df[c].nunique() > 1]
    if not covs:
        return np.full(len(df), float(np.average(df[treatment], weights=survey_weights)))
    model = LogitPropensityModel().fit(df[covs], df[treatment].to_numpy().astype(int), survey_weights)
    return expit(model.decision_function(df[covs]))


def safe_histogram(ps_treated: np.ndarray, ps_comparison: np.ndarray, bins: int = N_BINS,
                   min_count: int = MIN_COUNT) -> dict:
    """Histogram counts per group on common bins over [0, 1], merged until publishable.

    Adjacent bins are merged (left to right, then the last bin backwards) until in every bin
    each group's count is 0 or at least `min_count`. If that is impossible, every count is
    None and `suppressed` is True.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    ct = np.histogram(ps_treated, bins=edges)[0].astype(int)
    cc = np.histogram(ps_comparison, bins=edges)[0].astype(int)

    def ok(a: int, b: int) -> bool:
        return (a == 0 or a >= min_count) and (b == 0 or b >= min_count)

    merged: list[list] = []  # [left edge, right edge, treated, comparison]
    acc = None
    for i in range(bins):
        acc = [edges[i], edges[i + 1], ct[i], cc[i]] if acc is None else [acc[0], edges[i + 1], acc[2] + ct[i],
                                                                           acc[3] + cc[i]]
        if ok(acc[2], acc[3]):
            merged.append(acc)
            acc = None
    if acc is not None:
        merged.append(acc)
    while len(merged) > 1 and not ok(merged[-1][2], merged[-1][3]):
        last = merged.pop()
        prev = merged.pop()
        merged.append([prev[0], last[1], prev[2] + last[2], prev[3] + last[3]])
    suppressed = not all(ok(b[2], b[3]) for b in merged)
    return {
        "edges": [round(float(merged[0][0]), 6)] + [round(float(b[1]), 6) for b in merged],
        "programme": [None if suppressed else int(b[2]) for b in merged],
        "comparison": [None if suppressed else int(b[3]) for b in merged],
        "bins_before_merging": bins,
        "min_count": min_count,
        "suppressed": suppressed,
    }


def limited_reasons(outside_share, trimmed_share) -> list[str]:
    """Why overlap is limited, in words. Each share is a float (shown exactly), a string (the
    share is not published: only that it broke the rule is said) or None (the rule was met).

    A published share times the published n is a count, so a share is given exactly only when
    the people counted, the rest and the n beside it are all published (see records.build_record,
    which words the published reasons again after disclosure control)."""
    def share(value, rule: float) -> str:
        return f"{value:.0%}" if isinstance(value, float) else f"more than {rule:.0%}"
    lo, hi = CRUMP_BOUNDS
    reasons = []
    if outside_share is not None:
        reasons.append(f"{share(outside_share, OUTSIDE_SUPPORT_SHARE)} of participants had a higher or lower chance "
                       "of taking part than any comparison person, so no one comparable could stand in for them")
    if trimmed_share is not None:
        reasons.append(f"{share(trimmed_share, CRUMP_SHARE)} of participants had an estimated chance of taking part "
                       f"below {lo:.0%} or above {hi:.0%} (Crump et al. 2009), where comparisons rest on very few "
                       "people")
    return reasons


def _share(part: int, whole: int, rule: float):
    """The share when it breaks `rule` (exact if both the people counted and the rest are publishable), else None."""
    if not whole or part / whole <= rule:
        return None
    return part / whole if disclosure.enough(part, whole - part) else "hidden"


def overlap(df: pd.DataFrame, covariates: list[str], treatment: str = "treated") -> dict:
    """Propensity-score overlap of a one-row-per-person table (treated, covariates)."""
    ps = propensity_scores(df, covariates, treatment)
    d = df[treatment].to_numpy().astype(int)
    pt, pc = ps[d == 1], ps[d == 0]
    n_t, n_c = len(pt), len(pc)
    out_t = int(((pt < pc.min()) | (pt > pc.max())).sum()) if n_c else n_t
    out_c = int(((pc < pt.min()) | (pc > pt.max())).sum()) if n_t else n_c
    lo, hi = CRUMP_BOUNDS
    trim_t = int(((pt < lo) | (pt > hi)).sum())
    trim_c = int(((pc < lo) | (pc > hi)).sum())
    shares = {"outside_support": _share(out_t, n_t, OUTSIDE_SUPPORT_SHARE), "trimmed": _share(trim_t, n_t, CRUMP_SHARE)}
    reasons = limited_reasons(shares["outside_support"], shares["trimmed"])
    return {
        "covariates": [c for c in covariates if df[c].nunique() > 1],
        "histogram": safe_histogram(pt, pc),
        "outside_support": {"programme": disclosure.count(out_t), "comparison": disclosure.count(out_c),
                            "rule": "min/max: scores outside the other group's range (Dehejia & Wahba 1999)"},
        "trimmed": {"programme": disclosure.count(trim_t), "comparison": disclosure.count(trim_c),
                    "rule": f"scores outside [{lo}, {hi}] (Crump, Hotz, Imbens & Mitnik 2009)"},
        "limited": bool(reasons),
        "limited_by": [k for k, v in shares.items() if v is not None],
        "reasons": reasons,
    }
