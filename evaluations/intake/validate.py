"""From raw files to validated rows: read, screen, coerce, check the contract, quarantine.

Every row read ends in exactly one place: the validated table or the quarantine (with the
reason, file and row number). `reconcile` proves it, per file and wave.

Work is done per distinct value where it can be (a million survey rows hold few distinct
answers) and never row by row in Python, so intake stays fast at scale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from evaluations.covariates import NOT_ANSWERED, category_key, read_categories
from evaluations.intake.contracts import ContractOutcome, row_level_suite, run_suite, structural_suite
from evaluations.intake.labels import LabelledCodes, label_key, order_problem, read_answers, show_scale
from evaluations.intake.panel import NEVER
from evaluations.intake.privacy import pseudonym_key, pseudonyms, screen_columns
from evaluations.intake.values import describe_value, describe_values, to_numbers, value_kinds
from evaluations.intake.columns import columns_found, missing_column
from evaluations.intake.distinct import (combined_codes, first_positions, joined_text_codes, stripped_text_codes,
                                         text_codes)
from evaluations.intake.exports import Header
from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError, IntakeErrors, read_export, renames, to_long
from evaluations.intake.rules import rule_of
from evaluations.measures import Measure, answer_scales, load_measures, outcome_measures
from evaluations.designs import design_of
from evaluations.disclosure import THRESHOLD
from evaluations.registry import TOOK_PART, DataFile, Manifest

MIN_UNITS_PER_GROUP = 10
TRUE_WORDS = {"1", "yes", "y", "true", "t", "treated", "treatment", "participant", "took part"}
FALSE_WORDS = {"0", "no", "n", "false", "f", "comparison", "control", "did not take part"}
COLUMNS_FOUND = "columns_found"  # raw.attrs: each file's column names, as read_raw found them
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
    # outcome -> answers mapped from words to codes, "don't know"-type answers made missing, and the files whose
    # value labels put the codes in another order than the measure's (mapped by label)
    answers: dict[str, dict] = field(default_factory=dict)


def declared_columns(manifest: Manifest) -> list[str]:
    return list(dict.fromkeys(manifest.design.design_columns + [o.column for o in manifest.outcomes]))


def _screened(folder: Path, spec: DataFile, manifest: Manifest, declared: list[str]
              ) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, pd.Series]]]:
    """One file read, its tool's metadata set aside and its identifying columns refused or dropped; with
    its declared columns' stripped text codes (distinct.py), which the screen and read_raw share."""
    df, head = read_export(folder, spec, manifest)
    df = _per_file_columns(df, spec, manifest)
    rename = renames(spec, head)
    # a survey tool's own harmless columns (timestamps, response ids, status) are set aside unless declared
    metadata = {rename.get(c, c) for c in head.metadata} - set(declared)
    if metadata & set(df.columns):  # drop copies every column, even to drop none
        df = df.drop(columns=[c for c in df.columns if c in metadata])
    drop = dropped_columns(spec, head)
    coded = {c: stripped_text_codes(df[c]) for c in declared if c in df.columns and c not in drop}
    df = screen_columns(df, spec.path, set(declared), drop, {rename.get(c, c): k for c, k in head.identifiers.items()},
                        coded)
    return df, coded


def read_raw(folder: Path, manifest: Manifest) -> pd.DataFrame:
    """All data files as one long table of text, identifiers screened out, ids pseudonymised."""
    declared = declared_columns(manifest)
    key = pseudonym_key(manifest.synthetic)
    parts, coded, found, errors = [], [], {}, []
    for spec in manifest.files:
        try:
            df, codes = _screened(folder, spec, manifest, declared)
        except IntakeError as err:  # every file's problems at once (a header, identifying columns), then stop
            errors += getattr(err, "errors", [err])
            continue
        found[spec.path] = [c for c in df.columns if c not in (SOURCE_FILE, SOURCE_ROW, TOOK_PART)]
        if spec.layout != "long":  # a wide file's rows become other rows: its codes are made again
            df, codes = to_long(df, spec, manifest), {}
        keep = [c for c in declared if c in df.columns] + [SOURCE_FILE, SOURCE_ROW]
        parts.append(df[keep])  # data minimisation: undeclared columns never reach the warehouse
        coded.append(codes)
    if errors:
        raise errors[0] if len(errors) == 1 else IntakeErrors(errors)
    # A column that some files have and others lack would read as empty in those: name the file.
    for spec, part in zip(manifest.files, parts):
        for col in declared:
            if col not in part.columns and any(col in p.columns for p in parts):
                per_file = {"wave": manifest.design.wave, "group": manifest.design.treatment_column}
                also = "".join(f", or set files.{field} for this file (every row then gets it)"
                               for field, column in per_file.items() if column == col)
                raise IntakeError(spec.path, f"column '{col}' named in evaluation.yaml is not in this file, "
                                             "though other files of this evaluation have it; this file has "
                                             f"{columns_found(col, found[spec.path])}",
                                  f"add the column to this file, or map its name with files.rename{also}",
                                  column=col)
    # Each declared column is read once per distinct value (a million rows hold few): stripped of
    # surrounding spaces, then a cell that fails its type described, or an id pseudonymised.
    scales = answer_scales(manifest, load_measures())
    columns = {}
    for col in parts[0].columns:
        if col in (SOURCE_FILE, SOURCE_ROW):
            columns[col] = pd.concat([p[col] for p in parts], ignore_index=True)
            continue
        codes, u = joined_text_codes([c.pop(col) if col in c else stripped_text_codes(p[col])
                                      for p, c in zip(parts, coded)])
        if col == manifest.design.unit_id:
            text = np.array(pseudonyms(u, key, manifest.id), dtype=object)
            text[(u == "").to_numpy()] = ""  # an empty id stays empty (set aside as unrecorded), not hashed
        else:
            text = _described(u, col, manifest, scales)
        columns[col] = text[codes]
    # as pd.concat(parts, ignore_index=True); the columns are new arrays, so they are not copied again into
    # one block (validate reads raw column by column and builds its own table)
    raw = pd.DataFrame(columns, index=pd.RangeIndex(sum(map(len, parts))), copy=False)
    raw.attrs[COLUMNS_FOUND] = found  # column names only (no values): for the message naming a missing column
    return raw


