"""A series with its anomaly score beneath, the flagged stretches shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from autoencoders.report.drawing import LABEL_FONT_SIZE, save

MAX_SHADED = 20  # the longest flagged stretches are shaded; more would hide the series


def flagged_stretches(flagged: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive flagged steps, longest first."""
    edges = np.diff(np.r_[0, flagged.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return sorted(zip(starts.tolist(), ends.tolist(), strict=True), key=lambda r: r[0] - r[1])


def series_figure(
    series: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    path: str | Path,
    *,
    labels: np.ndarray | None = None,
    names: list[str] | None = None,
    title: str | None = None,
) -> Path:
    """Top: the series (each feature); bottom: the anomaly score and the threshold. The
    steps above the threshold are shaded in both; true anomalies (``labels``) are marked."""
    series = np.asarray(series, dtype=float).reshape(len(scores), -1)
    figure = Figure(figsize=(12, 4.8), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    steps = np.arange(len(scores))
    for column in range(series.shape[1]):
        name = names[column] if names else None
        top.plot(steps, series[:, column], linewidth=0.7, label=name)
    if names and len(names) > 1:
        top.legend(loc="upper right", fontsize=8)
    positive = scores[scores > 0]
    floor = float(np.percentile(positive, 1)) if positive.size else 1e-12
    bottom.plot(
        steps, np.maximum(scores, floor), color="black", linewidth=0.7, label="anomaly score"
    )
    bottom.axhline(threshold, color="tab:red", linestyle="--", linewidth=1, label="threshold")
    for start, end in flagged_stretches(scores > threshold)[:MAX_SHADED]:
        for ax in (top, bottom):
            ax.axvspan(start - 0.5, end - 0.5, color="tab:red", alpha=0.2, linewidth=0)
    if labels is not None and np.any(labels):
        for start, end in flagged_stretches(np.asarray(labels) > 0):
            top.axvspan(start - 0.5, end - 0.5, ymin=0, ymax=0.04, color="tab:green")
        top.set_title("green: labelled anomalies; red: flagged", loc="left", fontsize=9)
    bottom.set_yscale("log")  # scores span decades: a spike and the noise floor both show
    bottom.set_xlabel("time step")
    bottom.legend(loc="upper right", fontsize=8)
    top.set_ylabel("value", fontsize=LABEL_FONT_SIZE)
    bottom.set_ylabel("score", fontsize=LABEL_FONT_SIZE)
    return save(figure, path, title)
