"""Anomaly detection: fit an autoencoder on (mostly) normal data, flag what it cannot rebuild.

A sample's anomaly score is how badly the model explains it: its reconstruction error
(one number per sample, or per feature / per pixel as an error map) or, for a
variational model, its negative ELBO. The threshold is the ``1 − contamination``
quantile of the training scores, as in PyOD; the methods follow scikit-learn's outlier
detectors (``score_samples`` higher for normal samples, ``predict`` +1 normal, −1 anomaly).

>>> from autoencoders.applications import AnomalyDetector
>>> from autoencoders.data import load_dataset
>>> digits = load_dataset("digits")
>>> detector = AnomalyDetector(contamination=0.05, random_state=0).fit(digits.X)
>>> labels = detector.predict(digits.X)        # +1 normal, -1 anomaly
>>> maps = detector.error_map(digits.X[:8])     # (8, 1, 8, 8): where each image went wrong
"""

from __future__ import annotations

import json
import math
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from autoencoders.errors import DataError, ModelFileError
from autoencoders.estimators import AutoEncoder
from autoencoders.estimators import load as load_model
from autoencoders.estimators.inputs import check_samples
from autoencoders.files import atomic_write_bytes

DETECTOR = "detector.json"  # beside the wrapped model's config.json and model.safetensors
FORMAT_VERSION = 2  # 2: the parameter score became anomaly_score
SCORES = ("model", "mse", "normalized")
# Each feature's mean squared error is floored at this fraction of the average over
# features, so a feature that is always reconstructed exactly cannot blow up the score.
ERROR_FLOOR = 1e-3


def default_model(X, *, random_state=None, verbose: int = 0) -> AutoEncoder:
    """The autoencoder :class:`AnomalyDetector` trains when given no model.

    Tables: a dense d-16-8-16-d model trained to fill in features masked at random (a
    denoising objective), which keeps it from rebuilding rare, odd rows; large
    batches (512, with the learning rate doubled to match) keep fitting fast. Images: the
    deep dense model with a 16-unit code, 30 epochs. One setting for every data set,
    chosen on benchmarks/results/tabular_anomaly.md and one_class.md.
    """
    common = {"random_state": random_state, "verbose": verbose}
    if np.ndim(X) == 2:
        return AutoEncoder(
            "dense",
            hidden=(16,),
            latent_dim=8,
            noise="mask:0.3",
            epochs=20,
            batch_size=512,
            learning_rate=4e-3,
            **common,
        )
    # Adam at 2e-3, the rate one_class.md was measured with (the estimators' default, 4e-3,
    # was chosen later, for time to quality on MNIST).
    return AutoEncoder(
        "deep", latent_dim=16, epochs=30, batch_size=128, learning_rate=2e-3, **common
    )


