"""The draft evaluation.yaml: the proposals of structure.py and columns.py written as a manifest,
and every value the draft could not decide left as a question for the charity.

An open question is written into the manifest as `FILL IN: <what>` (evaluations/placeholders.py),
with its options in the text, so `check` refuses the draft until it is answered; at a terminal
the same questions are asked instead (`Draft.answer`), and the answers are written in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from evaluations.drafting.columns import Columns, answers, categories_of, classify, short_name, short_names
from evaluations.drafting.matching import Match
from evaluations.drafting.reading import Export
from evaluations.drafting.structure import BASELINE, FOLLOW_UP, Structure, find_structure
from evaluations.drafting.yamltext import Writer
from evaluations.intake.exports import TOOLS
from evaluations.placeholders import fill_in
from evaluations.registry import Family
from evaluations.usertext import manifest_text_problems

SEED = 20250101
ROLE_NAMES = {"unit": "respondent_id", "wave": "wave", "group": "took_part"}
DESIGN_TYPES = "rct | matched_did | did | matching | pre_post"


@dataclass
class Question:
    """A value only the charity can give: where it goes, what it is, and what it may be."""

    path: tuple
    what: str  # written after FILL IN:
    kind: str = "text"  # text | date | number | yes_no | choice
    options: list[str] = field(default_factory=list)
    default: str | None = None
    optional: bool = False  # an empty answer removes the field

    @property
    def mark(self) -> str:
        return fill_in(self.what)


@dataclass
class Draft:
    id: str
    exports: list[Export]
    manifest: dict
    questions: list[Question]
    comments: dict[tuple, str]
    notes: dict[tuple, list[str]]
    summary: list[str]  # what was recognised, one line each, for the terminal

    def text(self) -> str:
        header = [f"Draft written by `commonground new {self.id} --from ...` from "
                  f"{', '.join(e.name for e in self.exports)}.",
                  "Every proposal has its reason beside it: check each one. Replace every \"FILL IN\" with the",
                  "real value; `check` refuses the file while one is left. Then run `commonground check`."]
        return Writer(self.comments, self.notes).document(self.manifest, header)

    def answer(self, question: Question, value) -> None:
        """Write an answer in place of a question's mark (None removes an optional field)."""
        *parents, last = question.path
        target = self.manifest
        for p in parents:
            target = target[p]
        if value is None and question.optional:
            del target[last]
            self.comments.pop(question.path, None)
        else:
            target[last] = value
        self.questions.remove(question)


def draft(evaluation_id: str, exports: list[Export], bank: dict) -> Draft:
    s = find_structure(exports)
    taken = {c for c in (s.unit.column, s.wave.column, s.group.column) if c}
    cols = classify(exports, taken, bank)
    return _Builder(evaluation_id, exports, s, cols, bank).build()


