"""The record's effects people can picture and value for money, built from the estimates table.

records.build_record calls `record_parts`: the share rows (kind "share", the overall effects as a change
in the share giving the positive answers) pass the same disclosure control as every effect; each
outcome's picture and the evaluation's value for money are derived from published numbers only, so a
blanked effect blanks what is derived from it (evaluations/value.py holds the yardsticks and arithmetic).
"""
from __future__ import annotations

import math

import pandas as pd

from evaluations import disclosure, value


def outcome_fields(measure) -> dict:
    """What an outcome of the record says about its positive answers, national figure and WELLBY valuation."""
    return {"positive_answers": measure.positive_labels,
            "national": measure.national.model_dump() if measure.national else None,
            "life_satisfaction": measure.life_satisfaction}


def record_parts(manifest, measures: dict, estimates: pd.DataFrame, overall_rows: list[dict],
                 effect_cols: list[str]) -> dict:
    """The record's `shares`, `pictures` and `value_for_money`. `overall_rows` are the overall effects as
    disclosure control published them; `measures` each outcome column's measure."""
    shares = disclosure.suppress_estimates(estimates.loc[estimates["kind"] == "share", effect_cols])
    share_rows = shares.to_dict(orient="records")
    cost = manifest.programme.cost_per_participant_gbp
    by_outcome = {r["outcome"]: r for r in share_rows}
    refs = estimates[estimates["kind"] == "reference_share"]
    pictures = []
    for row in overall_rows:
        outcome = row["outcome"]
        share = by_outcome.get(outcome) or {}
        ref = refs[refs["outcome"] == outcome]
        reference_share = (disclosure.share(int(ref["statistic"].iloc[0]), int(ref["n_comparison"].iloc[0]))
                           if len(ref) else None)
        low, high = value.cost_per_extra_person_interval(cost, _num(share.get("ci_low")), _num(share.get("ci_high")))
        satisfied = measures[outcome].life_satisfaction
        wellby = [value.wellby_value(_num(row.get(k))) if satisfied else None for k in ("estimate", "ci_low", "ci_high")]
        pictures.append({
            "outcome": outcome,
            "effect_size_words": value.effect_size_words(_num(row.get("effect_size"))),
            "reference_group": ref["subgroup"].iloc[0] if len(ref) else None,
            "reference_share": reference_share,
            "cost_per_extra_person_gbp": value.cost_per_extra_person(cost, _num(share.get("estimate"))),
            "cost_per_extra_person_ci_low": low, "cost_per_extra_person_ci_high": high,
            "wellby_value_gbp": wellby[0], "wellby_value_ci_low": wellby[1], "wellby_value_ci_high": wellby[2],
            "benefit_cost_ratio": value.benefit_cost_ratio(wellby[0], cost),
            "benefit_cost_ratio_ci_low": value.benefit_cost_ratio(wellby[1], cost),
            "benefit_cost_ratio_ci_high": value.benefit_cost_ratio(wellby[2], cost),
        })
    band = value.cost_band(cost)
    return {"shares": share_rows, "pictures": pictures,
            "value_for_money": {"cost_per_participant_gbp": cost, "cost_band": band[0] if band else None,
                                "cost_band_words": band[1] if band else None,
                                "wellby_value_gbp": value.WELLBY_VALUE_GBP,
                                "wellby_price_base": value.WELLBY_PRICE_BASE}}


def _num(x) -> float | None:
    """A published number, or None (blank, hidden as text, or not finite)."""
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None