def dropped_columns(spec: DataFile, head: Header) -> set[str]:
    """The file's columns (as read, after renaming) that files.drop_columns removes at intake: a column
    may be named as it is in the file, as it is renamed, or by its whole group path."""
    rename = renames(spec, head)
    named = set(spec.drop_columns) | {head.short(c) for c in spec.drop_columns}
    return named | {rename[c] for c in named if c in rename}


GROUP_CODES = {"programme": "1", "comparison": "0"}  # files.group as the treatment column reads it


def _per_file_columns(df: pd.DataFrame, spec: DataFile, manifest: Manifest) -> pd.DataFrame:
    """The columns a file's manifest entry sets for every row: files.wave, files.group (and the
    treatment of a design without a comparison group, where everyone in the data took part)."""
    d = manifest.design
    if d.treatment is None:
        df[TOOK_PART] = "1"
    given = [("wave", d.wave, spec.wave), ("group", d.treatment, GROUP_CODES.get(spec.group))]
    for field, column, value in given:
        if value is None or column is None:
            continue
        if column in df.columns:
            raise IntakeError(spec.path, f"the file has a column '{column}', and files.{field} also gives every row "
                                         f"of it the {field} {getattr(spec, field)!r}; only one can say it",
                              f"remove files.{field} for this file to use the column, or rename the column "
                              "(files.rename) to use files." + field, row=1, column=column)
        df[column] = value
    return df


def _described(u: pd.Series, col: str, manifest: Manifest, scales: dict) -> np.ndarray:
    """A declared column's distinct texts `u`, each that fails its type replaced by its description
    ("text, 21 characters"); `scales` are the outcomes' answer labels (measures.answer_scales).

    A cell that is not what its column holds (words in a number column, an unknown wave, a
    formula) may be anything a person typed, including who they are. raw_survey is stored
    in the warehouse and shown in Dagster, so it keeps every row (rows read = rows analysed +
    rows quarantined still adds up) but such a cell only as its kind and length; validation
    sets the row aside from the description alone. Valid cells (numbers, missing-value
    codes, known wave labels and treatment words) are not personal and stay as they are.
    Respondent ids are left to the keyed hash, which keeps them linkable and unreadable.
    """
    d = manifest.design
    numeric = set(d.numeric_covariates) | {o.column for o in manifest.outcomes}
    categorical = d.categorical_covariates
    text = u.to_numpy(dtype=object)
    kinds = value_kinds(u)
    blank = kinds == "empty"
    lower = u.str.lower()
    bad = np.isin(kinds, ["formula", "text with a control character"])
    if col in numeric:
        number = to_numbers(u.where(kinds == "number"))
        missing_texts = _missing_texts(manifest.missing_codes)
        numeric_codes = [float(c) for c in manifest.missing_codes if _is_number(c)]
        code = lower.isin(missing_texts).to_numpy(dtype=bool) | np.isin(number, numeric_codes)
        if col in scales:  # an answer in the measure's words, or a "don't know", is an answer, not personal text
            typed = kinds == "text"
            words = read_answers(u[typed], scales[col])
            code[typed] |= words.from_words | words.dont_know
        bad |= ~blank & ~code & (kinds != "number")
    elif col in categorical:  # an answer naming no category may be anything typed
        bad |= read_categories(u, categorical[col], manifest.missing_codes)[2]
    if col == d.treatment_column:
        bad |= ~blank & ~_treatment_codes(u, d.groups).notna().to_numpy()
    elif col == d.wave:
        bad |= ~blank & ~u.isin(d.wave_labels).to_numpy(dtype=bool)
    elif col == d.first_treated:
        bad |= ~u.isin(d.wave_labels).to_numpy(dtype=bool) & ~lower.isin(NEVER).to_numpy(dtype=bool)
    return np.where(bad, describe_values(u), text) if bad.any() else text


def _treatment_codes(u: pd.Series, groups: dict[str, list[str]] | None = None) -> pd.Series:
    """1.0 for a took-part answer, 0.0 for a comparison answer, NaN for anything else. With
    design.groups, exactly the answers it lists (matched as labels are: labels.label_key); else a
    took-part word or 1, a comparison word or 0."""
    if groups is not None:
        keys = u.map(label_key)
        programme = {label_key(a) for a in groups["programme"]}
        comparison = {label_key(a) for a in groups["comparison"]}
        return pd.Series(np.where(keys.isin(programme), 1.0, np.where(keys.isin(comparison), 0.0, np.nan)),
                         index=u.index)
    lower = u.str.lower()
    number = pd.Series(to_numbers(u.where(~u.str.startswith("="))))
    return pd.Series(np.where(lower.isin(TRUE_WORDS) | (number == 1), 1.0,
                              np.where(lower.isin(FALSE_WORDS) | (number == 0), 0.0, np.nan)), index=u.index)


