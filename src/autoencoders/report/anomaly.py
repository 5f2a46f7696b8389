"""Figures of an anomaly detector: the most and least anomalous inputs with their error maps,
and the distribution of scores around the threshold.

Images are channels-first in [0, 1]; error maps are squared errors of the same shape,
drawn on one colour scale for the whole figure so that maps can be compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autoencoders.errors import DataError
from autoencoders.report.drawing import LABEL_FONT_SIZE, image_axes, save, show_image

ERROR_COLORMAP = "inferno"


def anomaly_grid(
    inputs: np.ndarray,
    reconstructions: np.ndarray,
    errors: np.ndarray,
    scores: np.ndarray,
    path: str | Path,
    *,
    n: int = 8,
    indices: np.ndarray | None = None,
    error_label: str = "squared error",
    title: str | None = None,
) -> Path:
    """The ``n`` most and ``n`` least anomalous samples: input, reconstruction and error map
    (images), or each feature's error (tables, rows named by ``indices``), each captioned
    with its anomaly score."""
    inputs, errors, scores = np.asarray(inputs), np.asarray(errors), np.asarray(scores)
    if len(inputs) != len(scores) or errors.shape != reconstructions.shape:
        raise DataError("inputs, reconstructions, error maps and scores must match in length")
    indices = np.arange(len(scores)) if indices is None else np.asarray(indices)
    order = np.argsort(-scores, kind="stable")
    count = min(n, max(1, len(scores) // 2))
    groups = {"most anomalous": order[:count], "least anomalous": order[::-1][:count]}
    if inputs.ndim == 2:
        names = [f"#{indices[i]}  {scores[i]:.3g}" for i in range(len(scores))]
        return _table_errors(errors, names, groups, path, error_label, title)
    if inputs.ndim != 4 or inputs.shape[1] not in (1, 3):
        raise DataError(f"images must be (n, C, H, W) with C = 1 or 3, got {inputs.shape}")
    maps = errors.mean(axis=1)  # (n, H, W): one map per image, channels averaged
    vmax = float(np.percentile(maps[np.concatenate(list(groups.values()))], 99.5)) or 1.0
    figure, axes = image_axes(6, count, inputs.shape[2:], captions=True)
    for group_index, (label, chosen) in enumerate(groups.items()):
        rows = axes[3 * group_index : 3 * group_index + 3]
        for column, sample in enumerate(chosen):
            show_image(rows[0][column], inputs[sample])
            show_image(rows[1][column], reconstructions[sample])
            rows[2][column].imshow(
                maps[sample], cmap=ERROR_COLORMAP, vmin=0.0, vmax=vmax, interpolation="nearest"
            )
            rows[0][column].set_title(f"{scores[sample]:.3g}", fontsize=LABEL_FONT_SIZE - 1)
        for row, name in zip(rows, (label, "reconstruction", "error"), strict=True):
            row[0].set_ylabel(
                name, rotation=0, ha="right", va="center", fontsize=LABEL_FONT_SIZE, labelpad=8
            )
    return save(figure, path, title)


def _table_errors(errors, names, groups, path, error_label, title) -> Path:
    """Per-feature errors of the chosen rows, one heatmap per group on one colour scale."""
    shown = np.concatenate([errors[chosen] for chosen in groups.values()])
    vmax = float(np.percentile(shown, 99.5)) or 1.0
    n_features = errors.shape[1]
    height = sum(0.6 + 0.28 * len(chosen) for chosen in groups.values()) + 0.6
    figure = Figure(figsize=(min(14.0, max(5.0, 1.5 + 0.3 * n_features)), height))
    figure.set_layout_engine("constrained")
    axes = figure.subplots(len(groups), 1, squeeze=False, sharex=True)[:, 0]
    for ax, (label, chosen) in zip(axes, groups.items(), strict=True):
        image = ax.imshow(
            errors[chosen], aspect="auto", cmap=ERROR_COLORMAP, vmin=0, vmax=vmax,
            interpolation="nearest",
        )  # fmt: skip
        ax.set_title(label, loc="left", fontsize=LABEL_FONT_SIZE)
        ax.set_yticks(range(len(chosen)), [names[i] for i in chosen])
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlabel("feature")
    figure.colorbar(image, ax=list(axes), label=error_label)
    return save(figure, path, title)


def score_histogram(
    scores: Mapping[str, np.ndarray],
    threshold: float,
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Histograms of anomaly scores, one per group (e.g. normal / corrupted), and the threshold."""
    if not scores:
        raise DataError("no scores to draw")
    values = {label: np.asarray(s, dtype=float) for label, s in scores.items()}
    pooled = np.concatenate(list(values.values()))
    pooled = pooled[np.isfinite(pooled)]
    low, high = float(pooled.min()), float(max(pooled.max(), threshold))
    positive = low > 0
    bins = (
        np.geomspace(low, high, 40) if positive and high / low > 20 else np.linspace(low, high, 40)
    )
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = figure.add_subplot()
    for label, s in values.items():
        ax.hist(s, bins=bins, alpha=0.6, label=f"{label} ({len(s)})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    if positive and high / low > 20:
        ax.set_xscale("log")
    ax.set_xlabel("anomaly score")
    ax.set_ylabel("samples")
    ax.legend()
    return save(figure, path, title)


def detection_figure(
    detector, X: np.ndarray, scores: np.ndarray, path: str | Path, *, n: int = 8, title=None
) -> Path:
    """:func:`anomaly_grid` for a fitted :class:`~autoencoders.applications.AnomalyDetector`:
    only the samples shown are reconstructed again."""
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    count = min(n, max(1, len(scores) // 2))
    chosen = np.concatenate([order[:count], order[::-1][:count]])
    model = detector.model_
    shown = np.asarray(X)[chosen]
    reconstructions = model.target_scaler_.transform(model.predict(shown))  # (n, C, H, W)
    inputs = model.input_scaler_.transform(shown).reshape(reconstructions.shape)
    errors = detector.error_map(shown)
    label = "squared error"
    if detector.anomaly_score_ == "normalized":  # show each feature's share of the score
        errors, label = errors / detector.error_scale_, "squared error / its training mean"
    return anomaly_grid(
        inputs,
        reconstructions,
        errors,
        scores[chosen],
        path,
        n=count,
        indices=chosen,
        error_label=label,
        title=title,
    )
