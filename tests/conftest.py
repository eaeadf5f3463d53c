"""Shared fixtures: a private copy of the sample library, warehouse, book and Dagster home per test session."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaluations.registry import DEFAULT_REGISTRY, REPO_ROOT

BOOK_SOURCES = ["_config.yml", "_toc.yml", "intro.md", "methods.md", "glossary.md", "register.md", "parity.md", "_static",
                "_ext", "_extra"]
TRUTH_DIR = REPO_ROOT / "datasets" / "sample_truth"
# The synthetic sample library (evaluations/simulate.py), in the order the registry lists it.
SAMPLES = ["befriending-pre-post-2024", "intergenerational-2023", "ncs-youth-2024", "school-linking-2024",
           "school-linking-survey-2025", "town-exchange-2023"]


def truth(evaluation_id: str) -> dict:
    return json.loads((TRUTH_DIR / f"{evaluation_id}.json").read_text())


@dataclass(frozen=True)
class PipelineRecord:
    """What the analysis assets compute for one evaluation folder, and the record they publish."""
    manifest: object
    panel: object
    table: object
    diagnostics: object
    rating: object
    record: object  # EvidenceRecord; .to_json() is the published document


def pipeline_record(folder: Path, provenance: dict | None = None) -> PipelineRecord:
    """The evidence record of a folder from the functions the Dagster assets call, in their order
    (orchestration/assets/: intake, panel, estimates, diagnostics, rating, the group means, the record),
    without Dagster. `provenance` defaults to a test run's (no file hashes, no registration)."""
    from evaluations.diagnostics.report import run_diagnostics
    from evaluations.diagnostics.wave_means import published_wave_means
    from evaluations.estimators.plan import estimate_impacts
    from evaluations.intake.panel import build_panel
    from evaluations.intake.validate import intake_report, read_raw, reconcile, validate
    from evaluations.measures import load_measures
    from evaluations.rating import rate
    from evaluations.records import build_record
    from evaluations.registry import load_manifest

    manifest, measures = load_manifest(folder), load_measures()
    raw = read_raw(folder, manifest)
    checked = validate(raw, manifest, measures)
    intake = intake_report(checked, reconcile(raw, checked.valid, checked.quarantine, manifest.design.wave))
    panel = build_panel(checked.valid, manifest, measures)
    table = estimate_impacts(panel, manifest, measures).to_table()
    diagnostics = run_diagnostics(panel, manifest, table)
    rating = rate(manifest, diagnostics)
    if provenance is None:
        provenance = {"code_version": "test", "run_id": "test", "partition": manifest.id, "data_files": [],
                      "registration": None}
    record = build_record(manifest=manifest, measures=measures, estimates=table, diagnostics=diagnostics,
                          rating=rating, intake=intake, group_means=published_wave_means(panel, manifest, measures),
                          provenance=provenance)
    return PipelineRecord(manifest, panel, table, diagnostics, rating, record)


def warehouse_database(warehouse: Path, evaluation_id: str) -> Path:
    """The DuckDB file holding an evaluation's tables in the warehouse folder `warehouse` (its layout's)."""
    from orchestration.warehouse import warehouse_io_manager

    return Path(warehouse_io_manager(Path(warehouse)).database_of(evaluation_id))


def copy_book_sources(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in BOOK_SOURCES:
        source = REPO_ROOT / "book" / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture
def registry(tmp_path) -> Path:
    """A writable copy of the sample library."""
    target = tmp_path / "registry"
    shutil.copytree(DEFAULT_REGISTRY, target)
    return target


@pytest.fixture
def pipeline_env(tmp_path, registry, monkeypatch) -> dict[str, Path]:
    """Point the registry, warehouse, book and Dagster home at temporary folders."""
    paths = {"registry": registry, "warehouse": tmp_path / "warehouse", "book": copy_book_sources(tmp_path / "book"),
             "dagster_home": tmp_path / "dagster_home"}
    paths["dagster_home"].mkdir()
    monkeypatch.setenv("COMMONGROUND_REGISTRY", str(registry))
    monkeypatch.setenv("COMMONGROUND_WAREHOUSE", str(paths["warehouse"]))
    monkeypatch.setenv("COMMONGROUND_BOOK", str(paths["book"]))
    monkeypatch.setenv("DAGSTER_HOME", str(paths["dagster_home"]))
    return paths


@pytest.fixture(scope="session")
def ncs_sample() -> PipelineRecord:
    """The NCS-style sample (matched DiD, 5,090 people) through the analysis assets' functions, once per session:
    its group effects are the suite's costliest fit."""
    return pipeline_record(DEFAULT_REGISTRY / "ncs-youth-2024")


# `make test` runs the suite on two pytest-xdist workers (--dist loadgroup). A file that uses one of these
# session fixtures runs on the worker that builds it, so each is built once; every other file stays whole on
# one worker, so its module fixtures are built once too.
BUILT_ONCE = ("published_library", "ncs_sample")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    group = {item.path: item.path.name for item in items}
    for item in items:
        shared = next((name for name in BUILT_ONCE if name in item.fixturenames), None)
        if shared:
            group[item.path] = shared
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group[item.path]))


@pytest.fixture(scope="session")
def published_library(tmp_path_factory) -> dict[str, Path]:
    """Run the whole pipeline once per session through the CLI, as `make run` does."""
    import os
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("published")
    reg = root / "registry"
    shutil.copytree(DEFAULT_REGISTRY, reg)
    env = {**os.environ, "COMMONGROUND_REGISTRY": str(reg), "COMMONGROUND_WAREHOUSE": str(root / "warehouse"),
           "COMMONGROUND_BOOK": str(copy_book_sources(root / "book")), "DAGSTER_HOME": str(root / "dagster_home")}
    proc = subprocess.run([str(Path(sys.executable).parent / "commonground"), "run"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"root": root, "registry": reg, "book": root / "book", "warehouse": root / "warehouse",
            "html": root / "book" / "_build" / "html", "dagster_home": root / "dagster_home", "stdout": proc.stdout}
