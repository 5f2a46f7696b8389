"""Time series as samples: a long series cut into overlapping windows."""

from __future__ import annotations

import numpy as np

from autoencoders.data.datasets import Dataset
from autoencoders.errors import DataError


def sliding_windows(series: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """Windows of ``length`` steps every ``stride`` steps: ``(n, length, d)``.

    ``series`` is ``(N,)`` or ``(N, d)`` with time first. The windows are views into
    the series (no copy), so long series cost no extra memory until they are used.
    """
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]
    if series.ndim != 2:
        raise DataError(f"a series must be (N,) or (N, features), got shape {series.shape}")
    if length < 2 or stride < 1:
        raise DataError(f"window length must be ≥ 2 and stride ≥ 1, got {length}:{stride}")
    if length > len(series):
        raise DataError(f"window length {length} is longer than the series ({len(series)} steps)")
    windows = np.lib.stride_tricks.sliding_window_view(series, length, axis=0)[::stride]
    return windows.transpose(0, 2, 1)  # (n, features, length) → (n, length, features)


def windowed(dataset: Dataset, length: int, stride: int = 1) -> Dataset:
    """A table read as one series (rows are time steps) → a dataset of windows."""
    if dataset.kind != "table":
        raise DataError(f"{dataset.name}: only a table (rows = time steps) can be cut into windows")
    return Dataset(sliding_windows(dataset.X, length, stride), None, dataset.name, "sequence")
