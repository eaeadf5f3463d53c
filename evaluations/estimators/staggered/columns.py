"""Checking and parsing the input columns: present, numeric, whole-number periods, one value per unit.

Every error names the column and says what to fix, since the data come from charities' survey files.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def require_columns(df: pd.DataFrame, columns: dict[str, str | None]) -> None:
    for role, name in columns.items():
        if name is not None and name not in df.columns:
            raise ValueError(
                f"Column '{name}' (the {role} column) is not in the data. "
                f"Available columns: {', '.join(map(str, df.columns))}."
            )


def integer_column(values: pd.Series, name: str, allow_missing: bool = False) -> pd.Series:
    if not allow_missing and values.isna().any():
        raise ValueError(f"Column '{name}' has missing values; every row needs a period.")
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        raise ValueError(f"Column '{name}' must be numeric; found {values[bad].iloc[0]!r}.")
    finite = numeric.dropna()
    if not np.all(np.isfinite(finite)) or not np.all(finite == np.round(finite)):
        raise ValueError(f"Column '{name}' must hold whole-number periods (e.g. years or wave numbers).")
    return numeric


def numeric_column(values: pd.Series, name: str, role: str) -> pd.Series:
    if values.dtype == bool:
        return values.astype(float)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise ValueError(f"Column '{name}' ({role}) must be numeric; found {values[bad].iloc[0]!r}. "
                         f"Encode a category as 0/1 indicator columns, one per level but the first.")
    return parsed.astype(float).where(np.isfinite(parsed.astype(float)))


def unit_constant(df: pd.DataFrame, unit: str, column: str, what: str) -> pd.Series:
    """One value per unit; a unit whose value changes over time is a data error."""
    varying = df.groupby(unit, sort=False)[column].nunique(dropna=False) > 1
    if varying.any():
        example = varying[varying].index[0]
        raise ValueError(
            f"Column '{column}' must be constant within each unit ({what}); "
            f"unit '{example}' has more than one value."
        )
    return df.groupby(unit, sort=True)[column].first()


def covariate_list(covariates, roles: dict[str, str | None]) -> tuple[str, ...]:
    if isinstance(covariates, str):
        covariates = (covariates,)
    covariates = tuple(dict.fromkeys(covariates))  # a covariate named twice is one covariate, as in R
    for name in covariates:
        for role, column in roles.items():
            if name == column:
                raise ValueError(f"Column '{name}' is the {role} column and cannot also be a covariate.")
    return covariates


def unit_weights(data: pd.DataFrame, unit: str, weights: str) -> pd.Series:
    parsed = numeric_column(data[weights], weights, "sampling weights")
    if parsed.isna().any():
        raise ValueError(f"Column '{weights}' (sampling weights) has missing or non-finite values; "
                         "give every row a weight, or drop the units that have none.")
    if (parsed < 0).any():
        raise ValueError(f"Column '{weights}' (sampling weights) has negative values; weights must be >= 0.")
    data = data.assign(**{weights: parsed})
    w = unit_constant(data, unit, weights, "a unit has one sampling weight")
    if not w.sum() > 0:
        raise ValueError(f"Column '{weights}' (sampling weights) is zero for every unit.")
    return w
