"""Time series as samples: a long series cut into overlapping windows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from autoencoders.data.datasets import Dataset
from autoencoders.errors import DataError, one_line


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


LABEL_NAMES = frozenset({"label", "labels", "is_anomaly", "anomaly"})


class SeriesTable(NamedTuple):
    """A series read from a CSV: values ``(n_steps, d)``, their column names, the labels
    column (if the file has one) and what was done to the file's cells, to report."""

    values: np.ndarray
    names: list[str]
    labels: np.ndarray | None
    notes: list[str]


def read_series(path: str | Path, columns: list[str] | None = None) -> SeriesTable:
    """Read a series from a CSV whose rows are time steps.

    With a header, ``columns`` picks columns by name; without, all numeric columns are the
    series. A column named like a label (``label``, ``is_anomaly``) is read as labels, a
    text column (a timestamp, say) is skipped, and empty or ``nan`` cells are filled by
    linear interpolation; each is reported in ``notes``.
    """
    path = Path(path)
    try:
        with open(path, newline="") as file:
            rows = [row for row in csv.reader(file) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read the CSV ({one_line(error)})") from None
    if not rows:
        raise DataError(f"{path}: empty file; a series has one row per time step")
    header = None if all(_number_or_gap(cell) for cell in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header else rows
    width = len(header or rows[0])
    if any(len(row) != width for row in body):
        line = next(i for i, row in enumerate(body) if len(row) != width) + 1 + bool(header)
        raise DataError(f"{path}: line {line} has another number of cells than the first")
    names = header or [f"x{i}" for i in range(width)]
    notes: list[str] = []
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(f"{path}: no column {missing[0]!r}; the columns are {', '.join(names)}")
    label_index = next((i for i, n in enumerate(names) if n.lower() in LABEL_NAMES), None)
    picked = [names.index(c) for c in columns] if columns else []
    if not picked:
        for i in range(width):
            if i == label_index:
                continue
            if all(_number_or_gap(row[i]) for row in body):
                picked.append(i)
            else:
                notes.append(f"skipped the text column {names[i]!r}")
    if not picked:
        raise DataError(f"{path}: no numeric column; a series needs numbers, one row per step")
    values = np.empty((len(body), len(picked)))
    for j, i in enumerate(picked):
        cells = [row[i].strip() for row in body]
        bad = next((k for k, cell in enumerate(cells) if not _number_or_gap(cell)), None)
        if bad is not None:
            line = bad + 1 + bool(header)
            raise DataError(
                f"{path}: line {line}, column {names[i]!r}: {cells[bad]!r} is not a number"
            )
        values[:, j] = [float(cell) if cell and cell.lower() != "nan" else np.nan for cell in cells]
    gaps = ~np.isfinite(values)
    if gaps.all(axis=0).any():
        raise DataError(f"{path}: a column holds no numbers at all; drop it or pick others")
    if gaps.any():
        steps = np.arange(len(values))
        for j in range(values.shape[1]):
            known = ~gaps[:, j]
            values[:, j] = np.interp(steps, steps[known], values[known, j])
        notes.append(f"filled {int(gaps.sum())} empty or nan cells by linear interpolation")
    labels = None
    if label_index is not None and label_index not in picked:
        try:
            labels = np.array([float(row[label_index]) for row in body]).astype(int)
        except ValueError:
            raise DataError(
                f"{path}: the labels column {names[label_index]!r} must hold 0 or 1"
            ) from None
    return SeriesTable(values, [names[i] for i in picked], labels, notes)


def _number_or_gap(cell: str) -> bool:
    cell = cell.strip()
    if not cell or cell.lower() == "nan":
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True
