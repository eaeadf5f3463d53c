"""Intake assets: raw files -> screened raw survey -> validated rows + quarantine -> analysis panel."""

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
    asset,
    multi_asset,
)

from evaluations.intake.labels import file_value_labels
from evaluations.intake.readers import IntakeError
from evaluations.intake.validate import StructuralError, intake_report, read_raw, reconcile, validate
from evaluations.intake.panel import build_panel
from evaluations.registry import ManifestError, file_hash
from evaluations.publish.text import markdown_table
from orchestration.partitions import evaluation_partitions
from orchestration.resources import RegistryResource

GROUP = "intake"
def _user_failure(err: Exception) -> Failure:
    """A data or manifest problem: stop this evaluation only, with the message the charity needs."""
    return Failure(description=str(err), allow_retries=False)


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="warehouse_io_manager",
       kinds={"pandas", "duckdb"})
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


STRUCTURE_CHECK = "data_contract_structure"
ROW_CHECKS = ("values_valid", "one_row_per_unit_and_wave", "treatment_constant_within_unit", "rows_reconcile")


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
    check_specs=[AssetCheckSpec(STRUCTURE_CHECK, asset="validated_survey", blocking=True,
                                description="Required columns, known waves, enough rows (Great Expectations)")]
    + [AssetCheckSpec(name, asset="validated_survey") for name in ROW_CHECKS],
)
def validate_survey(context: AssetExecutionContext, registry: RegistryResource, raw_survey: pd.DataFrame):
    """Run the Great Expectations contract generated from the manifest and the measure bank.

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
        yield AssetCheckResult(check_name=STRUCTURE_CHECK, asset_key="validated_survey", passed=False,
                               severity=AssetCheckSeverity.ERROR, metadata={"problems": MetadataValue.json(err.problems)})
        raise _user_failure(err) from None
    recon = reconcile(raw, result.valid, result.quarantine, manifest.design.wave)
    yield AssetCheckResult(check_name=STRUCTURE_CHECK, asset_key="validated_survey", passed=True)
    by_check = {c.name: len(c.failing_index) for c in result.checks}
    value_checks = {k: v for k, v in by_check.items() if k.endswith(("_valid", "_in_range", "_recorded", "_is_0_or_1"))}
    outcomes = {
        "values_valid": sum(value_checks.values()),
        "one_row_per_unit_and_wave": by_check.get("one_row_per_unit_and_wave", 0),
        "treatment_constant_within_unit": by_check.get("treatment_constant_within_unit", 0),
    }
    for name, failing in outcomes.items():
        yield AssetCheckResult(check_name=name, asset_key="validated_survey", passed=failing == 0,
                               severity=AssetCheckSeverity.WARN, metadata={"rows_quarantined": failing})
    yield AssetCheckResult(check_name="rows_reconcile", asset_key="validated_survey", passed=True,
                           metadata={"reconciliation": MetadataValue.md(markdown_table(recon))})
    yield Output(result.valid,
                 output_name="validated_survey",
                 metadata={"rows": len(result.valid), "rows_quarantined": len(result.quarantine)})
    yield Output(result.quarantine, output_name="quarantine",
                 metadata={"rows": len(result.quarantine),
                           "preview": MetadataValue.md(markdown_table(result.quarantine.head(20)))})
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
