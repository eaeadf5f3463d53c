"""`commonground check`: everything wrong with an evaluation folder, found without running the pipeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evaluations.intake.readers import SOURCE_FILE, SOURCE_ROW, IntakeError
from evaluations.intake.validate import MIN_UNITS_PER_GROUP, StructuralError, read_raw, validate
from evaluations.measures import load_measures
from evaluations.registry import Estimator, Manifest, ManifestError, load_manifest


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
    for o in manifest.outcomes:
        if o.measure not in measures:
            report.problems.append(f"{folder / 'evaluation.yaml'}: outcomes.{o.column}.measure {o.measure!r} is not "
                                   f"in the measure bank; use one of: {', '.join(sorted(measures))}")
    for f in manifest.files:
        if not (folder / f.path).is_file():
            report.problems.append(f"{folder / f.path}: the data file named in evaluation.yaml is not there; "
                                   "copy it beside evaluation.yaml or correct files.path")
    if report.problems:
        return report
    try:
        raw = read_raw(folder, manifest)
        result = validate(raw, manifest, measures)
    except StructuralError as err:
        report.problems += [f"{folder}: {p}" for p in err.problems]
        return report
    except IntakeError as err:
        report.problems.append(str(err) if err.file.startswith("(") else f"{folder / err.file}{str(err)[len(err.file):]}")
        return report
    from evaluations.diagnostics.power import planned_mdes  # imported only when there is a sample to size

    q = result.quarantine
    for row in q.head(20).to_dict("records"):
        column = f", column '{row['column']}'" if row["column"] else ""
        report.notes.append(f"{folder / row[SOURCE_FILE]}, row {row[SOURCE_ROW]}{column}: {row['reason']} (set aside)")
    if len(q) > 20:
        report.notes.append(f"... and {len(q) - 20} more rows set aside; `commonground run` lists them all in the quarantine table")
    d = manifest.design
    base = result.valid[result.valid[d.wave] == d.wave_labels[0]]
    n_t = int(base.loc[base[d.treatment] == 1, d.unit_id].nunique())
    n_c = int(base.loc[base[d.treatment] == 0, d.unit_id].nunique())
    clusters = int(base[d.cluster].nunique()) if d.cluster else None
    report.mdes = planned_mdes(n_t, n_c, clusters)
    report.notes.append(f"{n_t} programme and {n_c} comparison people at baseline"
                        + (f" in {clusters} clusters" if clusters else ""))
    report.problems += _unlinked_waves(folder, manifest, result.valid)
    return report


# Estimators that compare each person's own change, so they need the same people in both waves.
CHANGE_SCORE_ESTIMATORS = (Estimator.did, Estimator.doubly_robust_did)


def _unlinked_waves(folder: Path, manifest: Manifest, valid) -> list[str]:
    """A two-wave change-score design needs people answering at both waves. A repeated
    cross-section (different people each wave, e.g. an anonymous survey) is not analysable by
    it yet, so it is refused here rather than failing at `run`."""
    d = manifest.design
    if d.staggered or d.analysis_estimator not in CHANGE_SCORE_ESTIMATORS:
        return []
    at_follow_up = valid.loc[valid[d.wave] == d.follow_up, d.unit_id].unique()
    baseline = valid[valid[d.wave] == d.baseline]
    linked = baseline[baseline[d.unit_id].isin(at_follow_up)].drop_duplicates(d.unit_id)
    groups = {"programme": int((linked[d.treatment] == 1).sum()), "comparison": int((linked[d.treatment] == 0).sum())}
    short = {g: n for g, n in groups.items() if n < MIN_UNITS_PER_GROUP}
    if not short:
        return []
    found = " and ".join(f"{n} in the {g} group" for g, n in short.items())
    return [f"{folder}: only {found} answered both {d.baseline!r} and {d.follow_up!r} under the same "
            f"'{d.unit_id}' (at least {MIN_UNITS_PER_GROUP} per group are needed). The {d.analysis_estimator.value} "
            "estimator compares each person's own change, so it needs the same people at both waves; if your "
            "survey asks different people each wave (a repeated cross-section), that design is not supported yet; "
            f"if they are the same people, make '{d.unit_id}' the same for a person in every wave"]
