"""Regenerate docs/explorer.png, the README's picture of the latent-space explorer.

Serves RUN with `autoencoders serve`, opens the page in headless Chromium (Playwright;
Debian's chromium package or $AUTOENCODERS_CHROMIUM), hovers a point, picks two points
for an interpolation, shows the decoded manifold (and, for a VAE, samples) and saves a
screenshot::

    autoencoders train mnist --model vae --latent-dim 2 --epochs 10 --out runs/vae2d
    python docs/screenshot.py runs/vae2d
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from autoencoders.serving.background import serve_in_background

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(__file__).with_name("explorer.png")
    )
    args = parser.parse_args()
    chromium = os.environ.get("AUTOENCODERS_CHROMIUM") or shutil.which("chromium")
    with serve_in_background(args.run) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1240, "height": 820})
        page.goto(url)
        page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        page.check("text=show the decoded manifold")
        plane = page.locator("#plane").bounding_box()
        for fx, fy in ((0.3, 0.65), (0.7, 0.3)):
            page.mouse.click(plane["x"] + fx * plane["width"], plane["y"] + fy * plane["height"])
            time.sleep(0.5)
        if page.locator("text=Draw 8 samples").count():  # variational models
            page.click("text=Draw 8 samples")
            time.sleep(1)
        data = page.evaluate("JSON.parse(document.getElementById('explorer-data').textContent)")
        u, v = data["points"][0]
        x0, x1, y0, y1 = data["plane"]["bounds"]
        page.mouse.move(
            plane["x"] + (u - x0) / (x1 - x0) * plane["width"],
            plane["y"] + (y1 - v) / (y1 - y0) * plane["height"],
        )
        page.wait_for_selector("#hover-reconstruction[data-state=ready]", timeout=10_000)
        time.sleep(0.5)
        args.output.write_bytes(page.screenshot(full_page=True))
        browser.close()
    print(args.output)


if __name__ == "__main__":
    main()
