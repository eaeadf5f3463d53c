"""Open the built book in a real headless Chromium (Debian's package): no console errors, nothing
fetched from the internet, the toolkit sorts and filters. Screenshots go to test-artifacts/."""
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