class AnomalyDetector(OutlierMixin, BaseEstimator):
    """Flags the samples an autoencoder reconstructs badly, with scikit-learn's outlier API.

    Parameters
    ----------
    model : estimator or None
        Anything with ``fit`` and ``score_samples`` (higher for more normal samples),
        cloned before fitting: an :class:`~autoencoders.AutoEncoder` of any kind (its
        score is the negative reconstruction error, a variational model's its ELBO).
        Wrap a model that is already trained in :class:`sklearn.frozen.FrozenEstimator`
        to use it as it is: ``fit`` then only sets the threshold. None trains
        :func:`default_model` for the data.
    contamination : float in (0, 0.5]
        Expected fraction of anomalies in the training data. The threshold is the
        ``1 − contamination`` quantile of the training scores: 0.05 puts it at their
        95th percentile.
    anomaly_score : {"auto", "model", "mse", "normalized"}
        The anomaly score. ``model``: minus the model's own ``score_samples`` (the loss it
        was trained with, per sample; a VAE's negative ELBO). ``mse``: the mean squared
        reconstruction error over features or pixels. ``normalized``: each feature's
        squared error divided by its mean over the training data, then averaged, so a
        feature the model always rebuilds well counts as much as a noisy one. ``auto``:
        ``normalized`` for tables, ``mse`` for images (measured better than the BCE the
        image models train with: benchmarks/results/one_class.md).
    trim : float in [0, 0.5)
        Robust fitting for contaminated training data: each of ``screens`` quick fits
        scores all the training data and drops the top ``trim`` fraction from the next
        fit, so the final model has not learned to rebuild the anomalies. 0 fits once,
        on everything.
    screens : int
        How many screening fits precede the final one (with ``trim`` > 0).
    screen_epochs : int or None
        Epochs of a screening fit (a model without an ``epochs`` parameter, or None,
        trains as configured): a rough model is enough to find the worst samples.
    random_state : int, RandomState or None
        Seed of the default model (a given model keeps its own).
    verbose : int
        Training progress of the default model.

    Attributes
    ----------
    model_ : estimator
        The fitted model.
    anomaly_score_ : str
        The score in use (``auto`` resolved).
    threshold_ : float
        Samples whose anomaly score (``-score_samples``) exceeds it are anomalies.
    offset_ : float
        ``-threshold_``: scikit-learn's name, ``decision_function = score_samples - offset_``.
    n_features_in_ : int
        Columns of a table ``X`` (not set for images).
    error_scale_ : ndarray or None
        Per feature or pixel, the mean squared error on the training samples the final
        model was fitted on (``normalized`` only).
    """

    _parameter_constraints: ClassVar[dict] = {
        "model": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "anomaly_score": [StrOptions({"auto", *SCORES})],
        "trim": [Interval(Real, 0, 0.5, closed="left")],
        "screens": [Interval(Integral, 0, None, closed="left")],
        "screen_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model=None,
        *,
        contamination: float = 0.1,
        anomaly_score: str = "auto",
        trim: float = 0.2,
        screens: int = 2,
        screen_epochs: int | None = 3,
        random_state=None,
        verbose: int = 0,
    ) -> None:
        self.model = model
        self.contamination = contamination
        self.anomaly_score = anomaly_score
        self.trim = trim
        self.screens = screens
        self.screen_epochs = screen_epochs
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None) -> AnomalyDetector:
        """Train the model on ``X`` and set the threshold from its scores; ``y`` is ignored."""
        self._validate_params()
        X = check_samples(X, "X")
        self.anomaly_score_ = self.anomaly_score
        if self.anomaly_score == "auto":
            self.anomaly_score_ = "normalized" if X.ndim == 2 else "mse"
        self.error_scale_ = None
        keep = np.ones(len(X), dtype=bool)
        screens = 0 if self.trim == 0 or isinstance(self.model, FrozenEstimator) else self.screens
        for _ in range(screens):
            self.model_ = self._fit_model(X[keep], screen=True)
            scores = self._fitted_scores(X, keep)
            keep = scores <= np.quantile(scores, 1 - self.trim)
        self.model_ = self._fit_model(X[keep])
        scores = self._fitted_scores(X, keep)
        self.threshold_ = float(np.quantile(scores, 1 - self.contamination))
        self._set_fitted_shape()
        return self

    def _set_fitted_shape(self) -> None:
        self.offset_ = -self.threshold_
        if X_columns := getattr(self.model_, "n_features_in_", None):
            self.n_features_in_ = X_columns

    def _fit_model(self, X: np.ndarray, *, screen: bool = False):
        if self.model is None:
            model = default_model(X, random_state=self.random_state, verbose=self.verbose)
        else:
            model = clone(self.model)
        if screen and self.screen_epochs and "epochs" in model.get_params():
            model.set_params(epochs=self.screen_epochs)
        return model.fit(X, None)  # None: a FrozenEstimator's fit takes y positionally

    def _fitted_scores(self, X: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Anomaly scores of the training data; ``normal`` marks the samples (those the
        model was fitted on) that set the per-feature scale of the ``normalized`` score."""
        if self.anomaly_score_ != "normalized":
            return self._anomaly_scores(X)
        errors = self.error_map(X)
        scale = errors[normal].mean(axis=0)
        self.error_scale_ = np.maximum(scale, ERROR_FLOOR * scale.mean() + 1e-12)
        return (errors / self.error_scale_).reshape(len(X), -1).mean(1)

    # ---------------------------------------------------------------- scoring
    def score_samples(self, X) -> np.ndarray:
        """Minus the anomaly score of each sample: the lower, the more abnormal."""
        check_is_fitted(self)
        return -self._anomaly_scores(X)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples + threshold_``: negative for anomalies, positive for normal samples."""
        return self.score_samples(X) + self.threshold_

    def predict(self, X) -> np.ndarray:
        """+1 for normal samples, −1 for anomalies."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def error_map(self, X) -> np.ndarray:
        """Squared reconstruction error of every feature or pixel, on the scale the network
        sees (images in [0, 1], tables standardised): shape (n, features) or (n, C, H, W).

        Needs a model that reconstructs its input (an AutoEncoder)."""
        check_is_fitted(self, "model_")
        model = self.model_
        X = check_samples(X, "X")
        reconstruction = model.target_scaler_.transform(model.predict(X))
        if reconstruction.ndim == 3:
            reconstruction = reconstruction[:, None]
        original = model.input_scaler_.transform(X).reshape(reconstruction.shape)
        return np.square(original - reconstruction, dtype=np.float32)

    def _anomaly_scores(self, X) -> np.ndarray:
        X = check_samples(X, "X")
        if self.anomaly_score_ == "model":
            return -np.asarray(self.model_.score_samples(X), dtype=np.float64)
        errors = self.error_map(X)
        if self.anomaly_score_ == "normalized":
            errors = errors / self.error_scale_
        return errors.reshape(len(errors), -1).mean(1, dtype=np.float64)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model's files (``config.json``, ``model.safetensors``…) + ``detector.json``."""
        check_is_fitted(self)
        model = self.model_
        if not hasattr(model, "save"):
            raise DataError(
                f"cannot save a detector around {type(model).__name__}; "
                "only autoencoders have a file format"
            )
        path = Path(model.save(path))
        scale = self.error_scale_
        fitted = {
            "score": self.anomaly_score_,
            "threshold": self.threshold_,
            "error_scale": None if scale is None else scale.ravel().tolist(),
        }
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "model"}
        document = {"format_version": FORMAT_VERSION, "params": params, "fitted": fitted}
        atomic_write_bytes(path / DETECTOR, (json.dumps(document, indent=2) + "\n").encode())
        return path

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> AnomalyDetector:
        """Rebuild a saved detector (JSON and safetensors only, never unpickled)."""
        path = Path(path)
        document = _read_detector_json(path / DETECTOR)
        model = load_model(path, device=device)
        where = path / DETECTOR
        params, fitted = document["params"], document["fitted"]
        if document["format_version"] == 1 and "score" in params:  # renamed in format 2
            params = {**params, "anomaly_score": params.pop("score")}
        try:
            detector = cls(clone(model), **params)
            detector._validate_params()
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: invalid params ({error})") from None
        score, threshold = fitted.get("score"), fitted.get("threshold")
        if score not in SCORES:
            raise ModelFileError(f"{where}: fitted.score must be one of {', '.join(SCORES)}")
        if not isinstance(threshold, Real) or not math.isfinite(threshold):
            raise ModelFileError(f"{where}: fitted.threshold must be a finite number")
        detector.model_, detector.anomaly_score_, detector.threshold_ = (
            model,
            score,
            float(threshold),
        )
        detector.error_scale_ = _error_scale(fitted.get("error_scale"), model, score, where)
        detector._set_fitted_shape()
        return detector


