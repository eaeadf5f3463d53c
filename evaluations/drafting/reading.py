"""The survey exports a draft is written from, read exactly as intake will read them.

Each file goes through intake's own reader (evaluations/intake/readers.py: the survey tool
recognised from its header rows, its header rows made one row of names, its metadata told
apart) and intake's own privacy screen (evaluations/intake/privacy.py), so the columns the
draft lists under drop_columns are the ones `check` would refuse, found by the same rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from evaluations.intake.exports import Header
from evaluations.intake.privacy import screen_columns
from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError, read_export
from evaluations.registry import DataFile

READABLE = (".csv", ".xlsx")  # survey tools' exports; SPSS and Stata files carry their own metadata


class DraftError(Exception):
    """A file a draft cannot be written from: says which file, what is wrong and the fix."""


@dataclass
class Export:
    """One survey file: how its header was read, and its answer columns as stripped text."""

    source: Path  # where the file is now
    name: str  # its name in the evaluation folder (files.path)
    head: Header
    answers: pd.DataFrame  # every column but the tool's metadata, each cell stripped text
    identifying: list[str] = field(default_factory=list)  # columns intake would refuse: drop_columns

    @property
    def columns(self) -> list[str]:
        return list(self.answers.columns)

    def filled(self, column: str) -> pd.Series:
        values = self.answers[column]
        return values[values != ""]


def read_exports(paths: list[Path]) -> list[Export]:
    """Every file read, or DraftError naming the first that cannot be, with what to do."""
    names: dict[str, Path] = {}
    for path in paths:
        if path.name in names and names[path.name].resolve() != path.resolve():
            raise DraftError(f"{path}: another file given has the same name ({names[path.name]}), and both would be "
                             "copied beside evaluation.yaml under it. Fix: rename one of them")
        names[path.name] = path
    return [read_one(path) for path in dict.fromkeys(names.values())]


def read_one(path: Path) -> Export:
    if not path.is_file():
        raise DraftError(f"{path}: there is no such file. Fix: check the path (download the responses from the "
                         "survey tool first)")
    if path.suffix.lower() not in READABLE:
        what = ("an SPSS or Stata file: write its evaluation.yaml from the template (`commonground new ID` without "
                "--from)" if path.suffix.lower() in (".sav", ".dta") else
                "save it as CSV or Excel (.xlsx); from Excel: File, Save As, 'CSV UTF-8'")
        raise DraftError(f"{path}: a draft is written from a survey tool's CSV or Excel (.xlsx) export, and this is "
                         f"{'a ' + path.suffix + ' file' if path.suffix else 'a file with no extension'}. Fix: {what}")
    try:
        spec = DataFile(path=path.name)
    except ValidationError as e:
        raise DraftError(f"{path}: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    try:
        table, head = read_export(path.parent, spec, None)
    except IntakeError as e:
        raise DraftError(f"{path.parent / e.file}{str(e)[len(e.file):]}") from None
    keep = [c for c in table.columns if c not in (SOURCE_FILE, SOURCE_ROW) and c not in head.metadata]
    answers = pd.DataFrame({c: _stripped(table[c]) for c in keep}, index=table.index)
    export = Export(path, path.name, head, answers)
    export.identifying = identifying_columns(export, table[SOURCE_ROW])
    return export


def _stripped(values: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array(pd.Series(uniques, dtype=object).astype(str).str.strip().tolist() + [""], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)  # code -1 (missing) -> ""


def identifying_columns(export: Export, rows: pd.Series) -> list[str]:
    """The columns intake's privacy screen refuses (a tool's own identifiers, names, emails, free text, ...),
    screened as undeclared columns: the draft declares none of them."""
    frame = export.answers.assign(**{SOURCE_ROW: rows.to_numpy()})
    try:
        screen_columns(frame, export.name, set(), set(), export.head.identifiers)
    except IntakeError as err:
        found = {e.column for e in getattr(err, "errors", [err])}
        return [c for c in export.columns if c in found]
    return []
