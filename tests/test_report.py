"""Figures open as PNGs of the right proportions; the HTML report is escaped and complete."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autoencoders.errors import DataError
from autoencoders.report import (
    Section,
    denoising_grid,
    image_row,
    loss_curves,
    reconstruction_grid,
    write_report,
)

RNG = np.random.default_rng(0)
GRAY = RNG.random((12, 1, 8, 8))
RGB = RNG.random((12, 3, 16, 16))
TABLE = RNG.normal(size=(12, 5))


def png_size(path: Path) -> tuple[int, int]:
    """Open the file as Pillow would in a browser, failing if it is not a PNG."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("images", [GRAY, RGB], ids=["gray", "rgb"])
def test_reconstruction_grid_width_grows_with_n(tmp_path, images):
    narrow = png_size(reconstruction_grid(images, images, tmp_path / "a.png", n=3))
    wide = png_size(reconstruction_grid(images, images, tmp_path / "b.png", n=10))
    assert wide[0] > 2 * narrow[0]
    assert wide[1] == pytest.approx(narrow[1], abs=2)


def test_reconstruction_grid_clips_out_of_range_values(tmp_path):
    path = reconstruction_grid(GRAY * 3 - 1, GRAY, tmp_path / "grid.png", title="clipped")
    assert png_size(path)[0] > 0


def test_digits_are_drawn_large(tmp_path):
    width, height = png_size(reconstruction_grid(GRAY, GRAY, tmp_path / "grid.png", n=10))
    assert width / 10 >= 100  # an 8x8 digit gets at least 100 pixels a side
    assert height >= 2 * 100


def test_table_grid_stacks_heatmaps(tmp_path):
    two = png_size(reconstruction_grid(TABLE, TABLE + 0.1, tmp_path / "two.png", n=5))
    three = png_size(denoising_grid(TABLE, TABLE, TABLE, tmp_path / "three.png", n=5))
    assert three[1] > two[1]  # panels are one above the other
    taller = png_size(reconstruction_grid(TABLE, TABLE, tmp_path / "taller.png", n=12))
    assert taller[1] > two[1]


def test_denoising_grid_has_three_rows(tmp_path):
    two = png_size(reconstruction_grid(GRAY, GRAY, tmp_path / "two.png"))
    three = png_size(denoising_grid(GRAY, GRAY, GRAY, tmp_path / "three.png"))
    assert three[1] > 1.3 * two[1]


def test_grid_rejects_mismatched_or_bad_shapes(tmp_path):
    with pytest.raises(DataError):
        reconstruction_grid(GRAY, RGB, tmp_path / "x.png")
    with pytest.raises(DataError):
        reconstruction_grid(GRAY[:, 0], GRAY[:, 0], tmp_path / "x.png")  # (n, H, W)
    with pytest.raises(DataError):
        reconstruction_grid(GRAY, GRAY, tmp_path / "x.png", n=0)


def test_image_row_with_labels(tmp_path):
    few = png_size(image_row(RGB[:3], tmp_path / "few.png"))
    many = png_size(image_row(RGB, tmp_path / "many.png", labels=[str(i) for i in range(12)]))
    assert many[0] > 3 * few[0]
    with pytest.raises(DataError):
        image_row(RGB[:3], tmp_path / "x.png", labels=["only one"])


def test_image_row_of_table_rows(tmp_path):
    assert png_size(image_row(TABLE[:4], tmp_path / "rows.png", labels=list("abcd")))[0] > 0


def test_loss_curves_ignores_bookkeeping_keys(tmp_path):
    history = {"epoch": [1, 2, 3], "seconds": [1.0, 1.1, 0.9], "loss": [0.9, 0.5, 0.3]}
    assert png_size(loss_curves(history, tmp_path / "loss.png", title="loss"))[0] > 0
    with pytest.raises(DataError, match="no loss"):
        loss_curves({"epoch": [1, 2], "seconds": [1.0, 2.0]}, tmp_path / "none.png")


def test_loss_curves_single_epoch_and_negative_values(tmp_path):
    assert png_size(loss_curves({"loss": [0.5], "val_loss": [0.6]}, tmp_path / "one.png"))
    assert png_size(loss_curves({"loss": [1.0, -0.5]}, tmp_path / "negative.png"))


def test_report_escapes_text_and_links_figures(tmp_path):
    figures = tmp_path / "figures"
    reconstruction_grid(GRAY, GRAY, figures / "reconstructions.png")
    loss_curves({"loss": [0.4, 0.2]}, figures / "loss.png")
    section = Section(
        title="<script>alert('title')</script>",
        text="<script>alert('text')</script> & more",
        metrics={"mse": 0.0123456789, "epochs": 20, "model": "dense"},
        settings={"hidden": [64, 32], "loss": None},
        figures=[("Reconstructions", "figures/reconstructions.png"), ("Loss", "figures/loss.png")],
    )
    report = write_report(tmp_path / "report.html", "<script>run</script>", [section])
    page = report.read_text(encoding="utf-8")

    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;text&#x27;)&lt;/script&gt; &amp; more" in page
    assert "0.01235" in page and "0.0123456789" not in page  # 4 significant digits
    assert ">20<" in page and ">dense<" in page and "[64, 32]" in page
    sources = [part.split('"')[0] for part in page.split('src="')[1:]]
    assert sources == ["figures/reconstructions.png", "figures/loss.png"]
    for source in sources:
        assert (report.parent / source).is_file()
    assert page.startswith("<!DOCTYPE html>") and "Generated " in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside


def test_report_makes_absolute_figure_paths_relative_and_leaves_no_temp_file(tmp_path):
    image = loss_curves({"loss": [0.4, 0.2]}, tmp_path / "run" / "loss.png")
    report = write_report(
        tmp_path / "run" / "report.html", "run", [Section("s", figures=[("l", str(image))])]
    )
    assert 'src="loss.png"' in report.read_text(encoding="utf-8")
    assert sorted(p.name for p in report.parent.iterdir()) == ["loss.png", "report.html"]
