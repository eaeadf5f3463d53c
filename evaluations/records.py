"""Building the evidence record: the published, machine-readable result of one evaluation.

Everything on an evaluation's page comes from its record, and every number in the record
has passed disclosure control. Records carry the hashes of the data and the code they
came from, so a reader can tell exactly what produced them. Its shape is the EvidenceRecord
model (evaluations/record_model/record.py), whose JSON Schema is published with the book.
"""
from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path

import pandas as pd

from evaluations import disclosure, picturing, subgroup_names
from evaluations.covariates import hidden_labels
from evaluations.diagnostics.overlap import limited_reasons
from evaluations.measures import DOMAINS, Measure, outcome_measures
from evaluations.rating import publishable
from evaluations.designs import design_of
from evaluations.record_model import SCHEMA, Diagnostics, EvidenceRecord, Rating
from evaluations.record_model.pictures import Picture
from evaluations.record_model.values import clean
from evaluations.registry import REPO_ROOT, Manifest, file_hash


@lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit when there is one, plus a hash of the analysis code as it is on disk."""
    h = hashlib.sha256()
    for path in sorted((REPO_ROOT / "evaluations").rglob("*.py")):
        h.update(path.relative_to(REPO_ROOT).as_posix().encode())
        h.update(path.read_bytes())
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{commit or 'no-git'}+src.{h.hexdigest()[:12]}"


def data_hashes(folder: Path, manifest: Manifest) -> list[dict]:
    files = [{"path": "evaluation.yaml", "sha256": file_hash(Path(folder) / "evaluation.yaml")}]
    files += [{"path": f.path, "sha256": file_hash(Path(folder) / f.path)} for f in manifest.files]
    return files


def participant_flow(registered: dict[str, int], attrition: dict, analysed: dict[str, int]) -> dict:
    flow = {}
    for group in ("programme", "comparison"):
        a = attrition[group]
        flow[group] = {k: disclosure.count(v) for k, v in {
            "registered": registered.get(group, 0), "baseline": a["baseline"], "follow_up": a["follow_up"],
            "analysed": analysed.get(group, 0)}.items()}
    return flow


def build_record(*, manifest: Manifest, **parts) -> EvidenceRecord:
    """The record, validated by EvidenceRecord (a stray or missing key fails here), with disclosure
    control counting the evaluation's units (people, or places). `to_json()` gives what is published."""
    with disclosure.counting(manifest.design.units.value):
        return _build_record(manifest=manifest, **parts)


