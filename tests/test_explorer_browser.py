"""The latent-space explorer in a real browser: headless Chromium driven by Playwright.

Runs against `autoencoders serve` in another process, and against the static page.
Needs Chromium (see tests/chromium.py): without one these tests fail rather than skip.
`make test` leaves them out (marker `browser`); `make test-browser` runs them.
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autoencoders.cli import main
from autoencoders.serving.background import serve_in_background
from tests.test_serving import png, small_run

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("AUTOENCODERS_SCREENSHOTS")  # a folder to keep them in


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return small_run(tmp_path_factory.mktemp("browser") / "run")


@pytest.fixture(scope="module")
def server(run):
    """`autoencoders serve RUN` in its own process, on a free loopback port."""
    with serve_in_background(run, timeout=60) as url:
        yield url


PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let low = 255, high = 0;
  for (let i = 0; i < data.length; i += 4) {
    low = Math.min(low, data[i]);
    high = Math.max(high, data[i]);
  }
  return {width: canvas.width, height: canvas.height, low, high, state: canvas.dataset.state};
}"""


def picture(page, canvas_id: str) -> dict:
    """Wait for an image pane to be drawn; its size and darkest and brightest red value."""
    page.wait_for_selector(f"#{canvas_id}[data-state=ready]", timeout=10_000)
    return page.evaluate(PIXELS, canvas_id)


def click_plane(page, fx: float, fy: float) -> None:
    box = page.locator("#plane").bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def hover_first_point(page, data: dict) -> None:
    u, v = data["points"][0]
    x0, x1, y0, y1 = data["plane"]["bounds"]
    box = page.locator("#plane").bounding_box()
    page.mouse.move(
        box["x"] + (u - x0) / (x1 - x0) * box["width"],
        box["y"] + (y1 - v) / (y1 - y0) * box["height"],
    )


def open_explorer(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    return page.evaluate("JSON.parse(document.getElementById('explorer-data').textContent)")


def test_live_explorer_decodes_clicks_hovers_and_draws(page, server, tmp_path):
    data = open_explorer(page, server)
    assert data["live"] is True
    plane = page.evaluate(PIXELS, "plane")
    assert plane["low"] < plane["high"]  # the points are drawn

    # Hover the first point: its image and its reconstruction appear.
    hover_first_point(page, data)
    assert picture(page, "hover-original")["high"] > 0
    assert picture(page, "hover-reconstruction")["high"] > 0
    assert "anomaly score" in page.inner_text("#hover-info")

    # Click the plane: the server decodes the point into an image.
    click_plane(page, 0.3, 0.6)
    decoded = picture(page, "decoded")
    assert decoded["width"] == decoded["height"] > 8 and decoded["high"] > decoded["low"]
    # A second click: a strip of 10 decodings from A to B.
    click_plane(page, 0.7, 0.3)
    strip = picture(page, "interpolation")
    assert strip["width"] == 10 * decoded["width"] and strip["height"] == decoded["height"]

    # Draw a stroke: reconstruction, anomaly score and a mark on the plane.
    box = page.locator("#draw").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 30)
    page.mouse.down()
    for step in range(12):
        page.mouse.move(box["x"] + 40 + 8 * step, box["y"] + 30 + 9 * step)
    page.mouse.up()
    page.wait_for_function("document.getElementById('draw-info').textContent.includes('score')")
    assert picture(page, "draw-reconstruction")["high"] > 0
    assert "anomaly score" in page.inner_text("#draw-info")

    # Upload an image file: the same, through the file input.
    image = tmp_path / "digit.png"
    image.write_bytes(png(np.eye(8)))
    page.set_input_files("#upload", str(image))
    page.wait_for_function("document.getElementById('draw-info').textContent.includes('score')")

    shot = page.screenshot(full_page=True)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SCREENSHOTS) / "explorer-live.png").write_bytes(shot)
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
    assert pixels.shape[1] == 1240 and pixels.std() > 10  # a page, not a blank


def test_static_explorer_works_from_a_file(page, run):
    main(["explorer", str(run)])
    data = open_explorer(page, (run / "explorer.html").as_uri())
    assert data["live"] is False
    click_plane(page, 0.5, 0.5)
    decoded = picture(page, "decoded")
    assert decoded["high"] > decoded["low"]
    assert page.is_disabled("#upload")  # no model in the page: drawing needs the server
    assert "autoencoders serve" in page.inner_text("#draw-info")


def test_static_explorer_of_a_photo_model(page, tmp_path):
    from tests.test_photos import smooth_images

    np.save(tmp_path / "photos.npy", smooth_images(60, channels=3, size=16))
    main(
        [
            "train",
            str(tmp_path / "photos.npy"),
            "--model",
            "resnet",
            "--filters",
            "8,16",
            "--code-channels",
            "2",
            "--epochs",
            "40",
            "--batch-size",
            "16",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
        ]
    )
    main(["explorer", str(tmp_path / "run")])
    data = open_explorer(page, (tmp_path / "run" / "explorer.html").as_uri())
    assert data["image_shape"] == [3, 16, 16]
    hover_first_point(page, data)
    assert picture(page, "hover-original")["high"] > 0
    click_plane(page, 0.4, 0.6)
    decoded = picture(page, "decoded")
    assert decoded["high"] > decoded["low"]
    click_plane(page, 0.6, 0.4)
    assert picture(page, "interpolation")["width"] == 10 * decoded["width"]
    shot = page.screenshot(full_page=True)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SCREENSHOTS) / "explorer-photos.png").write_bytes(shot)
