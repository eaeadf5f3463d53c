"""Jobs: one evaluation (a partition) end to end, and the book across all evaluations."""
from dagster import AssetSelection, define_asset_job, in_process_executor

# Every book run carries this tag: the production run queue (deploy/dagster.yaml) starts one at a time.
BOOK_RUN_TAG = ("commonground/book", "build")

# In-process: the steps of one evaluation share one DuckDB writer, and each step is quick.
evaluation_job = define_asset_job(
    "evaluation_job",
    # registered_evaluation first: the run observes the content it reads (the registry sensor compares it)
    selection=AssetSelection.assets("registered_evaluation") | AssetSelection.groups("intake", "analysis")
    | AssetSelection.assets("evidence_page"),
    executor_def=in_process_executor,
    description="Intake, analysis and the page of one registered evaluation (one partition).",
)
book_job = define_asset_job(
    "book_job", selection=AssetSelection.assets("evidence_book"), executor_def=in_process_executor,
    tags=dict([BOOK_RUN_TAG]),
    description="Library pages and the HTML evidence book across every published evaluation.",
)
