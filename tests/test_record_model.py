"""The typed record: what the pipeline stores and publishes validates against EvidenceRecord, the
JSON Schema published with the book says the same, and a record that breaks a rule is refused.

Reads the session's published sample library (conftest.published_library); runs nothing again.
"""
from __future__ import annotations

import copy
import json
import math

import jsonschema
import pytest
from pydantic import ValidationError
from scipy import stats

from evaluations import disclosure
from evaluations.record_model import SCHEMA, Diagnostics, EvidenceRecord, Rating, schema_file_name
from evaluations.registry import REPO_ROOT
from tests.conftest import SAMPLES


def _documents(library, asset: str) -> dict[str, dict]:
    folder = library["warehouse"] / "documents" / asset
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


@pytest.fixture(scope="module")
def stored(published_library) -> dict[str, dict]:
    """Each sample's record as the pipeline stored it (warehouse/documents/evidence_record)."""
    records = _documents(published_library, "evidence_record")
    assert sorted(records) == SAMPLES
    return records


@pytest.fixture(scope="module")
def downloads(published_library) -> dict[str, dict]:
    """Each sample's JSON download, as the book publishes it."""
    folder = published_library["book"] / "generated" / "records"
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
            if p.name != schema_file_name()}


@pytest.fixture(scope="module")
def schema(published_library) -> dict:
    return json.loads((published_library["book"] / "generated" / "records" / schema_file_name()).read_text())


# ------------------------------------------------------------------ (a) real records validate


def test_every_stored_document_validates_as_its_model(published_library, stored):
    for key, doc in stored.items():
        record = EvidenceRecord.model_validate(doc)
        assert record.schema_ == SCHEMA == doc["schema"]
        assert record.to_json() == doc, key  # parsing and dumping give back the very document stored
    for doc in _documents(published_library, "diagnostics").values():
        Diagnostics.model_validate(doc)
    for doc in _documents(published_library, "evidence_rating").values():
        Rating.model_validate(doc)


def test_each_estimate_states_the_degrees_of_freedom_its_interval_used(stored):
    """The df is the one the 95% interval was computed with: t on df, or the normal reference (None)."""
    kinds = set()
    for key, doc in stored.items():
        for row in doc["estimates"] + doc["subgroups"] + doc["sensitivity"]:
            assert "df" in row, (key, row["outcome"], row["subgroup"])
            if row["estimate"] is None or row["std_error"] is None or isinstance(row["df"], str):
                continue
            kinds.add("t" if row["df"] is not None else "normal")
            critical = stats.t.ppf(0.975, row["df"]) if row["df"] else stats.norm.ppf(0.975)
            half_width = (row["ci_high"] - row["ci_low"]) / 2
            assert half_width == pytest.approx(critical * row["std_error"], rel=1e-6), (key, row["estimator"])
    assert kinds == {"t", "normal"}  # the sample library has designs of both kinds


# ------------------------------------------------------------------ (b) the published schema


