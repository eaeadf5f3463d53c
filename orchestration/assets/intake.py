"""Intake assets: raw files -> screened raw survey -> validated rows + quarantine -> analysis panel."""

import warnings

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetOut,
    Failure,
    MetadataValue,
    Output,
    PreviewWarning,
    asset,
    multi_asset,
)

from evaluations.intake.labels import file_value_labels
from evaluations.intake.readers import IntakeError
from evaluations.intake.rules import CHECKS, RECONCILIATION, ROW_CHECKS, STRUCTURE, Check, check_of
from evaluations.intake.validate import StructuralError, intake_report, read_raw, reconcile, unaccounted, validate
from evaluations.intake.panel import build_panel
from evaluations.registry import ManifestError, file_hash
from evaluations.publish.text import markdown_table
from orchestration.partitions import evaluation_partitions
from orchestration.assets.sources import registered_evaluation
from orchestration.resources import RegistryResource

GROUP = "intake"
def _user_failure(err: Exception) -> Failure:
    """A data or manifest problem: stop this evaluation only, with the message the charity needs."""
    return Failure(description=str(err), allow_retries=False)


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="warehouse_io_manager",
       kinds={"pandas", "duckdb"}, deps=[registered_evaluation])  # records which content version it read
def raw_survey(context: AssetExecutionContext, registry: RegistryResource) -> Output[pd.DataFrame]:
    """Every data file of the evaluation as text, identifiers screened out and ids pseudonymised.

    Only the columns the manifest declares are kept; the raw files are never modified.
    """
    key = context.partition_key
    try:
        manifest = registry.manifest(key)
        raw = read_raw(registry.folder(key), manifest)
    except (ManifestError, IntakeError) as err:
        raise _user_failure(err) from None
    per_file = raw.groupby("_source_file").size().to_dict()
    hashes = {f.path: file_hash(registry.folder(key) / f.path) for f in manifest.files}
    return Output(raw, metadata={
        "rows_read": len(raw), "rows_per_file": MetadataValue.json(per_file),
        "file_sha256": MetadataValue.json(hashes), "columns_kept": MetadataValue.json(list(raw.columns)),
    })


PREVIEW_ROWS = 20  # quarantined rows shown with a check; the whole table is the `quarantine` asset


def _check_spec(check: Check) -> AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned checks are a Dagster preview: they show the evaluation
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(check.name, asset="validated_survey", description=check.description,
                              blocking=check.blocking, partitions_def=evaluation_partitions)


def _row_check_results(evaluation: str, quarantine: pd.DataFrame):
    """One result per row check: the rows set aside under its rules, by reason, with a preview."""
    family = quarantine["check"].map(lambda name: check_of(name).name) if len(quarantine) else quarantine["check"]
    for check in ROW_CHECKS:
        rows = quarantine[family == check.name]
        reasons = rows["check"].value_counts().sort_index()
        yield AssetCheckResult(
            check_name=check.name, asset_key="validated_survey", passed=rows.empty,
            severity=AssetCheckSeverity.WARN, description=check.description,
            metadata={"evaluation": evaluation, "rows_quarantined": len(rows),
                      "reasons": MetadataValue.json({k: int(v) for k, v in reasons.items()}),
                      "preview": MetadataValue.md(markdown_table(rows.head(PREVIEW_ROWS)))})


def _reconciliation_result(evaluation: str, recon: pd.DataFrame) -> AssetCheckResult:
    """Rows read = rows kept + rows quarantined, per file and wave; failing (with the counts) if not."""
    lost = unaccounted(recon)
    return AssetCheckResult(
        check_name=RECONCILIATION.name, asset_key="validated_survey", passed=lost.empty,
        severity=AssetCheckSeverity.ERROR, description=RECONCILIATION.description,
        metadata={"evaluation": evaluation, "rows_read": int(recon["read"].sum()),
                  "rows_kept": int(recon["validated"].sum()), "rows_quarantined": int(recon["quarantined"].sum()),
                  "rows_unaccounted": int((lost["read"] - lost["validated"] - lost["quarantined"]).abs().sum()),
                  "reconciliation": MetadataValue.md(markdown_table(recon))})


@multi_asset(
    partitions_def=evaluation_partitions, group_name=GROUP,
    outs={
        "validated_survey": AssetOut(io_manager_key="warehouse_io_manager", kinds={"duckdb"},
                                     description="Rows that passed the data contract, with explicit types."),
        "quarantine": AssetOut(io_manager_key="warehouse_io_manager", kinds={"duckdb"},
                               description="Rows set aside, each with its reason, file and row number."),
        "intake_report": AssetOut(io_manager_key="json_io_manager",
                                  description="Reconciliation and data-quality counts for the evidence page."),
    },
    check_specs=[_check_spec(check) for check in CHECKS],  # evaluations/intake/rules.py: one per rule family
)
def validate_survey(context: AssetExecutionContext, registry: RegistryResource, raw_survey: pd.DataFrame):
    """Check the rows against the data contract generated from the manifest and the measure bank
    (Great Expectations expectations; evaluations/intake/contracts.py).

    Structural failures stop this evaluation (and only this one); row-level failures move
    the row to quarantine and the evaluation goes on.
    """
    key = context.partition_key
    manifest = registry.manifest(key)
    raw = raw_survey
    try:
        labels = file_value_labels(registry.folder(key), manifest, registry.measures())
        result = validate(raw, manifest, registry.measures(), labels)
    except StructuralError as err:
        yield AssetCheckResult(check_name=STRUCTURE.name, asset_key="validated_survey", passed=False,
                               severity=AssetCheckSeverity.ERROR, description=STRUCTURE.description,
                               metadata={"evaluation": key, "problems": MetadataValue.json(err.problems)})
        raise _user_failure(err) from None
    recon = reconcile(raw, result.valid, result.quarantine, manifest.design.wave)
    yield AssetCheckResult(check_name=STRUCTURE.name, asset_key="validated_survey", passed=True,
                           description=STRUCTURE.description, metadata={"evaluation": key})
    yield from _row_check_results(key, result.quarantine)
    yield _reconciliation_result(key, recon)
    yield Output(result.valid,
                 output_name="validated_survey",
                 metadata={"rows": len(result.valid), "rows_quarantined": len(result.quarantine)})
    yield Output(result.quarantine, output_name="quarantine",
                 metadata={"rows": len(result.quarantine),
                           "preview": MetadataValue.md(markdown_table(result.quarantine.head(PREVIEW_ROWS)))})
    yield Output(intake_report(result, recon), output_name="intake_report")


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="warehouse_io_manager",
       kinds={"pandas", "duckdb"})
def analysis_panel(context: AssetExecutionContext, registry: RegistryResource,
                   validated_survey: pd.DataFrame) -> Output[pd.DataFrame]:
    """One row per person and wave: treatment, period, covariates and outcomes oriented so higher is better."""
    key = context.partition_key
    manifest = registry.manifest(key)
    panel = build_panel(validated_survey, manifest, registry.measures())
    counts = panel.groupby(["wave", "treated"]).size().unstack(fill_value=0)
    return Output(panel, metadata={
        "rows": len(panel), "people": int(panel["unit"].nunique()),
        "rows_by_wave_and_group": MetadataValue.md(markdown_table(counts, index=True)),
    })