def _missing_texts(codes: list) -> set[str]:
    return {str(c).strip().lower() for c in codes} | {_num_text(c) for c in codes}


def _num_text(code) -> str:
    try:
        f = float(code)
        return str(int(f)) if f.is_integer() else str(f)
    except (TypeError, ValueError, OverflowError):
        return str(code).strip().lower()


def _all_blank(values: np.ndarray) -> bool:
    """Every value missing or the empty text (what text_codes makes ""): decided by the first rows for
    any column that holds something there, the usual case, before every row is looked at."""
    for part in (values[:1024], values):
        if not (pd.isna(part) | (part == "")).all():
            return False
    return True


def _blank_to_nan(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=object)  # a copy: one pass, where np.where and astype made two
    out[out == ""] = np.nan
    return out


def _is_number(code) -> bool:
    try:
        return bool(np.isfinite(float(code)))
    except (TypeError, ValueError, OverflowError):
        return False


class _Quarantine:
    """Rows set aside so far, in the order the problems were found (a row keeps its first reason)."""

    def __init__(self, n: int):
        self.parts: list[pd.DataFrame] = []
        self.mask = np.zeros(n, dtype=bool)

    def add(self, rows: np.ndarray, check: str, column: str, values, reasons) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        rule_of(check)  # every reason is a listed rule, so some Dagster asset check counts it
        self.parts.append(pd.DataFrame({"position": rows, "check": check, "column": column,
                                        "value": values, "reason": reasons}))
        self.mask[rows] = True

    def add_distinct(self, rows_mask: np.ndarray, codes: np.ndarray, uniques: pd.Series, check: str, column: str,
                     reason: Callable[[str], str]) -> None:
        """Flag rows by a per-row mask; the reason is written once per distinct value."""
        rows = np.flatnonzero(rows_mask)
        if not len(rows):
            return
        row_codes = codes[rows]
        u = np.unique(row_codes)
        described = describe_values(uniques.iloc[u])  # never the value itself
        texts = dict(zip(u, described))
        reasons = {c: reason(texts[c]) for c in u}
        self.add(rows, check, column, [texts[c] for c in row_codes], [reasons[c] for c in row_codes])

    def checks(self) -> dict[str, np.ndarray]:
        out: dict[str, list] = {}
        for p in self.parts:
            out.setdefault(p["check"].iloc[0], []).append(p["position"].to_numpy())
        return {k: np.concatenate(v) for k, v in out.items()}


