"""Evaluation manifests (evaluation.yaml) and the registry folder that holds them.

A manifest says what a programme is, how it was evaluated and where its survey files
are. Everything the pipeline does is driven from it; nothing is guessed from the data.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evaluations import covariates as categorical
from evaluations.measure_model import OwnMeasure
from evaluations.placeholders import placeholder_problems
from evaluations.usertext import manifest_text_problems, too_long

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_ENV = "COMMONGROUND_REGISTRY"
DEFAULT_REGISTRY = REPO_ROOT / "datasets" / "evaluations"
MANIFEST_NAME = "evaluation.yaml"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PLAN_VERSION = 2  # of the registered analysis plan (Manifest.analysis_plan)
ADDED_AFTER_PLAN_V2 = ("sample", "weights", "units", "people", "groups")  # design fields, planned only when set


class ManifestError(Exception):
    """A user error in a manifest or registry: carries every problem found, each with its fix."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))


class Family(str, Enum):
    exchange_visit = "exchange_visit"
    school_linking = "school_linking"
    youth_social_action = "youth_social_action"
    intergenerational = "intergenerational"
    other = "other"


def _listed_once(columns: list[str], what: str) -> None:
    """Refuse a design list (covariates, effect modifiers) that names a column twice."""
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ValueError(f"lists {', '.join(map(repr, twice))} more than once; list each {what} once")


class DesignType(str, Enum):
    rct = "rct"
    matched_did = "matched_did"
    did = "did"
    matching = "matching"
    pre_post = "pre_post"


class Sample(str, Enum):
    """Who answers each wave."""
    panel = "panel"  # the same people, linked across waves by unit_id
    repeated_cross_section = "repeated_cross_section"  # different people each wave (e.g. an anonymous survey)


class Units(str, Enum):
    """What one row of the data describes."""
    people = "people"
    places = "places"  # schools, sites or areas: each row summarises the people there (design.people says how many)


class Estimator(str, Enum):
    """Estimators a manifest may choose instead of its design's default (evaluations/estimators/plan.py)."""
    did = "did"  # regression DiD (on each person's change in a panel; on group-by-wave means in cross-sections)
    doubly_robust_did = "doubly_robust_did"  # Sant'Anna & Zhao, panel or repeated cross-sections
    ancova = "ancova"  # follow-up on baseline score and covariates
    difference_in_means = "difference_in_means"
    ps_matching = "ps_matching"  # propensity-score nearest-neighbour matching on the follow-up outcome
    ipw = "ipw"  # inverse-probability weighting for the ATT on the follow-up outcome
    doubly_robust = "doubly_robust"  # AIPW for the ATT on the follow-up outcome
    callaway_santanna = "callaway_santanna"  # staggered roll-outs: group-time effects
    mean_change = "mean_change"  # before and after with no comparison group


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchingOptions(_Strict):
    k: int = Field(default=1, ge=1, le=10)  # comparison people per participant
    caliper: float | None = Field(default=0.2, gt=0)  # in SDs of the logit propensity score; null for none
    replace: bool = True


class Programme(_Strict):
    name: str
    family: Family
    organisation: str
    places: list[str] = Field(min_length=1)
    start_date: date
    end_date: date
    cost_per_participant_gbp: float | None = Field(default=None, ge=0)
    description: str = ""

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.end_date < self.start_date:
            raise ValueError("programme.end_date is before programme.start_date; swap them")
        return self


TOOK_PART = "_cg_took_part"  # the treatment column a design without a comparison group gets (everyone took part)


