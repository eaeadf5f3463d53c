"""`commonground check`: everything wrong with an evaluation folder, found without running the pipeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evaluations.intake.labels import file_value_labels
from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError
from evaluations.intake.validate import StructuralError, read_raw, validate
from evaluations.measures import load_measures, unknown_measures
from evaluations.designs import design_of
from evaluations.registry import Manifest, ManifestError, load_manifest


@dataclass
class CheckReport:
    path: Path
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mdes: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_evaluation(path: Path | str) -> CheckReport:
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    report = CheckReport(folder)
    try:
        manifest = load_manifest(path)
    except ManifestError as err:
        report.problems += [f"{err.path}: {p}" for p in err.problems]
        return report
    report.manifest = manifest
    measures = load_measures()
    # an own measure (inline) was validated with the manifest; a bank id must be in the bank
    report.problems += [f"{folder / 'evaluation.yaml'}: {p}" for p in unknown_measures(manifest, measures)]
    for f in manifest.files:
        if not (folder / f.path).is_file():
            report.problems.append(f"{folder / f.path}: the data file named in evaluation.yaml is not there; "
                                   "copy it beside evaluation.yaml or correct files.path")
    if report.problems:
        return report
    try:
        raw = read_raw(folder, manifest)
        # the contract judged in pandas (tests/test_contracts.py holds it to Great Expectations' verdicts):
        # the check answers in about two seconds from a fresh process (importing Great Expectations took 4.7 s)
        result = validate(raw, manifest, measures, file_value_labels(folder, manifest, measures),
                          contract_engine="pandas")
    except StructuralError as err:
        report.problems += [f"{folder}: {p}" for p in err.problems]
        return report
    except IntakeError as err:
        for e in getattr(err, "errors", [err]):  # the privacy screen reports every identifying column at once
            report.problems.append(str(e) if e.file.startswith("(") else f"{folder / e.file}{str(e)[len(e.file):]}")
        return report
    report.notes += answer_notes(result.answers)
    report.notes += set_aside_notes(folder, result.quarantine)
    d = manifest.design
    base = result.valid[result.valid[d.wave] == d.wave_labels[0]]
    n_t = int(base.loc[base[d.treatment_column] == 1, d.unit_id].nunique())
    n_c = int(base.loc[base[d.treatment_column] == 0, d.unit_id].nunique())
    clusters = int(base[d.cluster].nunique()) if d.cluster else None
    design = design_of(d)
    report.mdes = design.planned_mdes(n_t, n_c, clusters)
    report.notes.append(design.sample_note(n_t, n_c) + (f" in {clusters} clusters" if clusters else ""))
    report.problems += design.data_problems(folder, manifest, result.valid)
    return report


SET_ASIDE_EXAMPLES = 3  # rows named for each kind of problem; the count says how many there are in all


def set_aside_notes(folder: Path, q) -> list[str]:
    """One note per file, column and failed check, with how many rows it set aside and where: every
    kind of problem is reported at once, however many rows share it (the quarantine table itself
    exists only after `run`)."""
    notes = []
    for (file, col, _check), rows in q.groupby([SOURCE_FILE, "column", "check"], sort=False, dropna=False):
        column = f", column '{col}'" if isinstance(col, str) and col else ""
        first = rows.iloc[0]
        if len(rows) == 1:
            notes.append(f"{folder / file}, row {first[SOURCE_ROW]}{column}: {first['reason']} (set aside)")
            continue
        shown = ", ".join(str(r) for r in rows[SOURCE_ROW].head(SET_ASIDE_EXAMPLES))
        more = f" and {len(rows) - SET_ASIDE_EXAMPLES} more" if len(rows) > SET_ASIDE_EXAMPLES else ""
        notes.append(f"{folder / file}{column}: {len(rows)} rows set aside (rows {shown}{more}); the first, row "
                     f"{first[SOURCE_ROW]}: {first['reason']}")
    return notes


def answer_notes(answers: dict[str, dict]) -> list[str]:
    """What intake did with answers in words and "don't know"-type answers, per outcome column."""
    notes = []
    for col, a in answers.items():
        said = []
        if a["from_words"]:
            said.append(f"{a['from_words']} answer{'s' if a['from_words'] != 1 else ''} in words read as the "
                        "measure's codes")
        if a["dont_know"]:
            said.append(f"{a['dont_know']} \"don't know\"-type answer{'s' if a['dont_know'] != 1 else ''} counted "
                        "as missing")
        if a["mapped_by_label"]:
            said.append(f"the codes in {', '.join(a['mapped_by_label'])} are labelled in another order than the "
                        "measure's, so each was read by its label")
        if said:
            notes.append(f"'{col}': {'; '.join(said)}")
    return notes