def _build_record(*, manifest: Manifest, measures: dict[str, Measure], estimates: pd.DataFrame,
                  diagnostics: Diagnostics, rating: Rating, intake: dict, provenance: dict,
                  group_means: list[dict] | None = None) -> EvidenceRecord:
    """`intake` is the report from `evaluations.intake.validate.intake_report`. The record is put
    together as a plain document (disclosure control works on documents), then validated.
    `group_means`: the raw rows of evaluations.diagnostics.wave_means (None: no table)."""
    primary = manifest.primary_outcomes[0].column
    overall = estimates[estimates["kind"] == "overall"]
    primary_est = overall[overall["outcome"] == primary].iloc[0]
    outcomes = []
    outcome_measure = outcome_measures(manifest, measures)
    for o in manifest.outcomes:
        m = outcome_measure[o.column]
        # own_measure: the charity's own question, shown as such and never pooled (evaluations/synthesis.py);
        # scale: the answers' labels, which an own measure has no bank page to show
        outcomes.append({"column": o.column, "measure": m.id, "own_measure": m.own, "measure_name": m.name,
                         "domain": m.domain, "domain_name": DOMAINS[m.domain], "primary": o.primary,
                         "question": m.question, "scale": m.scale, "higher_is_better": m.higher_is_better,
                         "response_type": m.response_type, "units": m.units, "scale_min": m.min, "scale_max": m.max,
                         **picturing.outcome_fields(m)})
    effect_cols = [c for c in estimates.columns if c not in ("kind", "statistic")]
    # each overall effect's sensitivity to hidden bias travels with it, and is blanked with it
    readings = [r.model_dump() if (r := diagnostics.hidden_bias.get(o)) else None for o in overall["outcome"]]
    overall_rows = disclosure.suppress_estimates(overall[effect_cols].assign(hidden_bias=readings))
    subgroup_rows = disclosure.suppress_estimates(estimates.loc[estimates["kind"] == "subgroup", effect_cols])
    subgroup_rows["subgroup"] = [disclosure.hide_label(g) if hidden else g
                                 for g, hidden in zip(subgroup_rows["subgroup"], subgroup_rows["suppressed"])]
    sensitivity_rows = disclosure.suppress_estimates(estimates.loc[estimates["kind"] == "sensitivity", effect_cols])
    att = diagnostics.attrition.model_dump()
    # a category too small to publish is named "another group" (evaluations/covariates.py)
    hidden = hidden_labels(manifest.design.categorical_covariates)
    balance = disclosure.balance_rows(_dump(diagnostics.balance), hidden)
    balance_after = disclosure.balance_rows(_dump(diagnostics.balance_after), hidden)
    record = {
        "schema": SCHEMA,
        "id": manifest.id,
        "title": manifest.title,
        "synthetic": manifest.synthetic,
        "programme": manifest.programme.model_dump(mode="json"),
        # design.groups (the charity's answer words for each group) say how intake read answers, not a result
        "design": {**manifest.design.model_dump(mode="json", exclude={"groups"}), "type": manifest.design.type.value,
                   "covariates": manifest.design.covariate_columns,  # a categorical one's levels: in balance
                   "effect_modifiers": manifest.design.effect_modifiers,
                   "effect_modifier_words": _modifier_words(manifest, subgroup_rows["subgroup"]),
                   "staggered": manifest.design.staggered, **design_of(manifest.design).describe(manifest)},
        "outcomes": outcomes,
        "primary_outcome": primary,
        "estimates": overall_rows.to_dict(orient="records"),
        "subgroups": subgroup_rows.to_dict(orient="records"),
        "sensitivity": sensitivity_rows.to_dict(orient="records"),
        # the effects as changes in the share giving the positive answers, in words and money (picturing.py)
        **picturing.record_parts(manifest, outcome_measure, estimates, overall_rows.to_dict(orient="records"),
                                 effect_cols),
        "heterogeneity_tests": _dump(diagnostics.heterogeneity_tests),
        "subgroups_skipped": _skipped(_dump(diagnostics.subgroups_skipped)),
        "event_study": (event_study := _event_study(estimates)),
        "trend_drift": _trend_drift(estimates, event_study),
        "by_starting_wave": _event_study(estimates, "cohort", "starting_wave"),
        "by_calendar_wave": _event_study(estimates, "calendar_time", "wave"),
        "flow": participant_flow(intake["registered"], att, {"programme": int(primary_est["n_treated"]),
                                                   "comparison": int(primary_est["n_comparison"])}),
        "group_means": disclosure.group_means_rows(group_means or []),
        "data_quality": {
            "rows_read": disclosure.count(intake["rows_read"]),
            "rows_set_aside": disclosure.count(intake["rows_quarantined"]),
            "set_aside_by_check": {k: disclosure.count(v) for k, v in intake["quarantined_by_check"].items()},
            "dont_know_answers": {k: disclosure.count(v) for k, v in intake["missing_answers"].items()},
            "reconciled": intake["reconciled"],
        },
        "diagnostics": {
            "balance": balance,
            # the headline is the largest |SMD| among the covariate rows published beside it
            "max_abs_smd_covariates": disclosure.max_abs_smd(balance, manifest.design.balance_covariates, "smd"),
            "attrition": disclosure.attrition_rates(att),
            "n_clusters": diagnostics.n_clusters,
            "mdes_planned": diagnostics.mdes_planned,
            "mdes_achieved": dict(diagnostics.mdes_achieved),
            "pre_trend_tests": {k: t.model_dump() for k, t in diagnostics.pre_trend_tests.items()},
            "balance_after": balance_after,
            "balance_after_weights": diagnostics.balance_after_weights,
            "max_abs_smd_covariates_after": disclosure.max_abs_smd(balance_after, manifest.design.balance_covariates,
                                                                   "smd_after"),
            "overlap": diagnostics.overlap.model_dump() if diagnostics.overlap else None,
            "refutations": _dump(diagnostics.refutations),
            "heterogeneity_cross_checks": _dump(diagnostics.heterogeneity_checks),
            "baseline_equivalence": _equivalence(diagnostics, hidden),
            "wwc_attrition": diagnostics.wwc_attrition.model_dump() if diagnostics.wwc_attrition else None,
            "attrition_bounds": disclosure.attrition_bounds_rows(_dump(diagnostics.attrition_bounds)),
            "response_weighting": disclosure.response_weighting_rows(_dump(diagnostics.response_weighting)),
        },
        "rating": rating.model_dump(mode="json"),
        "provenance": provenance,
    }
    record = disclosure.protect_record(clean(record))
    _word_overlap_after_disclosure_control(record)
    model = EvidenceRecord.model_validate(record)
    # the rating's sentences that quote attrition or the MDES, worded from what the record publishes
    published = model.model_copy(update={"rating": publishable(model.rating, model.diagnostics)})
    leaks = disclosure.disclosure_problems(published.to_json())
    if leaks:
        raise AssertionError(f"disclosure check failed for {manifest.id}: {leaks}")
    return published


