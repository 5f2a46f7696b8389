"""What the server does, without the web framework: checks requests and runs the model.

Every method takes and returns NumPy arrays in the data's own units (as the
estimator's methods do) and raises :class:`~autoencoders.errors.DataError` with a
one-line message for anything a client got wrong; the app turns that into a 4xx.
The model is loaded once and called by one request at a time (a lock), each call
using all of PyTorch's threads.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from autoencoders.errors import DataError
from autoencoders.estimators import VariationalAutoEncoder

# Far beyond any data a model is trained on, and small enough that no layer overflows float32.
MAX_ABS = 1e9
IMAGE_FORMATS = ("PNG", "JPEG")  # the only decoders a request can reach
THRESHOLD_QUANTILE = 0.99  # a run with no saved threshold flags the top 1% of its data


@dataclass(frozen=True)
class Limits:
    """What one request may ask for: bounded so that no client can exhaust the server."""

    max_batch: int = 256
    max_request_bytes: int = 8 * 2**20


@dataclass(frozen=True)
class AnomalyScore:
    """How ``/score`` scores samples (higher is more anomalous) and where it flags them."""

    score: Callable[[np.ndarray], np.ndarray]
    threshold: float
    source: str  # where the threshold came from, e.g. "given with --threshold"


def model_score(estimator) -> Callable[[np.ndarray], np.ndarray]:
    """The model's own score: minus ``score_samples`` (reconstruction error, or -ELBO)."""
    return lambda X: -np.asarray(estimator.score_samples(X), dtype=np.float64)


def calibrated(score: Callable, X: np.ndarray, source: str) -> AnomalyScore:
    """A threshold at the 99th percentile of the scores of ``X`` (normal data)."""
    value = float(np.quantile(score(X), THRESHOLD_QUANTILE))
    quantile = f"{THRESHOLD_QUANTILE * 100:.0f}th percentile"
    return AnomalyScore(score, value, f"{quantile} of the scores of {source}")


