"""Publishing assets: one page per evaluation, then the library pages and the HTML book."""

from dagster import AssetExecutionContext, AssetIn, MaterializeResult, MetadataValue, asset

from evaluations.publish import book
from evaluations.registry import evaluation_ids
from orchestration.partitions import evaluation_partitions
from orchestration.resources import BookResource, RegistryResource

GROUP = "publish"


@asset(partitions_def=evaluation_partitions, group_name=GROUP, kinds={"markdown"})
def evidence_page(context: AssetExecutionContext, book_dir: BookResource, evidence_record: dict) -> MaterializeResult:
    """The evaluation's page, figures and downloadable record (JSON, CSV) under book/generated/."""
    page = book.write_evaluation(evidence_record, book_dir.path)
    return MaterializeResult(metadata={"page": MetadataValue.path(str(page)),
                                       "padlocks": evidence_record["rating"]["padlocks"]})


@asset(group_name=GROUP, deps=[evidence_page], ins={"records": AssetIn("evidence_record")}, kinds={"html"})
def evidence_book(context: AssetExecutionContext, book_dir: BookResource, registry: RegistryResource,
                  records: dict[str, dict]) -> MaterializeResult:
    """Library pages across all evaluations, then the Jupyter Book HTML (rebuilt incrementally by Sphinx)."""
    registered = set(evaluation_ids(registry.path))
    published = [r for key, r in sorted(records.items()) if key in registered]
    removed = book.remove_stale({r["id"] for r in published}, book_dir.path)
    book.write_library(published, book_dir.path)
    index = book.build(book_dir.path)
    return MaterializeResult(metadata={
        "index": MetadataValue.path(str(index)), "evaluations": len(published),
        "removed_pages": MetadataValue.json(removed),
    })