def _modifier_words(manifest: Manifest, published_subgroups) -> dict[str, dict]:
    """Each effect modifier's label and the words for the levels the record publishes (a hidden level
    is 'another group' by then, so the manifest's word for it is never published)."""
    levels: dict[str, list[str]] = {column: [] for column in manifest.design.effect_modifiers}
    for subgroup in published_subgroups:
        parts = subgroup_names.split(subgroup)
        if parts and parts[0] in levels and parts[1] not in levels[parts[0]]:
            levels[parts[0]].append(parts[1])
    given = manifest.design.modifier_words
    return {column: subgroup_names.modifier_words(column, given[column].label if column in given else None,
                                                  given[column].values if column in given else None, found)
            for column, found in levels.items()}


def _equivalence(diagnostics: Diagnostics, hidden: dict[str, str]) -> dict | None:
    """The WWC baseline-equivalence rows as disclosure control publishes them, with the overall verdict."""
    be = diagnostics.baseline_equivalence
    if be is None:
        return None
    return {**be.model_dump(exclude={"rows"}), "rows": disclosure.equivalence_rows(_dump(be.rows), hidden)}


def _dump(rows) -> list[dict]:
    return [r.model_dump() for r in rows]


def _word_overlap_after_disclosure_control(record: dict) -> None:
    """The overlap's reasons quote shares: they are worded from the published values, so none
    gives back a number that secondary suppression hid."""
    overlap = record["diagnostics"].get("overlap")
    if overlap and overlap.get("limited"):
        primary = next(e for e in record["estimates"] if e["outcome"] == record["primary_outcome"])
        n = primary["n_treated"]

        def share(kind: str):
            part = overlap[kind]["programme"]
            published = isinstance(part, int) and isinstance(n, int) and n and disclosure.enough(part, n - part)
            return part / n if published else "hidden"
        limited_by = overlap.get("limited_by") or []
        overlap["reasons"] = limited_reasons(share("outside_support") if "outside_support" in limited_by else None,
                                             share("trimmed") if "trimmed" in limited_by else None)


def _skipped(rows: list[dict]) -> list[dict]:
    """Subgroups too small to estimate, one line per outcome and modifier: their levels are never
    named (a level may be a person's name) and how many there were is not said."""
    out = []
    for r in rows:
        row = {**r, "subgroup": disclosure.hide_label(r["subgroup"])}
        if row not in out:
            out.append(row)
    return out


def _event_study(estimates: pd.DataFrame, kind: str = "event_time", key: str = "event_time") -> dict:
    """Summaries of staggered designs' group-time effects (by event time, starting wave or calendar
    wave). Each averages cohorts that passed disclosure control as whole cohorts (sites), so the
    points are not person-level cells."""
    rows = estimates[estimates["kind"] == kind]
    cells = estimates[estimates["kind"] == "group_time"]
    small = set(cells.loc[disclosure.small_cells(cells), "outcome"])
    rows = rows[~rows["outcome"].isin(small)]  # a cohort of fewer than 10 people would be disclosed
    return {outcome: [{key: int(r.subgroup.split("=", 1)[1]), "estimate": r.estimate,
                       "ci_low": r.ci_low, "ci_high": r.ci_high} for r in part.itertuples()]
            for outcome, part in rows.groupby("outcome", sort=False)}


