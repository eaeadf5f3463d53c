"""Publishing assets: one page per evaluation, then the library pages and the HTML book.

Records arrive as JSON documents (the JSON IO manager) and are read as EvidenceRecord models."""

from dagster import AssetExecutionContext, AssetIn, MaterializeResult, MetadataValue, asset
from pydantic import ValidationError

from evaluations.publish import book
from evaluations.record_model import SCHEMA, EvidenceRecord
from evaluations.registry import evaluation_ids
from orchestration.partitions import evaluation_partitions
from orchestration.resources import BookResource, RegistryResource

GROUP = "publish"
DAMAGED_RECORD = "its stored record is damaged; it is rebuilt the next time this evaluation runs"
# e.g. a record stored by an earlier version of the pipeline, under an older schema
UNREADABLE_RECORD = "its stored record does not match the record schema; it is rebuilt the next time this evaluation runs"


@asset(partitions_def=evaluation_partitions, group_name=GROUP, kinds={"markdown"})
def evidence_page(context: AssetExecutionContext, book_dir: BookResource, evidence_record: dict) -> MaterializeResult:
    """The evaluation's page, figures and downloadable record (JSON, CSV) under book/generated/.

    If the page cannot be written, a "not published" notice takes its place and this step
    fails (the error is in this run's log); the book is still built for every other evaluation.
    """
    record = EvidenceRecord.model_validate(evidence_record)
    page = book.write_evaluation(record, book_dir.path)
    return MaterializeResult(metadata={"page": MetadataValue.path(str(page)), "padlocks": record.rating.padlocks})


@asset(group_name=GROUP, deps=[evidence_page], ins={"records": AssetIn("evidence_record")}, kinds={"html"})
def evidence_book(context: AssetExecutionContext, book_dir: BookResource, registry: RegistryResource,
                  records: dict) -> MaterializeResult:
    """Library pages across all evaluations, then the Jupyter Book HTML (rebuilt incrementally by Sphinx).

    A record document that cannot be read (a crash mid-write, a damaged disk) does not stop the
    book: that evaluation is listed as not published until its next run rebuilds the record.
    """
    listed = set(evaluation_ids(registry.path))
    registered = {key: r for key, r in records.items() if key in listed}
    readable, damaged = {}, {}
    for key, document in registered.items():
        if not isinstance(document, dict):  # a DamagedDocument: the IO manager logged it
            damaged[key] = DAMAGED_RECORD
            continue
        try:
            readable[key] = EvidenceRecord.model_validate(document)
        except ValidationError as error:
            where = ", ".join(".".join(map(str, e["loc"])) for e in error.errors()[:5])  # where, never the values
            context.log.warning(f"the stored record of {key} does not match the schema {SCHEMA} at {where}")
            damaged[key] = UNREADABLE_RECORD
    removed = book.remove_stale(set(registered), book_dir.path)
    index, not_published = book.publish([r for _, r in sorted(readable.items())], damaged, book_dir.path)
    return MaterializeResult(metadata={
        "index": MetadataValue.path(str(index)),
        "evaluations": len([key for key in readable if key not in not_published]),
        "not_published": MetadataValue.json(not_published),
        "removed_pages": MetadataValue.json(removed),
    })
