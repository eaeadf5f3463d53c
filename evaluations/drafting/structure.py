"""Who, when and which group: the id, wave and group columns a draft proposes, found from the answers.

- The id and the wave are found together: the id is a column (filled in, many different values)
  that, with the wave, is unique on every row and repeats across waves, so it links a person's
  answers; the wave is a column with a few values (or, with several files, the file itself).
  A pair found only once per person (no repeats) links nobody and is not proposed.
- The wave labels' order (which is the baseline) is read from their words ("Before the
  exchange", "baseline", "pre", "follow-up", "after", "post") or their numbers ("wave 1",
  "wave 2"); one file per wave is named by its file name's words ("odk_baseline.csv").
- The group is a column with two answers intake reads as took part / comparison ("Yes"/"No",
  1/0) that never changes for a person; one whose name says so ("Did you take part...",
  "group") comes first. Without one, one file per group is named by its file name's words
  ("kobo_programme.xlsx", "kobo_comparison.xlsx").
Anything with more than one answer, or none, is left undecided with the candidates, for the
charity to choose (drafting/manifest.py marks it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluations.drafting.reading import Export
from evaluations.intake.validate import FALSE_WORDS, TRUE_WORDS
from evaluations.intake.values import to_numbers

FILE = "\x00file"  # the pooled table's column naming each row's file (no column name can be it)
MOST_WAVES = 6
FILLED = 0.9  # a role column is filled in on at least this share of rows
DUPLICATES_ALLOWED = 0.02  # rows repeating an (id, wave) pair; intake sets them aside
LINKED_NEEDED = 0.3  # share of people answering more than one wave, for an id that links waves
ID_HINT = re.compile(r"\b(id|ids|code|codes|ref|reference|participant|respondent|person|pupil|student|member)\b"
                     r"|id$|ref(erence)?$", re.I)
WAVE_HINT = re.compile(r"wave|round|survey|time|period|phase|stage|visit|before|after|when", re.I)
GROUP_HINT = re.compile(r"took|take part|taking part|takepart|particip|group|programme|program|treat|\barm\b|"
                        r"condition|intervention|control|comparison|cohort", re.I)
BEFORE = {"baseline", "before", "pre", "start", "first", "intake", "entry", "begin", "beginning", "initial"}
AFTER = {"after", "post", "end", "endline", "final", "exit", "followup", "follow", "second", "last", "later"}
PROGRAMME_WORDS = {"programme", "program", "participants", "participant", "intervention", "treatment", "treated",
                   "tookpart", "took", "pilot"}
COMPARISON_WORDS = {"comparison", "control", "nonparticipants", "nonparticipant", "comparator", "waitlist"}
BASELINE, FOLLOW_UP = "baseline", "follow-up"  # the labels a draft gives waves that are files


@dataclass
class Decision:
    """A column the draft proposes (column set), or the candidates it leaves to the charity."""

    column: str | None = None
    options: list[str] = field(default_factory=list)


@dataclass
class Structure:
    unit: Decision
    wave: Decision  # a wave column; per_file_waves is set instead when each file is a wave
    per_file_waves: dict[str, str | None] | None = None  # file -> its wave label (None: not known)
    labels: list[str] | None = None  # the wave labels, baseline first; None when the order is not known
    label_options: list[str] = field(default_factory=list)  # the labels, when their order is not known
    group: Decision = field(default_factory=Decision)
    group_codes: dict[str, int] = field(default_factory=dict)  # the group column's answers -> 1 took part, 0 not
    group_answers: list[str] = field(default_factory=list)  # its two answers, when they are not yes/no words
    per_file_groups: dict[str, str | None] | None = None  # file -> programme | comparison (None: not known)
    linked: tuple[int, int] = (0, 0)  # people answering more than one wave, people


def pooled(exports: list[Export]) -> tuple[pd.DataFrame, list[str]]:
    """Every file's answers in one table, and the columns every file has (only those can be the
    id, wave or group: intake refuses a declared column missing from a file)."""
    shared = [c for c in exports[0].columns if all(c in e.columns for e in exports[1:])]
    parts = [e.answers[shared].assign(**{FILE: e.name}) for e in exports]
    return pd.concat(parts, ignore_index=True), shared


def find_structure(exports: list[Export]) -> Structure:
    table, shared = pooled(exports)
    identifying = {c for e in exports for c in e.identifying}
    usable = [c for c in shared if c not in identifying and (table[c] != "").mean() >= FILLED]
    names = [e.name for e in exports]
    unit, wave, linked = _unit_and_wave(table, usable, multiple_files=len(exports) > 1)
    s = Structure(unit, wave, linked=linked)
    if wave.column == FILE:
        s.wave = Decision()
        s.per_file_waves = {n: _file_wave(n) for n in names}
        found = list(s.per_file_waves.values())
        if None not in found and len(set(found)) == len(found) == 2:
            s.labels = [BASELINE, FOLLOW_UP]
    elif wave.column is not None:
        values = list(pd.unique(table.loc[table[wave.column] != "", wave.column]))
        s.labels = in_order(values)
        s.label_options = [] if s.labels else sorted(values)
    _group(s, table, usable, names)
    return s


def _unit_and_wave(table: pd.DataFrame, usable: list[str], multiple_files: bool):
    ids = [c for c in usable if _id_like(table[c])]
    waves = [c for c in usable if _wave_like(table[c])] + ([FILE] if multiple_files else [])
    scored = []
    for unit in ids:
        for wave in waves:
            if wave == unit:
                continue
            linked = _links(table, unit, wave)
            if linked is not None:
                score = linked[0] / linked[1] + 0.2 * bool(ID_HINT.search(unit)) + 0.2 * (
                    wave == FILE or bool(WAVE_HINT.search(wave)))
                scored.append((score, unit, wave, linked))
    scored.sort(key=lambda x: -x[0])
    if scored and (len(scored) == 1 or scored[0][0] - scored[1][0] >= 0.1):
        _, unit, wave, linked = scored[0]
        return Decision(unit), Decision(wave), linked
    unit_options = list(dict.fromkeys(u for _, u, _, _ in scored)) or ids
    wave_options = list(dict.fromkeys(w for _, _, w, _ in scored if w != FILE)) or [w for w in waves if w != FILE]
    return Decision(options=unit_options), Decision(options=wave_options), (0, 0)


def _id_like(values: pd.Series) -> bool:
    filled = values[values != ""]
    return len(filled) > 0 and filled.nunique() >= 0.2 * len(filled) and filled.str.len().mean() <= 40


def _wave_like(values: pd.Series) -> bool:
    filled = values[values != ""]
    counts = filled.value_counts()
    return 2 <= len(counts) <= MOST_WAVES and counts.min() >= 0.05 * len(filled)


def _links(table: pd.DataFrame, unit: str, wave: str) -> tuple[int, int] | None:
    """(people in more than one wave, people) when (unit, wave) identifies the rows and links waves."""
    rows = table[(table[unit] != "") & (table[wave] != "")]
    if rows.empty or rows.duplicated([unit, wave], keep=False).mean() > DUPLICATES_ALLOWED:
        return None
    per_person = rows.groupby(unit)[wave].nunique()
    both = int((per_person >= 2).sum())
    return (both, len(per_person)) if both >= LINKED_NEEDED * len(per_person) else None


def _words(text: str) -> set[str]:
    lower = str(text).lower()
    found = set(re.split(r"[^a-z0-9]+", lower))
    if re.search(r"follow\W*up", lower):
        found.add("followup")
    return found - {""}


def when(label: str) -> int | None:
    """0 for a label saying before (baseline, pre), 1 for one saying after (follow-up, post), else None."""
    found = _words(label)
    before, after = bool(found & BEFORE), bool(found & AFTER)
    return 0 if before and not after else 1 if after and not before else None


def _number(label: str) -> float | None:
    digits = re.findall(r"\d+", str(label))
    return float(digits[-1]) if len(digits) == 1 else None


def in_order(labels: list[str]) -> list[str] | None:
    """The labels baseline first, when their words or numbers say so; None when they do not."""
    if len(labels) == 2:
        times = [when(x) for x in labels]
        if sorted(t for t in times if t is not None) == [0, 1]:
            return sorted(labels, key=when)
    numbers = [_number(x) for x in labels]
    if None not in numbers and len(set(numbers)) == len(numbers) == len(labels) >= 2:
        return [x for _, x in sorted(zip(numbers, labels))]
    return None


def _file_wave(name: str) -> str | None:
    return {0: BASELINE, 1: FOLLOW_UP}.get(when(name.rsplit(".", 1)[0]))


def file_group(name: str) -> str | None:
    found = {w.replace("_", "") for w in _words(name.rsplit(".", 1)[0])}
    if found & COMPARISON_WORDS or {"non", "participants"} <= found:
        return "comparison"
    return "programme" if found & PROGRAMME_WORDS else None


def group_codes(values: pd.Series) -> dict[str, int] | None:
    """The two answers of a column mapped to 1 (took part) and 0 (comparison), as intake reads them."""
    distinct = list(pd.unique(values[values != ""]))
    if len(distinct) != 2:
        return None
    numbers = to_numbers(pd.Series(distinct, dtype=object))
    codes = {}
    for text, number in zip(distinct, numbers):
        lower = text.lower()
        codes[text] = 1 if lower in TRUE_WORDS or number == 1 else 0 if lower in FALSE_WORDS or number == 0 else None
    return codes if sorted(v for v in codes.values() if v is not None) == [0, 1] else None


def _group(s: Structure, table: pd.DataFrame, usable: list[str], names: list[str]) -> None:
    taken = {s.unit.column, s.wave.column}
    two = [c for c in usable if c not in taken and table.loc[table[c] != "", c].nunique() == 2
           and _constant_per_person(table, s.unit.column, c)]
    readable = [c for c in two if group_codes(table[c]) is not None]
    hinted = [c for c in readable if GROUP_HINT.search(c)]
    by_file = {n: file_group(n) for n in names} if len(names) > 1 else None
    files_say = by_file is not None and set(by_file.values()) == {"programme", "comparison"}
    chosen = (hinted[0] if len(hinted) == 1 else None) or (
        readable[0] if len(readable) == 1 and not files_say and not hinted else None)
    # a "Did you take part?" question with the form's own answers: the column is clear, which answer
    # means which group is the charity's to say (design.groups)
    worded = [c for c in two if c not in readable and GROUP_HINT.search(c)]
    if chosen:
        s.group = Decision(chosen)
        s.group_codes = group_codes(table[chosen])
    elif files_say or (by_file and not two and _disjoint_files(table, s.unit.column)):
        s.per_file_groups = by_file
    elif len(worded) == 1 and not readable:
        s.group = Decision(worded[0])
        s.group_answers = sorted(pd.unique(table.loc[table[worded[0]] != "", worded[0]]))
    else:
        s.group = Decision(options=hinted or readable or [c for c in two if GROUP_HINT.search(c)] or two)


def _constant_per_person(table: pd.DataFrame, unit: str | None, column: str) -> bool:
    if unit is None:
        return True
    rows = table[(table[unit] != "") & (table[column] != "")]
    changes = rows.groupby(unit)[column].nunique()
    return bool(len(changes)) and float(np.mean(changes > 1)) <= DUPLICATES_ALLOWED


def _disjoint_files(table: pd.DataFrame, unit: str | None) -> bool:
    """Nobody answers in two files: the files are groups, not waves."""
    if unit is None:
        return False
    rows = table[table[unit] != ""]
    return bool((rows.groupby(unit)[FILE].nunique() <= 1).all())
