"""What an estimator accepts: checked samples, and data in the units it was trained on.

Each refusal is one line that names the argument and says what to do, and is also the
exception type and wording scikit-learn's own estimator checks look for.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from autoencoders.data.scaling import MinMaxScaler, Scaler, StandardScaler
from autoencoders.errors import DataError

# The two conventions of image code: 8-bit levels (0–255) and floats in [0, 1].
IMAGE_PEAKS = (255.0, 1.0)
# A float image whose values reach past this is in 0–255; up to 1 (and a rounding
# error) it is in [0, 1]; in between it is neither, and refused rather than guessed.
UNIT_TOLERANCE = 1e-3
LEVELS_FLOOR = 16.0
# A table whose standardised columns sit this many training SDs off centre, or spread
# this many times wider or narrower than the training data's, is in other units.
FAR_OFF_CENTRE = 100.0
SPREAD_FACTOR = 10.0
SPREAD_MIN_SAMPLES = 16


class DataTypeError(DataError, TypeError):
    """Values that are not numbers at all (scikit-learn raises a TypeError there)."""


def check_samples(X, name: str, *, min_dims: int = 2) -> np.ndarray:
    """A numeric, finite, non-empty array of samples: (n, d), (n, H, W) or (n, C, H, W).

    A memory-mapped array stays one (it is checked a block of rows at a time).
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if _is_sparse(X):
        raise DataError(
            f"{name} is a sparse matrix; autoencoders need dense arrays: pass X.toarray()"
        )
    if not isinstance(X, np.memmap):
        X = np.asarray(X)
    if X.dtype == bool:
        X = X.astype(np.float32)
    if X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise DataTypeError(f"{name} must be numeric: {error}") from None
    if np.iscomplexobj(X):
        raise DataError(f"{name}: Complex data not supported; pass real numbers")
    if not np.issubdtype(X.dtype, np.number):
        raise DataTypeError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim < min_dims:
        raise DataError(
            f"{name} must have 2 to 4 dimensions (samples first), got shape {X.shape}: "
            "Reshape your data with X.reshape(-1, 1) for one feature, X.reshape(1, -1) "
            "for one sample"
        )
    if X.ndim > 4:
        raise DataError(f"{name} must have 2 to 4 dimensions (samples first), got shape {X.shape}")
    if len(X) == 0:
        raise DataError(f"{name} is empty (shape {X.shape}); pass at least one sample")
    if X.size == 0:
        raise DataError(
            f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required; "
            "pass at least one feature"
        )
    if np.issubdtype(X.dtype, np.floating) and not _all_finite(X):
        raise DataError(f"{name} contains NaN or infinite values; remove or impute them first")
    return X


def is_samples(y) -> bool:
    """Whether ``y`` is a target of samples (paired training) rather than labels or None."""
    if y is None:
        return False
    return (y.ndim if isinstance(y, np.ndarray | torch.Tensor) else np.asarray(y).ndim) >= 2


def check_features(shape: tuple, expected: tuple, estimator: str, name: str = "X") -> None:
    """Samples shaped as the training data's; for tables, scikit-learn's wording."""
    if tuple(shape) == tuple(expected):
        return
    if columns(shape) and columns(expected):  # tables, and series of one feature
        raise DataError(
            f"{name} has {shape[0]} features, but {estimator} is expecting {expected[0]} "
            "features as input; pass columns like the training data's"
        )
    raise DataError(
        f"{name} has shape {tuple(shape)} per sample but the model expects "
        f"{tuple(expected)}; pass data shaped like the training data"
    )


def image_peak(scaler: Scaler) -> float | None:
    """255 or 1 when ``scaler`` maps one of the two image conventions to [0, 1], else None."""
    if isinstance(scaler, MinMaxScaler) and scaler.low == 0 and scaler.high in IMAGE_PEAKS:
        return scaler.high
    return None


def peak_of(X: np.ndarray, trained_peak: float, name: str) -> float:
    """The convention ``X`` is written in: 255 for uint8 or floats from 16 up, 1 for
    floats up to 1.

    Floats that reach past 1 but not 16 belong to neither and are refused: read in the
    wrong one, the model would answer in the wrong units without a word.
    """
    if X.dtype == np.uint8:
        return 255.0
    high = _max(X)
    if high <= 1 + UNIT_TOLERANCE:
        return 1.0
    if high >= LEVELS_FLOOR:
        return 255.0
    trained = "0–255 (uint8)" if trained_peak == 255 else "[0, 1]"
    raise DataError(
        f"{name} has values up to {high:.4g}: neither floats in [0, 1] nor levels in 0–255 "
        f"(the model was trained on images in {trained}); scale {name} to one of the two"
    )


def scalers_for(
    X: np.ndarray, input_scaler: Scaler, target_scaler: Scaler, *, images: bool, name: str
) -> tuple[Scaler, Scaler]:
    """(input, output) scalers for data in ``X``'s units.

    Images are taken in either convention of image code (uint8 levels or floats in
    [0, 1]) and answered in the caller's; a table in other units than the training
    data's is refused (see :func:`check_table_units`).
    """
    trained = image_peak(input_scaler) if images else None
    if trained is None:
        if isinstance(input_scaler, StandardScaler) and X.ndim >= 2:
            check_table_units(X, input_scaler, name)
        return input_scaler, target_scaler
    peak = peak_of(X, trained, name)
    if peak == trained:
        return input_scaler, target_scaler
    output = MinMaxScaler(0.0, peak) if image_peak(target_scaler) is not None else target_scaler
    return MinMaxScaler(0.0, peak), output


def check_table_units(X: np.ndarray, scaler: StandardScaler, name: str) -> None:
    """Refuse a table that is plainly in other units than the training data's (already
    standardised, or raw where the model was trained on standardised columns)."""
    if tuple(X.shape[1:]) != scaler.mean.shape:
        return  # the shape check says what is wrong
    rows = np.asarray(X[: 2**16], dtype=np.float64).reshape(min(len(X), 2**16), -1)
    z = (rows - scaler.mean.reshape(-1)) / scaler.scale.reshape(-1)
    off_centre = float(np.median(np.abs(np.median(z, axis=0))))
    message = ""
    if off_centre > FAR_OFF_CENTRE:
        message = f"sits {off_centre:.3g} training standard deviations from its centre"
    elif len(rows) >= SPREAD_MIN_SAMPLES:
        spread = z.std(axis=0)
        varied = spread > 0
        if varied.sum() * 2 > len(spread):
            factor = float(np.exp(np.median(np.log(spread[varied]))))
            if not 1 / SPREAD_FACTOR <= factor <= SPREAD_FACTOR:
                message = f"varies {factor:.3g} times as much as the training data"
    if message:
        raise DataError(
            f"{name} {message} (the median over its columns): it is in other units than "
            "the data the model was trained on; pass raw values like the training data's "
            "(the model scales them itself)"
        )


def _max(X: np.ndarray) -> float:
    rows = max(1, 2**20 // max(1, math.prod(X.shape[1:])))
    return max(float(X[i : i + rows].max()) for i in range(0, len(X), rows))


def _all_finite(X: np.ndarray) -> bool:
    """``np.isfinite(X).all()`` a million values at a time, so no full-size mask is built."""
    rows = max(1, 2**20 // max(1, math.prod(X.shape[1:])))
    return all(np.isfinite(X[i : i + rows]).all() for i in range(0, len(X), rows))


def _is_sparse(X) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def columns(shape: tuple) -> bool:
    """Whether a sample of this shape is a row of columns: (d,) or (T, 1)."""
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)
