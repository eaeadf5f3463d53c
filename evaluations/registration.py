"""Registering an evaluation: copy it into the registry and record its analysis plan.

The plan (design and primary outcomes) is hashed and time-stamped the first time an
evaluation is registered. Later changes are kept as amendments, never overwrite the
original, and the rating shows every deviation from what was first registered.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from evaluations.registry import MANIFEST_NAME, Manifest, ManifestError, load_manifest

REGISTRATION_NAME = "registration.json"


def plan_hash(plan: dict) -> str:
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def registration_document(manifest: Manifest, when: datetime) -> dict:
    plan = manifest.analysis_plan()
    return {"id": manifest.id, "registered_at": when.isoformat(timespec="seconds"),
            "plan_sha256": plan_hash(plan), "plan": plan, "amendments": []}


def register(source: Path, registry: Path, now: datetime | None = None) -> tuple[Path, dict]:
    """Copy an evaluation folder into the registry; keep its first registered plan."""
    source = Path(source)
    manifest = load_manifest(source)
    now = now or datetime.now(timezone.utc)
    target = Path(registry) / manifest.id
    previous = _read(target / REGISTRATION_NAME) if target.exists() else None
    if source.resolve() != target.resolve():
        staging = target.with_name(f".{manifest.id}.incoming")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in [MANIFEST_NAME] + [f.path for f in manifest.files]:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, staging / name)
        # Swap in only after every file copied, so a failed copy never loses a registered evaluation.
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    doc = previous or registration_document(manifest, now)
    current = plan_hash(manifest.analysis_plan())
    known = [doc["plan_sha256"]] + [a["plan_sha256"] for a in doc["amendments"]]
    if current != known[-1]:
        doc["amendments"].append({"amended_at": now.isoformat(timespec="seconds"), "plan_sha256": current,
                                  "plan": manifest.analysis_plan()})
    (target / REGISTRATION_NAME).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return target, doc


def _read(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise ManifestError(path, ["is not valid JSON; restore it from version control or delete it to register afresh"]) from None


def plan_deviations(folder: Path, manifest: Manifest) -> list[str]:
    """How the current analysis plan differs from the one first registered, in plain words."""
    doc = _read(Path(folder) / REGISTRATION_NAME)
    if doc is None:
        return ["the evaluation has no registered analysis plan"]
    before, now = doc["plan"], manifest.analysis_plan()
    changes = []
    for key in sorted(set(before["design"]) | set(now["design"])):
        a, b = before["design"].get(key), now["design"].get(key)
        if a != b:
            changes.append(f"design.{key} was {a!r} when registered on {doc['registered_at'][:10]} and is now {b!r}")
    was = {o["column"] for o in before["primary_outcomes"]}
    is_ = {o["column"] for o in now["primary_outcomes"]}
    changes += [f"primary outcome {c!r} was added after registration" for c in sorted(is_ - was)]
    changes += [f"registered primary outcome {c!r} was dropped" for c in sorted(was - is_)]
    return changes
