"""Figures that show what an autoencoder learned, saved as PNG files.

Images are channels-first ``(n, C, H, W)`` arrays with ``C`` = 1 (gray) or 3 (RGB)
and values in [0, 1]; tables are ``(n, d)`` arrays drawn as heatmaps. Figures are
built on :class:`matplotlib.figure.Figure` directly, never through ``pyplot``, so no
global state leaks between calls and nothing has to be closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator

from autoencoders.errors import DataError
from autoencoders.report.drawing import (
    LABEL_FONT_SIZE,
    check_images,
    image_axes,
    save,
    show_image,
    table_figure,
)

# History keys that are bookkeeping rather than losses (``val_`` prefixes are stripped first).
NOT_LOSSES = frozenset(
    {"epoch", "epochs", "step", "steps", "seconds", "time", "lr", "learning_rate"}
)


def reconstruction_grid(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    path: str | Path,
    *,
    n: int = 10,
    title: str | None = None,
) -> Path:
    """Originals above their reconstructions, so errors are seen side by side."""
    rows = {"original": originals, "reconstruction": reconstructions}
    return comparison_grid(rows, path, n=n, title=title)


def denoising_grid(
    noisy: np.ndarray,
    denoised: np.ndarray,
    clean: np.ndarray,
    path: str | Path,
    *,
    n: int = 10,
    title: str | None = None,
) -> Path:
    """Noisy inputs, the model's output and the clean targets, one row each."""
    rows = {"noisy": noisy, "denoised": denoised, "clean": clean}
    return comparison_grid(rows, path, n=n, title=title)


def image_row(
    images: np.ndarray,
    path: str | Path,
    *,
    title: str | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """All ``images`` in one row, each optionally captioned (samples, interpolations)."""
    images = np.asarray(images)
    if labels is not None and len(labels) != len(images):
        raise DataError(f"got {len(labels)} labels for {len(images)} images")
    if images.ndim == 2:
        return table_figure({"": images}, path, title=title, row_names=labels)
    check_images(images, "images")
    figure, axes = image_axes(1, len(images), images.shape[2:], captions=labels is not None)
    for column, ax in enumerate(axes[0]):
        show_image(ax, images[column])
        if labels is not None:
            ax.set_title(str(labels[column]), fontsize=LABEL_FONT_SIZE - 1)
    return save(figure, path, title)


def image_grid(
    grid: np.ndarray,
    path: str | Path,
    *,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    gap: int = 1,
) -> Path:
    """A ``(rows, columns, C, H, W)`` array of images as one mosaic (samples, traversals,
    the 2-D manifold), ``gap`` white pixels apart; drawn as a single image, so a 20 × 20
    manifold costs no more than one picture."""
    grid = np.asarray(grid)
    if grid.ndim != 5 or grid.shape[2] not in (1, 3):
        raise DataError(f"a grid must be (rows, columns, C, H, W) images, got shape {grid.shape}")
    rows, columns, channels, height, width = grid.shape
    if row_labels is not None and len(row_labels) != rows:
        raise DataError(f"got {len(row_labels)} row labels for {rows} rows")
    mosaic = np.ones((channels, rows * (height + gap) - gap, columns * (width + gap) - gap))
    for r in range(rows):
        for c in range(columns):
            top, left = r * (height + gap), c * (width + gap)
            mosaic[:, top : top + height, left : left + width] = grid[r, c]
    scale = min(2.0, max(1.1, height / 32)) / height  # inches per pixel, as image_axes
    figure = Figure(figsize=(mosaic.shape[2] * scale, mosaic.shape[1] * scale))
    ax = figure.add_axes((0, 0, 1, 1))
    show_image(ax, mosaic)
    ax.set_xticks([])
    ax.set_yticks(
        [] if row_labels is None else [r * (height + gap) + height / 2 for r in range(rows)]
    )
    if row_labels is not None:
        ax.set_yticklabels([str(label) for label in row_labels], fontsize=LABEL_FONT_SIZE)
        ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return save(figure, path, title)


def sequence_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    path: str | Path,
    *,
    n: int = 6,
    title: str | None = None,
) -> Path:
    """Series ``(n, T, d)`` drawn as lines, each over its reconstruction, with the
    squared error per time step shaded below: where a model fails on a sequence."""
    originals, reconstructions = np.asarray(originals), np.asarray(reconstructions)
    if originals.ndim != 3 or originals.shape != reconstructions.shape:
        raise DataError(
            f"sequences must be two (n, T, d) arrays of one shape, got {originals.shape} "
            f"and {reconstructions.shape}"
        )
    count = min(n, len(originals))
    figure = Figure(figsize=(10, 1.7 * count), layout="constrained")
    axes = figure.subplots(count, 1, squeeze=False, sharex=True)[:, 0]
    steps = np.arange(originals.shape[1])
    for i, ax in enumerate(axes):
        for feature in range(originals.shape[2]):
            label = feature == 0 and i == 0
            ax.plot(
                steps,
                originals[i, :, feature],
                color="black",
                lw=1.2,
                label="original" if label else None,
            )
            ax.plot(
                steps,
                reconstructions[i, :, feature],
                color="tab:orange",
                lw=1.2,
                ls="--",
                label="reconstruction" if label else None,
            )
        error = np.square(originals[i] - reconstructions[i]).mean(1)
        twin = ax.twinx()
        twin.fill_between(steps, error, color="tab:red", alpha=0.25, lw=0)
        twin.set_yticks([])
        ax.set_ylabel(f"#{i}")
    axes[0].legend(loc="upper right", fontsize=LABEL_FONT_SIZE - 2, ncols=2)
    axes[-1].set_xlabel("time step (shaded: squared error)")
    return save(figure, path, title)


