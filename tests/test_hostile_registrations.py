"""The hostile-registration corpus (issue 8): nothing a registration contains can run, read files, reveal
a category of fewer than 10 people, or take another evaluation down.

One pipeline run per session (the real CLI, real Dagster, real DuckDB, the real book) publishes three
registrations stuffed with payloads (tests/hostile/corpus.py) beside an untouched sample. Every built page
is then opened once in headless Chromium; each payload is one parametrized case against what was seen.
`check` refusals are tested on two manifests that hold every refused character and length at once.
"""
from __future__ import annotations

import csv
import functools
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import copy_book_sources
from tests.hostile.corpus import (HUGE_EXPONENT, HUGE_EXPONENT_ROW, OTHER_CANARY, PASSWD_CANARY, PAYLOADS, REFUSALS,
                                  REFUSALS_LENGTH, SAMPLES, SCHOOL, SMALL_CATEGORY_CANARIES, TOWN, YOUTH, build_refused,
                                  build_registry, payload)

CLI = str(Path(sys.executable).parent / "commonground")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = [YOUTH, TOWN, SCHOOL]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may read as a formula

# Installed before any page script: records every value data-pwned ever takes (a MutationObserver on the
# whole document keeps the old value of each change; the last value is read at the end).
RECORD_PWNED = """
window.__cgPwned = [];
new MutationObserver(records => { for (const r of records) if (r.oldValue) window.__cgPwned.push(r.oldValue); })
  .observe(document, {subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-pwned']});
"""
READ_PWNED = """() => {
  const seen = window.__cgPwned.slice();
  const last = document.documentElement && document.documentElement.dataset.pwned;
  if (last) seen.push(last);
  if (window.__pwned) seen.push('window.__pwned');
  return seen;
}"""
# Each payload's `dom` expression counts elements that exist only if the payload took effect.
DOM_QUERIES = """(cases) => {
  const attr = (sel, tok) => [...document.querySelectorAll(sel)]
      .filter(e => [...e.attributes].some(a => a.value.includes(tok))).length;
  const text = (sel, tok) => [...document.querySelectorAll(sel)].filter(e => e.textContent.includes(tok)).length;
  const count = (sel) => document.querySelectorAll(sel).length;
  const out = {};
  for (const [id, C, T, expr] of cases)
    out[id] = new Function('attr', 'text', 'count', 'C', 'T', 'return ' + expr)(attr, text, count, C, T);
  return out;
}"""


def _flat(text: str) -> str:
    return " ".join(text.split())


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "COMMONGROUND_REGISTRY": str(root / "registry"),
            "COMMONGROUND_WAREHOUSE": str(root / "warehouse"), "COMMONGROUND_BOOK": str(root / "book"),
            "DAGSTER_HOME": str(root / "dagster_home")}


# ------------------------------------------------------------------ the one pipeline run

