"""From raw files to validated rows: read, screen, coerce, check the contract, quarantine.

Every row read ends in exactly one place: the validated table or the quarantine (with the
reason, file and row number). `reconcile` proves it, per file and wave.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evaluations.intake.contracts import ContractOutcome, row_level_suite, run_suite, structural_suite
from evaluations.intake.privacy import pseudonym_key, pseudonymise, screen_columns
from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError, read_file, to_long
from evaluations.measures import Measure
from evaluations.registry import Manifest

MIN_UNITS_PER_GROUP = 10
TRUE_WORDS = {"1", "yes", "y", "true", "t", "treated", "treatment", "participant", "took part"}
FALSE_WORDS = {"0", "no", "n", "false", "f", "comparison", "control", "did not take part"}
QUARANTINE_COLUMNS = [SOURCE_FILE, SOURCE_ROW, "unit", "wave", "check", "column", "value", "reason"]


class StructuralError(IntakeError):
    """The data cannot be analysed at all; lists every structural problem at once."""

    def __init__(self, problems: list[str], file: str = "(all data files)"):
        self.problems = problems
        super().__init__(file, "; ".join(problems), "correct the data or evaluation.yaml as each problem says, then run again")


@dataclass
class Validation:
    valid: pd.DataFrame
    quarantine: pd.DataFrame
    checks: list[ContractOutcome]
    missing_answers: dict[str, int]  # outcome -> answers given as a missing-value code ("don't know")
    registered: dict[str, int]  # people per group in the files, before anything was set aside


def declared_columns(manifest: Manifest) -> list[str]:
    return list(dict.fromkeys(manifest.design.design_columns + [o.column for o in manifest.outcomes]))


def read_raw(folder: Path, manifest: Manifest) -> pd.DataFrame:
    """All data files as one long table of text, identifiers screened out, ids pseudonymised."""
    declared = declared_columns(manifest)
    key = pseudonym_key(manifest.synthetic)
    parts = []
    for spec in manifest.files:
        df = read_file(folder, spec, manifest)
        df = screen_columns(df, spec.path, set(declared), set(spec.drop_columns))
        df = to_long(df, spec, manifest)
        keep = [c for c in declared if c in df.columns] + [SOURCE_FILE, SOURCE_ROW]
        parts.append(df[keep])  # data minimisation: undeclared columns never reach the warehouse
    raw = pd.concat(parts, ignore_index=True)
    unit = manifest.design.unit_id
    if unit in raw.columns:
        ids = raw[unit].astype(str).str.strip()
        raw[unit] = pseudonymise(ids, key, manifest.id).where(ids != "", "")
    for col in declared:
        if col in raw.columns:
            raw[col] = raw[col].astype(str).str.strip()
    return raw


def _missing_code_mask(values: pd.Series, codes: list) -> pd.Series:
    texts = {str(c).strip().lower() for c in codes} | {_num_text(c) for c in codes}
    return values.str.lower().isin(texts)


def _num_text(code) -> str:
    try:
        f = float(code)
        return str(int(f)) if f.is_integer() else str(f)
    except (TypeError, ValueError):
        return str(code).strip().lower()


def _coerce(raw: pd.DataFrame, manifest: Manifest) -> tuple[pd.DataFrame, list[dict], dict[str, int]]:
    """Explicit types: numbers stay numbers, missing codes become missing, anything else is quarantined."""
    d = manifest.design
    df = raw.copy()
    bad: list[dict] = []
    missing_answers = {}
    numeric = list(dict.fromkeys(list(d.covariates) + [o.column for o in manifest.outcomes]))  # valid_ranges keys are covariates
    for col in numeric:
        if col not in df.columns:
            continue
        text = df[col]
        is_missing = _missing_code_mask(text, manifest.missing_codes) | (text == "")
        if col in {o.column for o in manifest.outcomes}:
            missing_answers[col] = int((_missing_code_mask(text, manifest.missing_codes)).sum())
        values = pd.to_numeric(text.where(~is_missing), errors="coerce")
        not_number = values.isna() & ~is_missing
        for i in np.flatnonzero(not_number.to_numpy()):
            bad.append({"index": df.index[i], "check": f"{col}_is_a_number", "column": col, "value": text.iloc[i],
                        "reason": f"'{col}' holds {text.iloc[i][:40]!r}, which is not a number or a missing-value code"})
        df[col] = values
    if d.treatment in df.columns:
        t = df[d.treatment].str.lower()
        coded = pd.Series(np.where(t.isin(TRUE_WORDS), 1.0, np.where(t.isin(FALSE_WORDS), 0.0, np.nan)), index=df.index)
        for i in np.flatnonzero((coded.isna() & (t != "")).to_numpy()):
            bad.append({"index": df.index[i], "check": "treatment_is_0_or_1", "column": d.treatment,
                        "value": df[d.treatment].iloc[i],
                        "reason": f"'{d.treatment}' holds {df[d.treatment].iloc[i][:40]!r}; use 1/yes for took part, 0/no for comparison"})
        df[d.treatment] = coded
    for col in (d.unit_id, d.wave):
        if col in df.columns:
            df[col] = df[col].replace("", np.nan)
    return df, bad, missing_answers


def _structural_problems(raw: pd.DataFrame, manifest: Manifest) -> list[str]:
    outcomes = run_suite(raw, structural_suite(manifest))
    problems = []
    for o in outcomes:
        if o.passed:
            continue
        if o.failing_index:
            rows = raw.loc[o.failing_index[:3]]
            where = ", ".join(f"{f} row {r}" for f, r in zip(rows[SOURCE_FILE], rows[SOURCE_ROW]))
            shown = ", ".join(repr(v) for v in o.unexpected_values[:3])
            problems.append(f"{o.reason}: found {shown} ({where})")
        else:
            problems.append(o.reason)
    return problems


def validate(raw: pd.DataFrame, manifest: Manifest, measures: dict[str, Measure]) -> Validation:
    """Split raw rows into validated rows and quarantined rows, or raise StructuralError."""
    problems = _structural_problems(raw, manifest)
    if problems:
        raise StructuralError(problems)
    d = manifest.design
    df, bad, missing_answers = _coerce(raw, manifest)
    quarantined = {row["index"] for row in bad}

    # Exact duplicates (same answers, sent twice): keep the first, quarantine the copies.
    content = [c for c in df.columns if c not in (SOURCE_ROW,)]
    dup = df.duplicated(subset=content, keep="first")
    first_row = df.groupby(content, dropna=False)[SOURCE_ROW].transform("first")
    for idx in df.index[dup]:
        bad.append({"index": idx, "check": "exact_duplicate", "column": "", "value": "",
                    "reason": f"exact copy of {df.at[idx, SOURCE_FILE]} row {first_row[idx]}"})
        quarantined.add(idx)

    # Treatment must not change within a person: quarantine every row of a person who switches.
    live = df.drop(index=list(quarantined))
    switching = live.groupby(d.unit_id)[d.treatment].nunique(dropna=True)
    switchers = set(switching[switching > 1].index)
    for idx in live.index[live[d.unit_id].isin(switchers)]:
        bad.append({"index": idx, "check": "treatment_constant_within_unit", "column": d.treatment,
                    "value": df.at[idx, d.treatment],
                    "reason": f"this person is recorded as both taking part and not in '{d.treatment}'; "
                              "correct the group in every wave"})
        quarantined.add(idx)

    live = df.drop(index=list(quarantined))
    checks = run_suite(live, row_level_suite(manifest, measures))
    for outcome in checks:
        for idx in outcome.failing_index:
            if idx in quarantined:
                continue
            value = live.at[idx, outcome.column] if outcome.column in live.columns else ""
            bad.append({"index": idx, "check": outcome.name, "column": outcome.column, "value": value,
                        "reason": outcome.reason})
            quarantined.add(idx)
    checks += [_pandas_check("exact_duplicate", bad), _pandas_check("treatment_constant_within_unit", bad)]

    valid = df.drop(index=list(quarantined))
    groups = valid.groupby(d.treatment)[d.unit_id].nunique()
    needed = [1.0] if d.type.value == "pre_post" else [0.0, 1.0]
    few = [g for g in needed if groups.get(g, 0) < MIN_UNITS_PER_GROUP]
    if few:
        names = {1.0: "programme", 0.0: "comparison"}
        raise StructuralError([
            f"too few rows left: the {names[g]} group has {int(groups.get(g, 0))} people after "
            f"{len(quarantined)} rows were quarantined; at least {MIN_UNITS_PER_GROUP} are needed "
            "(see the quarantine table for what to fix)" for g in few])
    registered = df.groupby(d.treatment)[d.unit_id].nunique()
    registered = {"programme": int(registered.get(1.0, 0)), "comparison": int(registered.get(0.0, 0))}
    return Validation(valid.reset_index(drop=True), _quarantine_table(df, bad, manifest), checks, missing_answers,
                      registered)


def _pandas_check(name: str, bad: list[dict]) -> ContractOutcome:
    failing = [b["index"] for b in bad if b["check"] == name]
    reason = {"exact_duplicate": "rows sent twice are kept once",
              "treatment_constant_within_unit": "a person's group must not change between waves"}[name]
    return ContractOutcome(name, "", not failing, False, reason, failing)


def _quarantine_table(df: pd.DataFrame, bad: list[dict], manifest: Manifest) -> pd.DataFrame:
    d = manifest.design
    seen, rows = set(), []
    for b in bad:
        if b["index"] in seen:
            continue  # one reason per row: the first problem found
        seen.add(b["index"])
        r = df.loc[b["index"]]
        rows.append({SOURCE_FILE: r[SOURCE_FILE], SOURCE_ROW: int(r[SOURCE_ROW]),
                     "unit": "" if pd.isna(r[d.unit_id]) else str(r[d.unit_id]),
                     "wave": "" if pd.isna(r[d.wave]) else str(r[d.wave]),
                     "check": b["check"], "column": b["column"], "value": "" if pd.isna(b["value"]) else str(b["value"]),
                     "reason": b["reason"]})
    q = pd.DataFrame(rows, columns=QUARANTINE_COLUMNS)
    return q.sort_values([SOURCE_FILE, SOURCE_ROW]).reset_index(drop=True)


def reconcile(raw: pd.DataFrame, valid: pd.DataFrame, quarantine: pd.DataFrame, wave_col: str) -> pd.DataFrame:
    """Rows read = rows validated + rows quarantined, per file and wave. Raises if a row went missing."""
    def count(df, wave, name):
        return df.groupby([SOURCE_FILE, df[wave].fillna("(no wave)")]).size().rename(name)

    table = pd.concat([count(raw.assign(**{wave_col: raw[wave_col].replace("", np.nan)}), wave_col, "read"),
                       count(valid, wave_col, "validated"),
                       count(quarantine.assign(wave=quarantine["wave"].replace("", np.nan)), "wave", "quarantined")],
                      axis=1).fillna(0).astype(int)
    table.index.names = ["file", "wave"]
    table = table.reset_index()
    lost = table[table["read"] != table["validated"] + table["quarantined"]]
    if not lost.empty:
        raise AssertionError(f"reconciliation failed: rows unaccounted for\n{lost}")
    return table


def intake_report(validation: Validation, reconciliation: pd.DataFrame) -> dict:
    """What intake did, in numbers: the input to the published data-quality section."""
    q = validation.quarantine
    return {
        "reconciliation": reconciliation.to_dict(orient="records"),
        "rows_read": int(reconciliation["read"].sum()),
        "rows_validated": int(reconciliation["validated"].sum()),
        "rows_quarantined": int(reconciliation["quarantined"].sum()),
        "reconciled": bool((reconciliation["read"] == reconciliation["validated"] + reconciliation["quarantined"]).all()),
        "quarantined_by_check": {k: int(v) for k, v in sorted(q.groupby("check").size().items())} if len(q) else {},
        "missing_answers": validation.missing_answers,
        "registered": validation.registered,
        "checks": [{"name": c.name, "column": c.column, "passed": c.passed, "failing_rows": len(c.failing_index)}
                   for c in validation.checks],
    }