def loss_curves(
    history: Mapping[str, Sequence[float]], path: str | Path, *, title: str | None = None
) -> Path:
    """Loss per epoch, one line per loss key; validation lines are dashed."""
    loss_keys = [
        key
        for key, values in history.items()
        if _is_loss(key) and np.ndim(values) == 1 and np.size(values)
    ]
    losses = {key: np.asarray(history[key], dtype=float) for key in loss_keys}
    if not losses:
        raise DataError(f"history has no loss values to plot (keys: {sorted(history)})")
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = figure.add_subplot()
    colours = {}  # "val_kl" shares the colour of "kl"
    for key, values in losses.items():
        base = key.removeprefix("val_")
        validation = key.startswith("val_")
        (line,) = ax.plot(
            np.arange(1, values.size + 1),
            values,
            label=key,
            color=colours.get(base),
            linestyle="--" if validation else "-",
            marker=("s" if validation else "o") if values.size <= 30 else None,
            markersize=4,
        )
        colours.setdefault(base, line.get_color())
    finite = np.concatenate([values[np.isfinite(values)] for values in losses.values()])
    if finite.size and (finite > 0).all():
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_PlainLogFormatter())
        ax.yaxis.set_minor_formatter(
            _PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))
        )
    longest = max(values.size for values in losses.values())
    ax.set_xlim(0.5, longest + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    ax.legend()
    return save(figure, path, title)


def reconstruction_scatter(
    data: np.ndarray,
    reconstructions: Mapping[str, np.ndarray],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """2-D points (grey) and each method's reconstructions of them (coloured), to see
    the shape a model can represent: a line for PCA, a curve for a nonlinear code."""
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] < 2:
        raise DataError(f"reconstruction_scatter needs (n, 2+) points, got shape {data.shape}")
    figure = Figure(figsize=(5.6, 4.4), layout="constrained")
    ax = figure.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], s=6, color="0.75", label="data")
    markers = ("o", "s", "^", "D")
    for (label, points), marker in zip(reconstructions.items(), markers, strict=False):
        points = np.asarray(points)
        ax.scatter(points[:, 0], points[:, 1], s=5, marker=marker, label=label, alpha=0.8)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.grid(True, alpha=0.3)
    ax.legend(markerscale=2.5)
    return save(figure, path, title)


