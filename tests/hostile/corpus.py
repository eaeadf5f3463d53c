"""A corpus of hostile registrations: sample evaluations copied into a registry with payloads planted
in every string a charity controls (manifest fields, file and column names, data values, SPSS value labels).

Many payloads ride in few registrations, because each evaluation run costs 10-30 s. Every payload carries
its own case id, so a test can tell which one escaped: script payloads set
`document.documentElement.dataset.pwned = '<case>'`; every other payload holds a `cg-<case>` marker.
A fake "other charity" folder with a canary survey sits in the registry for the file payloads to reach for.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from evaluations.registry import DEFAULT_REGISTRY

OTHER_CHARITY = "other-charity"
OTHER_CANARY = "CANARY-OTHER-CHARITY-7f3a@example.org"
PASSWD_CANARY = "root:x:0:0"  # the first line of /etc/passwd on every Linux machine
YOUTH, TOWN, SCHOOL = "hostile-youth-2024", "hostile-town-2023", "hostile-school-2024"
SAMPLES = ["intergenerational-2023"]  # published beside the hostile ones: they must not be taken down
# One person each: labels of categories this small must never be published (the page says "another group").
SMALL_CATEGORY_CANARIES = {YOUTH: "ZEBEDEE-QUILLFEATHER-5c1e", TOWN: "MIRABEL-CANARYWOOD-3d9b",
                           SCHOOL: "OPHELIA-CANARYSTONE-8a2f"}
MATHTEXT = r"$\cgbad{$ 50%"  # a pair of dollars around TeX matplotlib cannot parse, then a percent sign
# A cell that reads as a number with an exponent too large for C's parser: pandas 2.3's to_numeric segfaults
# on it. Typed into an outcome of the town registration (file row 3, column cohesion_post), it must be set aside.
HUGE_EXPONENT, HUGE_EXPONENT_ROW = "1e7392534562", 3


def pwn(case: str) -> str:
    return f"document.documentElement.dataset.pwned='{case}'"


def img(case: str) -> str:
    return f'<img src=x onerror="{pwn(case)}">'


@dataclass(frozen=True)
class Payload:
    case: str  # the test id
    evaluation: str  # the registration it is planted in
    where: str  # what it is planted in, for the reader of a failure
    text: str  # the text as registered
    marker: bool = False  # running it sets dataset.pwned to `case`
    # JS expression counting elements created from the payload (there must be none), written with the
    # helpers attr/text/count of tests/test_hostile_registrations.py; C is "'<case>'", T is the token.
    dom: str = ""

    @property
    def token(self) -> str:
        return f"cg-{self.case}"


_p = Payload


# --- DOM queries: each names elements that only exist if the payload took effect ------------------------
def _with_attr(selector: str) -> str:  # an element of this kind carrying the payload's case id in an attribute
    return f"attr({selector!r}, C)"


IMG, SVG, IFRAME, SCRIPT = _with_attr("img"), _with_attr("svg"), _with_attr("iframe"), "text('script', C)"
JS_LINK = "count('a[href^=\"javascript\" i]')"


PAYLOADS: list[Payload] = [
    # ---- hostile-youth-2024 (CSV): manifest fields ----
    _p("title-script", YOUTH, "title", f"Youth mixing <script>{pwn('title-script')}</script> cg-title-script",
       marker=True, dom=SCRIPT),
    _p("name-img", YOUTH, "programme.name", f"Summer {img('name-img')} cg-name-img", marker=True, dom=IMG),
    _p("organisation-download-role", YOUTH, "programme.organisation",
       f"Trust {{download}}`data <../../../registry/{OTHER_CHARITY}/survey.csv>` cg-organisation-download-role",
       dom="count('a.download[href$=\"survey.csv\"]')"),
    _p("places-img", YOUTH, "programme.places", f"Leeds {img('places-img')}", marker=True, dom=IMG),
    _p("places-javascript-link", YOUTH, "programme.places",
       f"[x](javascript:{pwn('places-javascript-link')})", dom=JS_LINK),
    _p("places-a-href", YOUTH, "programme.places",
       f'<a href="javascript:{pwn("places-a-href")}">cg-places-a-href</a>', dom=JS_LINK),
    _p("places-substitution", YOUTH, "programme.places", "Wigan {{ cg_places_substitution }}"),
    _p("places-dollar-math", YOUTH, "programme.places", "Bury $x^2$ cg-places-dollar-math",
       dom="text('.math', 'x^2')"),
    _p("places-html-entity", YOUTH, "programme.places", "&lt;script&gt;cg-places-html-entity"),
    _p("places-trailing-backslash", YOUTH, "programme.places", "Bolton cg-places-trailing-backslash\\"),
    _p("places-backticks", YOUTH, "programme.places", "``cg-places-backticks`` and `code`"),
    _p("places-html-comment", YOUTH, "programme.places", "<!-- cg-places-html-comment"),
    _p("places-style", YOUTH, "programme.places", "<style>body{display:none}</style>cg-places-style",
       dom="text('style', 'display:none}')"),
    _p("places-iframe", YOUTH, "programme.places", f'<iframe onload="{pwn("places-iframe")}"></iframe>',
       marker=True, dom=IFRAME),
    _p("places-svg-onload", YOUTH, "programme.places", f'<svg onload="{pwn("places-svg-onload")}"></svg>',
       marker=True, dom=SVG),
    # ---- hostile-youth-2024: the description, one payload a paragraph (newlines and a tab are allowed here) ----
    _p("description-literalinclude-other-charity", YOUTH, "programme.description",
       f"```{{literalinclude}} ../../../registry/{OTHER_CHARITY}/survey.csv\n```\ncg-description-literalinclude-other-charity",
       dom="count('div.highlight-default, div.literal-block-wrapper')"),
    _p("description-literalinclude-passwd", YOUTH, "programme.description",
       "```{literalinclude} /etc/passwd\n```\ncg-description-literalinclude-passwd"),
    _p("description-raw-html", YOUTH, "programme.description",
       f"```{{raw}} html\n{img('description-raw-html')}\n```", marker=True, dom=IMG),
    _p("description-footnote", YOUTH, "programme.description", "We met weekly[^1] cg-description-footnote",
       dom="count('a.footnote-reference, .footnote')"),
    _p("description-heading", YOUTH, "programme.description", "#### Week one cg-description-heading",
       dom="text('h1, h2, h3, h4, h5, h6', T)"),
    _p("description-admonition", YOUTH, "programme.description",
       ":::{admonition} cg-description-admonition\nInjected box\n:::", dom="text('.admonition', T)"),
    _p("description-eval-rst", YOUTH, "programme.description",
       f"```{{eval-rst}}\n.. raw:: html\n\n   {img('description-eval-rst')}\n```", marker=True, dom=IMG),
    _p("description-rst-raw", YOUTH, "programme.description",
       f".. raw:: html\n\n   <script>{pwn('description-rst-raw')}</script>", marker=True, dom=SCRIPT),
    _p("description-include", YOUTH, "programme.description",
       f"```{{include}} ../../../registry/{OTHER_CHARITY}/survey.csv\n```\ncg-description-include"),
    _p("description-image-file-url", YOUTH, "programme.description", "![cg-description-image-file-url](file:///etc/passwd)",
       dom="count('img[src^=\"file:\" i]')"),
    _p("description-tab-and-newlines", YOUTH, "programme.description", "Week\tone\nand two cg-description-tab-and-newlines"),
    # ---- hostile-youth-2024: column and file names ----
    _p("outcome-column-img", YOUTH, "outcomes.column (files.rename belonging)", f"belonging{img('outcome-column-img')}",
       marker=True, dom=IMG),
    _p("outcome-column-csv-equals", YOUTH, "outcomes.column (files.rename rely_on)",
       '=HYPERLINK("http://cg.invalid","cg-outcome-column-csv-equals")'),
    _p("outcome-column-csv-at", YOUTH, "outcomes.column (files.rename cohesion)", "@SUM(1+1)cg-outcome-column-csv-at"),
    _p("outcome-column-csv-plus", YOUTH, "outcomes.column (files.rename volunteered)", "+cg-outcome-column-csv-plus"),
    _p("outcome-column-csv-minus", YOUTH, "outcomes.column (files.rename mixing, primary)", "-cg-outcome-column-csv-minus"),
    _p("covariate-mathtext", YOUTH, "design.covariates (files.rename age)", f"age {MATHTEXT} cg-covariate-mathtext"),
    _p("covariate-svg", YOUTH, "design.covariates (files.rename urban)", f'urban<svg onload="{pwn("covariate-svg")}">',
       marker=True, dom=SVG),
    _p("file-name-img", YOUTH, "files.path", f"survey{img('file-name-img')}.csv", marker=True, dom=IMG),
    # ---- hostile-youth-2024: effect-modifier categories (data values in the added `club` column) ----
    _p("modifier-value-img", YOUTH, "data value of effect modifier club", img("modifier-value-img"), marker=True, dom=IMG),
    _p("modifier-value-mathtext", YOUTH, "data value of effect modifier club", f"{MATHTEXT} cg-modifier-value-mathtext"),
    _p("modifier-value-table-pipe", YOUTH, "data value of effect modifier club", "North | South cg-modifier-value-table-pipe"),
    # ---- hostile-town-2023 (xlsx, wide) ----
    _p("title-table-pipe-mathtext", TOWN, "title", f"Two towns | one table {MATHTEXT} cg-title-table-pipe-mathtext"),
    _p("name-a-href", TOWN, "programme.name", f'<a href="javascript:{pwn("name-a-href")}">cg-name-a-href</a>', dom=JS_LINK),
    _p("organisation-image-other-charity", TOWN, "programme.organisation",
       f"Foundation ![cg-organisation-image-other-charity](../../../registry/{OTHER_CHARITY}/survey.csv)",
       dom="attr('img', 'other-charity')"),
    _p("places-substitution-ref-role", TOWN, "programme.places", "Boston {sub-ref}`today` cg-places-substitution-ref-role"),
    _p("description-colon-raw-script", TOWN, "programme.description",
       f":::{{raw}} html\n<script>{pwn('description-colon-raw-script')}</script>\n:::", marker=True, dom=SCRIPT),
    _p("description-html-block-script", TOWN, "programme.description",
       f"<script>{pwn('description-html-block-script')}</script>", marker=True, dom=SCRIPT),
    _p("description-download-passwd", TOWN, "programme.description",
       "Read {download}`this </etc/passwd>` cg-description-download-passwd", dom="count('a.download[href$=\"passwd\"]')"),
    _p("description-footnote-definition", TOWN, "programme.description",
       "[^cg]: cg-description-footnote-definition", dom="count('.footnote, aside.footnote')"),
    _p("description-link-reference-definition", TOWN, "programme.description",
       "[cg]: javascript:alert(1) cg-description-link-reference-definition"),
    _p("town-value-svg-script", TOWN, "data value of effect modifier town",
       f"<svg><script>{pwn('town-value-svg-script')}</script></svg>", marker=True, dom=SCRIPT),
    _p("town-value-style", TOWN, "data value of effect modifier town", "Boston<style>*{color:red}</style>cg-town-value-style",
       dom="text('style', 'color:red}')"),
    # ---- hostile-school-2024 (SPSS .sav): value labels, cluster name, a title at the 200-character limit ----
    _p("title-img-print-header", SCHOOL, "title", f"School linking {img('title-img-print-header')} cg-title-img-print-header",
       marker=True, dom=IMG),
    _p("name-substitution-ref-role", SCHOOL, "programme.name", "{sub-ref}`wordcount-words` cg-name-substitution-ref-role"),
    _p("places-srcdoc", SCHOOL, "programme.places",
       f'<iframe srcdoc="<script>parent.{pwn("places-srcdoc")}</script>">', marker=True, dom=IFRAME),
    _p("description-include-passwd", SCHOOL, "programme.description",
       "```{include} /etc/passwd\n```\ncg-description-include-passwd"),
    _p("description-rst-include", SCHOOL, "programme.description", ".. include:: /etc/passwd\n\ncg-description-rst-include"),
    _p("description-math-block", SCHOOL, "programme.description", "$$\n\\cgbad{\n$$ cg-description-math-block",
       dom="count('.math')"),
    _p("description-target-and-role", SCHOOL, "programme.description",
       "(cg-target)=\n{abbr}`cg-description-target-and-role (x)` {ref}`cg-target`", dom="count('abbr')"),
    _p("cluster-name-bold", SCHOOL, "design.cluster (files.rename school_id)",
       '<b id="cg-cluster-name-bold">school</b>', dom="count('#cg-cluster-name-bold')"),
    _p("value-label-img", SCHOOL, "SPSS value label of age_group", img("value-label-img"), marker=True, dom=IMG),
    _p("value-label-download-role", SCHOOL, "SPSS value label of age_group",
       "{download}`x </etc/passwd>` cg-value-label-download-role", dom="count('a.download[href$=\"passwd\"]')"),
]


def payload(case: str) -> Payload:
    return next(p for p in PAYLOADS if p.case == case)


def _in(evaluation: str, where: str) -> list[str]:
    return [p.text for p in PAYLOADS if p.evaluation == evaluation and p.where.startswith(where)]


def _one(evaluation: str, where: str) -> str:
    (text,) = _in(evaluation, where)
    return text


def _folder(registry: Path, sample: str, evaluation: str) -> tuple[Path, dict]:
    folder = registry / evaluation
    folder.mkdir(parents=True)
    manifest = yaml.safe_load((DEFAULT_REGISTRY / sample / "evaluation.yaml").read_text(encoding="utf-8"))
    manifest["id"] = evaluation
    return folder, manifest


def _programme(manifest: dict, evaluation: str, keep_places: int = 1) -> None:
    prog = manifest["programme"]
    for key in ("name", "organisation"):
        found = _in(evaluation, f"programme.{key}")
        if found:
            prog[key] = found[0]
    prog["places"] = prog["places"][:keep_places] + _in(evaluation, "programme.places")
    prog["description"] = "\n\n".join([prog["description"], *_in(evaluation, "programme.description")])
    title = _in(evaluation, "title")
    if title:
        manifest["title"] = title[0]


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True),
                                            encoding="utf-8")


def _youth(registry: Path) -> Path:
    folder, m = _folder(registry, "ncs-youth-2024", YOUTH)
    _programme(m, YOUTH)
    data = pd.read_csv(DEFAULT_REGISTRY / "ncs-youth-2024" / "survey.csv", dtype=str, keep_default_na=False)
    people = sorted(data["respondent_id"].unique())
    clubs = _in(YOUTH, "data value of effect modifier club")
    club = {pid: clubs[i % len(clubs)] for i, pid in enumerate(people)}
    waves = data.groupby("respondent_id").size()
    club[sorted(waves[waves == 2].index)[0]] = SMALL_CATEGORY_CANARIES[YOUTH]  # one person (both waves) on their own
    data["club"] = data["respondent_id"].map(club)
    name = _one(YOUTH, "files.path")
    data.to_csv(folder / name, index=False)
    rename = {"belonging": _one(YOUTH, "outcomes.column (files.rename belonging)"),
              "rely_on": _one(YOUTH, "outcomes.column (files.rename rely_on)"),
              "cohesion": _one(YOUTH, "outcomes.column (files.rename cohesion)"),
              "volunteered": _one(YOUTH, "outcomes.column (files.rename volunteered)"),
              "mixing": _one(YOUTH, "outcomes.column (files.rename mixing"),
              "age": _one(YOUTH, "design.covariates (files.rename age)"),
              "urban": _one(YOUTH, "design.covariates (files.rename urban)")}
    m["files"] = [{"path": name, "layout": "long", "rename": rename}]
    for o in m["outcomes"]:
        o["column"] = rename[o["column"]]
    d = m["design"]
    d["covariates"] = [rename.get(c, c) for c in d["covariates"]]
    d["effect_modifiers"] = ["club"]
    m["valid_ranges"] = {rename["age"]: m["valid_ranges"]["age"]}
    _write_manifest(folder, m)
    return folder


def _town(registry: Path) -> Path:
    folder, m = _folder(registry, "town-exchange-2023", TOWN)
    _programme(m, TOWN)
    source = DEFAULT_REGISTRY / "town-exchange-2023" / "exchange_survey.xlsx"
    sheet = m["files"][0]["sheet"]
    data = pd.read_excel(source, sheet_name=sheet)
    towns = _in(TOWN, "data value of effect modifier town")
    data["Town"] = data["Town"].map(dict(zip(sorted(data["Town"].unique()), towns)))
    data.loc[data.index[0], "Town"] = SMALL_CATEGORY_CANARIES[TOWN]
    data["cohesion_post"] = data["cohesion_post"].astype(object)
    data.loc[data.index[HUGE_EXPONENT_ROW - 2], "cohesion_post"] = HUGE_EXPONENT  # file row = index + header + 1
    with pd.ExcelWriter(folder / m["files"][0]["path"]) as writer:
        data.to_excel(writer, sheet_name=sheet, index=False)
    _write_manifest(folder, m)
    return folder


def _school(registry: Path) -> Path:
    import pyreadstat

    folder, m = _folder(registry, "school-linking-2024", SCHOOL)
    _programme(m, SCHOOL)
    title = m["title"]
    m["title"] = title + " " + "x" * (200 - len(title) - 1)  # exactly at the limit: accepted
    name = m["files"][0]["path"]
    data, meta = pyreadstat.read_sav(DEFAULT_REGISTRY / "school-linking-2024" / name)
    labels = dict(meta.variable_value_labels)
    first, second = _in(SCHOOL, "SPSS value label of age_group")
    labels["age_group"] = {1.0: first, 2.0: second, 3.0: SMALL_CATEGORY_CANARIES[SCHOOL]}
    data.loc[data["pupil_id"] == data["pupil_id"].iloc[0], "age_group"] = 3.0  # one pupil, both terms
    pyreadstat.write_sav(data, folder / name, column_labels=meta.column_names_to_labels,
                         variable_value_labels=labels)
    cluster = _one(SCHOOL, "design.cluster")
    m["files"][0]["rename"] = {"school_id": cluster}
    m["design"]["cluster"] = cluster
    _write_manifest(folder, m)
    return folder


def _other_charity(registry: Path) -> Path:
    """Another charity's raw survey: names, emails and ids that no payload may copy into any output."""
    folder = registry / OTHER_CHARITY
    folder.mkdir(parents=True)
    (folder / "survey.csv").write_text(f"respondent_id,name,email\nOC-1,Ada Canary,{OTHER_CANARY}\n", encoding="utf-8")
    return folder


