"""The `commonground` command: scaffold, check, register and run evaluations, and build the book.

User errors (a bad manifest, a bad file) print what to fix and exit with status 2, never a traceback.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape  # user text ('[/]' in a data value) must print as written, not as markup

from evaluations.registry import REGISTRY_ENV, REPO_ROOT, SLUG, ManifestError, evaluation_ids, registry_path

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Common Ground: evaluate social-integration programmes and publish what works.")
out = Console(soft_wrap=True)  # messages hold paths: never wrap or cut them
err = Console(stderr=True, soft_wrap=True)
DAGSTER_HOME_DEFAULT = REPO_ROOT / ".dagster_home"
DAGSTER_YAML = """# Embedded default: SQLite storage in this folder, one run at a time (DuckDB has one writer).
run_queue:
  max_concurrent_runs: 1
telemetry:
  enabled: false
"""

# Progress is shown by this command; Dagster's own step log stays in the run (see `dagster dev`).
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
RegistryOption = typer.Option(None, "--registry", "-r", help=f"Registry folder (default ${REGISTRY_ENV} or the sample library).")


def fail(message: str) -> None:
    err.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _use_registry(registry: Optional[Path]) -> Path:
    path = registry_path(registry)
    os.environ[REGISTRY_ENV] = str(path)  # the Dagster definitions read it when they load
    return path


def dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or DAGSTER_HOME_DEFAULT).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


TEMPLATE = """\
# evaluation.yaml: what the programme is, how it was evaluated, and where the survey files are.
# Check it with `commonground check {id}` and register it with `commonground register {id}`.
id: {id}                     # lower-case letters, digits and hyphens; the same as this folder's name
title: "What the evaluation asks, in a sentence"
synthetic: false             # true only for invented data

programme:
  name: "Programme name"
  family: other              # exchange_visit | school_linking | youth_social_action | intergenerational | other
  organisation: "Delivering organisation"
  places: ["Town or borough"]
  start_date: 2025-01-01
  end_date: 2025-06-30
  cost_per_participant_gbp: 250
  description: "What participants do, in two sentences."

design:
  type: did                  # rct | matched_did | did | matching | pre_post
  unit_id: respondent_id     # column with each person's id (it is pseudonymised at intake)
  treatment: took_part       # column: 1/yes = took part, 0/no = comparison
  wave: wave                 # column with the survey wave
  baseline: baseline         # wave label before the programme
  follow_up: follow-up       # wave label after it
  # For a roll-out over several waves instead: waves: [w1, w2, w3, w4] and first_treated: start_wave
  # cluster: school_id       # optional: class, school or site people are grouped in
  covariates: [age, female]  # numeric characteristics recorded at baseline
  effect_modifiers: []       # characteristics to report effects separately for (e.g. age_group)
  # estimator: doubly_robust_did  # only to override the design's default: did, doubly_robust_did, ancova,
  #                               # difference_in_means, ps_matching, ipw or doubly_robust
  # matching: {{k: 1, caliper: 0.2, replace: true}}  # for ps_matching

outcomes:                    # measure ids come from datasets/measures/
  - column: cohesion
    measure: local_area_cohesion
    primary: true

files:
  - path: survey.csv         # .csv, .xlsx, .sav or .dta, beside this file
    layout: long             # long: a row per person and wave; wide: a row per person
    # sheet: Responses       # for .xlsx
    # drop_columns: [name, email]   # identifying columns to remove at intake

