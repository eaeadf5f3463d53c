"""Registering an evaluation: copy it into the registry and record its analysis plan.

The registry's copy of each data file has the columns files.drop_columns lists emptied
(intake/screened_copy.py), so names, emails and IP addresses never reach it; the hash of each file
as the charity sent it is kept in registration.json (`original_files`).

The plan (every manifest input that can change a result: see `Manifest.analysis_plan`) is
hashed and time-stamped the first time an evaluation is registered. Later changes are kept
as amendments, never overwrite the original, and the rating shows every deviation from what
was first registered. The stored hash is checked again whenever the evaluation is run, so an
edit to a recorded plan that leaves its hash behind is reported instead of trusted. The hash is
not a signature: someone who edits a plan and recomputes its hash is not caught here (that
needs a copy kept outside the registry folder, e.g. in version control of the registry).

An id belongs to the folder it was first registered from: registration.json records that
folder's resolved path (`source`; null when the evaluation was written straight into the
registry, as the synthetic samples are). Registering another folder under the same id is
refused unless the user asks for `replace`, which starts a new registration and records
the one it replaced.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from evaluations.files import write_text_atomic
from evaluations.intake.screened_copy import write_screened_copy
from evaluations.registry import (MANIFEST_NAME, Design, Manifest, ManifestError, MatchingOptions, file_hash,
                                  load_manifest)

REGISTRATION_NAME = "registration.json"
# Said in the rating (and so on the page) when registration.json cannot vouch for the registered plan.
PLAN_CHANGED = ("The registered plan in registration.json was changed after it was recorded (its hash no longer "
                "matches); the original plan cannot be trusted.")
FIX_TAMPERED = ("restore registration.json from version control or a backup; to register this folder afresh "
                "instead, add --replace (the replacement is recorded)")


def plan_hash(plan) -> str:
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def registration_document(manifest: Manifest, when: datetime, source: str | None = None) -> dict:
    plan = manifest.analysis_plan()
    return {"id": manifest.id, "registered_at": when.isoformat(timespec="seconds"), "source": source,
            "plan_sha256": plan_hash(plan), "plan": plan, "amendments": [], "replacements": []}


def register(source: Path, registry: Path, now: datetime | None = None, replace: bool = False) -> tuple[Path, dict]:
    """Copy an evaluation folder into the registry; keep its first registered plan.

    Refuses (ManifestError) a folder whose id is registered from another folder unless
    `replace`, and a registration.json whose recorded plan no longer matches its hash.
    Whatever was registered before is kept intact on any failure.
    """
    source = Path(source).resolve()
    if source.name == MANIFEST_NAME:
        source = source.parent
    manifest = load_manifest(source)
    now = now or datetime.now(timezone.utc)
    target = Path(registry).resolve() / manifest.id
    in_place = source == target
    previous, unreadable = _load(target / REGISTRATION_NAME) if target.exists() else (None, None)
    origin = None if in_place else str(source)
    if target.exists() and not in_place and not replace and (previous or {}).get("source") != origin:
        raise ManifestError(target, [_conflict(manifest.id, target, previous, source)])
    if not replace:
        problems = [unreadable] if unreadable else integrity_problems(previous) if previous else []
        if problems:
            raise ManifestError(target / REGISTRATION_NAME, [f"{p} To go on: {FIX_TAMPERED}." for p in problems])
    if previous is None or replace:
        doc = registration_document(manifest, now, origin)
        if previous is not None or unreadable or (target.exists() and not in_place):
            doc["replacements"] = _replacements(previous) + [_replacement(previous, origin, now)]
    else:
        doc = previous
        current = manifest.analysis_plan()
        known = [doc["plan_sha256"]] + [a["plan_sha256"] for a in doc["amendments"]]
        if plan_hash(current) != known[-1]:
            doc["amendments"].append({"amended_at": now.isoformat(timespec="seconds"),
                                      "plan_sha256": plan_hash(current), "plan": current})
    if not in_place:
        # the charity's files as they were sent, for provenance; the registry keeps only screened copies
        doc["original_files"] = [{"path": f.path, "sha256": file_hash(source / f.path)} for f in manifest.files]
    if in_place:
        _write_json(target / REGISTRATION_NAME, doc)
    else:
        _swap_in(source, target, manifest, doc)
    return target, doc


def _conflict(evaluation_id: str, target: Path, previous: dict | None, incoming: Path) -> str:
    recorded = (previous or {}).get("source")
    if isinstance(recorded, str) and recorded:
        origin = f"registered from {recorded}"
    elif previous is not None and "source" in previous:
        origin = "registered in the registry itself (no other source folder is recorded)"
    else:  # registered before source folders were recorded, or its registration.json is missing or unreadable
        origin = "registered from a folder that is not recorded"
    return (f"not registered: the id {evaluation_id!r} is already taken by the evaluation in {target}, {origin}; "
            f"{incoming} is another folder. If it is a different evaluation, give it its own id (in evaluation.yaml "
            f"and as its folder name); if it should replace the registered one, run `commonground register {incoming} "
            "--replace` (the replacement is recorded in registration.json)")


def _replacements(previous: dict | None) -> list:
    earlier = (previous or {}).get("replacements") if isinstance(previous, dict) else None
    return earlier if isinstance(earlier, list) else []


def _replacement(previous: dict | None, origin: str | None, now: datetime) -> dict:
    previous = previous if isinstance(previous, dict) else {}
    return {"replaced_at": now.isoformat(timespec="seconds"), "source": origin,
            "previous_source": previous.get("source"), "previous_registered_at": previous.get("registered_at"),
            "previous_plan_sha256": previous.get("plan_sha256")}


def _swap_in(source: Path, target: Path, manifest: Manifest, doc: dict) -> None:
    """Copy into a hidden staging folder, then swap it in with renames, so a failure at any step
    leaves the registered evaluation (files and registration.json) exactly as it was."""
    staging = target.with_name(f".{manifest.id}.incoming")
    retired = target.with_name(f".{manifest.id}.previous")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copy2(source / MANIFEST_NAME, staging / MANIFEST_NAME)
        for f in manifest.files:  # identifier columns emptied: the registry holds no direct identifiers
            write_screened_copy(source, f, manifest, staging / f.path)
        _write_json(staging / REGISTRATION_NAME, doc)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if retired.exists():  # left by an earlier swap that was interrupted after it succeeded
        shutil.rmtree(retired)
    if target.exists():
        target.rename(retired)
    try:
        staging.rename(target)
    except OSError:
        if retired.exists():
            retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _write_json(path: Path, doc: dict) -> None:
    write_text_atomic(path, json.dumps(doc, indent=2) + "\n")


def _load(path: Path) -> tuple[dict | None, str | None]:
    """registration.json as a dict, or (None, why it cannot be read); (None, None) when there is none."""
    if not path.exists():
        return None, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None, _malformed("it is not valid JSON")
    if not isinstance(doc, dict):
        return None, _malformed("it is not a JSON object")
    return doc, None


def _malformed(why: str) -> str:
    return f"registration.json could not be read ({why}); the original plan cannot be trusted."


def integrity_problems(doc: dict) -> list[str]:
    """What makes a registration.json untrustworthy: a missing part, or a plan that no longer matches its hash."""
    parts = {"registered_at": str, "plan_sha256": str, "plan": dict, "amendments": list}
    missing = [k for k, kind in parts.items() if not isinstance(doc.get(k), kind)]
    if missing:
        return [_malformed(f"{', '.join(missing)} missing or of the wrong kind")]
    try:
        datetime.fromisoformat(doc["registered_at"])
    except ValueError:
        return [_malformed("registered_at is not a date and time")]
    problems = [PLAN_CHANGED] if plan_hash(doc["plan"]) != doc["plan_sha256"] else []
    for i, a in enumerate(doc["amendments"], 1):
        if not isinstance(a, dict) or plan_hash(a.get("plan")) != a.get("plan_sha256"):
            problems.append(f"Amendment {i} of the plan in registration.json was changed after it was recorded "
                            "(its hash no longer matches); the record of changes to the plan cannot be trusted.")
    return problems


@dataclass(frozen=True)
class PlanReview:
    """How the evaluation as it stands compares with its registration."""

    deviations: list[str]  # each change from the first registered plan, in plain words
    problems: list[str]  # why registration.json itself cannot be trusted (full sentences)


def review_plan(folder: Path, manifest: Manifest) -> PlanReview:
    doc, unreadable = _load(Path(folder) / REGISTRATION_NAME)
    if unreadable:
        return PlanReview([], [unreadable])
    if doc is None:
        return PlanReview(["the evaluation has no registered analysis plan"], [])
    problems = integrity_problems(doc)
    if not isinstance(doc.get("plan"), dict):
        return PlanReview([], problems)
    try:
        deviations = compare_plans(doc["plan"], manifest.analysis_plan(), str(doc.get("registered_at", ""))[:10])
    except _Malformed as err:
        return PlanReview([], problems + [_malformed(str(err))])
    return PlanReview(deviations, problems)


def registration_summary(folder: Path) -> dict | None:
    """What a reader may know of the registration: when the plan was recorded, its hash, how
    many amendments and replacements followed (and when). No folder paths: they are the
    charity's own machine's, and may hold a person's name."""
    doc, unreadable = _load(Path(folder) / REGISTRATION_NAME)
    if doc is None or unreadable:
        return None
    amendments = doc.get("amendments") if isinstance(doc.get("amendments"), list) else []
    return {"registered_at": str(doc.get("registered_at", "")), "plan_sha256": str(doc.get("plan_sha256", "")),
            "amendments": [str(a.get("amended_at", "")) for a in amendments if isinstance(a, dict)],
            "replacements": [{"replaced_at": str(r.get("replaced_at", "")),
                              "previous_registered_at": str(r.get("previous_registered_at") or "")}
                             for r in _replacements(doc) if isinstance(r, dict)]}