def test_the_schema_published_with_the_book_is_the_models_and_is_valid_json_schema(published_library, schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == EvidenceRecord.model_json_schema()
    assert schema["properties"]["schema"]["const"] == SCHEMA
    assert schema_file_name() == f"evidence_record-v{SCHEMA.rsplit('/', 1)[1]}.schema.json"
    # the methods page links it by name and version, and the built book offers it for download
    methods = (REPO_ROOT / "book" / "methods.md").read_text(encoding="utf-8")
    assert f"<generated/records/{schema_file_name()}>" in methods and f"`{SCHEMA}`" in methods
    html = (published_library["html"] / "methods.html").read_text(encoding="utf-8")
    assert schema_file_name() in html
    assert list((published_library["html"] / "_downloads").rglob(schema_file_name()))


def test_every_published_record_validates_against_the_published_schema(downloads, schema):
    assert sorted(downloads) == SAMPLES
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for key, doc in downloads.items():
        assert doc["schema"] == SCHEMA
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == [], key
        EvidenceRecord.model_validate(doc)


def test_the_schema_refuses_a_stray_key_and_another_version(downloads, schema):
    validator = jsonschema.Draft202012Validator(schema)
    doc = copy.deepcopy(downloads["ncs-youth-2024"])
    doc["estimates"][0]["note"] = "a key no reader was promised"
    assert not validator.is_valid(doc)
    doc = copy.deepcopy(downloads["ncs-youth-2024"])
    doc["schema"] = "commonground.evidence_record/1"
    assert not validator.is_valid(doc)


# ------------------------------------------------------------------ (c) values that could be wrong


def _refused(doc: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        EvidenceRecord.model_validate(doc)


@pytest.fixture
def record(stored) -> dict:
    """A record of people (the rules on counts apply), with a shown overall estimate to spoil."""
    doc = copy.deepcopy(stored["ncs-youth-2024"])
    assert doc["design"]["units"] == "people" and doc["estimates"][0]["suppressed"] is False
    return doc


def test_a_stray_or_missing_key_is_refused(record):
    stray = copy.deepcopy(record)
    stray["flow"]["programme"]["dropped"] = 40
    _refused(stray, "Extra inputs are not permitted")
    nested = copy.deepcopy(record)
    nested["diagnostics"]["attrition"]["lost"] = {"programme": 12}
    _refused(nested, "Extra inputs are not permitted")
    missing = copy.deepcopy(record)
    del missing["estimates"][0]["df"]
    _refused(missing, "Field required")


def test_a_count_of_fewer_than_ten_people_given_as_a_number_is_refused(record):
    flow = copy.deepcopy(record)
    flow["flow"]["comparison"]["registered"] = 7
    _refused(flow, "counts of fewer than 10 people are published: .*flow.comparison.registered = 7")
    estimate = copy.deepcopy(record)
    estimate["estimates"][0]["n_treated"] = 3
    _refused(estimate, "counts of fewer than 10 people")
    said = copy.deepcopy(record)
    said["flow"]["comparison"]["registered"] = disclosure.SUPPRESSED  # the same count, as published: accepted
    EvidenceRecord.model_validate(said)


def test_a_hidden_effect_with_a_figure_is_refused(record):
    row = record["estimates"][0]
    row.update(suppressed=True, suppression_reason=disclosure.SUPPRESSION_REASON, n_treated=disclosure.SUPPRESSED,
               df=57.0, p_value_adjusted=0.2)
    with pytest.raises(ValidationError) as refused:  # the estimate, its interval and its df are still there
        EvidenceRecord.model_validate(record)
    # errors of the hidden shape (tagged by suppressed = True), field by field
    wrong = {e["loc"][-1] for e in refused.value.errors() if e["loc"][:3] == ("estimates", 0, True)}
    assert wrong == set(disclosure.ESTIMATE_FIELDS)
    for field in wrong:
        row[field] = None
    EvidenceRecord.model_validate(record)


def test_a_df_beside_a_hidden_group_size_is_refused_and_the_record_hides_it(record):
    for row in record["estimates"]:
        row["df"] = None if row["suppressed"] else 57.0
    record["estimates"][0]["n_comparison"] = disclosure.NOT_SHOWN  # hidden by secondary suppression
    _refused(record, "df is published beside a hidden group size")
    disclosure.hide_df_beside_hidden_counts(record)
    assert [r["df"] for r in record["estimates"]] == [disclosure.NOT_SHOWN] + [
        None if r["suppressed"] else 57.0 for r in record["estimates"][1:]]  # only the one beside a hidden size
    assert EvidenceRecord.model_validate(record).estimates[0].df == disclosure.NOT_SHOWN


def test_a_record_of_another_schema_version_is_refused(record):
    record["schema"] = "commonground.evidence_record/1"
    _refused(record, "schema")


def test_not_a_number_is_refused(record):
    """NaN is not JSON: a figure that could not be computed is published as null."""
    record["estimates"][0]["std_error"] = math.nan
    _refused(record, "estimates.*std_error")
