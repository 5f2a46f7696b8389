"""The documentation site in a real browser: every page opens, every picture and link works.

Reads the site `make docs` built (docs/_build/html, or $AUTOENCODERS_DOCS_SITE) over HTTP
from a server in this process. `make test-browser` builds the site first; without one
these tests fail, and say how to build it, rather than skip.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.browser

SITE = Path(os.environ.get("AUTOENCODERS_DOCS_SITE", REPO / "docs/_build/html"))
PAGES = [
    "index.html",
    "guide/anomaly.html",
    "guide/theory.html",
    "auto_examples/index.html",
    "auto_examples/plot_03_smile_vector.html",
    "auto_examples/plot_08_series_anomaly.html",
    "zoo.html",
    "api.html",
    "cli.html",
    "benchmarks/index.html",
]

IMAGES = """() => Array.from(document.images).map(
  (img) => ({src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth}))"""
LINKS = "() => Array.from(document.querySelectorAll('a[href]')).map((a) => a.href)"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site():
    """The built site served on a free loopback port; its base URL."""
    if not (SITE / "index.html").exists():
        pytest.fail(f"no documentation site in {SITE}: run `make docs` first")
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", PAGES)
def test_page_opens_with_its_pictures_and_links(page, site, path):
    assert (SITE / path).exists(), f"{path} is missing from the built site"
    response = page.goto(urljoin(site, path))
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.title() and "autoencoders" in page.title()

    images = page.evaluate(IMAGES)
    broken = [image["src"] for image in images if not (image["complete"] and image["width"] > 0)]
    assert broken == [], f"{path}: pictures that do not load: {broken}"

    internal = {
        link.split("#")[0]
        for link in page.evaluate(LINKS)
        if urlsplit(link).netloc == urlsplit(site).netloc
    }
    dead = [link for link in sorted(internal) if page.request.get(link).status != 200]
    assert dead == [], f"{path}: links to pages that do not exist: {dead}"


def test_gallery_pages_show_their_figures(page, site):
    """Each example ran when the site was built, so each page carries its figure."""
    page.goto(urljoin(site, "auto_examples/index.html"))
    examples = sorted({link.split("#")[0] for link in page.evaluate(LINKS) if "/plot_" in link})
    assert len(examples) >= 10
    for example in examples:
        page.goto(example)
        figures = [
            image
            for image in page.evaluate(IMAGES)
            if "sphx_glr_plot_" in image["src"] and "thumb" not in image["src"]
        ]
        assert figures, f"{example} shows no figure"
        assert all(image["width"] > 100 for image in figures), example


def test_search_finds_the_smile_vector(page, site):
    page.goto(urljoin(site, "search.html?q=smile"))
    page.wait_for_selector("#search-results li", timeout=20_000)
    results = page.locator("#search-results li a").all_inner_texts()
    assert any("smil" in text.lower() for text in results), results


def test_zoo_page_lists_every_model(page, site):
    from autoencoders import zoo

    page.goto(urljoin(site, "zoo.html"))
    text = page.inner_text("body")
    missing = [name for name in zoo.names() if name not in text]
    assert missing == []
