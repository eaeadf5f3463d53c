"""Jobs: one evaluation (a partition) end to end, and the book across all evaluations."""
from dagster import AssetSelection, define_asset_job, in_process_executor

# In-process: the steps of one evaluation share one DuckDB writer, and each step is quick.
evaluation_job = define_asset_job(
    "evaluation_job",
    selection=AssetSelection.groups("intake", "analysis") | AssetSelection.assets("evidence_page"),
    executor_def=in_process_executor,
    description="Intake, analysis and the page of one registered evaluation (one partition).",
)
book_job = define_asset_job(
    "book_job", selection=AssetSelection.assets("evidence_book"), executor_def=in_process_executor,
    description="Library pages and the HTML evidence book across every published evaluation.",
)
