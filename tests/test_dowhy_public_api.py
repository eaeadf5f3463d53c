"""DoWhy is reached through its public API only (issue 9), checked on the source of every module in evaluations/.

Parsed with ast, not imported: an import of a DoWhy module or name beginning with "_", any DoWhy
refuter or estimator module other than the one documented extension base (dowhy_bridge.py says why
its estimators subclass PropensityScoreEstimator), and, in a module that imports DoWhy, any read or
write of an underscore attribute (``obj._x``, ``getattr(obj, "_x")``) fail the test.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "evaluations"
# (module, name) pairs allowed from DoWhy's sub-packages; everything at dowhy's top level is public.
ALLOWED = {
    ("dowhy", "CausalModel"),
    ("dowhy.causal_estimator", "CausalEstimate"),  # the result type an estimator's estimate_effect returns
    # DoWhy 0.14 takes estimators outside DoWhy only as CausalEstimator subclasses, and only its own
    # estimators' fit sets the state its refuters read back (dowhy_bridge.py)
    ("dowhy.causal_estimators.propensity_score_estimator", "PropensityScoreEstimator"),
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    found, uses_dowhy = [], False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "dowhy":
                    uses_dowhy = True
                    if alias.name != "dowhy":
                        found.append(f"{where}:{node.lineno}: import {alias.name} (import names, from the public API)")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dowhy":
            uses_dowhy = True
            for alias in node.names:
                if (node.module, alias.name) not in ALLOWED or any(map(_private, node.module.split("."))):
                    found.append(f"{where}:{node.lineno}: from {node.module} import {alias.name}")
    if uses_dowhy:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                found.append(f"{where}:{node.lineno}: private attribute .{node.attr}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in {"getattr", "setattr", "hasattr", "delattr"} and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
                  and _private(node.args[1].value)):
                found.append(f"{where}:{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


def test_no_module_reaches_into_dowhy_internals():
    problems = [v for path in sorted(ROOT.rglob("*.py"))
                for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT.parent)))]
    assert not problems, "DoWhy used outside its public API:\n" + "\n".join(problems)


def test_the_check_catches_what_the_old_matching_module_did():
    old = (
        "from dowhy import CausalModel\n"
        "from dowhy.causal_refuters import refute_data_subset\n"
        "from dowhy.causal_refuters.placebo_treatment_refuter import PlaceboType\n"
        "from dowhy.causal_estimators._private import Thing\n"
        "import dowhy.causal_estimators.propensity_score_weighting_estimator\n"
        "def f(estimator, data):\n"
        "    cols = estimator._target_estimand.get_adjustment_set()\n"
        "    return estimator._encode(data[cols], 'x'), getattr(estimator, '_target_units')\n"
    )
    found = violations(old, "old.py")
    assert len(found) == 7, found
    assert not violations("import numpy as np\nx = np.linalg._umath_linalg\n", "numpy_only.py")  # not DoWhy
