"""Analysis assets: impact estimates, diagnostics, the evidence rating and the evidence record.

Diagnostics, ratings and records are typed models (evaluations.record_model) inside each asset and
JSON documents between them (the JSON IO manager): each asset parses what it reads and dumps what it
returns."""

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from evaluations.diagnostics.report import run_diagnostics
from evaluations.diagnostics.wave_means import published_wave_means
from evaluations.estimators.plan import estimate_impacts
from evaluations.publish.text import markdown_table
from evaluations.rating import rate
from evaluations.record_model import Diagnostics, Rating
from evaluations.records import build_record, code_version, data_hashes
from evaluations.registration import registration_summary, review_plan
from orchestration.partitions import evaluation_partitions
from orchestration.resources import RegistryResource

GROUP = "analysis"


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="warehouse_io_manager",
       kinds={"pandas", "duckdb"})
def impact_estimates(context: AssetExecutionContext, registry: RegistryResource,
                     analysis_panel: pd.DataFrame) -> Output[pd.DataFrame]:
    """Effects per outcome by the design's estimator, subgroup effects, event-time effects and tests."""
    key = context.partition_key
    manifest = registry.manifest(key)
    table = estimate_impacts(analysis_panel, manifest, registry.measures()).to_table()
    overall = table[table["kind"] == "overall"]
    shown = overall[["outcome", "estimate", "ci_low", "ci_high", "effect_size", "n_treated", "n_comparison"]]
    return Output(table, metadata={
        "estimator": str(overall["estimator"].iloc[0]),
        "effects": MetadataValue.md(markdown_table(shown, floatfmt=".3f")),
    })


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="json_io_manager")
def diagnostics(context: AssetExecutionContext, registry: RegistryResource, analysis_panel: pd.DataFrame,
                impact_estimates: pd.DataFrame) -> dict:
    """Balance, attrition, clusters, minimum detectable effect sizes, pre-trend and heterogeneity tests."""
    manifest = registry.manifest(context.partition_key)
    result = run_diagnostics(analysis_panel, manifest, impact_estimates)
    context.add_output_metadata({"attrition": result.attrition.overall_attrition,
                                 "mdes_planned": result.mdes_planned})
    return result.model_dump(mode="json")


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="json_io_manager")
def evidence_rating(context: AssetExecutionContext, registry: RegistryResource, diagnostics: dict) -> dict:
    """Padlocks (0-5) and the Maryland SMS level, with every reason in plain words."""
    key = context.partition_key
    manifest = registry.manifest(key)
    # The registered plan is checked on every run: deviations and a registration.json that no longer
    # matches its recorded hash (or cannot be read) both lower the rating and reach the page through it.
    plan = review_plan(registry.folder(key), manifest)
    rating = rate(manifest, Diagnostics.model_validate(diagnostics), plan_deviations=plan.deviations,
                  registration_problems=plan.problems)
    context.add_output_metadata({"padlocks": rating.padlocks, "sms_level": rating.sms_level,
                                 "reasons": MetadataValue.json(list(rating.reasons + rating.downgrades))})
    return rating.model_dump(mode="json")


@asset(partitions_def=evaluation_partitions, group_name=GROUP, io_manager_key="json_io_manager")
def evidence_record(context: AssetExecutionContext, registry: RegistryResource, impact_estimates: pd.DataFrame,
                    diagnostics: dict, evidence_rating: dict, intake_report: dict,
                    analysis_panel: pd.DataFrame) -> dict:
    """The published, disclosure-controlled, machine-readable result of the evaluation."""
    key = context.partition_key
    manifest = registry.manifest(key)
    record = build_record(
        manifest=manifest, measures=registry.measures(),
        estimates=impact_estimates, diagnostics=Diagnostics.model_validate(diagnostics),
        rating=Rating.model_validate(evidence_rating),
        intake=intake_report,
        group_means=published_wave_means(analysis_panel, manifest, registry.measures()),
        provenance={"code_version": code_version(), "run_id": context.run_id, "partition": key,
                    "data_files": data_hashes(registry.folder(key), manifest),
                    "registration": registration_summary(registry.folder(key))})
    published = record.to_json()
    context.add_output_metadata({"record": MetadataValue.json(published["estimates"]), "schema": record.schema_})
    return published
