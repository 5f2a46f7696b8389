"""Headless Chromium for the browser tests, driven by Playwright.

Needs Chromium (Debian's `chromium` package, or $AUTOENCODERS_CHROMIUM): without one the
tests fail rather than skip, so a CI step that forgot to install it cannot pass. The
`browser` and `page` fixtures (tests/conftest.py) launch it.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("AUTOENCODERS_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    pytest.fail(
        "no Chromium found: install Debian's chromium package (apt-get install chromium) "
        "or set AUTOENCODERS_CHROMIUM to a Chromium binary"
    )
