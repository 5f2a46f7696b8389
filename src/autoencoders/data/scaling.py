"""How raw values map to what the network sees, saved with the model as a JSON dict.

Images are min-max scaled to [0, 1] with one global range (so a sigmoid decoder
can reproduce them); tables are standardised per feature. Statistics are
gathered a block of rows at a time, so a memory-mapped array is never copied
whole while fitting.
"""

import math
from collections.abc import Iterator

import numpy as np

from autoencoders.errors import DataError, ModelFileError

__all__ = [
    "SCALING_METHODS",
    "IdentityScaler",
    "MinMaxScaler",
    "Scaler",
    "StandardScaler",
    "fit_scaler",
    "scaler_from_dict",
]

SCALING_METHODS = ("auto", "minmax", "standard", "identity", "none")
_CHUNK_ELEMENTS = 2**20


class Scaler:
    """Maps raw data to float32 network inputs and back."""

    kind: str = ""

    def transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"kind": self.kind}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"


class IdentityScaler(Scaler):
    """Leaves values as they are (only cast to float32)."""

    kind = "identity"

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)


class MinMaxScaler(Scaler):
    """Maps one global range ``[low, high]`` to [0, 1]."""

    kind = "minmax"

    def __init__(self, low: float, high: float):
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise ValueError(f"minmax scaler needs finite low < high, got {low}, {high}")
        self.low, self.high = float(low), float(high)

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.low == 0 and self.high == 1:
            return np.asarray(X, dtype=np.float32)  # no copy of float32 data
        scaled = np.array(X, dtype=np.float32)  # one copy, then scaled in place
        if self.low:
            scaled -= np.float32(self.low)
        scaled /= np.float32(self.high - self.low)
        return scaled

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        scaled = np.asarray(X, dtype=np.float32) * (self.high - self.low) + self.low
        return scaled.astype(np.float32, copy=False)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "low": self.low, "high": self.high}


class StandardScaler(Scaler):
    """Per-feature ``(x - mean) / scale``; ``mean`` and ``scale`` have one sample's shape."""

    kind = "standard"

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        if mean.shape != scale.shape or mean.size == 0:
            raise ValueError(f"standard scaler: mean {mean.shape} and scale {scale.shape} differ")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("standard scaler needs finite means and positive finite scales")
        self.mean, self.scale = mean, scale

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_shape(X)
        return ((np.asarray(X, dtype=np.float32) - self.mean) / self.scale).astype(np.float32)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        self._check_shape(X)
        return (np.asarray(X, dtype=np.float32) * self.scale + self.mean).astype(np.float32)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    def _check_shape(self, X: np.ndarray) -> None:
        if tuple(X.shape[1:]) != self.mean.shape:
            raise DataError(
                f"data with samples of shape {tuple(X.shape[1:])} does not match the "
                f"{self.mean.shape} the scaler was fitted on; use data like the training data"
            )


def fit_scaler(X: np.ndarray, method: str = "auto", *, kind: str) -> Scaler:
    """Fit the scaling ``method`` to ``X``; "auto" is minmax for images, standard for tables."""
    if method not in SCALING_METHODS:
        raise ValueError(f"unknown scaling {method!r}; choose one of {', '.join(SCALING_METHODS)}")
    if kind not in ("image", "table"):
        raise ValueError(f"kind must be 'image' or 'table', got {kind!r}")
    if method == "auto":
        method = "minmax" if kind == "image" else "standard"
    if method in ("identity", "none"):
        return IdentityScaler()
    if len(X) == 0:
        raise DataError("cannot fit a scaler to zero samples; give some data")
    return _fit_minmax(X) if method == "minmax" else _fit_standard(X)


def scaler_from_dict(d: dict) -> Scaler:
    """Rebuild a scaler from :meth:`Scaler.to_dict`; raises ModelFileError if malformed."""
    try:
        kind = d["kind"]
        if kind in ("identity", "none"):
            return IdentityScaler()
        if kind == "minmax":
            return MinMaxScaler(float(d["low"]), float(d["high"]))
        if kind == "standard":
            return StandardScaler(np.asarray(d["mean"], float), np.asarray(d["scale"], float))
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"invalid scaler settings {_short(d)}: {error}") from None
    raise ModelFileError(f"unknown scaler kind {kind!r}; expected identity, minmax or standard")


def _fit_minmax(X: np.ndarray) -> MinMaxScaler:
    if X.dtype == np.uint8:
        return MinMaxScaler(0.0, 255.0)
    low, high = math.inf, -math.inf
    for chunk in _row_chunks(X):
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if low >= 0.0 and high <= 1.0:
        return MinMaxScaler(0.0, 1.0)
    return MinMaxScaler(low, high if high > low else low + 1.0)  # constant data maps to 0


def _fit_standard(X: np.ndarray) -> StandardScaler:
    """Per-feature mean and std, merged block by block (Chan et al.'s parallel update)."""
    count, mean, m2 = 0, np.zeros(X.shape[1:]), np.zeros(X.shape[1:])
    for chunk in _row_chunks(X):
        n = len(chunk)
        chunk_mean = chunk.mean(axis=0)
        chunk_m2 = ((chunk - chunk_mean) ** 2).sum(axis=0)
        delta = chunk_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + chunk_m2 + delta**2 * (count * n / total)
        count = total
    scale = np.sqrt(m2 / count)
    # Constant features (std 0, or rounding noise around it) are left unscaled.
    tiny = 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
    scale[~(scale > tiny)] = 1.0
    return StandardScaler(mean, scale)


def _row_chunks(X: np.ndarray) -> Iterator[np.ndarray]:
    """Yield float64 blocks of about a million values, so memory maps stay on disk."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, math.prod(X.shape[1:])))
    for start in range(0, len(X), rows):
        yield np.asarray(X[start : start + rows], dtype=np.float64)


def _short(d) -> str:
    text = " ".join(repr(d).split())
    return text if len(text) <= 80 else text[:77] + "..."
