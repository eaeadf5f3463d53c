"""Typed models of what the pipeline judges and publishes: the diagnostics `run_diagnostics`
produces, the evidence rating, and the evidence record with its versioned JSON Schema.

disclosed.py says what disclosure control lets a published number be; the other modules
use those types, so a reader of the schema sees the same rules the pipeline applies."""
from evaluations.record_model.diagnostics import Diagnostics
from evaluations.record_model.rating import Rating
from evaluations.record_model.record import SCHEMA, EvidenceRecord, schema_file_name

__all__ = ["SCHEMA", "Diagnostics", "EvidenceRecord", "Rating", "schema_file_name"]
