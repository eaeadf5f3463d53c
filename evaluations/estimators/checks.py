"""Input checks shared by the estimators: every user error names the column and the fix.

One module for the checks at the estimators' boundary, two families:

* for a DataFrame with a binary treatment (participants 1, comparison units 0), an optional
  outcome and covariates: `analysis_frame` runs the whole sequence the selection-on-observables
  estimators need (matching, IPW, AIPW); the pieces can be used on their own;
* `require_labelled_columns` / `require_positive_weights`: the checks the regression kernels
  (rct.py, change.py, cross_sections.py) share, each message prefixed with the outcome's name.

Nothing here drops a row: a problem is an error, never a silent fix.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd


def require_frame(df) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"Expected a pandas DataFrame, got {type(df).__name__}.")


def covariate_list(covariates, *, required: bool = True) -> list[str]:
    """Covariates as a list (a single name is allowed); at least one when `required`."""
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    if not covariates and required:
        raise ValueError("No covariates given: selection-on-observables needs at least one covariate.")
    return covariates


def require_columns(df: pd.DataFrame, names: Sequence[str]) -> None:
    """Every name is a column of `df`, none is used twice."""
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(
            f"Column(s) {', '.join(repr(c) for c in missing)} not found in the data; "
            f"available columns: {', '.join(map(str, df.columns))}."
        )
    dupes = sorted({c for c in names if list(names).count(c) > 1})
    if dupes:
        raise ValueError(f"Column(s) {', '.join(map(repr, dupes))} used more than once (outcome, treatment, covariates).")


def refuse_reserved(names: Iterable[str], reserved: Iterable[str]) -> None:
    """A user column may not carry a name an estimator writes itself."""
    for name in reserved:
        if name in names:
            raise ValueError(f"Column name {name!r} is reserved; rename that column.")


def require_numeric_complete(df: pd.DataFrame, names: Iterable[str]) -> None:
    """Numeric (or boolean), no missing and no infinite values."""
    for c in names:
        s = df[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValueError(
                f"Column {c!r} is not numeric (dtype {s.dtype}); encode it as numbers or indicator columns first."
            )
        n_na = int(s.isna().sum())
        if n_na:
            raise ValueError(
                f"Column {c!r} has {n_na} missing value(s); impute them or quarantine those rows "
                "before estimating (rows are never dropped silently)."
            )
        if not np.isfinite(s.to_numpy(dtype=float)).all():
            raise ValueError(f"Column {c!r} has infinite values.")


def require_binary_treatment(df: pd.DataFrame, treatment: str, min_per_group: int = 2) -> None:
    """Treatment coded 0/1 with at least `min_per_group` people in each group (numeric column)."""
    t = df[treatment].astype(float)
    levels = set(np.unique(t.to_numpy()))
    if not levels <= {0.0, 1.0}:
        shown = sorted(levels)[:6]
        raise ValueError(
            f"Treatment column {treatment!r} must be binary 0/1 (1 = took part); found values {shown}."
        )
    if levels != {0.0, 1.0}:
        which = "participants (1)" if 1.0 not in levels else "comparison units (0)"
        raise ValueError(f"Treatment column {treatment!r} has no {which}; both groups are needed.")
    d = t.to_numpy()
    if d.sum() < min_per_group or (1 - d).sum() < min_per_group:
        raise ValueError(f"Treatment column {treatment!r} needs at least two participants and two comparison units.")


def require_covariate_overlap(df: pd.DataFrame, treatment: str, covariates: Iterable[str]) -> None:
    """A covariate whose participant and comparison ranges do not even touch means no overlap."""
    d = df[treatment].to_numpy()
    for c in covariates:
        x = df[c].to_numpy(dtype=float)
        x1, x0 = x[d == 1], x[d == 0]
        if x1.min() > x0.max() or x1.max() < x0.min():
            raise ValueError(
                f"No overlap in covariate {c!r}: participants range {x1.min():g} to {x1.max():g}, "
                f"comparison units {x0.min():g} to {x0.max():g}. No comparison unit resembles a "
                "participant; choose another comparison group or restrict the sample."
            )


def analysis_frame(df: pd.DataFrame, *, treatment: str, covariates, outcome: Optional[str] = None,
                   need_covariates: bool = True, reserved: Iterable[str] = ()) -> pd.DataFrame:
    """Run every check and return a float copy of just the needed columns (treatment as int 0/1).

    Column order: outcome (if any), treatment, covariates. `reserved` lists column names the
    caller writes itself (e.g. a propensity-score column), which the data may not use.
    """
    require_frame(df)
    covariates = covariate_list(covariates, required=need_covariates)
    names = ([outcome] if outcome is not None else []) + [treatment] + covariates
    require_columns(df, names)
    refuse_reserved(names, reserved)
    require_numeric_complete(df, names)
    require_binary_treatment(df, treatment)
    out = df[names].astype(float).copy()
    out[treatment] = out[treatment].astype(int)
    require_covariate_overlap(out, treatment, covariates)
    return out


def cluster_codes(df: pd.DataFrame, cluster: str) -> np.ndarray:
    """Integer codes 0..G-1 (in order of first appearance) for a cluster column with no gaps."""
    if cluster not in df.columns:
        raise ValueError(f"Cluster column {cluster!r} not found in the data; available columns: "
                         f"{', '.join(map(str, df.columns))}.")
    if df[cluster].isna().any():
        raise ValueError(f"Cluster column {cluster!r} has missing values; every row needs a cluster.")
    return pd.factorize(df[cluster])[0]


def one_of(value, name: str, choices: Sequence) -> None:
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {', '.join(map(str, choices))}.")


def whole_number(value, name: str, minimum: int, what: str = "") -> None:
    """`value` is a whole number of at least `minimum` (`what` reads 'a positive whole number of matches')."""
    if int(value) != value or value < minimum:
        what = what or f"a whole number of at least {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}.")


# --------------------------------------------------------------------------- labelled checks
# The checks the regression kernels (rct.py, change.py, cross_sections.py) share: each message starts
# with the outcome's name, since one evaluation runs them for many outcomes. `who` names the unit in
# the singular and plural: ("person", "people") for panels and trials, ("respondent", "respondents")
# for repeated cross-sections.

PERSON = ("person", "people")
RESPONDENT = ("respondent", "respondents")


def require_labelled_columns(df: pd.DataFrame, label: str, needed: Sequence[str], *, who=PERSON,
                             complete: bool = True, kind=None) -> None:
    """`needed` are columns; 'cluster' has no gaps; the rest numeric and, when `complete`, with no missing
    or infinite values. `kind(column)` words a column in the missing-value message ('column' by default)."""
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{label}: column(s) {', '.join(map(repr, missing))} not in the data; "
                         f"available: {', '.join(map(str, df.columns))}")
    for c in needed:
        if c == "cluster":
            if df[c].isna().any():
                raise ValueError(f"{label}: column 'cluster' has missing values; every {who[0]} needs a cluster")
            continue
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise ValueError(f"{label}: column {c!r} must be numeric (dtype {df[c].dtype})")
        if not complete:
            continue
        if df[c].isna().any():
            raise ValueError(f"{label}: {kind(c) if kind else 'column'} {c!r} has {int(df[c].isna().sum())} missing "
                             "value(s); quarantine or impute them before the analysis (rows are never dropped silently)")
        if not np.isfinite(df[c].astype(float)).all():
            raise ValueError(f"{label}: column {c!r} has infinite values")


def require_positive_weights(df: pd.DataFrame, label: str, *, who=PERSON) -> None:
    """Every survey weight in the 'weight' column is above zero."""
    if not (df["weight"] > 0).all():
        raise ValueError(f"{label}: survey weights must be positive; {int((df['weight'] <= 0).sum())} are zero or "
                         f"negative (drop those {who[1]} deliberately, or fix the weights)")