class ModelService:
    """A fitted estimator behind checked, bounded, thread-safe calls."""

    def __init__(self, estimator, anomaly: AnomalyScore, limits: Limits = Limits()) -> None:
        self.estimator = estimator
        self.anomaly = anomaly
        self.limits = limits
        self.input_shape = tuple(estimator.input_shape_)
        self.output_shape = tuple(estimator.output_shape_)
        self.code_size = math.prod(estimator.code_shape_)
        self.variational = isinstance(estimator, VariationalAutoEncoder)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ describing
    @property
    def images_in(self) -> bool:
        return len(self.input_shape) == 3 and self.input_shape[0] in (1, 3)

    @property
    def images_out(self) -> bool:
        return len(self.output_shape) == 3 and self.output_shape[0] in (1, 3)

    def describe(self) -> dict:
        config = self.estimator.model_config_
        return {
            "status": "ok",
            "model": config.model,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "code_size": self.code_size,
            "variational": self.variational,
            "threshold": self.anomaly.threshold,
            "threshold_source": self.anomaly.source,
            "max_batch": self.limits.max_batch,
            "max_request_bytes": self.limits.max_request_bytes,
        }

    # ------------------------------------------------------------------ requests in
    def samples(self, values: list) -> np.ndarray:
        """JSON samples: each flat (prod of the input shape) or nested to the input shape."""
        return self._array(values, self.input_shape, "inputs")

    def codes(self, values: list) -> np.ndarray:
        return self._array(values, (self.code_size,), "codes")

    def images(self, blobs: list[bytes]) -> np.ndarray:
        """PNG (or other PIL-readable) images of exactly the model's size, in its units."""
        if not self.images_in:
            raise DataError(
                f"this model takes samples of shape {self.input_shape}, not images; "
                "send JSON {'inputs': [...]}"
            )
        self._check_batch(len(blobs), "images")
        channels, height, width = self.input_shape
        pixels = []
        for i, blob in enumerate(blobs):
            try:
                with Image.open(io.BytesIO(blob), formats=IMAGE_FORMATS) as image:
                    size = image.size
                    if size == (width, height):  # checked before any pixel is decoded
                        array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
            except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
                raise DataError(f"image {i} is not a readable PNG or JPEG image") from None
            if size != (width, height):
                raise DataError(
                    f"image {i} is {size[0]}×{size[1]} pixels; this model takes {width}×{height}"
                )
            array = array[None] if channels == 1 else array.transpose(2, 0, 1)
            pixels.append(array.astype(np.float32) / 255.0)
        # Pixels are what the network sees ([0, 1]); the scaler maps them to the data's units.
        return self.estimator.input_scaler_.inverse_transform(np.stack(pixels))

    def sample_count(self, n: int) -> int:
        self._check_batch(n, "samples")
        return n

    # ---------------------------------------------------------------- the model
    def encode(self, X: np.ndarray) -> np.ndarray:
        return self._call(self.estimator.transform, X)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self._call(self.estimator.inverse_transform, codes)

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return self._call(self.estimator.predict, X)

    def score(self, X: np.ndarray) -> dict:
        scores = self._call(self.anomaly.score, X)
        threshold = self.anomaly.threshold
        return {
            "scores": scores.tolist(),
            "anomalous": (scores > threshold).tolist(),
            "threshold": threshold,
        }

    def sample(self, n: int, seed: int | None) -> np.ndarray:
        if not self.variational:
            raise NotVariationalError(
                f"this model ({self.estimator.model_config_.model}) is not variational; "
                "/sample needs one trained with model='vae' or 'conv-vae'"
            )
        return self._call(lambda k: self.estimator.sample(k, random_state=seed), n)

    # ---------------------------------------------------------------- answers out
    def to_png(self, outputs: np.ndarray) -> bytes:
        """Outputs as one PNG: a single image, or a row of them."""
        if not self.images_out:
            raise DataError("this model's outputs are not images; ask for JSON (format=json)")
        shown = np.clip(self.estimator.target_scaler_.transform(outputs), 0, 1)
        pixels = np.rint(shown * 255).astype(np.uint8)  # (n, C, H, W)
        strip = np.concatenate(list(pixels), axis=2)  # (C, H, n·W)
        image = Image.fromarray(strip[0] if strip.shape[0] == 1 else strip.transpose(1, 2, 0))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    # ---------------------------------------------------------------- helpers
    def _array(self, values: list, shape: tuple[int, ...], name: str) -> np.ndarray:
        self._check_batch(len(values), name)
        try:
            array = np.asarray(values, dtype=np.float64)  # checked before rounding to float32
        except (ValueError, TypeError):
            raise DataError(
                f"{name}: samples of different shapes; every sample must have shape "
                f"{shape} (or be a flat list of {math.prod(shape)} numbers)"
            ) from None
        size = math.prod(shape)
        if array.ndim < 2 or math.prod(array.shape[1:]) != size:
            got = tuple(array.shape[1:]) if array.ndim >= 2 else "a number"
            raise DataError(
                f"{name}: each sample has shape {got} but this model takes {shape} ({size} numbers)"
            )
        if not (np.abs(array) <= MAX_ABS).all():  # also refuses NaN
            raise DataError(f"{name}: values must be numbers between -{MAX_ABS:g} and {MAX_ABS:g}")
        return array.astype(np.float32).reshape(len(array), *shape)

    def _check_batch(self, n: int, name: str) -> None:
        if n < 1:
            raise DataError(f"{name}: give at least one")
        if n > self.limits.max_batch:
            raise DataError(
                f"{name}: {n} in one request; this server takes at most {self.limits.max_batch}"
            )

    def _call(self, fn, argument) -> np.ndarray:
        with self._lock:
            result = np.asarray(fn(argument))
        if not np.isfinite(result).all():
            raise DataError(
                "the model's output is not finite for these inputs; "
                "their values are far outside the training data's range"
            )
        return result


class NotVariationalError(DataError):
    """``/sample`` asked of a model that cannot sample (HTTP 400)."""
