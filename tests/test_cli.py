"""The `commonground` command: exit codes, messages without tracebacks, registration."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evaluations.registry import DEFAULT_REGISTRY, ManifestError, load_manifest
from tests.conftest import copy_book_sources

CLI = str(Path(sys.executable).parent / "commonground")


def cg(*args, env=None, cwd=None):
    proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, cwd=cwd)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def test_new_scaffolds_a_manifest_that_validates_once_its_marks_are_filled_in(tmp_path):
    proc = cg("new", "my-exchange", "--dir", tmp_path)
    assert proc.returncode == 0
    path = tmp_path / "my-exchange" / "evaluation.yaml"
    # check refuses every value left for the charity, and only those (no "not a valid date" beside them)
    proc = cg("check", path.parent)
    said = " ".join(proc.stderr.split())  # the terminal wraps long lines
    assert proc.returncode == 2
    marked = ["title", "programme.name", "programme.organisation", "programme.places.0", "programme.start_date",
              "programme.end_date", "programme.cost_per_participant_gbp", "programme.description"]
    for field in marked:
        assert f'{field}: still says "FILL IN: ' in said, field
    assert said.count("still says") == len(marked) and "valid date" not in said
    filled = {"what the evaluation asks, in a sentence": "Does the exchange build trust?",
              "the programme's name": "Town Exchange", "the organisation that delivers it": "Example Trust",
              "a town or borough": "Oldham", "the first day, as YYYY-MM-DD": "2025-01-06",
              "the last day, as YYYY-MM-DD": "2025-06-27", "what participants do, in two sentences": "Visits."}
    text = path.read_text(encoding="utf-8")
    for mark, value in filled.items():
        text = text.replace(f'"FILL IN: {mark}"', f'"{value}"')
    text = text.replace('"FILL IN: the cost per participant in pounds (delete the line if not known)"', "180")
    path.write_text(text, encoding="utf-8")
    manifest = load_manifest(path)
    assert manifest.id == "my-exchange" and manifest.outcomes[0].primary
    assert manifest.programme.cost_per_participant_gbp == 180 and manifest.programme.name == "Town Exchange"
    assert cg("new", "my-exchange", "--dir", tmp_path).returncode == 2  # never overwrites
    assert cg("new", "Not A Slug", "--dir", tmp_path).returncode == 2
    # the scaffold names a data file that is not there yet: check says exactly that
    proc = cg("check", tmp_path / "my-exchange")
    assert proc.returncode == 2 and "survey.csv: the data file named in evaluation.yaml is not there" in proc.stderr


def test_a_manifest_scaffolded_before_the_marks_is_refused_with_its_placeholders(tmp_path):
    folder = tmp_path / "old-scaffold"
    folder.mkdir()
    text = (DEFAULT_REGISTRY / "town-exchange-2023" / "evaluation.yaml").read_text(encoding="utf-8")
    manifest = yaml.safe_load(text)
    manifest["id"] = "old-scaffold"
    manifest["programme"].update(name="Programme name", organisation="Delivering organisation")
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    with pytest.raises(ManifestError) as err:
        load_manifest(folder)
    fix = "; replace it with the real value (or delete the line if the field is optional)"
    assert err.value.problems == ['programme.name: still says "Programme name"' + fix,
                                  'programme.organisation: still says "Delivering organisation"' + fix]


def test_check_passes_a_sample_and_reports_its_mdes():
    proc = cg("check", DEFAULT_REGISTRY / "school-linking-2024")
    assert proc.returncode == 0, proc.stderr
    assert "can detect effects of about 0.29 standard deviations" in proc.stdout
    assert "set aside" in proc.stdout  # the planted impossible answers are listed with file and row


def test_check_imports_none_of_the_heavy_libraries():
    """`commonground check` answers in a second or two (issue 13: under 2 s): the contract is judged
    without Great Expectations (seconds to import), the MDES without scipy.stats, and nothing of the
    pipeline, the estimators or the book is loaded. Which modules load is exact; a timing would not be.
    No scipy at all, even for a sample with clusters, whose planned MDES takes a t quantile
    (school-linking-2024); a CSV sample (ncs-youth-2024) does not load pyreadstat (SPSS/Stata files only)."""
    heavy = ["great_expectations", "scipy", "statsmodels", "dowhy", "econml", "sklearn", "dagster",
             "matplotlib", "duckdb"]
    for sample, also in (("school-linking-2024", []), ("ncs-youth-2024", ["pyreadstat"])):
        code = ("import sys; from evaluations.cli import main; sys.argv = ['commonground', 'check', sys.argv[1]]\n"
                "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
                f"print([m for m in {heavy + also!r} if m in sys.modules])")
        proc = subprocess.run([sys.executable, "-c", code, str(DEFAULT_REGISTRY / sample)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_check_lists_every_problem_and_exits_2(tmp_path):
    folder = tmp_path / "town-exchange-2023"
    shutil.copytree(DEFAULT_REGISTRY / "town-exchange-2023", folder)
    m = yaml.safe_load((folder / "evaluation.yaml").read_text())
    m["outcomes"][0]["measure"] = "happiness"
    m["outcomes"][1]["measure"] = "wellbeing"
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(m))
    proc = cg("check", folder)
    assert proc.returncode == 2
    assert "2 problem(s)" in proc.stderr
    assert "outcomes.thermometer.measure 'happiness' is not in the measure bank" in proc.stderr
    assert "outcomes.cohesion.measure 'wellbeing'" in proc.stderr


def test_check_refuses_a_file_with_an_email_column(tmp_path):
    folder = tmp_path / "ncs-youth-2024"
    shutil.copytree(DEFAULT_REGISTRY / "ncs-youth-2024", folder)
    lines = (folder / "survey.csv").read_text().splitlines()
    lines[0] += ",contact"
    lines[1:] = [line + ",someone@example.org" if i == 40 else line + "," for i, line in enumerate(lines[1:])]
    (folder / "survey.csv").write_text("\n".join(lines) + "\n")
    proc = cg("check", folder)
    assert proc.returncode == 2
    assert "survey.csv, row 42, column 'contact'" in proc.stderr
    assert "an email address" in proc.stderr and "drop_columns" in proc.stderr


def test_register_records_the_plan_and_keeps_it_through_amendments(tmp_path):
    source = tmp_path / "incoming" / "school-linking-2024"
    shutil.copytree(DEFAULT_REGISTRY / "school-linking-2024", source)
    (source / "registration.json").unlink()
    registry = tmp_path / "registry"
    proc = cg("register", source, "--registry", registry)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((registry / "school-linking-2024" / "registration.json").read_text())
    assert [o["column"] for o in doc["plan"]["outcomes"] if o["primary"]] == ["comfort"] and len(doc["plan_sha256"]) == 64
    m = yaml.safe_load((source / "evaluation.yaml").read_text())
    m["outcomes"][1]["primary"] = True  # a second primary outcome after the fact
    (source / "evaluation.yaml").write_text(yaml.safe_dump(m))
    assert cg("register", source, "--registry", registry).returncode == 0
    again = json.loads((registry / "school-linking-2024" / "registration.json").read_text())
    assert again["plan_sha256"] == doc["plan_sha256"] and again["registered_at"] == doc["registered_at"]
    assert len(again["amendments"]) == 1
    from evaluations.registration import plan_deviations
    deviations = plan_deviations(registry / "school-linking-2024", load_manifest(registry / "school-linking-2024"))
    assert deviations == ["primary outcome 'friends' was added after registration"]


def test_run_and_simulate_refuse_unknown_names(tmp_path):
    proc = cg("run", "no-such-evaluation", "--registry", DEFAULT_REGISTRY)
    assert proc.returncode == 2 and "not registered" in proc.stderr
    proc = cg("simulate", "--only", "bogus", "--registry", tmp_path)
    assert proc.returncode == 2 and "no sample called bogus" in proc.stderr
    assert cg("run", "--registry", tmp_path / "empty").returncode == 2


def test_a_broken_evaluation_stops_alone_and_the_rest_is_published(tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(DEFAULT_REGISTRY / "town-exchange-2023", registry / "town-exchange-2023")
    broken = registry / "town-exchange-copy"
    shutil.copytree(DEFAULT_REGISTRY / "town-exchange-2023", broken)
    m = yaml.safe_load((broken / "evaluation.yaml").read_text())
    m["id"] = "town-exchange-copy"
    m["design"]["covariates"] = ["age", "female", "income"]  # a column the file does not have
    (broken / "evaluation.yaml").write_text(yaml.safe_dump(m))
    env = {"COMMONGROUND_WAREHOUSE": str(tmp_path / "wh"), "COMMONGROUND_BOOK": str(copy_book_sources(tmp_path / "book")),
           "DAGSTER_HOME": str(tmp_path / "dh")}
    proc = cg("run", "--registry", registry, env=env)
    assert proc.returncode == 2
    assert "✗ town-exchange-copy: validate_survey: (all data files): column 'income' named in evaluation.yaml is not in the data" in proc.stdout
    # the columns the file has, read back from the warehouse (the run's raw table keeps no pandas attrs)
    assert "'age'" in proc.stdout and "write the name exactly as the file has it" in proc.stdout
    assert "✓ town-exchange-2023" in proc.stdout
    pages = sorted(p.name for p in (tmp_path / "book" / "_build" / "html" / "generated" / "evaluations").glob("*.html"))
    assert pages == ["town-exchange-2023.html"]


def test_check_refuses_a_repeated_cross_section_for_a_change_score_design(tmp_path):
    """Different people at each wave (an anonymous survey): `run` could not analyse it, so `check` says so."""
    import pandas as pd

    folder = tmp_path / "ncs-youth-2024"
    shutil.copytree(DEFAULT_REGISTRY / "ncs-youth-2024", folder)
    survey = pd.read_csv(folder / "survey.csv", dtype=str, keep_default_na=False)
    later = survey["wave"] != "baseline"
    survey.loc[later, "respondent_id"] = survey.loc[later, "respondent_id"] + "-later"
    survey.to_csv(folder / "survey.csv", index=False)
    proc = cg("check", folder)
    assert proc.returncode == 2
    assert (f"{folder}: only 0 in the programme group and 0 in the comparison group answered both 'baseline' and "
            "'3-month follow-up' under the same 'respondent_id' (at least 10 per group are needed). The "
            "doubly_robust_did estimator compares each person's own change") in " ".join(proc.stderr.split())