@pytest.fixture(scope="session")
def hostile_library(tmp_path_factory) -> dict:
    """The corpus checked (three `check`s at once) and run through `commonground run`, as a charity would."""
    root = tmp_path_factory.mktemp("hostile")
    folders = build_registry(root / "registry")
    copy_book_sources(root / "book")
    env = _env(root)
    checks = {k: subprocess.Popen([CLI, "check", str(f)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for k, f in folders.items()}
    checked = {k: (p.wait(timeout=300), *p.communicate()) for k, p in checks.items()}
    run = subprocess.run([CLI, "run"], env=env, capture_output=True, text=True, timeout=900)
    html = root / "book" / "_build" / "html"
    return {"root": root, "checked": checked, "run": run, "html": html, "book": root / "book",
            "generated": root / "book" / "generated", "warehouse": root / "warehouse",
            "dagster_home": root / "dagster_home"}


def _page(lib, evaluation: str) -> Path:
    return lib["html"] / "generated" / "evaluations" / f"{evaluation}.html"


@pytest.mark.parametrize("evaluation", HOSTILE)
def test_check_accepts_the_registration(hostile_library, evaluation):
    code, stdout, stderr = hostile_library["checked"][evaluation]
    assert (code, stderr) == (0, ""), stdout + stderr
    assert "ready to register." in stdout


def test_number_with_a_huge_exponent_is_set_aside(hostile_library):
    """pandas' to_numeric segfaults on "1e7392534562": intake must set the cell aside, not die with signal 11."""
    code, stdout, _ = hostile_library["checked"][TOWN]
    assert code == 0
    notes = [n for n in stdout.splitlines() if f"exchange_survey.xlsx, row {HUGE_EXPONENT_ROW}, column 'cohesion': " in n]
    assert len(notes) == 1 and notes[0].endswith("(set aside)"), stdout
    assert HUGE_EXPONENT not in stdout  # a value that fails its type is described, never echoed


def test_run_publishes_every_evaluation(hostile_library):
    run = hostile_library["run"]
    assert "Traceback" not in run.stdout + run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    for evaluation in HOSTILE + SAMPLES:
        assert re.search(rf"^✓ {re.escape(evaluation)} \(run [0-9a-f]{{8}}\)$", run.stdout, re.M), run.stdout


@pytest.mark.parametrize("evaluation", HOSTILE + SAMPLES)
def test_book_has_the_evaluation_page(hostile_library, evaluation):
    assert (hostile_library["html"] / "index.html").is_file()
    assert _page(hostile_library, evaluation).is_file()
    assert _toolkit_table(hostile_library).count(f'href="evaluations/{evaluation}.html"') == 1


def _toolkit_table(lib) -> str:
    toolkit = (lib["html"] / "generated" / "toolkit.html").read_text(encoding="utf-8")
    return toolkit[toolkit.index('id="cg-toolkit"'):].split("</table>")[0]


def test_toolkit_lists_exactly_the_registered_evaluations(hostile_library):
    rows = re.findall(r'href="evaluations/([a-z0-9-]+)\.html"', _toolkit_table(hostile_library))
    assert sorted(rows) == sorted(HOSTILE + SAMPLES)


# ------------------------------------------------------------------ every page in a real browser

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _html_pages(html: Path) -> list[str]:
    """Every page of the book, less the theme's templates and index.html (a bare redirect to intro.html)."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_")
                  and not p.read_text(encoding="utf-8").startswith('<meta http-equiv="Refresh"'))


@pytest.fixture(scope="module")
def chromium():
    """A browser context whose pages record every value data-pwned takes."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make browser` installs it"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context()
        context.add_init_script(RECORD_PWNED)
        yield context
        browser.close()


DOM_CASES = [[p.case, f"'{p.case}'", p.token, p.dom] for p in PAYLOADS if p.dom]


def _inspect(context, url: str) -> dict:
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(50)  # let onerror/onload handlers of failed images and frames run
    pwned = set(page.evaluate(READ_PWNED))
    page.emulate_media(media="print")
    page.wait_for_timeout(50)
    # a reader opens the collapsed technical sections: their text must read as written too
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    seen = {"pwned": pwned | set(page.evaluate(READ_PWNED)), "dom": page.evaluate(DOM_QUERIES, DOM_CASES),
            "text": _flat(page.evaluate("() => document.body.innerText"))}
    page.close()
    return seen


@pytest.fixture(scope="module")
def site(hostile_library):
    html = hostile_library["html"]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def rendered(hostile_library, chromium, site) -> dict[str, dict]:
    """Every built page opened once: data-pwned values (on load and in print media), DOM hits, visible text."""
    pages = _html_pages(hostile_library["html"])
    assert pages, f"no pages were built under {hostile_library['html']}"
    return {path: _inspect(chromium, f"{site}/{path}") for path in pages}


def test_search_results_show_titles_as_text(hostile_library, chromium, site):
    """Sphinx's search page puts each result's title into the page with innerHTML: search for a word every
    hostile page holds and read the results."""
    page = chromium.new_page()
    page.goto(f"{site}/search.html?q=pwned", wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('#search-results li').length >= 3 && "
                           "!document.querySelector('#search-results h2').textContent.includes('Searching')")
    page.wait_for_timeout(200)  # summaries are fetched after the titles
    pwned, results = page.evaluate(READ_PWNED), _flat(page.inner_text("#search-results"))
    page.close()
    assert pwned == []
    for case in ("title-script", "title-img-print-header"):
        assert _flat(payload(case).text)[:60] in results


def test_detectors_catch_the_payloads_when_they_are_live(chromium):
    """The self-test: pasted into a page of its own as raw HTML, every script payload sets its marker and
    every HTML payload is found by its query, so the assertions below can fail."""
    live = [p for p in PAYLOADS if p.marker or "<" in p.text]
    pages = {f"http://cg-selftest.invalid/{p.case}": f"<!DOCTYPE html><html><body><p>{p.text}</p></body></html>"
             for p in live}
    chromium.route("http://cg-selftest.invalid/**", lambda route: route.fulfill(
        status=200 if route.request.url in pages else 404, body=pages.get(route.request.url, ""),
        content_type="text/html"))
    try:
        seen = {p.case: _inspect(chromium, f"http://cg-selftest.invalid/{p.case}") for p in live}
    finally:
        chromium.unroute("http://cg-selftest.invalid/**")
    assert {case for case, v in seen.items() if v["pwned"] == {case}} == {p.case for p in PAYLOADS if p.marker}
    found = {case for case, v in seen.items() if v["dom"].get(case)}
    assert found == {p.case for p in live if p.dom and "{download}" not in p.text}


MARKED = [p.case for p in PAYLOADS if p.marker]
WITH_DOM = [p.case for p in PAYLOADS if p.dom]
VISIBLE = [p.case for p in PAYLOADS]  # every payload is shown, as written, on its evaluation's page


def test_corpus_is_large_and_every_case_is_named_once():
    assert len(PAYLOADS) >= 40 and len({p.case for p in PAYLOADS}) == len(PAYLOADS)
    assert len({p.token for p in PAYLOADS}) == len(PAYLOADS)
    for p in PAYLOADS:  # a script payload names its own case, so a failure says which one ran
        assert not p.marker or f"pwned='{p.case}'" in p.text, p.case


def test_no_page_runs_any_payload(rendered):
    assert {path: sorted(v["pwned"]) for path, v in rendered.items() if v["pwned"]} == {}


@pytest.mark.parametrize("case", MARKED)
def test_script_payload_never_runs(rendered, case):
    """Loaded and in print media (the theme's print header repeats the title), on every page."""
    assert [path for path, v in rendered.items() if case in v["pwned"]] == []


@pytest.mark.parametrize("case", WITH_DOM)
def test_payload_creates_no_element(rendered, case):
    own = f"generated/evaluations/{payload(case).evaluation}.html"
    assert own in rendered, f"{own} was not built"
    scope = [p for p in rendered if p.startswith("generated/") or p == "intro.html"]
    assert {p: rendered[p]["dom"][case] for p in scope if rendered[p]["dom"][case]} == {}


def test_dom_queries_find_nothing_on_an_untouched_sample(rendered):
    """The control: the queries above return 0 on a page no payload reached, so a 0 elsewhere means something."""
    sample = rendered[f"generated/evaluations/{SAMPLES[0]}.html"]["dom"]
    assert {k: v for k, v in sample.items() if v} == {}


@pytest.mark.parametrize("case", VISIBLE)
def test_payload_text_is_shown_as_written(rendered, case):
    p = payload(case)
    page = f"generated/evaluations/{p.evaluation}.html"
    assert page in rendered, f"{page} was not built"
    assert _flat(p.text) in rendered[page]["text"]


TITLES = [p.case for p in PAYLOADS if p.where == "title"]


@pytest.mark.parametrize("case", TITLES)
def test_title_is_shown_as_written_in_the_toolkit(rendered, case):
    assert _flat(payload(case).text) in rendered["generated/toolkit.html"]["text"]


def test_title_with_a_pipe_stays_in_its_measure_table_row(rendered):
    """The measure page lists evaluations in a table: a `|` in a title must not split the row."""
    text = rendered["generated/measures/outgroup_thermometer.html"]["text"]
    assert _flat(payload("title-table-pipe-mathtext").text) in text


@pytest.mark.parametrize("evaluation", HOSTILE)
def test_small_category_is_called_another_group(rendered, evaluation):
    """club, town and age_group each hold one person in a category of their own: the label is replaced."""
    assert "another group" in rendered[f"generated/evaluations/{evaluation}.html"]["text"]


# ------------------------------------------------------------------ canaries in every output

def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _holding(folder: Path, canary: str) -> list[str]:
    needle = canary.encode()
    return [str(p.relative_to(folder)) for p in _files(folder) if needle in p.read_bytes()]


def _duckdb_holding(warehouse: Path, canary: str) -> list[str]:
    """DuckDB compresses strings (FSST), so its bytes can hide a canary: search every column as text too."""
    hits = []
    for db in warehouse.rglob("*.duckdb"):
        con = duckdb.connect(str(db), read_only=True)
        try:
            tables: dict[tuple[str, str], list[str]] = {}
            for schema, table, column in con.execute(
                    "SELECT table_schema, table_name, column_name FROM information_schema.columns").fetchall():
                tables.setdefault((schema, table), []).append(column)
            for (schema, table), columns in sorted(tables.items()):
                quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
                where = " OR ".join(f"CAST({c} AS VARCHAR) LIKE ?" for c in quoted)
                found = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE {where}',
                                    [f"%{canary}%"] * len(columns)).fetchone()[0]
                if found or any(canary in c for c in columns):
                    hits.append(f"{db.name}: {schema}.{table}")
        finally:
            con.close()
    return hits


OUTPUTS = {"site": ("html",), "generated-pages": ("generated",), "warehouse": ("warehouse",),
           "dagster-storage": ("dagster_home",)}


@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("canary", [OTHER_CANARY, PASSWD_CANARY], ids=["other-charity-survey", "etc-passwd"])
def test_no_file_from_outside_the_registration_is_copied(hostile_library, canary, output):
    """Includes, downloads and images aimed at another charity's survey or /etc/passwd: in nothing written."""
    assert (hostile_library["html"] / "index.html").is_file(), "the book was not built: nothing to search"
    (key,) = OUTPUTS[output]
    folder = hostile_library[key]
    assert folder.is_dir()
    hits = _holding(folder, canary)
    if output == "warehouse":
        hits += _duckdb_holding(folder, canary)
    assert hits == []


@pytest.mark.parametrize("evaluation", HOSTILE)
def test_small_category_label_is_never_published(hostile_library, evaluation):
    """A one-person category's label (it may be a name) is in no page, record, download or search index."""
    canary = SMALL_CATEGORY_CANARIES[evaluation]
    assert _page(hostile_library, evaluation).is_file()
    assert _holding(hostile_library["html"], canary) + _holding(hostile_library["generated"], canary) == []


# ------------------------------------------------------------------ downloads safe to open in Excel

def _downloads(lib, evaluation: str, suffix: str) -> Path:
    (found,) = list((lib["html"] / "_downloads").glob(f"*/{evaluation}.{suffix}"))
    return found


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _strings(value, where="$"):
    """Every string in a JSON document, keys included, with where it is."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{where} key", k
            yield from _strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")
    elif isinstance(value, str):
        yield where, value


CSV_CASES = ["outcome-column-csv-equals", "outcome-column-csv-at", "outcome-column-csv-plus", "outcome-column-csv-minus"]


@pytest.mark.parametrize("case", CSV_CASES)
def test_formula_column_name_is_neutralised_in_downloads(hostile_library, case):
    text = payload(case).text
    rows = _csv_rows(_downloads(hostile_library, YOUTH, "csv"))
    outcome = rows[0].index("outcome")
    assert {r[outcome] for r in rows[1:]} >= {"'" + text}
    assert text not in {cell for r in rows for cell in r}
    record = json.loads(_downloads(hostile_library, YOUTH, "json").read_text(encoding="utf-8"))
    assert "'" + text in {o["column"] for o in record["outcomes"]}
    assert text not in {s for _, s in _strings(record)}


@pytest.mark.parametrize("evaluation", HOSTILE + SAMPLES)
def test_no_csv_cell_reads_as_a_formula(hostile_library, evaluation):
    rows = _csv_rows(_downloads(hostile_library, evaluation, "csv"))
    assert rows and len(rows[0]) > 5
    bad = [(i, c) for i, r in enumerate(rows) for c in r if c.startswith(FORMULA_START) and not _is_number(c)]
    assert bad == []


@pytest.mark.parametrize("evaluation", HOSTILE + SAMPLES)
def test_no_json_string_reads_as_a_formula(hostile_library, evaluation):
    record = json.loads(_downloads(hostile_library, evaluation, "json").read_text(encoding="utf-8"))
    assert [(w, s) for w, s in _strings(record) if s.startswith(FORMULA_START)] == []


@pytest.mark.parametrize("evaluation", HOSTILE + SAMPLES)
def test_csv_numbers_are_unchanged_numbers(hostile_library, evaluation):
    """Estimates and interval ends (negative ones too) are the record's numbers, not prefixed text."""
    rows = _csv_rows(_downloads(hostile_library, evaluation, "csv"))
    record = json.loads(_downloads(hostile_library, evaluation, "json").read_text(encoding="utf-8"))
    expected = record["estimates"] + record["subgroups"]
    header, body = rows[0], rows[1:]
    assert len(body) == len(expected)
    for column in ("estimate", "ci_low", "ci_high", "effect_size", "p_value"):
        i = header.index(column)
        got = [None if r[i] == "" else float(r[i]) for r in body]
        want = [e[column] if isinstance(e[column], (int, float)) else None for e in expected]
        assert got == pytest.approx(want, abs=1e-12), column
    lows = [float(r[header.index("ci_low")]) for r in body if _is_number(r[header.index("ci_low")])]
    if evaluation == TOWN:  # 112 people: its subgroup intervals cross zero, so negatives are really tested
        assert min(lows) < 0


# ------------------------------------------------------------------ figures with $ and % in their labels

FIGURES = {  # figure -> the page that shows it; the labels hold r"$\cgbad{$ 50%", which mathtext cannot parse
    f"{YOUTH}-balance.png": f"evaluations/{YOUTH}.html",  # a covariate's name
    f"{YOUTH}-subgroups-1.png": f"evaluations/{YOUTH}.html",  # an effect-modifier category (primary outcome)
    "measure-outgroup_thermometer.png": "measures/outgroup_thermometer.html",  # a title, in the forest plot
}


@pytest.mark.parametrize("figure", list(FIGURES))
def test_figure_with_dollar_and_percent_labels_is_drawn(hostile_library, figure):
    png = hostile_library["generated"] / "figures" / figure
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    html = (hostile_library["html"] / "generated" / FIGURES[figure]).read_text(encoding="utf-8")
    assert re.search(rf'<img [^>]*src="[^"]*{re.escape(Path(figure).stem)}[^"]*\.png"', html)


# ------------------------------------------------------------------ what `check` refuses

@pytest.fixture(scope="module")
def refused(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Two manifests, each holding many refusals at once (`check` lists every problem)."""
    root = tmp_path_factory.mktemp("refused")
    out = {}
    for name, refusals in (("refused-characters", REFUSALS), ("refused-lengths", REFUSALS_LENGTH)):
        folder = build_refused(root, name, refusals)
        out[name] = subprocess.run([CLI, "check", str(folder)], env=_env(root), capture_output=True, text=True,
                                   timeout=300)
    return out


@pytest.mark.parametrize("name", ["refused-characters", "refused-lengths"])
def test_check_refuses_with_exit_2_and_no_traceback(refused, name):
    proc = refused[name]
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    expected = len(REFUSALS if name == "refused-characters" else REFUSALS_LENGTH)
    assert f"{expected} problem(s) to fix:" in proc.stderr, proc.stderr


@pytest.mark.parametrize("refusal", REFUSALS + REFUSALS_LENGTH, ids=lambda r: r.case)
def test_check_names_file_field_and_fix(refused, refusal):
    proc = refused["refused-characters" if refusal in REFUSALS else "refused-lengths"]
    lines = [line for line in proc.stderr.splitlines() if f"evaluation.yaml: {refusal.field}: " in line]
    assert len(lines) == 1, proc.stderr
    for fragment in refusal.expect:
        assert fragment in lines[0]
