"""Shared fixtures: small data the tests make, and the real MNIST files when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from autoencoders.data import load_dataset

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("AUTOENCODERS_TEST_MNIST", REPO.parent / "shared/datasets/mnist"))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's cache or follows their AUTOENCODERS_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("AUTOENCODERS_DATA", raising=False)


@pytest.fixture(scope="session")
def digits():
    """The bundled 8×8 digits: (train, test) Datasets, images in [0, 1]."""
    return load_dataset("digits", "train"), load_dataset("digits", "test")


@pytest.fixture(scope="session")
def digit_images(digits):
    return digits[0].X[:400]


@pytest.fixture
def mnist_dir() -> Path:
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST files not found in {MNIST_DIR} (set AUTOENCODERS_TEST_MNIST)")
    return MNIST_DIR


def curved_table(n: int = 300, seed: int = 0) -> np.ndarray:
    """Points near a curve in 5-D: a table an autoencoder compresses well."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, size=(n, 1))
    return np.hstack([t, t**2, np.sin(3 * t), 2 * t, -t]) * 10 + rng.normal(0, 0.05, (n, 5))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium; Playwright is imported here so `make test` does not need it."""
    from playwright.sync_api import sync_playwright

    from tests.chromium import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page that records every script error, checked at the end of each test."""
    page = browser.new_page(viewport={"width": 1240, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    page.close()
    assert errors == []