def plan_deviations(folder: Path, manifest: Manifest) -> list[str]:
    """How the current analysis plan differs from the one first registered, in plain words."""
    return review_plan(folder, manifest).deviations


class _Malformed(ValueError):
    pass


def _design_defaults() -> dict:
    return {f.alias or name: f.get_default(call_default_factory=True) for name, f in Design.model_fields.items()
            if not f.is_required()} | {"matching": MatchingOptions().model_dump(mode="json")}


def _as_current(plan: dict) -> tuple[dict, bool]:
    """A registered plan in today's (version 2) shape, for the parts it has; and whether it
    registered only the primary outcomes (version 1 registered only the design and those)."""
    if not isinstance(plan.get("design"), dict):
        raise _Malformed("its plan has no design")
    design = _design_defaults() | plan["design"]
    if isinstance(design["matching"], dict):  # version 1 kept only the options that differed from the defaults
        design["matching"] = MatchingOptions().model_dump(mode="json") | design["matching"]
    version = plan.get("plan_version", 1)
    outcomes = plan.get("primary_outcomes" if version == 1 else "outcomes")
    if not isinstance(outcomes, list) or not all(isinstance(o, dict) and isinstance(o.get("column"), str)
                                                 for o in outcomes):
        raise _Malformed("its plan's outcomes are not a list of outcomes")
    files = plan.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in files):
        raise _Malformed("its plan's files are not a list of files")
    return {**plan, "design": design, "outcomes": outcomes}, version == 1


