"""Common Ground uses Dagster's public API only, and configures it without touching os.environ.

Dagster's underscore modules (dagster._core, dagster._daemon, ...) change without notice between
releases; whatever they offered is done through the public API (see orchestration/runs.py).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from evaluations.registry import REPO_ROOT

PRIVATE = re.compile(r"\bdagster(_[a-z0-9_]+)?\._")  # dagster._core, dagster_postgres._x, ...
PACKAGES = ("orchestration", "evaluations")


def test_no_private_dagster_module_is_used():
    found = [f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}"
             for package in PACKAGES for path in sorted((REPO_ROOT / package).rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if PRIVATE.search(line)]
    assert found == []


def test_the_private_module_pattern_catches_what_it_must():
    assert PRIVATE.search("from dagster._core.launcher import WorkerStatus")
    assert PRIVATE.search("import dagster._daemon.monitoring")
    assert PRIVATE.search('importlib.import_module("dagster_postgres._utils")')
    assert not PRIVATE.search("from dagster import DefaultRunLauncher, EnvVar")


def test_no_module_writes_the_environment():
    """Configuration travels as arguments and EnvVar, never by setting os.environ for someone else to read."""
    writes = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                target = node.targets[0] if isinstance(node, ast.Assign) else None
                if isinstance(target, ast.Subscript) and ast.unparse(target.value) == "os.environ":
                    writes.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
                if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.update", "os.putenv"):
                    writes.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert writes == []


def test_importing_the_code_location_creates_no_folder(tmp_path):
    """`dagster dev` imports orchestration.definitions: the warehouse folder appears with the first run, not then."""
    warehouse = tmp_path / "warehouse"
    code = ("import orchestration.definitions as d; r = d.defs.resources; "
            "print(*(v.env_var_name for v in (r['registry'].path, r['warehouse_io_manager'].folder, "
            "r['json_io_manager'].warehouse)))")
    env = {"COMMONGROUND_REGISTRY": str(tmp_path / "registry"), "COMMONGROUND_WAREHOUSE": str(warehouse),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    shown = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=300)
    assert shown.returncode == 0, shown.stderr
    # read through EnvVar when a run or sensor starts: Dagster shows the variable's name, not a path fixed at import
    assert shown.stdout.split() == ["COMMONGROUND_REGISTRY", "COMMONGROUND_WAREHOUSE", "COMMONGROUND_WAREHOUSE"]
    assert not warehouse.exists()


def test_the_command_passes_its_folders_to_the_definitions(tmp_path):
    from dagster import build_init_resource_context

    from orchestration.definitions import build_definitions

    folders = {name: tmp_path / name for name in ("registry", "warehouse", "book")}
    defs = build_definitions(**folders)
    assert defs.resources["registry"].path == str(folders["registry"])
    assert defs.resources["book_dir"].path == str(folders["book"])
    assert defs.resources["warehouse_io_manager"].folder == str(folders["warehouse"])
    assert not folders["warehouse"].exists()  # it appears when a run first uses the warehouse
    defs.resources["warehouse_io_manager"].create_io_manager(build_init_resource_context())
    assert folders["warehouse"].is_dir()


def test_the_code_location_is_named_commonground():
    import yaml

    for workspace in (REPO_ROOT / "workspace.yaml", REPO_ROOT / "deploy" / "workspace.yaml"):
        locations = yaml.safe_load(workspace.read_text(encoding="utf-8"))["load_from"]
        assert [next(iter(entry.values()))["location_name"] for entry in locations] == ["commonground"]
