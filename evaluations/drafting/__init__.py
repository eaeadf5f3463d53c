"""`commonground new ID --from FILE...`: a draft evaluation.yaml written from a charity's survey exports.

The files are read as intake reads them (reading.py); the draft proposes the id, wave and group
columns (structure.py), each question's bank measure by its wording and answers (matching.py),
covariates and short column names (columns.py), and the identifying columns to drop (intake's
own privacy screen). Whatever it cannot decide is an open question (draft.py): marked FILL IN in
the file, which `check` refuses, or asked at a terminal. The YAML is written by yamltext.py, which
never pastes the charity's text into YAML syntax.
"""
from __future__ import annotations

from pathlib import Path

from evaluations.drafting.draft import Draft, Question, draft
from evaluations.drafting.reading import DraftError, read_exports


def draft_from(evaluation_id: str, paths: list[Path]) -> Draft:
    """The draft for these files; DraftError names a file that cannot be read, and the fix."""
    from evaluations.measures import load_measures

    if not paths:
        raise DraftError("no files given. Fix: name the survey exports after --from, e.g. "
                         "`commonground new my-evaluation --from responses.csv`")
    return draft(evaluation_id, read_exports([Path(p) for p in paths]), load_measures())


__all__ = ["Draft", "DraftError", "Question", "draft_from"]
