"""Groups of participants in readers' words: the manifest's labels for effect modifiers, checked at `check`,
and the default words without them (evaluations/subgroup_names.py)."""
from __future__ import annotations

import shutil

import pytest
import yaml

from evaluations.registry import DEFAULT_REGISTRY, ManifestError, load_manifest
from evaluations.subgroup_names import modifier_words, readable, subgroup_name, value_name

NCS = "ncs-youth-2024"


def test_default_words_for_a_column_and_its_answers():
    assert readable("lives_alone") == "Lives alone" and readable("age-group") == "Age group"
    assert subgroup_name("lives_alone=1") == "Lives alone: yes" and subgroup_name("lives_alone=0.0") == "Lives alone: no"
    assert subgroup_name("town=Boston") == "Town: Boston"  # an answer in words stays as the data writes it
    assert subgroup_name("town=another group") == "Town: another group"  # hidden by disclosure control
    assert subgroup_name("all") == "all"
    assert value_name("1.0", {"1": "receives free school meals"}) == "receives free school meals"
    assert value_name("YES", {"yes": "takes part"}) == "takes part"  # matched as categories are


def test_yes_and_no_only_for_a_column_of_zeros_and_ones():
    assert modifier_words("fsm", None, None, ["0", "1.0"])["values"] == {"0": "no", "1.0": "yes"}
    # a count is not a yes/no question: 1 child is not "yes"
    assert modifier_words("children", None, None, ["0", "1", "2"]) == {
        "label": "Children", "values": {"0": "0", "1": "1", "2": "2"}}


def test_the_manifests_words_reach_only_the_levels_published():
    words = modifier_words("fsm", "Free school meals", {"0": "no", "1": "yes"}, ["1", "another group"])
    assert words == {"label": "Free school meals", "values": {"1": "yes", "another group": "another group"}}


def _ncs_with(tmp_path, modifiers) -> ManifestError | object:
    folder = tmp_path / NCS
    shutil.copytree(DEFAULT_REGISTRY / NCS, folder)
    raw = yaml.safe_load((folder / "evaluation.yaml").read_text())
    raw["design"]["effect_modifiers"] = modifiers
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        return load_manifest(folder)
    except ManifestError as error:
        return error


def test_the_sample_names_its_modifiers_and_the_plain_form_still_works(tmp_path):
    shipped = load_manifest(DEFAULT_REGISTRY / NCS)
    assert shipped.design.effect_modifiers == ["fsm", "female"]
    assert shipped.design.modifier_words["fsm"].label == "Free school meals"
    assert shipped.design.modifier_words["fsm"].values == {"0": "no", "1": "yes"}
    plain = _ncs_with(tmp_path, ["fsm", "female"])
    assert plain.design.effect_modifiers == ["fsm", "female"] and plain.design.modifier_words == {}
    # words are for readers: the registered analysis plan is the same with or without them
    assert plain.analysis_plan() == shipped.analysis_plan()


@pytest.mark.parametrize("modifiers, message", [
    ([{"column": "fsm", "values": {0: False, 1: True}}],
     "entry 1 (fsm): values: the word for answer 0 reads as False, not text; put it in quotes"),
    ([{"column": "fsm", "values": {True: "takes part"}}], "the answer True reads as true/false"),
    (["female", {"column": "fsm", "label": "  "}], "entry 2 (fsm): the label of 'fsm' is empty"),
    ([{"column": "fsm", "values": {1: "yes", "1.0": "y"}}], "name '1' and '1.0', which read as the same answer"),
    ([{"column": "fsm", "lable": "Free school meals"}], "entry 1 (fsm): lable: is not a known field"),
    (["fsm", {"column": "fsm", "label": "Free school meals"}], "lists 'fsm' more than once"),
    ([{"column": "fsm", "label": "x" * 101}], "design.effect_modifiers.0.label: is 101 characters long; shorten it"),
    ([{"column": "fsm", "label": "Free\u202eschool"}], "design.effect_modifiers.0.label: holds the invisible character"),
])
def test_check_refuses_unreadable_words_with_the_fix(tmp_path, modifiers, message):
    error = _ncs_with(tmp_path, modifiers)
    assert isinstance(error, ManifestError)
    assert any(message in p for p in error.problems), error.problems


def test_check_refuses_words_for_an_answer_the_data_never_holds(tmp_path):
    from evaluations.checking import check_evaluation

    folder = tmp_path / NCS
    shutil.copytree(DEFAULT_REGISTRY / NCS, folder)
    text = (folder / "evaluation.yaml").read_text()
    (folder / "evaluation.yaml").write_text(text.replace("      1: 'yes'", "      'y': 'yes'", 1))
    problems = check_evaluation(folder).problems
    assert any("the words for 'fsm' are given for 'y', which no row of 'fsm' holds" in p for p in problems), problems