class CategoricalCovariate(_Strict):
    """A covariate answered in categories (age bands, gender, yes/no), under design.covariates as
    `{column: age_band, categories: [16-24, 25-34, 35+], ordered: true}`. The first category is the
    reference the estimators compare the others with; evaluations/covariates.py says how answers are
    read and encoded, and why."""
    column: str
    categories: list[str]
    ordered: bool = False  # the categories are listed in their order (bands): lowest first

    @field_validator("categories", mode="before")
    @classmethod
    def _numbers_as_text(cls, v):
        """A category may be written as a number (codes 1, 2, 3): it is read as its text."""
        if isinstance(v, list):
            return [str(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else c for c in v]
        return v

    @model_validator(mode="after")
    def _readable(self):
        problems = categorical.category_problems(self.column, self.categories)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class EffectModifier(_Strict):
    """An effect modifier with its words for readers, under design.effect_modifiers as
    `{column: fsm, label: "Free school meals", values: {0: "no", 1: "yes"}}` (a plain column name is
    the same without words). Words are for pages only: the analysis plan holds the column
    (Manifest._planned_design). Without them a page says the column made readable and yes/no for a
    0/1 column (evaluations/subgroup_names.py)."""
    column: str
    label: str | None = None
    values: dict[str, str] = Field(default_factory=dict)  # an answer in the data -> its word on the page

    @field_validator("values", mode="before")
    @classmethod
    def _answers_and_words_as_text(cls, values):
        """An answer may be written as a number (0, 1): it is read as its text. YAML reads an unquoted
        yes/no/on/off as true/false: say so, rather than "not a string"."""
        if not isinstance(values, dict):
            return values
        out = {}
        for answer, word in values.items():
            if isinstance(answer, bool):
                raise ValueError(f"the answer {answer!r} reads as true/false, not as an answer in the data; put it "
                                 'in quotes, e.g. "yes": "receives free school meals"')
            if not isinstance(word, str):
                raise ValueError(f"the word for answer {answer} reads as {word!r}, not text; put it in quotes, "
                                 f'e.g. {answer}: "yes" (YAML reads an unquoted yes/no/on/off as true/false)')
            out[str(answer) if isinstance(answer, (int, float)) else answer] = word
        return out

    @model_validator(mode="after")
    def _words_readable(self):
        problems = []
        if self.label is not None and not self.label.strip():
            problems.append(f"the label of '{self.column}' is empty; write the words readers should see, or remove label")
        seen = {}
        for answer, word in self.values.items():
            key = categorical.category_key(answer)
            if not word.strip():
                problems.append(f"the word for answer {answer!r} of '{self.column}' is empty; write it, or remove the answer")
            if key in seen:
                problems.append(f"values of '{self.column}' name {seen[key]!r} and {answer!r}, which read as the same "
                                "answer; name it once")
            seen.setdefault(key, answer)
            problem = None if re.fullmatch(r"-?\d+", answer) else too_long(word, "design.effect_modifiers.*.values.*")
            if problem:  # a number's word is measured with the other manifest text (usertext.py)
                problems.append(f"the word for answer {answer!r} of '{self.column}' {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Design(_Strict):
    """What the manifest says about how the programme was evaluated.

    Which rules apply, which estimators are allowed and what the design means are decided by
    the design objects in evaluations/designs/ (one module per design); this class holds the
    fields, and Manifest's validation asks the design for its problems, so `check` refuses what
    `run` cannot do.
    """
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)  # dumps say `covariates`

    type: DesignType
    unit_id: str
    treatment: str | None = None  # every design but pre_post names it
    wave: str
    sample: Sample = Sample.panel
    weights: str | None = None  # survey (sampling or non-response) weights, one per row
    units: Units = Units.people
    people: str | None = None  # units: places: the column saying how many people each row summarises
    baseline: str | None = None
    follow_up: str | None = None
    waves: list[str] | None = None
    first_treated: str | None = None
    cluster: str | None = None
    # what the manifest's `covariates` lists: column names (numbers) and categorical covariates; the
    # estimators see `covariates` (below), where a categorical one is its indicator columns
    declared_covariates: list[str | CategoricalCovariate] = Field(default_factory=list, alias="covariates")
    # what the manifest's `effect_modifiers` lists: column names, or columns with their words for readers;
    # the estimators see `effect_modifiers` (below), the columns
    declared_modifiers: list[str | EffectModifier] = Field(default_factory=list, alias="effect_modifiers")
    estimator: Estimator | None = None  # None: the design's default
    matching: MatchingOptions = Field(default_factory=MatchingOptions)
    # The treatment column's own answers for each group ("Did you take part?" -> "Yes, in 2024" /
    # "No"), confirmed by the charity; without it the column must read 1/yes/took part or 0/no/comparison.
    groups: dict[Literal["programme", "comparison"], list[str]] | None = None

    @field_validator("groups")
    @classmethod
    def _both_groups_answered_apart(cls, groups):
        if groups is None:
            return groups
        from evaluations.intake.labels import label_key

        for group in ("programme", "comparison"):
            if not groups.get(group):
                raise ValueError(f"design.groups must list the answers meaning {group} (at least one)")
        shared = {label_key(a) for a in groups["programme"]} & {label_key(a) for a in groups["comparison"]}
        if shared:
            raise ValueError(f"design.groups lists the same answer for both groups ({', '.join(sorted(shared))}); "
                             "each answer must say one group")
        return groups

    @field_validator("declared_covariates", mode="before")
    @classmethod
    def _column_or_categories(cls, declared):
        """Each entry is validated as what it is, so an error reads design.covariates.1.categories, not a union's."""
        if not isinstance(declared, list):
            return declared
        out = []
        for c in declared:
            if isinstance(c, dict):
                c = CategoricalCovariate.model_validate(c)
            elif not isinstance(c, (str, CategoricalCovariate)):
                raise ValueError(f"{c!r} is neither a column name (a covariate in numbers) nor a categorical covariate "
                                 "({column: age_band, categories: [16-24, 25-34, 35+], ordered: true})")
            out.append(c)
        return out

    @field_validator("declared_covariates")
    @classmethod
    def _each_covariate_once(cls, declared):
        _listed_once([c if isinstance(c, str) else c.column for c in declared], "covariate")
        return declared

    @field_validator("declared_modifiers", mode="before")
    @classmethod
    def _column_or_words(cls, declared):
        """Each entry is validated as what it is, so an error reads design.effect_modifiers.0.values, not a union's."""
        if not isinstance(declared, list):
            return declared
        out = []
        for i, m in enumerate(declared):
            if isinstance(m, dict):
                try:
                    m = EffectModifier.model_validate(m)
                except ValidationError as e:  # say which entry: the list's index is lost in a before-validator
                    raise ValueError("; ".join(f"entry {i + 1} ({m.get('column', 'no column')}): "
                                               + (f"{'.'.join(map(str, err['loc']))}: " if err["loc"] else "")
                                               + _describe_one(err) for err in e.errors())) from None
            elif not isinstance(m, (str, EffectModifier)):
                raise ValueError(f"{m!r} is neither a column name nor a column with its words "
                                 '({column: fsm, label: "Free school meals", values: {0: "no", 1: "yes"}})')
            out.append(m)
        _listed_once([m if isinstance(m, str) else m.column for m in out], "effect modifier")
        return out

    @property
    def effect_modifiers(self) -> list[str]:
        """The effect modifiers' columns, as the manifest lists them."""
        return [m if isinstance(m, str) else m.column for m in self.declared_modifiers]

    @property
    def modifier_words(self) -> dict[str, EffectModifier]:
        """The effect modifiers the manifest gives words for, by column."""
        return {m.column: m for m in self.declared_modifiers if not isinstance(m, str)}

    @property
    def categorical_covariates(self) -> dict[str, list[str]]:
        """Each categorical covariate's column and its categories, in the manifest's order."""
        return {c.column: list(c.categories) for c in self.declared_covariates if not isinstance(c, str)}

    @property
    def numeric_covariates(self) -> list[str]:
        return [c for c in self.declared_covariates if isinstance(c, str)]

    @property
    def covariate_columns(self) -> list[str]:
        """The data columns the covariates are read from, as the manifest lists them."""
        return [c if isinstance(c, str) else c.column for c in self.declared_covariates]

    @property
    def covariates(self) -> list[str]:
        """The covariate columns the estimators see: a numeric covariate's own column, a categorical
        one's indicators but the reference's (evaluations/covariates.py). The analysis panel holds them."""
        return self._expanded(categorical.estimator_columns)

    @property
    def balance_covariates(self) -> list[str]:
        """The covariate columns balance is shown for: every level of a categorical covariate, the
        reference included."""
        return self._expanded(categorical.balance_columns)

    def _expanded(self, columns_of) -> list[str]:
        out = []
        for c in self.declared_covariates:
            out += [c] if isinstance(c, str) else columns_of(c.column, c.categories)
        return out

    @property
    def analysis_estimator(self) -> Estimator:
        """The manifest's estimator, or the design's default."""
        from evaluations.designs import design_of

        return self.estimator or design_of(self).default_estimator

    @property
    def staggered(self) -> bool:
        return self.first_treated is not None

    @property
    def treatment_column(self) -> str:
        return self.treatment or TOOK_PART

    @property
    def wave_labels(self) -> list[str]:
        return list(self.waves) if self.waves else [self.baseline, self.follow_up]

    @property
    def design_columns(self) -> list[str]:
        cols = [self.unit_id, self.treatment_column, self.wave, self.first_treated, self.cluster, self.weights,
                self.people]
        return list(dict.fromkeys([c for c in cols if c] + self.covariate_columns + list(self.effect_modifiers)))


SELECTION_ON_OBSERVABLES = (Estimator.ps_matching, Estimator.ipw, Estimator.doubly_robust)


class Outcome(_Strict):
    column: str
    # a measure bank id (datasets/measures/<id>.yaml), or the charity's own question written inline
    # (evaluations/measure_model.py), which is published as its own and never pooled
    measure: str | OwnMeasure
    primary: bool = False

    @field_validator("measure", mode="before")
    @classmethod
    def _bank_id_or_own_question(cls, v):
        if isinstance(v, dict):  # validated here so its errors read outcomes.0.measure.question, not a union's
            return OwnMeasure.model_validate(v)
        if not isinstance(v, (str, OwnMeasure)):
            raise ValueError("give a measure id from datasets/measures/ (e.g. loneliness_ons), or your own question "
                             "as a mapping of name, question, domain, response_type, scale (or min and max), "
                             "higher_is_better; see `commonground new`")
        return v


SURVEY_TOOLS = ("google_forms", "microsoft_forms", "surveymonkey", "qualtrics", "kobo", "odk")  # intake/exports/
FILE_FIELDS_ADDED_AFTER_PLAN_V2 = ("tool", "wave", "group")  # in the plan only when set (Manifest._planned_file)


class DataFile(_Strict):
    path: str
    layout: Literal["long", "wide"] = "long"
    sheet: str | None = None
    # auto: a survey tool's export is recognised from its header rows and read as the tool writes it;
    # plain: never; a tool's name: the file must be that tool's export
    tool: Literal[("auto", "plain", *SURVEY_TOOLS)] = "auto"
    header_rows: int = Field(default=1, ge=1, le=5)  # a plain table's header rows (the first holds the names)
    wave: str | None = None  # every row of this file is from this wave (one file per wave: no wave column)
    group: Literal["programme", "comparison"] | None = None  # every row of this file is in this group
    # wide layout: outcome columns are named <column><suffix> for each wave label
    wave_suffixes: dict[str, str] | None = None
    # original column name -> name used in the manifest
    rename: dict[str, str] = Field(default_factory=dict)
    # identifier columns the charity asks us to drop at intake instead of refusing the file
    drop_columns: list[str] = Field(default_factory=list)

    @property
    def format(self) -> str:
        suffix = Path(self.path).suffix.lower().lstrip(".")
        return {"xls": "xlsx"}.get(suffix, suffix)

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, v: str) -> str:
        p = Path(v)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(
                f"files path {v!r} points outside the evaluation folder; put the file beside "
                "evaluation.yaml and give its name relative to that folder")
        if p.suffix.lower() not in {".csv", ".xlsx", ".sav", ".dta"}:
            raise ValueError(f"files path {v!r}: the format must be .csv, .xlsx, .sav or .dta")
        return v

    @model_validator(mode="after")
    def _wide_needs_suffixes(self):
        if self.layout == "wide" and not self.wave_suffixes:
            raise ValueError(f"file {self.path}: layout 'wide' needs wave_suffixes (wave label -> column suffix)")
        return self

    @model_validator(mode="after")
    def _tool_and_header_rows(self):
        if self.tool not in ("auto", "plain") and self.format not in ("csv", "xlsx"):
            raise ValueError(f"file {self.path}: tool {self.tool!r} names a survey tool's CSV or Excel export, but "
                             f"this is a .{self.format} file, read by its own format; remove tool")
        if self.tool not in ("auto", "plain") and self.header_rows != 1:
            raise ValueError(f"file {self.path}: header_rows is for a plain table; a {self.tool} export's header "
                             "rows are read as the tool writes them, so remove header_rows (or set tool: plain)")
        if self.wave is not None and self.layout == "wide":
            raise ValueError(f"file {self.path}: wave gives every row of a long file one wave, but this file is "
                             "wide (its waves are in wave_suffixes); remove wave or layout: wide")
        return self


