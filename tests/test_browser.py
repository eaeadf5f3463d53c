"""Open the built book in a real headless Chromium (Debian's package): no console errors, nothing
fetched from the internet, the toolkit sorts and filters; every page has no WCAG 2.2 A/AA violation
that axe-core finds (axe-core from npm, pinned in tests/axe/package.json, installed by `make browser`
and read from disk) and nothing wider than the screen at 1,280 and 390 px. Screenshots go to
test-artifacts/."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from playwright.sync_api import sync_playwright

from evaluations.registry import REPO_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = REPO_ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]  # WCAG 2.2 level AA
WIDTHS = {"desktop": 1280, "phone": 390}
# Anything that could be cut off or scroll sideways: the page itself, tables and their scrolling wrappers,
# figures, images, code blocks and the raw-HTML blocks of the toolkit and gap map.
WIDE = "table, figure, img, pre, .pst-scrollable-table-container, .cg-gap-map, .cg-forest, .table-wrapper"
OVERFLOW = """(selector) => {
  const width = document.documentElement.clientWidth, found = [];
  if (document.documentElement.scrollWidth > width + 1) {
    found.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${width}px window`);
  }
  for (const el of document.querySelectorAll(selector)) {
    if (!el.getClientRects().length) { continue; }  // not displayed
    const box = el.getBoundingClientRect(), name = el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
    if (el.scrollWidth > el.clientWidth + 1 && el.tagName !== "IMG") {
      found.push(`${name} scrolls sideways (${el.scrollWidth}px of content in ${el.clientWidth}px)`);
    }
    if (box.right > width + 1 || box.left < -1) {
      found.push(`${name} runs off the screen (${Math.round(box.left)} to ${Math.round(box.right)} of ${width}px)`);
    }
  }
  return found;
}"""
ARTIFACTS = REPO_ROOT / "test-artifacts" / "screenshots"
# Flags from the machine's notes: without the background-networking ones Chromium tries Google's hosts.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PAGES = ["index.html", "generated/toolkit.html", "generated/gap_map.html",
         "generated/evaluations/school-linking-2024.html", "generated/evaluations/intergenerational-2023.html",
         "generated/measures/local_area_cohesion.html"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(published_library):
    handler = functools.partial(_Quiet, directory=str(published_library["html"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="networkidle")
    return page, problems, requests


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly_and_offline(browser, site, path):
    page, problems, requests = open_page(browser, f"{site}/{path}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / (path.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
    assert problems == []
    assert [u for u in requests if not u.startswith(site)] == []
    images = page.locator("main img")
    for i in range(images.count()):  # every figure actually decoded
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), images.nth(i).get_attribute("src")
    page.close()


def test_toolkit_sorts_and_filters(browser, site):
    page, problems, _ = open_page(browser, f"{site}/generated/toolkit.html")
    rows = page.locator("#cg-toolkit tbody tr")
    n = len(SAMPLES)
    assert rows.count() == n
    assert page.locator("#cg-count").inner_text() == f"{n} of {n} evaluations"
    page.get_by_role("button", name="Evidence").click()
    padlocks = [int(rows.nth(i).locator("td").nth(5).get_attribute("data-sort")) for i in range(n)]
    assert padlocks == sorted(padlocks)
    page.get_by_role("button", name="Evidence").click()
    assert [int(rows.nth(i).locator("td").nth(5).get_attribute("data-sort")) for i in range(n)] == sorted(padlocks, reverse=True)
    page.select_option("#cg-family", "School linking")  # the linked-panel and the anonymous-survey samples
    assert page.locator("#cg-count").inner_text() == f"2 of {n} evaluations"
    page.select_option("#cg-family", "")
    page.fill("#cg-search", "lonel")  # the intergenerational and the befriending samples
    assert page.locator("#cg-count").inner_text() == f"2 of {n} evaluations"
    assert problems == []
    page.close()


def built_pages(html_root: Path) -> list[str]:
    """Every page of the built book, as paths under the site (Sphinx's own search and index pages included)."""
    return sorted(p.relative_to(html_root).as_posix() for p in html_root.rglob("*.html")
                  if not p.relative_to(html_root).parts[0].startswith(("_static", "_sources", "_images")))


def accessibility_and_width_problems(browser, site: str, paths: list[str], width: int, shots: Path | None = None):
    """{path: [problem, ...]} for the pages at one window width: axe-core's WCAG 2.2 AA violations and
    anything wider than the window."""
    assert AXE.is_file(), "axe-core is missing: `make browser` installs it (npm ci --prefix tests/axe)"
    page = browser.new_page(viewport={"width": width, "height": 900})
    found = {}
    for path in paths:
        page.goto(f"{site}/{path}", wait_until="networkidle")
        problems = page.evaluate(OVERFLOW, WIDE)
        # axe at both widths: the narrow layout shows other elements (stacked tables, the menu button)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        problems += [f"axe {v['id']} ({v['impact']}): {v['help']}: "
                     + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5]) for v in result["violations"]]
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{width}px__{path.replace('/', '__').removesuffix('.html')}.png"),
                            full_page=True)
        if problems:
            found[path] = problems
    page.close()
    return found


def test_axe_core_finds_no_violations_and_nothing_is_wider_than_the_screen(browser, site, published_library):
    """Every built page: zero axe-core WCAG 2.2 AA violations, and at 1,280 and 390 px no page, table or
    figure is cut off or scrolls sideways (document and element widths measured in the browser)."""
    paths = built_pages(published_library["html"])
    assert len(paths) > 10 and "generated/gap_map.html" in paths
    found = {}
    for name, width in WIDTHS.items():
        for path, problems in accessibility_and_width_problems(browser, site, paths, width, ARTIFACTS / name).items():
            found.setdefault(path, []).extend(f"{width}px: {p}" for p in problems)
    assert found == {}


def test_the_toolkit_forest_plot_follows_the_filters(browser, site):
    page, problems, _ = open_page(browser, f"{site}/generated/toolkit.html")
    rows = page.locator("#cg-forest li")
    assert rows.count() == len(SAMPLES)  # every sample's primary effect size is published
    page.select_option("#cg-family", "School linking")
    assert page.locator("#cg-forest li:not([hidden])").count() == 2
    assert problems == []
    page.close()


def test_gap_map_cells_count_link_and_rate_and_measure_pages_refuse_to_pool_three(published_library):
    """The sample library: school linking has two evaluations measuring social bridges, both better; local-area
    cohesion has results from three evaluations, fewer than the five the library pools."""
    import re

    html = published_library["html"] / "generated"
    gap = (html / "gap_map.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', gap, flags=re.S))
    bridges = re.findall(r'<td class="cg-gap[^"]*" data-label="Social bridges">(.*?)</td>', rows["School linking"], re.S)[0]
    assert "<strong>2 evaluations</strong>" in bridges and "2 better (not pooled)" in bridges
    assert sorted(re.findall(r'href="evaluations/([^"]+)\.html"', bridges)) == ["school-linking-2024",
                                                                               "school-linking-survey-2025"]
    measure = (html / "measures" / "local_area_cohesion.html").read_text(encoding="utf-8")
    assert "No pooled effect: only 3 evaluations have published a result on this measure" in measure
    assert "Pooled effect size" not in measure