missing_codes: [-9, "Don't know"]
seed: 20250101
"""


@app.command()
def new(evaluation_id: str = typer.Argument(..., help="Slug for the new evaluation, e.g. ncs-2025."),
        directory: Path = typer.Option(Path("."), "--dir", help="Where to create the folder.")):
    """Scaffold a folder with a commented evaluation.yaml."""
    if not SLUG.match(evaluation_id):
        fail(f"{evaluation_id!r} is not a valid id: use lower-case letters, digits and single hyphens, e.g. 'ncs-2025'.")
    folder = directory / evaluation_id
    if (folder / "evaluation.yaml").exists():
        fail(f"{folder / 'evaluation.yaml'} already exists; edit it, or choose another id.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.yaml").write_text(TEMPLATE.format(id=evaluation_id), encoding="utf-8")
    out.print(escape(f"Created {folder / 'evaluation.yaml'}. Put the survey files beside it, then run "
                     f"`commonground check {folder}`."))


def _report(path: Path):
    from evaluations.checking import check_evaluation

    report = check_evaluation(path)
    for note in report.notes:
        out.print(f"  • {escape(note)}", highlight=False)
    if report.mdes is not None:
        out.print(f"  • The planned sample can detect effects of about {report.mdes:.2f} standard deviations "
                  "(80% power, 5% significance).", highlight=False)
    return report


@app.command()
def check(path: Path = typer.Argument(..., help="An evaluation folder or its evaluation.yaml.")):
    """Validate a manifest and its data without running anything; list every problem at once."""
    report = _report(path)
    if not report.ok:
        err.print(f"[bold red]{len(report.problems)} problem(s) to fix:[/]")
        for p in report.problems:
            err.print(f"  • {escape(p)}", highlight=False)
        raise typer.Exit(2)
    out.print(f"[green]✓[/] {escape(str(path))}: ready to register.")


@app.command()
def register(path: Path = typer.Argument(..., help="An evaluation folder to copy into the registry."),
             registry: Optional[Path] = RegistryOption):
    """Check an evaluation, copy it into the registry and record its analysis plan."""
    from evaluations.registration import register as do_register

    report = _report(path)
    if not report.ok:
        err.print(f"[bold red]Not registered: {len(report.problems)} problem(s) to fix:[/]")
        for p in report.problems:
            err.print(f"  • {escape(p)}", highlight=False)
        raise typer.Exit(2)
    target, doc = do_register(path, _use_registry(registry))
    note = f" ({len(doc['amendments'])} amendment(s) to the plan since)" if doc["amendments"] else ""
    out.print(f"[green]✓[/] Registered {report.manifest.id} in {escape(str(target))}; analysis plan {doc['plan_sha256'][:12]} "
              f"recorded {doc['registered_at']}{note}.")


@app.command()
def run(ids: list[str] = typer.Argument(None, help="Evaluation ids (default: every registered evaluation)."),
        registry: Optional[Path] = RegistryOption):
    """Run the Dagster pipeline for evaluations (runs appear in `dagster dev`), then build the book."""
    reg = _use_registry(registry)
    dagster_home()
    known = evaluation_ids(reg)
    unknown = [i for i in ids or [] if i not in known]
    if unknown:
        fail(f"not registered in {reg}: {', '.join(unknown)}. Registered: {', '.join(known) or 'none'}.")
    if not known:
        fail(f"no evaluations in {reg}; register one with `commonground register <folder>`.")
    from dagster import DagsterInstance

    from orchestration.definitions import build_definitions
    from orchestration.partitions import evaluation_partitions

    defs = build_definitions()
    instance = DagsterInstance.get()
    existing = set(instance.get_dynamic_partitions(evaluation_partitions.name))
    instance.add_dynamic_partitions(evaluation_partitions.name, [k for k in known if k not in existing])
    for stale in existing - set(known):
        instance.delete_dynamic_partition(evaluation_partitions.name, stale)
    job = defs.resolve_job_def("evaluation_job")
    failed = []
    targets = ids or known
    with out.status("") as status:
        for i, key in enumerate(targets, 1):
            status.update(f"[{i}/{len(targets)}] {key}: intake, analysis, page…")
            result = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False,
                                            run_config=QUIET)
            if result.success:
                out.print(f"[green]✓[/] {key} (run {result.run_id[:8]})")
            else:
                failed.append(key)
                out.print(f"[red]✗[/] {key}: {escape(_failure_message(result))}", highlight=False)
        status.update("Building the evidence book…")
        book_result = defs.resolve_job_def("book_job").execute_in_process(instance=instance, raise_on_error=False,
                                                                          run_config=QUIET)
    if not book_result.success:
        fail(f"the book did not build: {_failure_message(book_result)}")
    from orchestration.resources import book_dir

    out.print(f"[green]✓[/] Evidence book: {escape(str(book_dir() / '_build' / 'html' / 'index.html'))}")
    if failed:
        fail(f"{len(failed)} evaluation(s) stopped on a data problem: {', '.join(failed)}. "
             "Fix what each message says, then run them again; the others were published.")


def _failure_message(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            data = event.step_failure_data
            return data.user_failure_data.description if data.user_failure_data else data.error.message.strip()
    return "the run failed; open `dagster dev` for the details"


@app.command()
def book(registry: Optional[Path] = RegistryOption):
    """Rebuild the library pages and the HTML book from the published evaluations."""
    _use_registry(registry)
    dagster_home()
    from dagster import DagsterInstance

    from orchestration.definitions import build_definitions
    from orchestration.resources import book_dir

    result = build_definitions().resolve_job_def("book_job").execute_in_process(
        instance=DagsterInstance.get(), raise_on_error=False, run_config=QUIET)
    if not result.success:
        fail(f"the book did not build: {_failure_message(result)}")
    out.print(f"[green]✓[/] Evidence book: {escape(str(book_dir() / '_build' / 'html' / 'index.html'))}")


@app.command()
def simulate(registry: Optional[Path] = RegistryOption,
             truth: Path = typer.Option(None, "--truth", help="Where to write the true effects (default datasets/sample_truth)."),
             only: list[str] = typer.Option(None, "--only", help="Simulate only these sample ids.")):
    """Write the synthetic sample library (and its true effects, kept apart from the survey files)."""
    from evaluations.simulate import SAMPLES, TRUTH_DIR, simulate_library

    unknown = [o for o in only or [] if o not in SAMPLES]
    if unknown:
        fail(f"no sample called {', '.join(unknown)}; choose from {', '.join(SAMPLES)}.")
    folders = simulate_library(registry_path(registry), truth or TRUTH_DIR, only)
    for f in folders:
        out.print(f"[green]✓[/] {escape(str(f))} (synthetic)")


def main() -> None:
    try:
        app()
    except ManifestError as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