class Manifest(_Strict):
    id: str
    title: str
    synthetic: bool = False
    programme: Programme
    design: Design
    outcomes: list[Outcome] = Field(min_length=1)
    files: list[DataFile] = Field(min_length=1)
    missing_codes: list[float | int | str] = Field(default_factory=list)
    # plausible range of numeric covariates, e.g. {age: [15, 17]}; values outside are quarantined
    valid_ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    seed: int = 20240101
    contact: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError(f"id {v!r} must be a slug: lower-case letters, digits and single hyphens, e.g. 'ncs-2024'")
        return v

    @model_validator(mode="after")
    def _design_rules(self):
        from evaluations.designs import design_of  # the design modules import this one

        problems = design_of(self.design).manifest_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _outcomes_consistent(self):
        if not any(o.primary for o in self.outcomes):
            raise ValueError("mark at least one outcome as primary: true (the registered primary outcome)")
        cols = [o.column for o in self.outcomes]
        if len(set(cols)) != len(cols):
            raise ValueError("the same outcome column is listed twice under outcomes")
        for col, (lo, hi) in self.valid_ranges.items():
            if col in self.design.categorical_covariates:
                raise ValueError(f"valid_ranges.{col}: '{col}' is a categorical covariate, whose categories are its "
                                 f"valid answers; remove valid_ranges.{col}")
            if col not in self.design.covariate_columns:
                raise ValueError(f"valid_ranges.{col}: only covariates can have a range; add {col!r} to design.covariates")
            if lo > hi:
                raise ValueError(f"valid_ranges.{col}: the lower bound {lo} is above the upper bound {hi}")
        for f in self.files:
            if f.wave_suffixes and set(f.wave_suffixes) != set(self.design.wave_labels):
                raise ValueError(
                    f"file {f.path}: wave_suffixes must give a suffix for each wave "
                    f"{self.design.wave_labels}, got {sorted(f.wave_suffixes)}")
        return self

    @model_validator(mode="after")
    def _per_file_wave_and_group(self):
        """files.wave and files.group set a column for every row of their file: they must name what the design has."""
        labels = self.design.wave_labels
        problems = []
        for f in self.files:
            if f.wave is not None and f.wave not in labels:
                problems.append(f"file {f.path}: wave {f.wave!r} is not one of the design's waves "
                                f"({', '.join(map(str, labels))}); use one of those labels exactly")
            if f.group == "comparison" and self.design.treatment is None:
                problems.append(f"file {f.path}: group 'comparison' needs a comparison group, but this design "
                                f"({self.design.type.value}) has none; remove group, or choose a design with one")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _category_columns_named_apart(self):
        """A categorical covariate's indicator columns ('age_band: 35-44') sit in the analysis panel beside
        the declared columns: none may carry a declared column's name."""
        d = self.design
        indicators = {name for column, categories in d.categorical_covariates.items()
                      for name in categorical.balance_columns(column, categories)}
        clash = sorted(indicators & (set(d.design_columns) | {o.column for o in self.outcomes}))
        if clash:
            raise ValueError(f"design.covariates: the categories of a categorical covariate are analysed as columns "
                             f"named '<column>: <category>', and {', '.join(map(repr, clash))} is already a column "
                             "of this evaluation; rename that column (files.rename)")
        return self

    @property
    def primary_outcomes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.primary]

    def _planned_design(self) -> dict:
        """The design as registered; fields added after plan version 2 appear only when they differ
        from their defaults, so plans registered before them keep their hash (registration.py
        reads a missing field as its default)."""
        design = self.design.model_dump(mode="json")
        design["effect_modifiers"] = self.design.effect_modifiers  # their words change no result
        for name in ADDED_AFTER_PLAN_V2:
            if getattr(self.design, name) == Design.model_fields[name].default:
                design.pop(name)
        return design

    @staticmethod
    def _planned_file(f: DataFile) -> dict:
        """A file as registered; fields added after plan version 2 appear only when set, so plans
        registered before them keep their hash."""
        planned = f.model_dump(mode="json")
        for name in FILE_FIELDS_ADDED_AFTER_PLAN_V2:
            if getattr(f, name) == DataFile.model_fields[name].default:
                planned.pop(name)
        return planned

    def analysis_plan(self) -> dict:
        """What is registered in advance: every manifest input that can change a result.

        Version 2 of the plan. Version 1 (registrations before it) held only the design and
        the primary outcomes; evaluations/registration.py still reads and compares those.
        """
        return {
            "plan_version": PLAN_VERSION,
            "design": self._planned_design(),
            "outcomes": [o.model_dump(mode="json") for o in self.outcomes],
            "files": [self._planned_file(f) for f in self.files],
            **self.model_dump(mode="json", include={"missing_codes", "valid_ranges", "seed"}),
        }