def _coerce(raw: pd.DataFrame, manifest: Manifest, q: _Quarantine, measure_of: dict[str, Measure],
            labelled: dict[str, list[LabelledCodes]]
            ) -> tuple[pd.DataFrame, dict[str, int], list[str], dict[str, dict], list[str]]:
    """Explicit types: numbers stay numbers, missing codes become missing, anything else is quarantined.

    An outcome's answers in words become the codes of its measure's labels (labels.py) and its
    "don't know"-type answers become missing answers. A column answered in words (one answer
    matches a label, or it holds no number at all) must match the labels throughout: an answer
    that matches none is a structural problem naming the labels, never a guess. In a column of
    numbers a stray word is only a bad cell, set aside as before. Numbers in a column answered
    in words stay numbers (the contract checks they are valid codes).

    Also returns the declared columns that hold nothing at all (every cell empty or a
    missing-value code), the answers report per outcome, and the columns whose words match
    no label: structural problems, reported with the others.
    """
    d = manifest.design
    columns = {c: raw[c].to_numpy() for c in raw.columns}
    missing_answers = {}
    answers: dict[str, dict] = {}
    problems: list[str] = []
    empty_columns = []
    outcomes = [o.column for o in manifest.outcomes]
    positive = [c for c in (d.weights, d.people) if c]  # survey weights; people behind a place's row
    numeric = list(dict.fromkeys(d.numeric_covariates + outcomes + positive))  # valid_ranges keys are covariates
    categorical = d.categorical_covariates
    missing_texts = _missing_texts(manifest.missing_codes)
    numeric_codes = np.array([float(c) for c in manifest.missing_codes if _is_number(c)], dtype=float)
    roles = set(numeric) | set(categorical) | set(d.modifier_words) | {d.treatment_column, d.first_treated}
    for col in declared_columns(manifest):
        if col not in raw.columns:
            continue
        if col == d.unit_id and col not in roles:
            # Respondent ids are keyed hashes by now, and the column with most values: nothing to classify
            # or code, so not grouped by value either; only whether any row names someone.
            if _all_blank(raw[col].to_numpy(dtype=object)):
                empty_columns.append(col)
            continue
        codes, u = text_codes(raw[col])
        used = np.bincount(codes, minlength=len(u)) > 0  # distinct values some row holds
        # read_raw has replaced a bad cell by its description; describing again also covers raw text.
        kinds = value_kinds(u)
        formula = kinds == "formula"
        control = kinds == "text with a control character"
        q.add_distinct(formula[codes], codes, u, "formula_cell", col,
                       lambda v: f"'{col}' holds a spreadsheet formula ({v}); formulas are never "
                                 "evaluated: type the value itself (in Excel: Copy, then Paste Special, Values)")
        q.add_distinct(control[codes], codes, u, "control_characters", col,
                       lambda v: f"'{col}' holds {v}, with a control character nobody types; "
                                 "retype the value")
        plain = ~formula & ~control
        if col in numeric:
            blank = (u == "").to_numpy(dtype=bool)
            values = pd.Series(to_numbers(u.where(plain & ~blank)))
            values[~np.isfinite(values.to_numpy())] = np.nan  # "inf" and "nan" are not answers
            # a missing-value code given as text ("Don't know") or as any spelling of its number (-9, -9.0)
            is_code = (u.str.lower().isin(missing_texts).to_numpy(dtype=bool)
                       | np.isin(values.to_numpy(), numeric_codes)) & ~blank
            from_words = dont_know = np.zeros(len(u), dtype=bool)
            if col in measure_of:
                typed = plain & ~blank & values.isna().to_numpy()
                words = read_answers(u[typed], measure_of[col].scale)
                from_words, dont_know = from_words.copy(), dont_know.copy()
                from_words[typed], dont_know[typed] = words.from_words, words.dont_know
                values[from_words] = words.codes[words.from_words]
                is_code |= dont_know
            is_missing = is_code | blank
            if is_missing[used].all():
                empty_columns.append(col)
            if col in outcomes:
                missing_answers[col] = int(is_code[codes].sum())
                answers[col] = {"from_words": int(from_words[codes].sum()), "dont_know": int(dont_know[codes].sum()),
                                "mapped_by_label": []}
            values[is_missing] = np.nan
            not_number = values.isna().to_numpy() & ~is_missing & plain
            in_words = (from_words & used).any() or not (~values.isna().to_numpy() & used).any()
            if col in measure_of and measure_of[col].scale and in_words and (not_number & used).any():
                problems.append(_unmatched_problem(raw, col, codes, u, not_number, measure_of[col]))
            elif col in d.numeric_covariates and (not_number & used).any() and not (values.notna().to_numpy() & used).any():
                problems.append(_categories_in_numbers_problem(raw, col, codes, u, not_number))
            else:
                q.add_distinct(not_number[codes], codes, u, f"{col}_is_a_number", col,
                               lambda v: f"'{col}' holds {v}, which is not a number or a missing-value code")
            if col == d.weights:
                not_positive = ~(values.to_numpy() > 0) & plain & ~(not_number)
                q.add_distinct(not_positive[codes], codes, u, f"{col}_is_positive", col,
                               lambda v: f"'{col}' holds {v}; every row needs a survey weight above 0 "
                                         "(design.weights)")
            elif col == d.people:  # disclosure control counts people: a place resting on fewer could reveal them
                too_few = ~(values.to_numpy() >= THRESHOLD) & plain & ~(not_number)
                q.add_distinct(too_few[codes], codes, u, f"{col}_at_least_{THRESHOLD}", col,
                               lambda v: f"'{col}' holds {v}: a place's figures must rest on at least {THRESHOLD} "
                                         "people to be published; merge it with a neighbouring place or leave it out")
            columns[col] = values.to_numpy(dtype=float)[codes]
            for lc in labelled.get(col, []):
                labelled_missing = _read_by_value_labels(raw, col, lc, columns[col], q)
                missing_answers[col] += labelled_missing
                answers[col]["dont_know"] += labelled_missing
                if lc.order == "reordered":
                    answers[col]["mapped_by_label"].append(lc.file)
        elif col in categorical:
            names, not_answered, unmatched = read_categories(u, categorical[col], manifest.missing_codes)
            unmatched &= plain  # a formula or control character is set aside above
            if not_answered[used].all():
                empty_columns.append(col)
            elif (unmatched & used).any():
                problems.append(_unlisted_category_problem(raw, col, codes, u, unmatched, categorical[col]))
            elif categorical[col][0] not in set(names[used & plain]):
                problems.append(_reference_problem(raw, col, categorical[col]))
            columns[col] = names[codes]  # the category as declared; None: not answered
        elif (u.to_numpy()[used] == "").all():
            empty_columns.append(col)
        if col in d.modifier_words:
            problems += _unheld_answers_problem(col, d.modifier_words[col].values, u[used & plain])
        if col == d.treatment_column:
            coded = np.where(plain, _treatment_codes(u, d.groups).to_numpy(), np.nan)
            unknown = np.isnan(coded) & (u != "").to_numpy(dtype=bool) & plain
            fix = ("which design.groups does not list; add it to the group it means" if d.groups else
                   "use 1/yes for took part, 0/no for comparison, or list each group's answers under design.groups")
            q.add_distinct(unknown[codes], codes, u, "treatment_is_0_or_1", col,
                           lambda v: f"'{col}' holds {v}; {fix}")
            columns[col] = np.asarray(coded, dtype=float)[codes]
        elif col == d.first_treated:
            known = u.isin(d.wave_labels).to_numpy(dtype=bool) | u.str.lower().isin(NEVER).to_numpy(dtype=bool)
            q.add_distinct((~known & plain)[codes], codes, u, "first_treated_is_a_wave", col,
                           lambda v: f"'{col}' holds {v}, which is not a wave label in evaluation.yaml "
                                     f"({', '.join(d.wave_labels)}); leave it empty for a site that never started")
    for col in (d.unit_id, d.wave):
        if col in columns:
            columns[col] = _blank_to_nan(columns[col])
    # one constructor call: a consolidated frame is not copied block by block by every later step
    return pd.DataFrame(columns, index=raw.index), missing_answers, empty_columns, answers, problems


