"""Statistical disclosure control of every published number and label.

Every count, mean, SMD, estimate and category label in an evidence record passes through
this module (records.build_record calls `protect_record`, then `disclosure_problems` as a
guard that refuses to publish if anything is left). The rules, as in the UK Data Service /
ONS output-checking practice for safe outputs:

1. Primary suppression: a count from 1 to THRESHOLD - 1 people is published as SUPPRESSED
   ("fewer than 10"); zero is not a person and is shown. A mean, SMD, proportion or effect
   estimate is published only when every group it describes has at least THRESHOLD people
   (for a 0/1 variable, also each of its two values in each group: the mean of a yes/no
   question times its n is a count).
2. Partition rule: where parts add up to a published total, the parts not published
   (suppressed, or people in no part) must add up to 0 or at least THRESHOLD; otherwise
   the next smallest published part is hidden, else the total.
3. Nesting rule: two published counts of the same people where one group contains the
   other must differ by 0 or at least THRESHOLD; otherwise the smaller is hidden.
   A count that can be worked out from a partition (a total from all its parts, or the one
   missing part from a total) counts as published for rules 2 and 3.
4. A number hidden by rules 2-3 (secondary suppression) is published as NOT_SHOWN
   ("not shown"): it is not small, and saying "fewer than 10" would be false.
5. A label of a category too small to publish (a subgroup level with fewer than THRESHOLD
   people in a group) is never shown: it is published as ANOTHER_GROUP.
6. A trimmed mean (Lee's attrition bounds) drops 0 or at least THRESHOLD people (`least_trimmed`):
   the difference between a trimmed and an untrimmed mean, or between the two bounds, is a sum
   over the people dropped, so fewer would be disclosed. Its bounds are published only when the
   people kept in each group are at least THRESHOLD (`attrition_bounds_rows`); the share trimmed,
   a ratio of two outcome-specific response rates, is not published.
7. An estimate re-weighted by the inverse of each person's modelled chance of answering the follow-up
   (diagnostics/response_weighting.py) is published only when, in each group, the people who answered
   are at least THRESHOLD and those who did not are 0 or at least THRESHOLD (`response_weighting_rows`):
   each group's response model contrasts the two. Never its counts or response probabilities.

Families of published counts and the rules covering them (`families` builds them from the
record, so the solver and the audit read the same structure):

=================================================  =============  ========================================
family (per group: programme / comparison)          rule           relations
=================================================  =============  ========================================
flow: registered, baseline, follow_up, analysed      nesting        registered > baseline, follow_up > analysed;
                                                                    baseline vs follow_up compared either way
estimates / sensitivity: n per outcome               nesting        flow baseline and follow_up > each n;
                                                                    primary n = flow analysed (one key)
subgroups: n per level of one modifier               partition      levels (+ people skipped or without a value)
                                                                    = the outcome's overall n
diagnostics.balance: n per variable                  nesting        flow baseline > n; an outcome's n > its
                                                                    estimate's n
diagnostics.balance_after: n per variable            nesting        primary estimate's n > n
diagnostics.baseline_equivalence: n per variable     nesting        primary estimate's n > n (the people
                                                                    analysed for the primary outcome)
overlap histogram bars                               partition      bars = primary estimate's n (any hidden
                                                                    bar hides the whole histogram)
overlap outside_support, trimmed                     nesting        primary estimate's n > each
attrition rates (as lost and retained counts)        nesting,       baseline = lost + retained; follow_up and
                                                     partition      retained > analysed; lost over both groups
                                                                    = overall rate
data_quality: rows_read, rows_set_aside, by check    nesting,       rows_read > rows_set_aside = sum by check;
  and "don't know" answers                           partition      rows_read > each outcome's "don't know"
=================================================  =============  ========================================

Not counts, published as they are: effect estimates with their intervals and tests (they
rest on the n beside them, blanked when that n is small), heterogeneity and pre-trend tests
(computed only on levels with THRESHOLD people in each group), refutations, event-time
effects (each averages cohorts that all pass the threshold), MDES (the planned MDES is a
function of the baseline counts, so it is hidden when one of them is), degrees of freedom
(blanked with their estimate, and hidden beside a group size that secondary suppression hid:
a residual n - k and the other group's size would give that size back), and an effect's sensitivity
to hidden bias (blanked with its estimate; its robustness values hidden with the df, as they give it back).

Two overlapping groups that are not nested (the people analysed for two different
outcomes) are not compared: the difference of their sizes is not the size of any group.

Units that are places (design.units: places; schools, sites or areas): every row of their data
summarises at least THRESHOLD people (intake quarantines a row resting on fewer, see
evaluations/intake/validate.py), so any statistic of places rests on at least THRESHOLD people.
Counts of units then count places, not people: they are published exactly, with no primary or
secondary suppression (`counting("places")` around building a record; `unit_threshold()` is the
one place the rules read the threshold for counts of units).

Why not ACRO (AI-SDC's output checker) at run time: for frequency tables its rule is the
threshold rule (it suppresses the same cells; tests/test_disclosure.py checks them side by
side), and its strength, a log of outputs for a human checker in a trusted research
environment, is not the publishing step here.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from collections.abc import Iterable

import pandas as pd

THRESHOLD = 10
SUPPRESSED = "fewer than 10"  # primary: the number itself is small
NOT_SHOWN = "not shown"  # secondary: hidden so that a small number cannot be worked out by subtraction
ANOTHER_GROUP = "another group"  # the label of a category too small to publish
SUPPRESSION_REASON = f"Not shown: based on {SUPPRESSED} people in a group."
# Means, SMDs and rates are published to 3 decimals: an exact mean of whole-number answers (or an
# exact rate) is a fraction whose denominator gives back the n of a group even where n is hidden.
DECIMALS = 3
ESTIMATE_FIELDS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size",
                   "effect_size_ci_low", "effect_size_ci_high",
                   "df",  # a t reference on n - k degrees of freedom would give the small n back
                   "hidden_bias",  # its sensitivity to hidden bias (E-value, robustness value) reads the estimate
                   "p_value_adjusted")  # a secondary outcome's adjusted p-value reads the estimate too
GROUPS = (("programme", "n_treated"), ("comparison", "n_comparison"))
EFFECT_SECTIONS = ("estimates", "subgroups", "sensitivity", "shares")  # the record's lists of effect rows
GROUP_SIZES = tuple(n for _, n in GROUPS)
FLOW_STAGES = ("registered", "baseline", "follow_up", "analysed")
NOT_PEOPLE = ("n_clusters", "n_simulations")  # counts of sites and of repetitions, not of people
COUNT_KEYS = {*FLOW_STAGES, "both", "read", "quarantined", "rows_read", "rows_set_aside"}
BALANCE_KEYS = ("variable", "n_treated", "n_comparison", "smallest_category", "suppressed", "suppression_reason")

Place = tuple  # a place in the record: ("flow", "programme", "baseline"), ("estimates", 0, "n_treated")


# --------------------------------------------------------------------------- what a count counts

_UNITS: ContextVar[str] = ContextVar("disclosure_units", default="people")


@contextmanager
def counting(units: str):
    """Apply the rules below to counts of `units` ("people", or "places" whose rows each summarise
    at least THRESHOLD people) while building one evaluation's published output."""
    token = _UNITS.set(units)
    try:
        yield
    finally:
        _UNITS.reset(token)