def _describe(err: ValidationError, skip: set[tuple] = frozenset()) -> list[str]:
    """One sentence per error; none for a field in `skip` (already reported, e.g. a FILL IN mark)."""
    problems = []
    for e in err.errors():
        if any(tuple(e["loc"][:len(s)]) == s for s in skip):
            continue
        where = ".".join(str(p) for p in e["loc"])
        msg = _describe_one(e)
        problems.append(f"{where}: {msg}" if where else msg)
    return problems


def _describe_one(e: dict) -> str:
    """One pydantic error's message in the manifest's words."""
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "missing":
        msg = "is required but missing; add it (see `commonground new` for a commented template)"
    elif e["type"] == "extra_forbidden":
        msg = "is not a known field; check the spelling against `commonground new`"
    elif e["type"] == "enum":
        msg = f"{msg} (got {e.get('input')!r})"
    return msg


def load_manifest(path: Path | str) -> Manifest:
    """Read and validate one evaluation.yaml (or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.exists():
        raise ManifestError(path, [f"no {MANIFEST_NAME} here; create one with `commonground new <id>`"])
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ManifestError(path, ["must be a YAML mapping of fields (id, title, programme, design, ...)"])
    refused = manifest_text_problems(raw)  # published text: see evaluations/usertext.py for what and why
    marks, marked = placeholder_problems(raw)  # values the template left for the charity to fill in
    refused += marks
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as e:
        raise ManifestError(path, refused + _describe(e, marked)) from None
    if refused:
        raise ManifestError(path, refused)
    if manifest.id != path.parent.name and path.parent.name != "":
        # The folder name is the partition key users see in Dagster; keep them aligned.
        raise ManifestError(path, [f"id {manifest.id!r} differs from its folder name {path.parent.name!r}; rename one to match"])
    return manifest


# A manifest is a few kilobytes and four levels deep (files -> a file -> rename -> a column).
# Beyond these limits a file is not a manifest; refusing it before it is built keeps a hostile
# one (deep nesting, "billion laughs" aliases) from exhausting the stack or the memory.
MAX_MANIFEST_BYTES = 256 * 1024
MAX_YAML_DEPTH = 20
MAX_YAML_NODES = 50_000  # values, counting each alias as the values it stands for
# libyaml's parser (PyYAML's C binding: the same events and resolver as the pure-Python parser) when PyYAML
# was built with it: reading a manifest was 91% of a sensor tick's time (benchmarks/sensor_tick.py).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, check: Callable[[type], None] | None = None):
    """YAML text to Python values with libyaml's parser; a text it refuses is parsed again by the
    pure-Python parser, whose messages are the ones a charity is shown (libyaml stops at limits of
    its own, such as 1,000 nested brackets, in words of its own). `check(loader)` runs first with
    the same parser (the manifest's shape check)."""
    try:
        if check:
            check(SAFE_LOADER)
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        if check:
            check(yaml.SafeLoader)
        return yaml.safe_load(text)


def _read_yaml(path: Path):
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        problems = [f"is {size:,} bytes; a manifest is a few kilobytes (at most {MAX_MANIFEST_BYTES:,} bytes): keep "
                    "only the manifest fields in it, survey data goes in the files beside it"]
        with open(path, "rb") as fh:  # say also if its start is nested too deep, the likelier mistake
            start = fh.read(MAX_MANIFEST_BYTES).decode("utf-8", errors="replace")
        try:
            _check_yaml_shape(path, start, yaml.SafeLoader)
        except ManifestError as err:
            problems = err.problems + problems
        except yaml.YAMLError:
            pass  # the start of the file cut off mid-value
        raise ManifestError(path, problems)
    try:
        text = path.read_bytes().decode("utf-8")
        return parse_yaml(text, check=lambda loader: _check_yaml_shape(path, text, loader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ManifestError(path, [f"{where}not valid YAML ({getattr(e, 'problem', e)}); check indentation and quotes"]) from None
    except UnicodeDecodeError:
        raise ManifestError(path, ["is not UTF-8 text; save it as UTF-8"]) from None


def _check_yaml_shape(path: Path, text: str, loader) -> None:
    """Refuse YAML nested too deep or too large once aliases are expanded, from the parser's event
    stream (which does not recurse) and before anything is built from it."""
    open_sizes: list[list] = []  # [anchor, values so far] for each collection being read
    anchored: dict[str, int] = {}  # anchor -> how many values it stands for
    total = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionEndEvent)):
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, n = open_sizes.pop()
            else:
                anchor, n = (event.anchor, 1) if isinstance(event, yaml.ScalarEvent) else (None, anchored.get(event.anchor, 1))
            if anchor is not None:
                anchored[anchor] = n
            if open_sizes:
                open_sizes[-1][1] += n
            else:
                total += n
        elif isinstance(event, yaml.CollectionStartEvent):
            open_sizes.append([event.anchor, 1])
            if len(open_sizes) > MAX_YAML_DEPTH:
                raise ManifestError(path, [
                    f"nested more than {MAX_YAML_DEPTH} levels deep; a manifest needs at most 4 (files, a file, rename, "
                    f"a column): remove the extra brackets or indentation from line {event.start_mark.line + 1}"])
        if total + sum(n for _, n in open_sizes) > MAX_YAML_NODES:
            raise ManifestError(path, [
                f"holds more than {MAX_YAML_NODES:,} values (counting what each alias *name stands for); a manifest "
                "holds a few hundred: write each value out once and remove repeated aliases"])


def registry_path(override: Path | str | None = None) -> Path:
    """Where registered evaluations live: a flag, else $COMMONGROUND_REGISTRY, else the sample library."""
    if override:
        return Path(override).resolve()
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV]).resolve()
    return DEFAULT_REGISTRY