def _read_detector_json(file: Path) -> dict:
    try:
        document = json.loads(file.read_text())
    except FileNotFoundError:
        raise ModelFileError(
            f"{file}: missing; {file.parent} is a model but not a saved AnomalyDetector"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{file}: unreadable JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("format_version"), int):
        raise ModelFileError(f"{file}: expected a JSON object with an integer 'format_version'")
    if document["format_version"] > FORMAT_VERSION:
        raise ModelFileError(
            f"{file}: saved with format version {document['format_version']}, newer than this "
            f"library reads ({FORMAT_VERSION}); upgrade autoencoders"
        )
    for key in ("params", "fitted"):
        if not isinstance(document.get(key), dict):
            raise ModelFileError(f"{file}: missing or invalid section {key!r}")
    return document


def _error_scale(values, model: AutoEncoder, score: str, where: Path) -> np.ndarray | None:
    if score != "normalized":
        return None
    shape = tuple(model.input_shape_)
    try:
        scale = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        scale = np.empty(0)
    if scale.size != math.prod(shape) or not (np.isfinite(scale).all() and (scale > 0).all()):
        raise ModelFileError(
            f"{where}: fitted.error_scale must list {math.prod(shape)} positive numbers "
            "(one per input value)"
        )
    return scale.reshape(shape)