def build_registry(registry: Path) -> dict[str, Path]:
    """Write the hostile registrations, the other charity's folder and untouched samples into `registry`."""
    registry.mkdir(parents=True, exist_ok=True)
    folders = {YOUTH: _youth(registry), TOWN: _town(registry), SCHOOL: _school(registry)}
    _other_charity(registry)
    for sample in SAMPLES:
        shutil.copytree(DEFAULT_REGISTRY / sample, registry / sample)
    return folders


# --- registrations `check` must refuse: one manifest holds many problems, each in its own field ------------
@dataclass(frozen=True)
class Refusal:
    case: str
    field: str  # dotted manifest path as the message names it
    value: str
    expect: tuple[str, ...]  # fragments of the message line after "<field>: "


def _char(ch: str) -> tuple[str, ...]:
    return (f"U+{ord(ch):04X}", "delete the character")


REFUSALS: list[Refusal] = [
    Refusal("title-rlo", "title", "Evaluation \u202egnp.exe cg", _char("\u202e")),
    Refusal("name-lrm", "programme.name", "Programme \u200e name", _char("\u200e")),
    Refusal("organisation-escape", "programme.organisation", "Trust \x1b[31m red", _char("\x1b")),
    Refusal("places-isolate", "programme.places.1", "Leeds \u2066 isolate", _char("\u2066")),
    Refusal("places-pop-isolate", "programme.places.2", "Bury \u2069", _char("\u2069")),
    Refusal("places-rle", "programme.places.3", "Wigan \u202b", _char("\u202b")),
    Refusal("places-newline", "programme.places.4", "Line\nbreak", _char("\n")),
    Refusal("description-bell", "programme.description", "Weekly\n\tclubs \x07 ring", _char("\x07")),
    Refusal("outcome-column-tab", "outcomes.0.column", "cohesion\tscore", _char("\t")),
    Refusal("covariate-arabic-letter-mark", "design.covariates.1", "female\u061c", _char("\u061c")),
    Refusal("unit-id-c1-csi", "design.unit_id", "respondent\u009bid", _char("\u009b")),
    Refusal("wave-rlm", "design.baseline", "before\u200f", _char("\u200f")),
]
REFUSALS_LENGTH: list[Refusal] = [
    Refusal("title-too-long", "title", "t" * 201, ("201 characters", "at most 200")),
    Refusal("name-too-long", "programme.name", "n" * 201, ("201 characters", "at most 200")),
    Refusal("organisation-too-long", "programme.organisation", "o" * 250, ("250 characters", "at most 200")),
    Refusal("place-too-long", "programme.places.0", "p" * 101, ("101 characters", "at most 100")),
    Refusal("description-too-long", "programme.description", "d" * 4001, ("4,001 characters", "at most 4,000")),
]


def _set(manifest: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = manifest
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        while len(node) <= int(last):
            node.append("Somewhere")
        node[int(last)] = value
    else:
        node[last] = value


def build_refused(root: Path, name: str, refusals: list[Refusal]) -> Path:
    """A copy of ncs-youth-2024 with every refusal in `refusals` planted at once (check lists all problems)."""
    folder, m = _folder(root, "ncs-youth-2024", name)
    shutil.copy2(DEFAULT_REGISTRY / "ncs-youth-2024" / "survey.csv", folder / "survey.csv")
    for r in refusals:
        _set(m, r.field, r.value)
    _write_manifest(folder, m)
    return folder