def _unheld_answers_problem(col: str, words: dict[str, str], held: pd.Series) -> list[str]:
    """An effect modifier's words for answers its column never holds (a typo, or 'yes' for a column of 1s)."""
    keys = {category_key(v) for v in held}
    unheld = [answer for answer in words if category_key(answer) not in keys]
    if not unheld:
        return []
    kinds = sorted(set(describe_values(held)))  # the data's answers by kind, never their text
    return [f"design.effect_modifiers: the words for '{col}' are given for {', '.join(map(repr, unheld))}, which no "
            f"row of '{col}' holds (its answers are: {'; '.join(kinds) or 'none'}); key each word by the answer as "
            "the data writes it, e.g. 1 and 0 for a column of 1s and 0s"]


def _unmatched_problem(raw: pd.DataFrame, col: str, codes: np.ndarray, u: pd.Series, unmatched: np.ndarray,
                       measure: Measure) -> str:
    """One problem for a column answered in words: each answer matching no label (as its kind and length,
    never its text), its rows and the first of them, the measure's labels and the ways to fix it."""
    n, found = _answers_found(raw, codes, u, unmatched)
    own = ("add the answer to your measure's scale under outcomes[].measure" if measure.own else
           "if you asked your own question with other answers, declare your own measure with its labels under "
           "outcomes[].measure (see `commonground new`)")
    n = f"{n} answers match" if n != 1 else "1 answer matches"
    return (f"'{col}' is answered in words, and {n} none of the "
            f"labels of the measure {measure.name!r} ({show_scale(measure.scale)}): {found}. "
            "Words are matched to the labels ignoring case, spacing, punctuation and curly quotes, and \"Don't know\", "
            "\"Prefer not to say\", \"N/A\" count as missing. Fix: write each answer as one of these labels or its "
            f"code; list an answer that means no answer under missing_codes; or {own}")


def _answers_found(raw: pd.DataFrame, codes: np.ndarray, u: pd.Series, unmatched: np.ndarray) -> tuple[int, str]:
    """Rows holding an unmatched answer, and the answers (as their kind and length, never their text) with
    their rows and the first of them, five at most."""
    rows = np.flatnonzero(unmatched[codes])
    shown = pd.DataFrame({"answer": describe_values(u)[codes[rows]], "file": raw[SOURCE_FILE].to_numpy()[rows],
                          "row": raw[SOURCE_ROW].to_numpy()[rows]})
    found = [f"{answer} in {len(g)} rows (first: {g['file'].iloc[0]} row {g['row'].iloc[0]})" if len(g) > 1 else
             f"{answer} in 1 row ({g['file'].iloc[0]} row {g['row'].iloc[0]})"
             for answer, g in shown.groupby("answer", sort=False)]
    more = f" and {len(found) - 5} more answers" if len(found) > 5 else ""
    return len(rows), "; ".join(found[:5]) + more


def _unlisted_category_problem(raw: pd.DataFrame, col: str, codes: np.ndarray, u: pd.Series, unmatched: np.ndarray,
                               categories: list[str]) -> str:
    """A categorical covariate's answers that match none of its categories: one problem for the column."""
    n, found = _answers_found(raw, codes, u, unmatched)
    answers = f"{n} answers match" if n != 1 else "1 answer matches"
    return (f"'{col}' is a categorical covariate, and {answers} none of its categories in design.covariates "
            f"({', '.join(categories)}): {found}. Answers are matched to the categories ignoring case, spacing, "
            "punctuation and curly quotes; an empty answer, a missing_codes value and \"Prefer not to say\", "
            f"\"Don't know\" or \"N/A\" are read as '{NOT_ANSWERED}'. Fix: add each answer to the categories of "
            f"'{col}' under design.covariates, correct it in the file, or list it under missing_codes if it means "
            "no answer")


def _reference_problem(raw: pd.DataFrame, col: str, categories: list[str]) -> str:
    files = ", ".join(sorted(raw[SOURCE_FILE].unique()))
    return (f"'{col}': nobody in {files} is in its first category, {categories[0]!r}, the reference the estimators "
            "compare the other categories with; list first a category people chose (e.g. the most common, or the "
            "lowest band) under design.covariates, or correct the answers")


def _categories_in_numbers_problem(raw: pd.DataFrame, col: str, codes: np.ndarray, u: pd.Series,
                                   not_number: np.ndarray) -> str:
    """A covariate declared as a number whose answers are all words: most likely categories (age bands)."""
    n, found = _answers_found(raw, codes, u, not_number)
    return (f"'{col}' is listed under design.covariates as a number, but it holds no number: {found}. If its "
            "answers are categories (age bands, gender, yes/no), declare them in place of the name: "
            f"`- {{column: {col}, categories: [every answer, the reference first]}}` (add `ordered: true` for bands "
            "listed lowest first); otherwise correct the answers to numbers")


def _read_by_value_labels(raw: pd.DataFrame, col: str, lc: LabelledCodes, numbers: np.ndarray, q: _Quarantine) -> int:
    """A file's codes read through its value labels (see labels.compare_labels): a code labelled "don't know" is
    missing; in a file labelling the codes in another order, each code becomes the measure's code for its label,
    and a code no label of the measure names is set aside. Returns the answers made missing."""
    rows = np.flatnonzero(raw[SOURCE_FILE].to_numpy() == lc.file)
    v = numbers[rows]
    missing = np.isin(v, list(lc.missing))
    if lc.order == "reordered":
        mapped = pd.Series(v).map(lc.recode).to_numpy(dtype=float)
        unlabelled = ~np.isnan(v) & ~missing & np.isnan(mapped)
        q.add(rows[unlabelled], f"{col}_is_labelled", col, raw[col].to_numpy()[rows[unlabelled]],
              f"'{col}' holds a code that none of the measure's labels names in {lc.file}, whose codes are read by "
              "their labels (they are in another order than the measure's); correct the answer or its label")
        v = mapped
    v[missing] = np.nan
    numbers[rows] = v
    return int(missing.sum())