class _Builder:
    def __init__(self, evaluation_id: str, exports: list[Export], s: Structure, cols: Columns, bank: dict):
        self.id, self.exports, self.s, self.cols, self.bank = evaluation_id, exports, s, cols, bank
        self.questions: list[Question] = []
        self.comments: dict[tuple, str] = {}
        self.notes: dict[tuple, list[str]] = {}
        self.summary: list[str] = []
        wanted = {}
        for role, decision in (("unit", s.unit), ("wave", s.wave), ("group", s.group)):
            if decision.column:
                wanted[decision.column] = ROLE_NAMES[role]
        for o in cols.outcomes:
            wanted[o.column] = o.best.measure if o.decided else short_name(o.column)
        for c in cols.numbers + cols.categories:
            wanted[c] = short_name(c)
        self.names = short_names(wanted, exports)
        outcomes = {o.column for o in cols.outcomes}
        for decision in (s.unit, s.wave, s.group):  # a question matched to a measure is no id, wave or group
            decision.options = [c for c in decision.options if c not in outcomes]

    def name(self, column: str) -> str:
        return self.names.get(column, column)

    def ask(self, path: tuple, what: str, **kw) -> str:
        q = Question(path, what, **kw)
        self.questions.append(q)
        return q.mark

    def build(self) -> Draft:
        m = {"id": self.id,
             "title": self.ask(("title",), "what the evaluation asks, in a sentence"),
             "synthetic": False,
             "programme": self.programme(),
             "design": self.design(),
             "outcomes": self.outcomes(),
             "files": self.files(),
             "missing_codes": [],
             "seed": SEED}
        for problem in manifest_text_problems(m["files"], "files"):  # a column name evaluation.yaml cannot hold
            self.summary.append(f"{problem.split(': ', 1)[0]}: this column's name holds a character evaluation.yaml "
                                "may not contain; rename the column in the file, then run `new` again")
        self.comments[("synthetic",)] = "true only for invented data"
        self.comments[("missing_codes",)] = ("answer codes that mean no answer, e.g. -9; \"Don't know\" and "
                                             "\"Prefer not to say\" are read as missing already")
        return Draft(self.id, self.exports, m, self.questions, self.comments, self.notes, self.summary)

    # ------------------------------------------------------------------------------ programme
    def programme(self) -> dict:
        p = ("programme",)
        families = [f.value for f in Family]
        return {
            "name": self.ask(p + ("name",), "the programme's name"),
            "family": self.ask(p + ("family",), f"one of {', '.join(families)}", kind="choice", options=families),
            "organisation": self.ask(p + ("organisation",), "the organisation that delivers it"),
            "places": [self.ask(p + ("places", 0), "a town or borough")],
            "start_date": self.ask(p + ("start_date",), "the first day, as YYYY-MM-DD", kind="date"),
            "end_date": self.ask(p + ("end_date",), "the last day, as YYYY-MM-DD", kind="date"),
            "cost_per_participant_gbp": self.ask(p + ("cost_per_participant_gbp",),
                                                 "the cost per participant in pounds (delete the line if not known)",
                                                 kind="number", optional=True),
            "description": self.ask(p + ("description",), "what participants do, in two sentences"),
        }

    # ------------------------------------------------------------------------------ design
    def design(self) -> dict:
        s, d, path = self.s, {}, ("design",)
        has_group = bool(s.group.column or s.per_file_groups)
        d["type"] = "did"
        why = "two groups answered before and after" if has_group else "no group column or file was found"
        self.comments[path + ("type",)] = f"proposed: {why}; one of {DESIGN_TYPES} (pre_post: no comparison group)"
        if s.unit.column:
            d["unit_id"] = self.name(s.unit.column)
            both, people = s.linked
            self.comments[path + ("unit_id",)] = (f"proposed: one row per person and wave, {both} of {people} people "
                                                  "answered more than one wave; pseudonymised at intake")
            self.summary.append(f"id: {_quote(s.unit.column)}")
        else:
            d["unit_id"] = self.ask(path + ("unit_id",), "the column with each person's id (the same in every wave)"
                                    + _among(s.unit.options), kind="choice", options=s.unit.options)
        if s.group.column and s.group_answers:
            d["treatment"] = self.name(s.group.column)
            answers = " or ".join(_quote(a) for a in s.group_answers)
            d["groups"] = {group: [self.ask(path + ("groups", group, 0), f"the answer meaning {meaning}: {answers}",
                                            kind="choice", options=list(s.group_answers))]
                           for group, meaning in (("programme", "took part"), ("comparison", "did not take part"))}
            self.comments[path + ("treatment",)] = "proposed: its answers are not yes/no, so groups says which is which"
            self.summary.append(f"group: {_quote(s.group.column)} (answers {answers}: which is which is asked)")
        elif s.group.column:
            d["treatment"] = self.name(s.group.column)
            said = ", ".join(f"{_quote(v)} = {'took part' if c else 'comparison'}" for v, c in
                             sorted(s.group_codes.items(), key=lambda x: -x[1]))
            self.comments[path + ("treatment",)] = f"proposed: {said}"
            self.summary.append(f"group: {_quote(s.group.column)} ({said})")
        elif s.per_file_groups:
            d["treatment"] = self._free_name("took_part")
            self.comments[path + ("treatment",)] = "one file per group: files.group gives every row of a file its group"
        else:
            d["treatment"] = self.ask(path + ("treatment",), "the column saying who took part (1 or yes) and who is in "
                                      "the comparison group (0 or no)" + _among(s.group.options)
                                      + "; with no comparison group, delete this line and set type: pre_post",
                                      kind="choice", options=s.group.options)
        if s.per_file_waves is not None:
            d["wave"] = self._free_name("wave")
            self.comments[path + ("wave",)] = "one file per wave: files.wave gives every row of a file its wave"
        elif s.wave.column:
            d["wave"] = self.name(s.wave.column)
            self.comments[path + ("wave",)] = "proposed: the survey each row answers"
            self.summary.append(f"waves: {_quote(s.wave.column)}")
        else:
            d["wave"] = self.ask(path + ("wave",), "the column saying which survey (wave) each row answers"
                                 + _among(s.wave.options), kind="choice", options=s.wave.options)
        self._wave_labels(d, path)
        d["covariates"] = [self.name(c) for c in self.cols.numbers]
        d["covariates"] += [self._categorical(c, path + ("covariates", len(self.cols.numbers) + i))
                            for i, c in enumerate(self.cols.categories)]
        if d["covariates"]:
            self.comments[path + ("covariates",)] = ("proposed: answers not used above; keep only characteristics "
                                                     "recorded before the programme")
        d["effect_modifiers"] = []
        self.comments[path + ("effect_modifiers",)] = "characteristics to report effects separately for"
        if not has_group:
            self.summary.append("group: not found")
        return d

    def _categorical(self, column: str, path: tuple) -> dict:
        """A covariate answered in categories, with its answers as its categories (columns.categories_of)."""
        categories, ordered = categories_of(answers(self.exports, column))
        entry = {"column": self.name(column), "categories": categories}
        if ordered is None:
            entry["ordered"] = self.ask(path + ("ordered",), "true if these answers have an order (then list them "
                                        "in it, lowest first), else false", kind="yes_no")
        else:
            entry["ordered"] = ordered
        how = {True: "bands, lowest first", False: "most common first", None: "as found"}[ordered]
        if ordered is False and len(categories) == 2 and categories[0].casefold() == "no":
            how = "no, then yes"
        self.comments[path + ("column",)] = (f"proposed: {_quote(column)} answered in categories ({how}); the first "
                                             "is the reference the others are compared with")
        return entry

    def _wave_labels(self, d: dict, path: tuple) -> None:
        s = self.s
        if s.labels and len(s.labels) == 2:
            d["baseline"], d["follow_up"] = s.labels
            self.comments[path + ("baseline",)] = "proposed from the waves' names: before the programme"
            self.comments[path + ("follow_up",)] = "proposed: after it"
            return
        options = s.labels or s.label_options or []
        if s.per_file_waves is not None and not options:
            d["baseline"], d["follow_up"] = BASELINE, FOLLOW_UP
            return
        d["baseline"] = self.ask(path + ("baseline",), "the wave before the programme" + _among(options),
                                 kind="choice", options=options)
        d["follow_up"] = self.ask(path + ("follow_up",), "the wave after it" + _among(options),
                                  kind="choice", options=options)

    def _free_name(self, name: str) -> str:
        """A column name no file has (files.wave and files.group add it to every row)."""
        existing = {c for e in self.exports for c in e.columns} | set(self.names.values())
        candidate, n = name, 1
        while candidate in existing:
            n += 1
            candidate = f"{name}_{n}"
        return candidate

    # ------------------------------------------------------------------------------ outcomes
    def outcomes(self) -> list[dict]:
        out = []
        many = len(self.cols.outcomes) > 1
        for i, o in enumerate(self.cols.outcomes):
            path = ("outcomes", i)
            entry = {"column": self.name(o.column)}
            if o.decided:
                entry["measure"] = o.best.measure
                self.comments[path + ("measure",)] = _scores(o.best, o.runner_up)
            else:
                ids = [o.best.measure, o.runner_up.measure]
                entry["measure"] = self.ask(path + ("measure",), f"the bank measure this question is ({_scored(o.best)} "
                                            f"or {_scored(o.runner_up)}, too close to tell)", kind="choice",
                                            options=ids)
            if many:
                entry["primary"] = self.ask(path + ("primary",), "true if this is an outcome the programme mainly "
                                            "aims to change, else false (at least one is true)", kind="yes_no")
            else:
                entry["primary"] = True
            out.append(entry)
            self.summary.append(f"outcome: {_quote(o.column)} -> {o.best.measure if o.decided else '?'} "
                                f"({o.best.score:.2f})")
        if not out:
            out.append({"column": self.ask(("outcomes", 0, "column"), "the column holding an outcome question"),
                        "measure": self.ask(("outcomes", 0, "measure"), "a measure id from datasets/measures/, or "
                                            "your own question (see `commonground new` without --from)"),
                        "primary": True})
            self.summary.append("outcome: no question matched the measure bank")
        return out

    # ------------------------------------------------------------------------------ files
    def files(self) -> list[dict]:
        out = []
        for i, e in enumerate(self.exports):
            path = ("files", i)
            entry: dict = {"path": e.name}
            if e.head.tool in TOOLS:
                entry["tool"] = e.head.tool
                self.comments[path + ("tool",)] = f"recognised from its header rows: {TOOLS[e.head.tool].name}"
            if self.s.per_file_waves is not None:
                wave = self.s.per_file_waves[e.name]
                options = [BASELINE, FOLLOW_UP]
                entry["wave"] = wave or self.ask(path + ("wave",), f"this file's wave ({' or '.join(options)})",
                                                 kind="choice", options=options)
                if wave:
                    self.comments[path + ("wave",)] = "proposed from the file's name"
            if self.s.per_file_groups is not None:
                group = self.s.per_file_groups[e.name]
                options = ["programme", "comparison"]
                entry["group"] = group or self.ask(path + ("group",), "who answered this file (programme or "
                                                   "comparison)", kind="choice", options=options)
                if group:
                    self.comments[path + ("group",)] = "proposed from the file's name"
            rename = {c: new for c, new in self.names.items() if c in e.columns}
            if rename:
                entry["rename"] = rename
                self.comments[path + ("rename",)] = "the file's column -> the name used above"
            if e.identifying:
                entry["drop_columns"] = list(e.identifying)
                self.comments[path + ("drop_columns",)] = ("they identify people or hold free text: removed at "
                                                           "intake, never stored")
            out.append(entry)
            self.summary.append(f"{e.name}: {TOOLS[e.head.tool].name if e.head.tool in TOOLS else 'a plain table'}"
                                + (f", {len(e.identifying)} identifying column(s) to drop" if e.identifying else ""))
        return out


def _quote(text: str, most: int = 50) -> str:
    """A column name or answer as the draft's words quote it: cut short, unprintable characters escaped."""
    text = str(text)
    return repr(text if len(text) <= most else text[: most - 1] + "…")


def _among(options: list[str]) -> str:
    return f" (one of: {', '.join(_quote(o) for o in options)})" if options else ""


def _scored(m: Match) -> str:
    return f"{m.measure}, score {m.score:.2f}"


def _scores(best: Match, runner_up: Match | None) -> str:
    said = (f"matched by wording {best.wording:.2f} and answers {best.answers:.2f}: score {best.score:.2f}")
    return said + (f"; runner-up {runner_up.measure} {runner_up.score:.2f}" if runner_up else "")


__all__ = ["Draft", "Question", "draft"]