def unit_threshold() -> int:
    """The smallest count of units that may be published: THRESHOLD people, or any number of places."""
    return THRESHOLD if _UNITS.get() == "people" else 1


# --------------------------------------------------------------------------- primary suppression


def count(n: int | float | None) -> int | str | None:
    """A published count: exact from THRESHOLD up, zero is not a person, else suppressed."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    n = int(n)
    return n if n == 0 or n >= unit_threshold() else SUPPRESSED


def enough(*ns) -> bool:
    """Whether a statistic describing groups of these sizes may be published."""
    return all(n is not None and not isinstance(n, str) and n >= unit_threshold() for n in ns)


def small_cells(rows: pd.DataFrame) -> pd.Series:
    """Which rows rest on a cohort or comparison group too small to publish: a staggered design's
    group-time cells (n_treated, n_comparison), or a statistic built from several cells, carrying the
    fewest units of any of them. n_comparison 0 is a base-period cell, which compares no one."""
    least = unit_threshold()
    return (rows["n_treated"] < least) | rows["n_comparison"].between(1, least - 1)


def hide_df_beside_hidden_counts(record: dict) -> None:
    """After secondary suppression: a df beside a group size hidden as "not shown" is hidden too, as a
    residual df (n - k) and the other group's size would give the hidden size back; so is a robustness
    value (with its significance version it gives the regression's df back)."""
    for section in EFFECT_SECTIONS:
        for row in record.get(section) or []:
            if all(isinstance(row.get(n), int) for n in GROUP_SIZES):
                continue
            if row.get("df") is not None:
                row["df"] = NOT_SHOWN
            if (row.get("hidden_bias") or {}).get("robustness") is not None:
                row["hidden_bias"]["robustness"] = NOT_SHOWN


def suppress_estimates(table: pd.DataFrame) -> pd.DataFrame:
    """Blank every estimate resting on fewer than THRESHOLD people in either group.

    A comparison group of 0 is a design without one (before and after), not a small group.
    """
    out = table.copy()
    least = unit_threshold()
    out["suppressed"] = (out["n_treated"] < least) | ((out["n_comparison"] < least) & (out["n_comparison"] > 0))
    out["suppression_reason"] = out["suppressed"].map(
        {True: SUPPRESSION_REASON, False: ""})
    for col in ESTIMATE_FIELDS:
        if col in out.columns:
            out[col] = out[col].astype(object).where(~out["suppressed"], None)
    for col in ("n_treated", "n_comparison"):
        out[col] = out[col].map(count).astype(object)
    return out


def hide_label(subgroup: str) -> str:
    """'religion=Zoroastrian' as 'religion=another group': the level may be a name."""
    modifier, sep, _ = str(subgroup).partition("=")
    return f"{modifier}={ANOTHER_GROUP}" if sep else ANOTHER_GROUP


def balance_rows(rows: list[dict], hidden_labels: dict[str, str] | None = None) -> list[dict]:
    """Balance rows as published: means and SMDs only where both groups have THRESHOLD people
    answering (and, for a 0/1 variable, THRESHOLD people with each value); n through `count`.

    `hidden_labels` names the rows that are one category of a categorical covariate ('age_band: 35-44'),
    with the label each takes when the row is not published ('age_band: another group', rule 5)."""
    out = []
    for row in rows:
        smallest = row.get("smallest_category")  # NaN or None: not a 0/1 variable
        ok = enough(row.get("n_treated"), row.get("n_comparison")) and (
            smallest is None or pd.isna(smallest) or smallest >= unit_threshold())
        shown = {k: (_round(v) if ok else None) for k, v in row.items() if k not in BALANCE_KEYS}
        variable = row["variable"] if ok else (hidden_labels or {}).get(row["variable"], row["variable"])
        out.append({"variable": variable, **shown,
                    "n_treated": count(row.get("n_treated")), "n_comparison": count(row.get("n_comparison")),
                    "suppressed": not ok,
                    "suppression_reason": "" if ok else SUPPRESSION_REASON})
    return out


EQUIVALENCE_KEYS = ("kind", "adjusted", "verdict")  # not statistics; the verdict is hidden with its g


def equivalence_rows(rows: list[dict], hidden_labels: dict[str, str] | None = None) -> list[dict]:
    """The WWC baseline-equivalence rows as published: g as a balance row's SMD is (`balance_rows`), and
    its verdict only beside a published g (the verdict places g in a band)."""
    out = []
    for row in rows:
        shown = balance_rows([{k: v for k, v in row.items() if k not in EQUIVALENCE_KEYS}], hidden_labels)[0]
        out.append({**shown, "kind": row["kind"], "adjusted": row["adjusted"],
                    "verdict": None if shown["suppressed"] else row["verdict"]})
    return out


GROUP_MEANS = "group_means"  # the record's group means by wave (evaluations/diagnostics/wave_means.py)


def group_means_rows(rows: list[dict]) -> list[dict]:
    """Group means by wave as published (rule 1): a group's mean only where at least THRESHOLD of its people
    answered at that wave (and, for a yes/no question, at least THRESHOLD gave each answer in each group);
    n through `count`. A design with no comparison group has n_comparison 0 and no comparison mean."""
    out = []
    for row in rows:
        smallest = row.get("smallest_category")
        answers_ok = smallest is None or smallest >= unit_threshold()
        means = {f"mean_{g}": (_round(row[f"mean_{g}"]) if enough(row[f"n_{g}"]) and answers_ok else None)
                 for g in ("treated", "comparison")}
        out.append({"outcome": row["outcome"], "wave": row["wave"], **means,
                    "n_treated": count(row["n_treated"]), "n_comparison": count(row["n_comparison"])})
    return out


def _group_means_families(fam: "Families", record: dict, flow: Place, n: str, estimate_n: dict) -> None:
    """The group means' counts among the record's families: each wave's n is among the people in the files
    (and those answering at baseline or follow-up, at those waves); with linked waves the people analysed for
    an outcome answered it at the first and last waves; with different people each wave, the first and
    last waves' answers are the people analysed."""
    rows = record.get(GROUP_MEANS) or []
    design = record.get("design") or {}
    stage = {design.get("baseline"): "baseline", design.get("follow_up"): "follow_up"}
    for outcome in dict.fromkeys(r.get("outcome") for r in rows):
        mine = [(i, r) for i, r in enumerate(rows) if r.get("outcome") == outcome]
        ends = [(GROUP_MEANS, i, n) for i, _ in (mine[:1] + mine[-1:] if len(mine) > 1 else mine)]
        for i, r in mine:
            fam.nest((*flow, "registered"), (GROUP_MEANS, i, n))
            if stage.get(r.get("wave")):
                fam.nest((*flow, stage[r["wave"]]), (GROUP_MEANS, i, n))
        if outcome in estimate_n and ends:
            if design.get("linked_waves", True):
                for end in ends:
                    fam.nest(end, estimate_n[outcome])
            else:
                fam.partition(estimate_n[outcome], ends)


def _group_means_give_way(shown: dict, fam: "Families") -> dict:
    """A group-means count that differs by 1 to THRESHOLD - 1 from a count it is nested with is hidden
    first, so that the table never makes secondary suppression hide a count published elsewhere."""
    hide = {}
    for outer, inner in _closure(fam.nesting):
        a, b = shown.get(outer), shown.get(inner)
        if _number(a) and _number(b) and _small(a - b):
            hide.update({p: NOT_SHOWN for p in (outer, inner) if p[0] == GROUP_MEANS})
    return hide


def least_trimmed() -> int:
    """Rule 6: a trimmed mean drops 0 or at least this many units (people, or any number of places)."""
    return unit_threshold()


LEE_STATISTICS = ("lower", "upper", "ci_low", "ci_high")


def attrition_bounds_rows(rows: list[dict]) -> list[dict]:
    """Lee bounds as published (rule 6): the bounds and their interval when the people kept in the trimmed
    group and those answering in the other are each at least THRESHOLD; never the counts or shares."""
    out = []
    for row in rows:
        trimmed = max(row["trimmed_share_lower"], row["trimmed_share_upper"])
        kept = [row[f"responded_{g}"] * (1 - (trimmed if g == row["trimmed_group"] else 0)) for g, _ in GROUPS]
        ok = min(kept) >= unit_threshold() - 1e-9
        out.append({"outcome": row["outcome"], "compared": row["compared"],
                    **{k: (_round(row[k]) if ok else None) for k in LEE_STATISTICS},
                    "trimmed_group": row["trimmed_group"], "widened": row["widened"],
                    "suppressed": not ok, "suppression_reason": "" if ok else SUPPRESSION_REASON})
    return out


RESPONSE_WEIGHTING_STATISTICS = ("estimate", "ci_low", "ci_high")


def response_weighting_rows(rows: list[dict]) -> list[dict]:
    """Response-weighted estimates as published (rule 7); `not_estimated` says why a row has no numbers."""
    out = []
    for row in rows:
        ok = all(row[f"responded_{g}"] >= unit_threshold()
                 and not _small(row[f"n_{g}"] - row[f"responded_{g}"]) for g, _ in GROUPS)
        shown = ok and row["not_estimated"] is None
        out.append({"outcome": row["outcome"],
                    **{k: (_round(row[k]) if shown else None) for k in RESPONSE_WEIGHTING_STATISTICS},
                    "not_estimated": row["not_estimated"] if ok else None,
                    "suppressed": not ok, "suppression_reason": "" if ok else SUPPRESSION_REASON})
    return out


def max_abs_smd(rows: list[dict], covariates, field: str) -> float | None:
    """The largest |SMD| among covariate rows as published by `balance_rows` (a headline from the rows shown)."""
    values = [abs(r[field]) for r in rows if r["variable"] in covariates and isinstance(r.get(field), (int, float))]
    return max(values) if values else None


def _round(value):
    return round(float(value), DECIMALS) if isinstance(value, (int, float)) and math.isfinite(value) else None


def proportion_counts(numerator: int, denominator: int) -> tuple[int, int]:
    """A published proportion discloses two counts: the people with and without the attribute."""
    return numerator, denominator - numerator


def share(numerator: int, denominator: int) -> float | str | None:
    """A published share of people (0-1): shown only when the people with and without the attribute are
    each 0 or at least THRESHOLD; None when no one answered."""
    if not denominator:
        return None
    if any(count(c) == SUPPRESSED for c in proportion_counts(numerator, denominator)):
        return SUPPRESSED
    return _round(numerator / denominator)


# --------------------------------------------------------------------------- secondary suppression


class Families:
    """The published counts of a record and how they relate (see the table in the module docstring)."""

    def __init__(self):
        self.counts: list[Place] = []
        self.partitions: list[tuple[Place, list[Place]]] = []  # (total, parts): parts <= total, the rest unpublished
        self.nesting: list[tuple[Place, Place]] = []  # (outer, inner): inner's people are all among outer's
        self.compared: list[tuple[Place, Place]] = []  # not nested, but read as "lost in between" (flow stages)
        self.together: dict[Place, list[Place]] = {}  # counts published by one number (a rate): hidden together

    def add(self, *paths: Place) -> None:
        self.counts += [p for p in paths if p not in self.counts]

    def nest(self, outer: Place, inner: Place) -> None:
        self.add(outer, inner)
        self.nesting.append((outer, inner))

    def partition(self, total: Place, parts: list[Place]) -> None:
        self.add(total, *parts)
        self.partitions.append((total, parts))
        for p in parts:
            self.nesting.append((total, p))


def _closure(pairs: Iterable[tuple[Place, Place]]) -> list[tuple[Place, Place]]:
    """Every (outer, inner) implied by containment being transitive."""
    inner_of: dict[Place, set[Place]] = {}
    for outer, inner in pairs:
        inner_of.setdefault(outer, set()).add(inner)
    out = []
    for outer in inner_of:
        seen, stack = set(), list(inner_of[outer])
        while stack:
            x = stack.pop()
            if x in seen or x == outer:
                continue
            seen.add(x)
            stack += inner_of.get(x, ())
        out += [(outer, x) for x in sorted(seen, key=repr)]
    return out


def _number(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _known(shown: dict[Place, object], fam: Families) -> tuple[dict[Place, int], dict[Place, tuple]]:
    """What a reader can know: published numbers, plus what partitions give away (a total from
    all its parts; the one unpublished part from a total and the other parts)."""
    known = {k: v for k, v in shown.items() if _number(v)}
    source: dict[Place, tuple] = {}
    changed = True
    while changed:
        changed = False
        for total, parts in fam.partitions:
            missing = [p for p in parts if p not in known]
            if total in known and len(missing) == 1:
                known[missing[0]] = known[total] - sum(known[p] for p in parts if p in known)
                source[missing[0]] = (total, parts)
                changed = True
            elif total not in known and not missing and parts:
                known[total] = sum(known[p] for p in parts)
                source[total] = (total, parts)
                changed = True
    return known, source


def _small(d) -> bool:
    return 0 < d < unit_threshold()


def _violations(shown: dict[Place, object], fam: Families) -> list[tuple[str, Place | None]]:
    """Every way a reader could work out a group of 1-9 people; with the count to hide next."""
    known, source = _known(shown, fam)

    def published(members):
        members = [p for p in members if _number(shown.get(p)) and shown[p] > 0]
        return sorted(members, key=lambda p: (shown[p], repr(p)))  # smallest first

    def to_hide(path: Place) -> Place | None:
        if _number(shown.get(path)):
            return path
        if path in source:  # worked out from a partition: hide another published member of it
            total, parts = source[path]
            cands = published([p for p in parts if p != path]) or published([total] if total != path else [])
            return cands[0] if cands else None
        return None

    out = []
    for path in fam.counts:
        v = shown.get(path)
        if _number(v) and _small(v):
            out.append((f"{_name(path)} = {v}: fewer than {THRESHOLD} people", None))
    for a, b in fam.compared:
        if a in known and b in known and _small(abs(known[a] - known[b])):
            smaller, larger = sorted((a, b), key=lambda p: known[p])
            out.append((f"{_name(a)} = {known[a]} and {_name(b)} = {known[b]} differ by {abs(known[a] - known[b])}",
                        to_hide(smaller) or to_hide(larger)))
    for path in source:
        if _small(known[path]):
            total, parts = source[path]
            out.append((f"{_name(path)} = {known[path]} can be worked out from {_name(total)} and its parts "
                        f"({', '.join(_name(p) for p in parts)})", to_hide(path)))
    for total, parts in fam.partitions:
        if total not in known:
            continue
        rest = known[total] - sum(known[p] for p in parts if p in known)
        if _small(rest):
            hide = (published(parts) or [None])[0] or to_hide(total)
            shown_parts = ", ".join(_name(p) for p in parts if p in known)
            out.append((f"{_name(total)} minus its published parts ({shown_parts}) = {rest}", hide))
    for outer, inner in _closure(fam.nesting):
        if outer in known and inner in known and _small(known[outer] - known[inner]):
            out.append((f"{_name(outer)} = {known[outer]} contains {_name(inner)} = {known[inner]}: "
                        f"they differ by {known[outer] - known[inner]}", to_hide(inner) or to_hide(outer)))
    return out


def protect(shown: dict[Place, object], fam: Families) -> dict[Place, object]:
    """Secondary suppression: hide (NOT_SHOWN) published counts until no small group can be
    worked out by subtracting published numbers. `shown` has been through `count` already."""
    shown = dict(shown)
    for _ in range(len(shown) + 1):
        fixable = [hide for _, hide in _violations(shown, fam) if hide is not None]
        if not fixable:
            return shown
        for path in fam.together.get(fixable[0], [fixable[0]]):
            shown[path] = NOT_SHOWN
    raise AssertionError("secondary suppression did not settle")  # each pass hides one more number


def _name(path: Place) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")


# --------------------------------------------------------------------------- the record


def get(record: dict, path: Place):
    node = record
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def put(record: dict, path: Place, value) -> None:
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


ATTRITION = ("diagnostics", "attrition")


def _lost(group: str) -> Place:
    return (*ATTRITION, "lost", group)


def families(record: dict) -> tuple[Families, dict[Place, object]]:
    """The count families of a record (module docstring) and the counts a reader can work out
    that are not fields of the record (attrition rate x baseline = people lost)."""
    fam, derived = Families(), {}
    primary = record.get("primary_outcome")
    overall = {r.get("outcome"): i for i, r in enumerate(record.get("estimates") or [])}
    diag = record.get("diagnostics") or {}
    for group, n in GROUPS:
        flow = ("flow", group)
        fam.add(*[(*flow, s) for s in FLOW_STAGES if get(record, (*flow, s)) is not None])
        fam.nest((*flow, "registered"), (*flow, "baseline"))
        fam.nest((*flow, "registered"), (*flow, "follow_up"))
        for stage in ("baseline", "follow_up"):
            fam.nest((*flow, stage), (*flow, "analysed"))
        # baseline minus follow-up reads as the people lost, though some answer only at follow-up
        fam.compared.append(((*flow, "baseline"), (*flow, "follow_up")))
        estimate_n = {}
        for section in ("estimates", "sensitivity", "shares"):  # shares: the overall effects as changes in a share
            for i, row in enumerate(record.get(section) or []):
                path = (section, i, n)
                for stage in ("baseline", "follow_up"):
                    fam.nest((*flow, stage), path)
                if section == "estimates":
                    estimate_n[row.get("outcome")] = path
        if primary in estimate_n:
            # the flow's analysed is the primary outcome's n: one hidden, both hidden
            fam.partition(estimate_n[primary], [(*flow, "analysed")])
        _group_means_families(fam, record, flow, n, estimate_n)
        by_modifier: dict[tuple, list[Place]] = {}
        for j, row in enumerate(record.get("subgroups") or []):
            modifier = str(row.get("subgroup", "")).partition("=")[0]
            by_modifier.setdefault((row.get("outcome"), modifier), []).append(("subgroups", j, n))
        for (outcome, _), parts in by_modifier.items():
            if outcome in overall:
                fam.partition(("estimates", overall[outcome], n), parts)
        for i, row in enumerate(diag.get("balance") or []):
            fam.nest((*flow, "baseline"), ("diagnostics", "balance", i, n))
            if row.get("variable") in estimate_n:  # those analysed for an outcome answered it at baseline
                fam.nest(("diagnostics", "balance", i, n), estimate_n[row["variable"]])
        primary_n = estimate_n.get(primary)
        if primary_n is not None:
            for i, _ in enumerate(diag.get("balance_after") or []):
                fam.nest(primary_n, ("diagnostics", "balance_after", i, n))
            for i, _ in enumerate((diag.get("baseline_equivalence") or {}).get("rows") or []):
                fam.nest(primary_n, ("diagnostics", "baseline_equivalence", "rows", i, n))
            overlap = diag.get("overlap") or {}
            bars = (overlap.get("histogram") or {}).get(group) or []
            if bars and not overlap["histogram"].get("suppressed"):
                fam.partition(primary_n, [("diagnostics", "overlap", "histogram", group, k) for k in range(len(bars))])
            for part in ("outside_support", "trimmed"):
                if overlap.get(part):
                    fam.nest(primary_n, ("diagnostics", "overlap", part, group))
        # a published attrition rate times the published baseline is the number of people lost
        rate, base = get(record, (*ATTRITION, group)), get(record, (*flow, "baseline"))
        if isinstance(rate, float) and _number(base):
            lost = round(rate * base)
            derived[_lost(group)] = count(lost)
            derived[(*ATTRITION, "retained", group)] = count(base - lost)
            fam.partition((*flow, "baseline"), [_lost(group), (*ATTRITION, "retained", group)])
            fam.nest((*flow, "follow_up"), (*ATTRITION, "retained", group))
            fam.nest((*ATTRITION, "retained", group), (*flow, "analysed"))
            both = [_lost(group), (*ATTRITION, "retained", group)]
            fam.together.update({p: both for p in both})
    rate = get(record, (*ATTRITION, "overall"))
    bases = [get(record, ("flow", g, "baseline")) for g, _ in GROUPS]
    if isinstance(rate, float) and all(_number(b) for b in bases):
        lost = round(rate * sum(bases))
        derived[(*ATTRITION, "lost", "all")] = count(lost)
        fam.partition((*ATTRITION, "lost", "all"), [_lost(g) for g, _ in GROUPS])
    dq = ("data_quality",)
    by_check = [(*dq, "set_aside_by_check", k) for k in (get(record, (*dq, "set_aside_by_check")) or {})]
    fam.nest((*dq, "rows_read"), (*dq, "rows_set_aside"))
    fam.partition((*dq, "rows_set_aside"), by_check)
    for k in get(record, (*dq, "dont_know_answers")) or {}:
        fam.nest((*dq, "rows_read"), (*dq, "dont_know_answers", k))
    fam.counts = [p for p in fam.counts if p in derived or get(record, p) is not None]
    return fam, derived


def _rate(path: Place) -> Place:
    """The attrition rate a derived count of people lost or retained comes from."""
    return (*ATTRITION, "overall" if path[3] == "all" else path[3])


def protect_record(record: dict) -> dict:
    """Secondary suppression across the whole record (primary suppression is done where each
    field is built). Hidden counts become NOT_SHOWN; a hidden histogram bar hides the whole
    histogram; a hidden derived attrition count hides the rate it came from."""
    fam, derived = families(record)
    shown = {p: derived[p] if p in derived else get(record, p) for p in fam.counts}
    shown.update(_group_means_give_way(shown, fam))
    for path, value in protect(shown, fam).items():
        if path in derived:
            if value != derived[path]:
                put(record, _rate(path), NOT_SHOWN)
        elif value != get(record, path):
            put(record, path, value)
    att = get(record, ATTRITION)
    if att and any(isinstance(att.get(g), str) for g, _ in GROUPS):
        # with the other group's rate (or its baseline minus follow-up) these give the hidden one back
        att.update({k: NOT_SHOWN for k in ("differential", "overall") if isinstance(att.get(k), float)})
    wwc = get(record, ("diagnostics", "wwc_attrition"))
    if att and wwc and wwc.get("max_differential") is not None and not isinstance(att.get("overall"), float):
        wwc["max_differential"] = NOT_SHOWN  # the boundary's value gives the hidden overall rate back to 1%
    overlap = get(record, ("diagnostics", "overlap"))
    if overlap and overlap.get("histogram"):
        hist = overlap["histogram"]
        if not all(_number(v) for g, _ in GROUPS for v in hist[g]):
            hist.update({g: [None] * len(hist[g]) for g, _ in GROUPS}, suppressed=True)
    diag = record.get("diagnostics") or {}
    if diag.get("mdes_planned") is not None and not all(_number(get(record, ("flow", g, "baseline")))
                                                        for g, _ in GROUPS):
        diag["mdes_planned"] = NOT_SHOWN  # a function of the two baseline counts: it would give a hidden one back
    for row in record.get("estimates") or []:
        if row.get("estimate") is None and row.get("outcome") in (diag.get("mdes_achieved") or {}):
            # the achieved MDES is the width of the blanked estimate's interval: blank it too
            diag["mdes_achieved"][row["outcome"]] = NOT_SHOWN
    hide_df_beside_hidden_counts(record)
    dq = record.get("data_quality") or {}
    if _number(dq.get("rows_read")) and _flow_hidden(record):
        # rows read - rows set aside = everyone's baseline and follow-up rows: with all but one flow
        # count published, it would give the hidden one back
        dq["rows_read"] = NOT_SHOWN
    return record


def _flow_hidden(record: dict) -> bool:
    return any(isinstance(get(record, ("flow", g, s)), str) for g, _ in GROUPS for s in FLOW_STAGES)


def attrition_rates(att: dict) -> dict:
    """The attrition rates as published: a rate is the people lost over those at baseline, so it
    is shown only when both the lost and the retained counts are 0 or at least THRESHOLD."""
    def rate(lost: int, base: int, value):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return _round(value) if all(count(c) != SUPPRESSED for c in proportion_counts(lost, base)) else SUPPRESSED

    groups = {g: rate(att[g]["baseline_only"], att[g]["baseline"], att[g]["attrition_rate"]) for g, _ in GROUPS}
    lost = sum(att[g]["baseline_only"] for g, _ in GROUPS)
    base = sum(att[g]["baseline"] for g, _ in GROUPS)
    out = {"overall": rate(lost, base, att["overall_attrition"]),
           "differential": _round(att["differential_attrition"]), **groups}
    if any(isinstance(v, str) for v in groups.values()):  # see protect_record
        out.update({k: NOT_SHOWN for k in ("differential", "overall") if isinstance(out[k], float)})
    return out


# --------------------------------------------------------------------------- the audit


def disclosure_problems(record: dict) -> list[str]:
    """Everything in a record that would reveal fewer than THRESHOLD people: a count of 1-9, a
    statistic beside a suppressed or small n, two published counts (or a total and its published
    parts) whose difference is 1-9. Run by build_record before publishing; must come back empty."""
    fam, derived = families(record)
    shown = {p: derived[p] if p in derived else get(record, p) for p in fam.counts}
    problems = [message for message, _ in _violations(shown, fam)]
    for section in EFFECT_SECTIONS:
        for i, row in enumerate(record.get(section) or []):
            sizes = [row.get("n_treated")] + ([row["n_comparison"]] if row.get("n_comparison") != 0 else [])
            if not all(_at_least(n) for n in sizes) and any(row.get(f) is not None for f in ESTIMATE_FIELDS):
                problems.append(f"{section}[{i}] has an estimate from {SUPPRESSED} people in a group")
    diag = record.get("diagnostics") or {}
    equivalence = (diag.get("baseline_equivalence") or {}).get("rows") or []
    for section, rows in (("balance", diag.get("balance")), ("balance_after", diag.get("balance_after")),
                          ("baseline_equivalence.rows", equivalence)):
        for i, row in enumerate(rows or []):
            stats = [k for k in row if k not in (*BALANCE_KEYS, "kind", "adjusted") and row[k] is not None]
            if stats and not (_at_least(row.get("n_treated")) and _at_least(row.get("n_comparison"))):
                problems.append(f"diagnostics.{section}[{i}] ({row.get('variable')}) shows {', '.join(stats)} "
                                f"without {THRESHOLD} people in each group")
    for i, row in enumerate(record.get(GROUP_MEANS) or []):
        for g, n in (("treated", "n_treated"), ("comparison", "n_comparison")):
            if row.get(f"mean_{g}") is not None and not _at_least(row.get(n)):
                problems.append(f"{GROUP_MEANS}[{i}] shows mean_{g} without {THRESHOLD} people")
    skipped = [x.get("subgroup") for x in record.get("subgroups_skipped") or []]
    skipped += [r.get("subgroup") for r in record.get("subgroups") or [] if r.get("suppressed")]
    problems += [f"a subgroup too small to publish is named: {s!r}" for s in skipped
                 if not str(s).endswith(ANOTHER_GROUP)]
    for row in record.get("estimates") or []:
        if row.get("estimate") is None and isinstance((diag.get("mdes_achieved") or {}).get(row.get("outcome")), float):
            problems.append(f"mdes_achieved of {row.get('outcome')!r} is shown though its estimate is not")
    if _number((record.get("data_quality") or {}).get("rows_read")) and _flow_hidden(record):
        problems.append("data_quality.rows_read is shown beside a hidden flow count")
    problems += check_no_small_numbers(record)
    return sorted(set(problems), key=problems.index)


def _at_least(n) -> bool:
    """A published n that says its group has THRESHOLD people: a number, or hidden only secondarily."""
    return n == NOT_SHOWN or (_number(n) and n >= unit_threshold())


def check_no_small_numbers(record, path: str = "") -> list[str]:
    """Find any count field below THRESHOLD left anywhere (also in parts of a record, e.g. diagnostics)."""
    problems = []
    if isinstance(record, dict):
        for k, v in record.items():
            where = f"{path}.{k}" if path else k
            if (k.startswith("n_") and k not in NOT_PEOPLE) or k in COUNT_KEYS:
                if _number(v) and 0 < v < unit_threshold():
                    problems.append(f"{where} = {v}")
            problems += check_no_small_numbers(v, where)
    elif isinstance(record, list):
        for i, v in enumerate(record):
            problems += check_no_small_numbers(v, f"{path}[{i}]")
    return problems