def _label_orders(value_labels: list[LabelledCodes], measure_of: dict[str, Measure]
                  ) -> tuple[list[str], dict[str, list[LabelledCodes]]]:
    """Problems with files' value labels (reversed, or matching only in part), and the usable ones per column."""
    problems, usable = [], {}
    by_file: dict[tuple[str, str], set] = {}
    for lc in value_labels:
        by_file.setdefault((lc.file, lc.column), set()).add((lc.order, tuple(sorted(lc.recode.items())), lc.missing))
    for lc in value_labels:
        m = measure_of[lc.column]
        problem = order_problem(lc, m.name, m.scale)
        if problem:
            problems.append(problem)
        elif len(by_file[(lc.file, lc.column)]) > 1:  # a wide file's wave columns labelled differently
            problems.append(f"{lc.file}, column '{lc.variable}': the wave columns of '{lc.column}' carry different "
                            "value labels, so one code would mean different answers in different waves. Fix: give "
                            "every wave column the same codes and labels")
        else:
            usable.setdefault(lc.column, []).append(lc)
    # a wide file's columns agree: apply their labels once per file
    return problems, {c: list({lc.file: lc for lc in lcs}.values()) for c, lcs in usable.items()}


def _structural_problems(raw: pd.DataFrame, manifest: Manifest, engine: str) -> list[str]:
    d = manifest.design
    frame = raw
    if d.wave in raw.columns:  # an empty wave is a row problem (quarantined), not an unknown label
        frame = raw.copy(deep=False)
        frame[d.wave] = _blank_to_nan(raw[d.wave].to_numpy())
    outcomes = run_suite(frame, structural_suite(manifest), engine=engine)
    problems = []
    for o in outcomes:
        if o.passed:
            continue
        if o.failing_index:
            # distinct values, shown only as their kind and length (read_raw has described them)
            rows = raw.loc[o.failing_index].drop_duplicates(subset=[o.column]).head(3)
            shown = ", ".join(f"{describe_value(v)} ({f} row {r})"
                              for v, f, r in zip(rows[o.column], rows[SOURCE_FILE], rows[SOURCE_ROW]))
            more = len(o.failing_index) - len(rows)
            shown += f" and {more} more row{'s' if more != 1 else ''}" if more else ""
            problems.append(f"{o.reason}: found {shown}; use exactly the labels in evaluation.yaml "
                            f"or correct design.waves / baseline / follow_up")
        elif o.name == f"column_{o.column}_exists":
            problems.append(missing_column(o.column, _columns_found(raw)))  # with the columns the files have
        else:
            problems.append(o.reason)
    return problems


def _columns_found(raw: pd.DataFrame) -> dict[str, list[str]]:
    """Each file's column names as read_raw found them; from the frame itself when its attrs were lost on the
    way (the run reads the raw table back from the warehouse, which keeps columns but not pandas attrs)."""
    if raw.attrs.get(COLUMNS_FOUND):
        return raw.attrs[COLUMNS_FOUND]
    files = ", ".join(sorted(map(str, raw[SOURCE_FILE].unique()))) if SOURCE_FILE in raw.columns else "the data"
    return {files: [c for c in raw.columns if c not in (SOURCE_FILE, SOURCE_ROW, TOOK_PART)]}


def _empty_column_problem(raw: pd.DataFrame, col: str) -> str:
    files = ", ".join(sorted(raw[SOURCE_FILE].unique()))
    return (f"column '{col}' is empty in every row of {files} (or holds only missing-value codes), so there is "
            "nothing to analyse; fill it in, or take it out of evaluation.yaml")