def evaluation_dirs(registry: Path | str) -> list[Path]:
    registry = Path(registry)
    if not registry.is_dir():
        return []
    # Hidden folders are registration's staging copies (evaluations/registration.py), never evaluations.
    return sorted(p for p in registry.iterdir() if not p.name.startswith(".") and (p / MANIFEST_NAME).is_file())


def evaluation_ids(registry: Path | str) -> list[str]:
    return [p.name for p in evaluation_dirs(registry)]


def content_hash(evaluation_dir: Path | str) -> str:
    """SHA-256 over the manifest, registration.json and every data file the manifest names (missing
    files hash as absent). registration.json is included because the rating checks it on every run:
    an edited registration must re-run the evaluation so its page says so."""
    evaluation_dir = Path(evaluation_dir)
    h = hashlib.sha256()
    manifest_path = evaluation_dir / MANIFEST_NAME
    h.update(file_hash(manifest_path).encode())  # in chunks: a hostile manifest may be huge
    try:
        manifest = load_manifest(manifest_path)
        names = sorted(f.path for f in manifest.files)
    except ManifestError:
        names = []
    for name in ["registration.json"] + names:
        h.update(name.encode())
        f = evaluation_dir / name
        h.update(file_hash(f).encode() if f.is_file() else b"<missing>")
    return h.hexdigest()


def file_hash(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
