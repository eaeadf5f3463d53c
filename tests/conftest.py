"""Shared fixtures: a private copy of the sample library, warehouse, book and Dagster home per test session."""
from __future__ import annotations

import json
import shutil
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