def validate(raw: pd.DataFrame, manifest: Manifest, measures: dict[str, Measure],
             value_labels: list[LabelledCodes] = (), *, contract_engine: str = "auto") -> Validation:
    """Split raw rows into validated rows and quarantined rows, or raise StructuralError.

    `value_labels` are the SPSS/Stata files' labels of outcome codes (labels.file_value_labels):
    a file's codes are checked against them, and read by label where their order differs.
    `contract_engine` is contracts.run_suite's: the pipeline keeps the default; `commonground check`
    judges the structural rules in pandas too (the same verdicts, without importing Great Expectations).
    """
    raw = raw.copy(deep=False)  # as reset_index(drop=True), without copying every column
    raw.index = pd.RangeIndex(len(raw))
    problems = _structural_problems(raw, manifest, contract_engine)
    d = manifest.design
    q = _Quarantine(len(raw))
    measure_of = outcome_measures(manifest, measures)
    order_problems, labelled = _label_orders(list(value_labels), measure_of)
    df, missing_answers, empty_columns, answers, word_problems = _coerce(raw, manifest, q, measure_of, labelled)
    problems += order_problems + word_problems + [_empty_column_problem(raw, c) for c in empty_columns]
    if problems:
        raise StructuralError(problems)

    # Exact duplicates (same answers, sent twice): keep the first, quarantine the copies.
    unit_codes, _ = pd.factorize(df[d.unit_id], use_na_sentinel=True)
    wave_codes, _ = pd.factorize(df[d.wave], use_na_sentinel=True)
    first = _first_alike(df, [c for c in df.columns if c != SOURCE_ROW], {d.unit_id: unit_codes, d.wave: wave_codes})
    rows = np.flatnonzero(first != np.arange(len(df)))
    if len(rows):
        q.add(rows, "exact_duplicate", "", "",
              [f"exact copy of {f} row {int(r)}" for f, r in
               zip(df[SOURCE_FILE].to_numpy()[rows], df[SOURCE_ROW].to_numpy()[first[rows]])])

    # Treatment must not change within a person: quarantine every row of a person who switches.
    treatment = df[d.treatment_column].to_numpy(dtype=float)
    live = ~q.mask & (unit_codes >= 0) & ~np.isnan(treatment)
    if live.any():
        per_unit = pd.DataFrame({"unit": unit_codes[live], "t": treatment[live]}).groupby("unit")["t"].agg(["min", "max"])
        switchers = per_unit.index[per_unit["min"] != per_unit["max"]].to_numpy()
        rows = np.flatnonzero(~q.mask & np.isin(unit_codes, switchers))
        q.add(rows, "treatment_constant_within_unit", d.treatment_column, raw[d.treatment_column].to_numpy()[rows],
              f"this person is recorded as both taking part and not in '{d.treatment_column}'; correct the group in every wave")

    live = df[~q.mask]
    before = int(q.mask.sum())
    live_codes = {d.unit_id: unit_codes[~q.mask], d.wave: wave_codes[~q.mask]}  # spares hashing the ids again
    checks = run_suite(live, row_level_suite(manifest, measures), codes=live_codes)
    for outcome in checks:
        rows = np.asarray([i for i in outcome.failing_index], dtype=np.int64)
        rows = rows[~q.mask[rows]] if len(rows) else rows
        values = raw[outcome.column].to_numpy()[rows] if outcome.column in raw.columns else ""
        q.add(rows, outcome.name, outcome.column, values, outcome.reason)
    checks = _with_pandas_checks(checks, q)

    valid = live if int(q.mask.sum()) == before else df[~q.mask]  # the mask only grows: same count, same rows
    groups = _people_per_group(unit_codes[~q.mask], treatment[~q.mask])
    needed = [0.0, 1.0] if design_of(d).has_comparison else [1.0]
    few = [g for g in needed if groups.get(g, 0) < MIN_UNITS_PER_GROUP]
    if few:
        names = {1.0: "programme", 0.0: "comparison"}
        raise StructuralError([
            f"too few rows left: the {names[g]} group has {int(groups.get(g, 0))} people after "
            f"{int(q.mask.sum())} rows were quarantined; at least {MIN_UNITS_PER_GROUP} are needed "
            f"({_main_reason(df, q, manifest)})" for g in few])
    registered = _people_per_group(unit_codes, treatment)
    registered = {"programme": int(registered.get(1.0, 0)), "comparison": int(registered.get(0.0, 0))}
    valid.index = pd.RangeIndex(len(valid))  # as reset_index(drop=True): valid is already a copy
    return Validation(valid, _quarantine_table(df, q, manifest), checks, missing_answers, registered, answers)


def _first_alike(df: pd.DataFrame, columns: list[str], codes_of: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's position of the first row with the same values in `columns` (missing values alike), as
    df.groupby(columns, dropna=False) groups them, from each column's factorize codes (`codes_of` holds
    those already made) combined into one integer per row: half the time of grouping the columns."""
    key = combined_codes([codes_of[c] if c in codes_of else pd.factorize(df[c], use_na_sentinel=True)[0]
                          for c in columns])
    group = pd.factorize(key)[0]
    return first_positions(group)[group]


def _people_per_group(unit_codes: np.ndarray, treatment: np.ndarray) -> dict[float, int]:
    """Distinct people per treatment value (1.0 programme, 0.0 comparison)."""
    ok = (unit_codes >= 0) & ~np.isnan(treatment)
    if not ok.any():
        return {}
    groups, values = pd.factorize(treatment[ok])
    pairs = pd.factorize(combined_codes([unit_codes[ok], groups]))[0]
    counts = np.bincount(groups[first_positions(pairs)], minlength=len(values))  # each person once per group
    return {float(v): int(c) for v, c in zip(values, counts)}


def _main_reason(df: pd.DataFrame, q: _Quarantine, manifest: Manifest) -> str:
    """The commonest reason rows were set aside, with its first row: what to fix first."""
    table = _quarantine_table(df, q, manifest)
    if table.empty:
        return "no rows were set aside: the files hold too few people"
    check, n = table["check"].value_counts().index[0], int(table["check"].value_counts().iloc[0])
    first = table[table["check"] == check].iloc[0]
    return (f"most often {check}, {n} row(s), e.g. {first[SOURCE_FILE]} row {first[SOURCE_ROW]}: {first['reason']}; "
            "see the quarantine table for the rest")


PANDAS_CHECKS = {
    "exact_duplicate": "rows sent twice are kept once",
    "treatment_constant_within_unit": "a person's group must not change between waves",
    "formula_cell": "cells hold values, not spreadsheet formulas",
    "control_characters": "cells hold no control characters",
    "first_treated_is_a_wave": "the start wave is one of the waves",
}


def _with_pandas_checks(checks: list[ContractOutcome], q: _Quarantine) -> list[ContractOutcome]:
    """The checks made outside the contract (duplicates, coercion) reported beside the contract's rules."""
    found = q.checks()
    by_name = {c.name: c for c in checks}
    out = list(checks)
    for name, rows in found.items():
        if name in by_name:
            continue  # already a contract rule (its failing rows are in it)
        if name.endswith("_is_labelled"):
            column = name.removesuffix("_is_labelled")
            reason = f"'{column}' holds only codes its file's value labels name"
        else:
            column = name.removesuffix("_is_a_number") if name.endswith("_is_a_number") else ""
            reason = PANDAS_CHECKS.get(name, f"'{column}' holds numbers or missing-value codes")
        out.append(ContractOutcome(name, column, False, False, reason, rows.tolist()))
    for name in ("exact_duplicate", "treatment_constant_within_unit"):
        if name not in found:
            out.append(ContractOutcome(name, "", True, False, PANDAS_CHECKS[name], []))
    coerced = found.get("treatment_is_0_or_1")
    if coerced is not None and "treatment_is_0_or_1" in by_name:
        c = by_name["treatment_is_0_or_1"]
        c.failing_index = list(c.failing_index) + coerced.tolist()
        c.passed = False
    return out