def embedding_scatter(
    embeddings: Mapping[str, np.ndarray],
    labels: np.ndarray | None,
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """2-D embeddings of the same samples side by side (e.g. a code beside PCA), each
    point coloured by its label, so one sees which method keeps the classes apart."""
    panels = {name: np.asarray(points, dtype=float) for name, points in embeddings.items()}
    if not panels or any(p.ndim != 2 or p.shape[1] != 2 for p in panels.values()):
        shapes = [p.shape for p in panels.values()]
        raise DataError(f"embedding_scatter needs (n, 2) embeddings, got shapes {shapes}")
    n = len(next(iter(panels.values())))
    if any(len(p) != n for p in panels.values()) or (labels is not None and len(labels) != n):
        raise DataError("embeddings and labels must have one row per sample")
    figure = Figure(figsize=(4.4 * len(panels) + 1.2, 4.4), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    classes = np.unique(labels) if labels is not None else [None]
    colours = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    size = float(np.clip(3000 / max(n, 1), 0.5, 12))
    for ax, (name, points) in zip(axes, panels.items(), strict=True):
        for i, label in enumerate(classes):
            mine = points if label is None else points[labels == label]
            text = None if label is None else str(label)
            if class_names is not None and label is not None and 0 <= label < len(class_names):
                text = class_names[int(label)]
            ax.scatter(
                mine[:, 0],
                mine[:, 1],
                s=size,
                color=colours(i % colours.N),
                label=text,
                linewidths=0,
                rasterized=True,
            )
        ax.set_title(name, fontsize=LABEL_FONT_SIZE)
        ax.set_xticks([])
        ax.set_yticks([])
    if labels is not None:
        figure.legend(
            *axes[0].get_legend_handles_labels(),
            loc="outside right center",
            markerscale=max(1.0, 6 / size**0.5),
            frameon=False,
        )
    return save(figure, path, title)


def score_bars(
    scores: Mapping[str, Mapping[str, float]], path: str | Path, *, title: str | None = None
) -> Path:
    """Grouped bars, one group per score and one bar per method (rows of ``scores``),
    for scores in [0, 1] such as accuracies; each bar is labelled with its value."""
    methods = list(scores)
    metrics = list(dict.fromkeys(name for row in scores.values() for name in row))
    if not methods or not metrics:
        raise DataError("score_bars needs at least one method with one score")
    figure = Figure(figsize=(2.0 + 0.5 * len(metrics) * len(methods), 3.6), layout="constrained")
    ax = figure.add_subplot()
    width = 0.8 / len(methods)
    positions = np.arange(len(metrics))
    for i, method in enumerate(methods):
        values = [scores[method].get(metric, np.nan) for metric in metrics]
        bars = ax.bar(positions + (i - (len(methods) - 1) / 2) * width, values, width, label=method)
        ax.bar_label(bars, fmt="%.2f", fontsize=LABEL_FONT_SIZE - 3, padding=1)
    ax.set_xticks(positions, metrics)
    ax.set_ylim(0, 1.08)
    ax.grid(True, axis="y", alpha=0.3)
    figure.legend(loc="outside right upper", frameon=False)
    return save(figure, path, title)


class _PlainLogFormatter(LogFormatter):
    """Log-axis labels as plain numbers ("0.5", "20") rather than "5e-01"."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:.3g}" if super().__call__(x, pos) else ""


def _is_loss(key: str) -> bool:
    """Whether a history key holds a loss, rather than bookkeeping such as time."""
    name = key.removeprefix("val_").removeprefix("train_")
    return name not in NOT_LOSSES and not name.endswith(("seconds", "_time"))


def comparison_grid(
    rows: dict[str, np.ndarray], path: str | Path, *, n: int = 10, title: str | None = None
) -> Path:
    """The first ``n`` examples of several arrays, one labelled row each (e.g. input,
    output, target of an image-to-image model)."""
    arrays = {label: np.asarray(values) for label, values in rows.items()}
    # Images may differ in channels (gray input, colour output) but not in size.
    shapes = {
        values.shape[2:] if values.ndim == 4 else values.shape[1:] for values in arrays.values()
    }
    if len(shapes) != 1 or len({values.ndim for values in arrays.values()}) != 1:
        raise DataError(f"arrays to compare differ in shape: {[a.shape for a in arrays.values()]}")
    if n < 1:
        raise DataError(f"n must be at least 1, got {n}")
    count = min(n, *(len(values) for values in arrays.values()))
    if count == 0:
        raise DataError("no examples to draw")
    arrays = {label: values[:count] for label, values in arrays.items()}
    first = next(iter(arrays.values()))
    if first.ndim == 2:
        return table_figure(arrays, path, title=title)
    check_images(first, "images")
    figure, axes = image_axes(len(arrays), count, first.shape[2:], captions=False)
    for ax_row, (label, images) in zip(axes, arrays.items(), strict=True):
        for ax, image in zip(ax_row, images, strict=True):
            show_image(ax, image)
        ax_row[0].set_ylabel(
            label, rotation=0, ha="right", va="center", fontsize=LABEL_FONT_SIZE, labelpad=8
        )
    return save(figure, path, title)