def _trend_drift(estimates: pd.DataFrame, event_study: dict) -> dict:
    """Each outcome's relative-magnitudes bounds (designs/staggered.py), published as the event study is: only
    from cells large enough to publish, only beside the outcome's published event study, and not where any
    event time they use is blank there (it would otherwise show through them). The bounds' earliest
    pre-start time (the first wave against the one before the start) has no varying-base point: the cell
    rule covers it. Left out where the test accepted no value at all."""
    from evaluations.designs.staggered import DRIFT_MBAR
    from evaluations.sensitivity.honest_did import REFERENCE_EVENT_TIME

    rows = estimates[estimates["kind"] == "trend_drift"]
    out = {}
    for r in rows[~disclosure.small_cells(rows)].itertuples():
        first, last = (int(t) for t in r.subgroup.removeprefix("e=").split(".."))
        if r.outcome not in event_study or (pd.isna(r.ci_low) and pd.isna(r.ci_high)):
            continue
        shown = {p["event_time"]: p["estimate"] for p in event_study[r.outcome]}
        used = [t for t in range(first, last + 1) if t in shown and t != REFERENCE_EVENT_TIME]  # that one is 0
        if any(shown[t] is None or pd.isna(shown[t]) for t in used):
            continue
        out[r.outcome] = {"first_event_time": first, "last_event_time": last, "estimate": r.estimate,
                          "mbar": DRIFT_MBAR, "lower": r.ci_low, "upper": r.ci_high, "breakdown_mbar": r.statistic}
    return out


def estimates_csv(record: EvidenceRecord) -> pd.DataFrame:
    """The record's estimates as one flat, disclosure-safe table (the download on each page).
    Columns in alphabetical order, as in the JSON download; `group` (the subgroup in words) beside `subgroup`."""
    pictures = {p.outcome: p.model_dump(mode="json", exclude={"outcome"}) for p in record.pictures}
    blank = dict.fromkeys(Picture.model_fields.keys() - {"outcome"})
    # an overall effect carries its outcome's picture (effect size in words, cost per extra person reaching the
    # positive answer, WELLBY value and benefit-cost ratio, each with its interval); a group's row leaves them empty
    rows = pd.DataFrame([dict(sorted({**_flat(e.model_dump(mode="json")), **blank,
                                      **(pictures.get(e.outcome, {}) if e.subgroup == "all" else {})}.items()))
                         for e in [*record.estimates, *record.subgroups]])
    rows.insert(rows.columns.get_loc("subgroup") + 1, "group", [record.group_name(g) for g in rows["subgroup"]])
    rows.insert(0, "evaluation_id", record.id)
    rows.insert(1, "synthetic", record.synthetic)
    rows["padlocks"] = record.rating.padlocks
    rows["sms_level"] = record.rating.sms_level
    rows["code_version"] = record.provenance.code_version
    return rows


def _flat(row: dict) -> dict:
    """An effect row for the CSV: its hidden-bias reading as columns of its own (hidden_bias_e_value, ...)."""
    reading = row.pop("hidden_bias", None) or {}
    robustness = reading.get("robustness")
    benchmark = (robustness.get("benchmark") if isinstance(robustness, dict) else None) or {}
    if not isinstance(robustness, dict):  # None, or "not shown" beside a hidden group size
        robustness = dict.fromkeys(("partial_r2", "robustness_value", "robustness_value_alpha"), robustness)
    flat = {"e_value": reading.get("e_value"), "e_value_limit": reading.get("e_value_limit"),
            **{k: robustness.get(k) for k in ("partial_r2", "robustness_value", "robustness_value_alpha")},
            **{f"benchmark_{k}": benchmark.get(k) for k in ("covariate", "r2_treatment", "r2_outcome",
                                                            "adjusted_estimate", "times_as_strong")}}
    return {**row, **{f"hidden_bias_{k}": v for k, v in flat.items()}}