def _quarantine_table(df: pd.DataFrame, q: _Quarantine, manifest: Manifest) -> pd.DataFrame:
    d = manifest.design
    if not q.parts:
        return pd.DataFrame({c: pd.Series(dtype=np.int64 if c == SOURCE_ROW else object) for c in QUARANTINE_COLUMNS})
    bad = pd.concat(q.parts, ignore_index=True).drop_duplicates("position", keep="first")  # one reason per row
    pos = bad["position"].to_numpy()
    unit = df[d.unit_id].to_numpy()[pos]
    wave = df[d.wave].to_numpy()[pos]
    # a cell's kind and length, never its content (a value that fails its type may be anything typed)
    has_column = bad["column"].to_numpy(dtype=object) != ""
    value = pd.Series(np.where(has_column, describe_values(bad["value"]), ""), dtype=object)
    table = pd.DataFrame({
        SOURCE_FILE: df[SOURCE_FILE].to_numpy()[pos],
        SOURCE_ROW: df[SOURCE_ROW].to_numpy()[pos].astype(np.int64),
        "unit": np.where(pd.isna(unit), "", unit.astype(str)),
        "wave": np.where(pd.isna(wave), "", wave.astype(str)),
        "check": bad["check"].to_numpy(), "column": bad["column"].to_numpy(), "value": value.to_numpy(),
        "reason": bad["reason"].to_numpy()})
    order = {w: i for i, w in enumerate(d.wave_labels)}
    table["_order"] = table["wave"].map(order).fillna(-1)
    table = table.sort_values([SOURCE_FILE, SOURCE_ROW, "_order"], kind="stable").drop(columns="_order")
    return table.reset_index(drop=True)


def reconcile(raw: pd.DataFrame, valid: pd.DataFrame, quarantine: pd.DataFrame, wave_col: str) -> pd.DataFrame:
    """Rows read, validated and quarantined, per file and wave; `unaccounted` lists any where they do not add up."""
    def count(files, waves, name):
        """Rows per file and wave, sorted by both, as groupby([files, waves]).size() counts them, but from
        each column's codes (a million rows: a third of the time)."""
        waves = np.asarray(waves, dtype=object)
        waves = np.where(pd.isna(waves) | (waves == ""), "(no wave)", waves)
        file_codes, file_names = pd.factorize(np.asarray(files, dtype=object), sort=True)
        wave_codes, wave_names = pd.factorize(waves, sort=True)
        named = file_codes >= 0  # a row without a file is not counted, as groupby leaves it out
        pair = file_codes[named].astype(np.int64) * len(wave_names) + wave_codes[named]
        n = np.bincount(pair, minlength=len(file_names) * len(wave_names))
        held = np.flatnonzero(n)
        index = pd.MultiIndex.from_arrays([file_names[held // max(len(wave_names), 1)],
                                           wave_names[held % max(len(wave_names), 1)]])
        return pd.Series(n[held], index=index, name=name)

    table = pd.concat([count(raw[SOURCE_FILE], raw[wave_col], "read"),
                       count(valid[SOURCE_FILE], valid[wave_col], "validated"),
                       count(quarantine[SOURCE_FILE], quarantine["wave"], "quarantined")],
                      axis=1).fillna(0).astype(int)
    table.index.names = ["file", "wave"]
    return table.reset_index()


def unaccounted(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """The files and waves of a `reconcile` table whose rows read are not rows validated + rows quarantined."""
    r = reconciliation
    return r[r["read"] != r["validated"] + r["quarantined"]]


def intake_report(validation: Validation, reconciliation: pd.DataFrame) -> dict:
    """What intake did, in numbers: the input to the published data-quality section."""
    q = validation.quarantine
    return {
        "reconciliation": reconciliation.to_dict(orient="records"),
        "rows_read": int(reconciliation["read"].sum()),
        "rows_validated": int(reconciliation["validated"].sum()),
        "rows_quarantined": int(reconciliation["quarantined"].sum()),
        "reconciled": unaccounted(reconciliation).empty,
        "quarantined_by_check": {k: int(v) for k, v in sorted(q.groupby("check").size().items())} if len(q) else {},
        "missing_answers": validation.missing_answers,
        "answers": validation.answers,
        "registered": validation.registered,
        "checks": [{"name": c.name, "column": c.column, "passed": c.passed, "failing_rows": len(c.failing_index)}
                   for c in validation.checks],
    }
