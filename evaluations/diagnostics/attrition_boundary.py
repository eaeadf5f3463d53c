"""The What Works Clearinghouse attrition standard: low or high attrition from overall and differential attrition.

A reviewer does not judge attrition by the overall share alone: the same overall loss is
harmless when both groups lost alike and biasing when one group lost many more. The WWC's model
of attrition bias (WWC Attrition White Paper v2.1 and its addendum v3.0, 2014; Deke & Chiang
2017, Evaluation Review 41(2)) gives, for each overall attrition rate, the largest differential
attrition (the difference between the groups' attrition rates) that keeps the expected bias
within 0.05 standard deviations. Two boundaries come from two assumptions about how strongly
answering the follow-up is related to the outcome:

* **cautious** (called "conservative" before Handbook 4.0): for programmes that could
  plausibly change who answers the follow-up;
* **optimistic** (formerly "liberal"): for programmes unlikely to change who answers.

A study whose differential attrition is at or below the boundary for its overall rate has low
attrition; above it (or beyond the table's last overall rate), high attrition.

Source of the numbers: WWC Standards Handbook Version 4.1 (2020), Table II.1, "Highest
differential attrition rate for a sample to maintain low attrition, by overall attrition rate,
under 'optimistic' and 'cautious' assumptions"; Version 5.0 (2022) keeps the same two boundaries.
The table below was transcribed from the R package baselinr 0.6.0 (CRAN; R/summary.R,
`.wwc_attrition_table`), which encodes Table II.1, because the Handbook's PDF could not be read
here: compare against the Handbook before relying on a value on the boundary.

How the table is read, as baselinr and the WWC do: the overall rate is rounded to a whole
percent and looked up; the differential rate, in percentage points, is low when it does not
exceed the value found (a tolerance of 1e-8 points keeps 1.4% from reading as 1.4000000000000001).
Under the cautious boundary an overall rate of 58% or more is high attrition whatever the
differential; under the optimistic one, 66% or more.

Which boundary a design uses is the design's decision (`wwc_attrition_boundary` on the design
objects in evaluations/designs/), as the WWC's review protocols choose it per topic.
"""
from __future__ import annotations

import math
from typing import Literal

Boundary = Literal["cautious", "optimistic"]
Verdict = Literal["low", "high"]

# Highest differential attrition (percentage points) still low, for overall attrition 0, 1, 2, ... percent.
CAUTIOUS = (
    5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0,
    5.9, 5.9, 5.8, 5.7, 5.5, 5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3,
    4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1, 2.9, 2.8, 2.6, 2.5, 2.3, 2.1, 2.0,
    1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.0,
)  # overall 0-57%
OPTIMISTIC = (
    10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9,
    10.9, 10.8, 10.8, 10.7, 10.6, 10.5, 10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4,
    9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3,
    6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8,
    2.6, 2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3,
)  # overall 0-65%
BOUNDARIES: dict[str, tuple[float, ...]] = {"cautious": CAUTIOUS, "optimistic": OPTIMISTIC}
SOURCE = ("What Works Clearinghouse Standards Handbook, Version 4.1 (2020), Table II.1; "
          "the same boundaries in Version 5.0 (2022)")
TOLERANCE = 1e-8  # percentage points


def max_differential(overall: float, boundary: Boundary) -> float | None:
    """The highest differential attrition (a share, 0-1) still low at this overall attrition (a share);
    None when the overall rate is beyond the boundary's table (high whatever the differential)."""
    table = BOUNDARIES[boundary]
    percent = _round_half_up(overall * 100)
    if percent < 0 or percent >= len(table):
        return None
    return table[percent] / 100


def verdict(overall: float | None, differential: float | None, boundary: Boundary) -> Verdict | None:
    """'low' or 'high' attrition by the WWC standard; None when either rate is not defined."""
    if overall is None or differential is None or not (math.isfinite(overall) and math.isfinite(differential)):
        return None
    limit = max_differential(overall, boundary)
    if limit is None:
        return "high"
    return "low" if abs(differential) * 100 <= limit * 100 + TOLERANCE else "high"


def _round_half_up(x: float) -> int:
    """R's round() rounds half to even; the Handbook's rates are whole percents, rounded half up here
    (12.5% reads as 13%), the usual reading of a printed table. The difference matters only at an exact half."""
    return int(math.floor(x + 0.5 + 1e-12))


def judge(attrition: dict, design) -> dict | None:
    """The design's boundary applied to the attrition diagnostics (diagnostics/attrition.py);
    None when attrition is not defined or the design is not judged by a boundary."""
    boundary = design.wwc_attrition_boundary
    overall, differential = attrition.get("overall_attrition"), attrition.get("differential_attrition")
    judged = verdict(overall, differential, boundary) if boundary and attrition.get("applies") else None
    if judged is None:
        return None
    return {"boundary": boundary, "verdict": judged, "max_differential": max_differential(overall, boundary)}