def compare_plans(registered: dict, now: dict, registered_on: str) -> list[str]:
    """Every difference between a registered plan and the current one, in plain words."""
    before, primaries_only = _as_current(registered)
    changes: list[str] = []

    def changed(label: str, was, is_) -> str:
        if isinstance(was, dict) and isinstance(is_, dict):  # name only the entries that differ
            keys = [k for k in sorted(set(was) | set(is_)) if was.get(k) != is_.get(k)]
            was, is_ = {k: was[k] for k in keys if k in was}, {k: is_[k] for k in keys if k in is_}
        return f"{label} was {was!r} when registered on {registered_on} and is now {is_!r}"

    now_design = _design_defaults() | now["design"]  # fields left out at their defaults read as them
    for key in sorted(set(before["design"]) | set(now_design)):
        if before["design"].get(key) != now_design.get(key):
            changes.append(changed(f"design.{key}", before["design"].get(key), now_design.get(key)))
    changes += _outcome_changes(before["outcomes"], now["outcomes"], primaries_only, changed)
    if "files" in before:
        was = {f["path"]: f for f in before["files"]}
        is_ = {f["path"]: f for f in now["files"]}
        changes += [f"file {p!r} was added after registration" for p in sorted(set(is_) - set(was))]
        changes += [f"registered file {p!r} was removed" for p in sorted(set(was) - set(is_))]
        for p in sorted(set(was) & set(is_)):
            for key in sorted(set(was[p]) | set(is_[p])):
                if was[p].get(key) != is_[p].get(key):
                    changes.append(changed(f"files[{p}].{key}", was[p].get(key), is_[p].get(key)))
    for key in ("missing_codes", "valid_ranges", "seed"):
        if key in before and before[key] != now[key]:
            changes.append(changed(key, before[key], now[key]))
    return changes


def _outcome_changes(before: list, now: list, primaries_only: bool, changed) -> list[str]:
    if primaries_only:
        now = [o for o in now if o.get("primary")]
    was, is_ = {o["column"]: o for o in before}, {o["column"]: o for o in now}
    changes = []
    for c in sorted(set(is_) - set(was)):
        primary = is_[c].get("primary") or primaries_only
        changes.append(f"{'primary outcome' if primary else 'outcome'} {c!r} was added after registration")
    for c in sorted(set(was) - set(is_)):
        changes.append(f"registered {'primary outcome' if was[c].get('primary') else 'outcome'} {c!r} was dropped")
    for c in sorted(set(was) & set(is_)):
        if is_[c].get("primary") and not was[c].get("primary"):
            changes.append(f"primary outcome {c!r} was added after registration")
        elif was[c].get("primary") and not is_[c].get("primary"):
            changes.append(f"registered primary outcome {c!r} is no longer primary")
        was_m, is_m = was[c].get("measure"), is_[c].get("measure")
        if isinstance(was_m, dict) and isinstance(is_m, dict):  # the charity's own question: name each field changed
            changes += [changed(f"outcomes[{c}].measure.{k}", was_m.get(k), is_m.get(k))
                        for k in sorted(set(was_m) | set(is_m)) if was_m.get(k) != is_m.get(k)]
        elif was_m != is_m:
            changes.append(changed(f"outcomes[{c}].measure", was_m, is_m))
    return changes
