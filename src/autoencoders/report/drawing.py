"""The drawing primitives the figures share: image grids laid out in inches, heatmaps of
table rows, and saving a PNG. Built on :class:`matplotlib.figure.Figure`, never ``pyplot``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autoencoders.errors import DataError

DPI = 120
LABEL_FONT_SIZE = 11


def check_images(images: np.ndarray, name: str) -> None:
    """Reject anything but ``(n, C, H, W)`` with one or three channels."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(f"{name} must be (n, C, H, W) with C = 1 or 3, got shape {images.shape}")


def image_axes(
    n_rows: int, n_columns: int, image_size: tuple[int, int], *, captions: bool
) -> tuple[Figure, np.ndarray]:
    """A grid of tick-less axes laid out in inches, so images stay large and evenly spaced.

    The figure is sized from the grid (width grows with the number of columns); row
    labels and titles fall outside it and are kept by the tight bounding box on save.
    """
    height, width = image_size
    cell_height = min(2.0, max(1.1, height / 32))  # 8x8 digits and 64x64 faces both readable
    cell_width = cell_height * width / height
    gap = 0.08
    row_height = cell_height + (0.3 if captions else 0.0)
    figure_width = n_columns * cell_width + (n_columns - 1) * gap
    figure_height = n_rows * row_height + (n_rows - 1) * gap
    figure = Figure(figsize=(figure_width, figure_height))
    figure.subplots_adjust(
        left=0.0,
        right=1.0,
        bottom=0.0,
        top=1.0 - (row_height - cell_height) / figure_height,
        wspace=gap / cell_width,
        hspace=(gap + row_height - cell_height) / cell_height,
    )
    axes = figure.subplots(n_rows, n_columns, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    return figure, axes


def show_image(ax: Axes, image: np.ndarray) -> None:
    """Draw one channels-first image, clipped to [0, 1], pixels kept square and sharp."""
    image = np.clip(np.nan_to_num(image.astype(float)), 0.0, 1.0)
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image.transpose(1, 2, 0), interpolation="nearest")


def table_figure(
    arrays: dict[str, np.ndarray],
    path: str | Path,
    *,
    title: str | None,
    row_names: Sequence[str] | None = None,
) -> Path:
    """Heatmaps of table rows (examples by features), stacked, sharing one colour scale."""
    values = np.concatenate([a.ravel() for a in arrays.values()]).astype(float)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    n_examples, n_features = next(iter(arrays.values())).shape
    panel_height = 0.6 + 0.28 * n_examples
    width = min(14.0, max(5.0, 1.5 + 0.3 * n_features))
    figure = Figure(figsize=(width, len(arrays) * panel_height + 0.4), layout="constrained")
    axes = figure.subplots(len(arrays), 1, squeeze=False, sharex=True)[:, 0]
    for ax, (label, table) in zip(axes, arrays.items(), strict=True):
        image = ax.imshow(
            table, aspect="auto", cmap="viridis", vmin=low, vmax=high, interpolation="nearest"
        )
        if label:
            ax.set_title(label, loc="left", fontsize=LABEL_FONT_SIZE)
        ax.set_ylabel("example")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if row_names is not None:
            ax.set_yticks(range(n_examples), [str(name) for name in row_names])
    axes[-1].set_xlabel("feature")
    figure.colorbar(image, ax=list(axes))
    return save(figure, path, title)


def save(figure: Figure, path: str | Path, title: str | None) -> Path:
    """Write the figure as a PNG with a white background, creating the folder if needed."""
    if title and figure.get_layout_engine() is None:  # image grids fill the whole figure
        figure.suptitle(title, y=1.0, va="bottom", fontsize=LABEL_FONT_SIZE + 2)
    elif title:
        figure.suptitle(title, fontsize=LABEL_FONT_SIZE + 2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, facecolor="white", bbox_inches="tight", pad_inches=0.1)
    return path
