"""Each design is decided in one place: its module says what the manifest must hold, and `check`
refuses what `run` could not do, naming the fix."""
from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from evaluations.designs import design_of
from evaluations.registry import REPO_ROOT, Manifest

BASE = {
    "id": "design-test", "title": "A design test", "synthetic": True,
    "programme": {"name": "Club", "family": "other", "organisation": "Test", "places": ["Here"],
                  "start_date": "2024-01-01", "end_date": "2024-06-30"},
    "outcomes": [{"column": "score", "measure": "mixing_different_backgrounds", "primary": True}],
    "files": [{"path": "data.csv"}],
}
TWO_WAVES = {"unit_id": "id", "treatment": "took_part", "wave": "wave", "baseline": "before", "follow_up": "after"}


def manifest(**design) -> Manifest:
    return Manifest.model_validate({**BASE, "design": design})


@pytest.mark.parametrize("design, key, default", [
    (dict(TWO_WAVES, type="rct"), "rct", "ancova"),
    (dict(TWO_WAVES, type="did"), "did", "did"),
    (dict(TWO_WAVES, type="did", sample="repeated_cross_section"), "did_repeated_cross_section", "did"),
    (dict(TWO_WAVES, type="matched_did", covariates=["age"]), "matched_did", "doubly_robust_did"),
    (dict(TWO_WAVES, type="matched_did", sample="repeated_cross_section", covariates=["age"]),
     "matched_did_repeated_cross_section", "doubly_robust_did"),
    (dict(TWO_WAVES, type="matching", covariates=["age"]), "matching", "ps_matching"),
    ({k: v for k, v in TWO_WAVES.items() if k != "treatment"} | {"type": "pre_post"}, "pre_post", "mean_change"),
    ({"unit_id": "id", "treatment": "site", "wave": "wave", "type": "did", "waves": ["a", "b", "c"],
      "first_treated": "start"}, "staggered", "callaway_santanna"),
])
def test_every_design_resolves_to_its_module_and_default_estimator(design, key, default):
    m = manifest(**design)
    assert design_of(m.design).key == key
    assert m.design.analysis_estimator.value == default


@pytest.mark.parametrize("design, fix", [
    (dict(TWO_WAVES, type="did", sample="repeated_cross_section", effect_modifiers=["fsm"]),
     "remove design.effect_modifiers"),
    (dict(TWO_WAVES, type="did", sample="repeated_cross_section", estimator="ancova"),
     "use one of: did, doubly_robust_did"),
    (dict(TWO_WAVES, type="did", sample="repeated_cross_section", estimator="doubly_robust_did"),
     "design.covariates must list them"),
    (dict(TWO_WAVES, type="pre_post"), "remove design.treatment"),
    ({k: v for k, v in TWO_WAVES.items() if k != "treatment"} | {"type": "did"},
     "design.treatment must name the column"),
    (dict(TWO_WAVES, type="matching", covariates=["age"], weights="w"),
     "the ps_matching estimator does not take survey weights (matching has no design-based standard error with "
     "them); use design.estimator: doubly_robust, or remove design.weights"),
    ({"unit_id": "id", "treatment": "site", "wave": "wave", "type": "did", "waves": ["a", "b", "c"],
      "first_treated": "start", "sample": "repeated_cross_section"}, "repeated cross-sections are not supported"),
    ({"unit_id": "id", "treatment": "site", "wave": "wave", "type": "did", "waves": ["a", "b"],
      "first_treated": "start"}, "three or more wave labels"),
])
def test_a_combination_a_design_cannot_run_is_refused_with_the_fix(design, fix):
    with pytest.raises(ValidationError, match=re.escape(fix)):
        manifest(**design)


def test_weights_are_accepted_where_the_estimator_takes_them():
    for design in (dict(TWO_WAVES, type="did", weights="w"), dict(TWO_WAVES, type="rct", weights="w"),
                   dict(TWO_WAVES, type="did", weights="w", effect_modifiers=["fsm"]),
                   dict(TWO_WAVES, type="matched_did", covariates=["age"], weights="w"),
                   dict(TWO_WAVES, type="matching", covariates=["age"], weights="w", estimator="ipw"),
                   dict(TWO_WAVES, type="matching", covariates=["age"], weights="w", estimator="doubly_robust"),
                   dict(TWO_WAVES, type="did", sample="repeated_cross_section", weights="w"),
                   {"unit_id": "id", "treatment": "site", "wave": "wave", "type": "did", "waves": ["a", "b", "c"],
                    "first_treated": "start", "weights": "w", "effect_modifiers": ["fsm"]}):
        assert manifest(**design).design.weights == "w"


def test_no_module_outside_the_designs_branches_on_the_design_type():
    """The design type is read in one place (designs/__init__.py); everything else asks the design."""
    designs = REPO_ROOT / "evaluations" / "designs"
    allowed = {REPO_ROOT / "evaluations" / "registry.py",  # where the field is declared
               REPO_ROOT / "evaluations" / "simulate.py"}  # writes the sample manifests
    # a comparison with the type, a table looked up by it, or a DesignType member named
    the_type = r"(?:design\.type|\bd\.type|\[[\"']type[\"']\])"
    pattern = re.compile(rf"DesignType\.\w|{the_type}(?:\.value)?\s*(?:==|!=|\bin\b|\bnot in\b)|\[\s*[\w.]*{the_type}\s*\]")
    offenders = []
    for path in sorted((REPO_ROOT / "evaluations").rglob("*.py")) + sorted((REPO_ROOT / "orchestration").rglob("*.py")):
        if path in allowed or designs in path.parents:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == []
