"""What every autoencoder estimator shares: checking, scaling, fitting, inference, saving.

A family (:class:`~autoencoders.AutoEncoder`, :class:`~autoencoders.VariationalAutoEncoder`,
:class:`~autoencoders.SequenceAutoEncoder`) declares its models, its parameters and its
objective; the base does the rest, the way scikit-learn's ``_BasePCA`` serves ``PCA``
and ``IncrementalPCA``.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from autoencoders import persistence
from autoencoders.data.scaling import Scaler, fit_scaler
from autoencoders.data.streaming import ScaledArray
from autoencoders.errors import DataError, ModelFileError, ParameterError
from autoencoders.estimators import fitting, inference, inputs
from autoencoders.models import ModelConfig, code_shape
from autoencoders.training import Checkpoint, Corruption, TrainConfig, Trainer
from autoencoders.training.runtime import (
    PRECISIONS,
    resolve_device,
    resolve_seed,
    seeded_global_rng,
)

MAX_PLOT_CODE = 3  # codes this small are plotted, so they stay linear
INFERENCE_BATCH = 4096


CONV_FILTERS = (32, 32)  # the Keras tutorial's
RESIDUAL_FILTERS = (64, 128)  # two halvings: 32×32 photos give an 8×8 code map


class BaseAutoEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base of the estimator families; not used on its own (see the families' docstrings).

    ``transform`` encodes (the encoder on its own), ``inverse_transform`` decodes (the
    decoder on its own), ``predict`` reconstructs and ``score_samples`` gives the
    negative reconstruction error of each sample (higher is more normal).
    """

    models: ClassVar[tuple[str, ...]] = ()  # the ``model`` names this family builds
    default_hidden: ClassVar[dict[str, tuple[int, ...]]] = {}
    default_latent: ClassVar[dict[str, int]] = {}
    losses: ClassVar[tuple[str, ...]] = ("bce", "cb", "mse")
    families: ClassVar[dict[str, type[BaseAutoEncoder]]] = {}  # class name -> family

    _parameter_constraints: ClassVar[dict] = {
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "hidden": [tuple, list, None],
        "noise": [str, None],
        "optimizer": [StrOptions({"adam", "adadelta", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": [Interval(Integral, 1, None, closed="left"), None],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "precision": [StrOptions(set(PRECISIONS))],
        "compile": ["boolean"],
        "shuffle": ["boolean"],
        "scaling": [StrOptions({"auto", "minmax", "standard", "none"})],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str],
        "verbose": ["verbose"],
    }

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if BaseAutoEncoder in cls.__bases__:  # a family, not a user's subclass of one
            BaseAutoEncoder.families[cls.__name__] = cls

    @classmethod
    def family(cls) -> type[BaseAutoEncoder]:
        """The family this class belongs to (itself, or the family a user subclassed)."""
        return next(c for c in cls.__mro__ if c in cls.families.values())

    # ------------------------------------------------------------- family hooks
    def _check_settings(self, *, paired: bool, bounded: bool, images: bool) -> None:
        """Refuse combinations of parameters and data the family cannot train."""

    def _resolve_options(self) -> None:
        """Set the fitted attributes that follow from the parameters alone."""

    def _resolved_options(self) -> dict:
        """Those attributes, for ``config.json`` to show (``load`` resolves them again)."""
        return {}

    def _objective(self) -> torch.nn.Module:
        raise NotImplementedError

    def _trainer(self, config: TrainConfig, x, seed: int, corruption) -> Trainer:
        return Trainer(config, self._objective(), corruption=corruption, seed=seed)

    def _init(self) -> str:
        """How the weights start: ``random`` (Glorot, data-set biases) or ``pca``/``auto``."""
        return "random"

    def _regularised(self) -> bool:
        """Whether something other than the code's size keeps the model from the identity."""
        return bool(self.noise)

    def _code_activation(self) -> str | None:
        """A code of at most three units (a plot's axes) stays linear: a ReLU can silence
        one and collapse every input onto a line or a point. None: the hidden layers'."""
        latent = self.latent_dim or self.default_latent.get(self.model)
        return "linear" if latent is not None and latent <= MAX_PLOT_CODE else None

    def _architecture(self) -> dict:
        """The family's own fields of the :class:`ModelConfig` (filters, activation)."""
        return {}

    def _filters(self) -> tuple[int, ...]:
        """The conv channels given, or the model's own default."""
        if self.filters is not None:
            return tuple(self.filters)
        return RESIDUAL_FILTERS if "resnet" in self.model else CONV_FILTERS  # resnet, pca-resnet

    def _images(self, X: np.ndarray) -> bool:
        return X.ndim >= 3

    def _samples(self, X, name: str) -> np.ndarray:
        return inputs.check_samples(X, name)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, validation_data=None, checkpoint=None, callbacks=()):
        """Train on ``X``; a ``y`` with the shape of samples is the target to reconstruct.

        A 1-D ``y`` (class labels, as a ``Pipeline`` passes them) is ignored. A 2-D or
        higher ``y`` makes this paired training (``X`` in, ``y`` out): a denoiser, a
        colouriser, an inpainter. ``validation_data`` is ``X_val`` or ``(X_val, y_val)``.

        A memory-mapped ``X`` (``np.load(path, mmap_mode="r")``) stays on disk: each
        batch is read and scaled as training needs it, so the data may be larger than
        memory. Under ``torch.distributed`` (torchrun), every rank calls ``fit`` alike and
        trains on its shard of each epoch (see :mod:`autoencoders.training.distributed`).

        With ``checkpoint`` (a file path), the training state is saved there atomically
        after every epoch, and a fit started again with the same settings and data
        resumes from it, ending with the same weights as an uninterrupted fit.

        ``callbacks`` are called as ``callback(row, module)`` after every epoch, ``row``
        being that epoch's :attr:`history_` entry; for instance a
        :class:`~autoencoders.training.tensorboard.TensorBoardLogger`.
        """
        self._check_family()
        self._validate_params()
        _check_feature_names(self, X, reset=True)
        X = self._samples(X, "X")
        paired = inputs.is_samples(y)
        target = self._samples(y, "y") if paired else X
        if len(target) != len(X):
            raise DataError(f"X has {len(X)} samples but y has {len(target)}; they must match")
        seed = resolve_seed(self.random_state)
        self.random_seed_ = seed
        self.device_ = resolve_device(self.device)

        self.paired_ = paired  # trained toward a y of its own, not to reconstruct X
        self.input_scaler_ = self._fit_scaler(X)
        self.target_scaler_ = self._fit_scaler(target) if paired else self.input_scaler_
        bounded = self.target_scaler_.kind == "minmax"
        self.loss_ = self.loss if self.loss != "auto" else self._default_loss(bounded)
        self._check_settings(paired=paired, bounded=bounded, images=self._images(target))
        if self.loss_ in ("bce", "cb") and not bounded:
            raise DataError(
                f"loss={self.loss_!r} needs targets scaled to [0, 1]; use scaling='minmax' "
                "or loss='mse'"
            )
        corruption = Corruption.parse(self.noise, clip=bounded) if self.noise else None
        self.corruption_ = corruption
        self._resolve_options()

        x = self._to_tensor(self.input_scaler_, X).to(self.device_)
        t = x if not paired else self._to_tensor(self.target_scaler_, target).to(self.device_)
        validation = self._validation_tensors(validation_data)
        if validation is None and self.validation_split > 0:
            x, t, validation = fitting.split(x, t, self.validation_split, seed)

        hidden = self.hidden if self.hidden is not None else self.default_hidden.get(self.model)
        self.model_config_ = ModelConfig(
            model=self.model,
            input_shape=tuple(x.shape[1:]),
            output_shape=tuple(t.shape[1:]),
            latent_dim=self.latent_dim or self.default_latent.get(self.model),
            hidden=tuple(hidden or ()),
            output_activation="sigmoid" if self._sigmoid_output(bounded) else "linear",
            code_activation=self._code_activation(),
            **self._architecture(),
        )
        self.module_ = fitting.new_module(self.model_config_, x, t, seed, self._init()).to(
            self.device_
        )
        self._set_shape_attributes()
        # A model whose output is not its input (grey → colour) cannot copy it through.
        mapping = self.model_config_.output_shape != self.model_config_.input_shape
        fitting.warn_if_overcomplete(
            self.input_shape_, self.code_shape_, self._regularised() or mapping
        )
        config = fitting.train_config(self, self._inference_batch(), callbacks)
        trainer = self._trainer(config, x, seed, corruption)
        if checkpoint is not None:
            checkpoint = Checkpoint(
                checkpoint, fitting.fingerprint(self.get_params(), seed, X, target)
            )
        result = trainer.fit(self.module_, x, t, validation, checkpoint=checkpoint)
        self.history_ = result.history
        self.stop_reason_ = result.stop_reason
        if result.stop_reason not in ("completed", "early_stopping"):
            warnings.warn(result.stop_reason, fitting.TrainingWarning, stacklevel=2)
        return self

    def _check_family(self) -> None:
        """A model of another family gets its name, rather than a list of options."""
        for family in self.families.values():
            if self.model in family.models and not isinstance(self, family):
                raise ParameterError(
                    f"model={self.model!r} is a {family.__name__}: use "
                    f"{family.__name__}({self.model!r}) or estimator_for({self.model!r})"
                )

    def _default_loss(self, bounded: bool) -> str:
        return "bce" if bounded else "mse"

    def _sigmoid_output(self, bounded: bool) -> bool:
        return bounded

    def _fit_scaler(self, X: np.ndarray) -> Scaler:
        method = self.scaling
        if method == "auto":
            in_unit_range = X.dtype == np.uint8 or (X.min() >= 0 and X.max() <= 1)
            method = "minmax" if self._images(X) or in_unit_range else "standard"
        return fit_scaler(X, method, kind="image" if self._images(X) else "table")

    def _validation_tensors(self, validation_data):
        if validation_data is None:
            return None
        if isinstance(validation_data, tuple | list):
            X_val = validation_data[0]
            y_val = validation_data[1] if len(validation_data) > 1 else None
        else:
            X_val, y_val = validation_data, None
        x_val = self._to_tensor(self.input_scaler_, self._samples(X_val, "validation X"))
        if not inputs.is_samples(y_val):
            t_val = x_val
        else:
            t_val = self._to_tensor(self.target_scaler_, self._samples(y_val, "validation y"))
        return x_val.to(self.device_), t_val.to(self.device_)

    def _set_shape_attributes(self) -> None:
        """Shapes a fitted (or loaded) model exposes, derived from its config."""
        self.input_shape_ = self.model_config_.input_shape
        self.output_shape_ = self.model_config_.output_shape
        self.code_shape_ = code_shape(self.module_, self.input_shape_)
        if inputs.columns(self.input_shape_):  # X was 2-D: columns, or one feature's steps
            self.n_features_in_ = self.input_shape_[0]
        self._n_features_out = math.prod(self.code_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu" and torch.cuda.is_available()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ---------------------------------------------------------------- inference
    def transform(self, X) -> np.ndarray:
        """Encode: one flat code per sample, shape (n, code size)."""
        x, _ = self._input(X)
        codes = self._run(self._inference_model().encoder, x)
        return self._like(X, codes.reshape(len(codes), -1))

    def inverse_transform(self, X) -> np.ndarray:
        """Decode codes back to the data's space, in the units of the training data."""
        check_is_fitted(self)
        codes = inputs.check_samples(X, "codes")
        size = math.prod(self.code_shape_)
        if math.prod(codes.shape[1:]) != size:
            raise DataError(
                f"codes have shape {codes.shape[1:]} per sample but this model's code has "
                f"{size} values; pass the output of transform/encode"
            )
        codes_t = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.float32))
        decoded = self._run(self.module_.decoder, codes_t.reshape(len(codes), *self.code_shape_))
        return self._like(codes, self.target_scaler_.inverse_transform(decoded))

    def predict(self, X) -> np.ndarray:
        """Reconstruct (and, for a denoising or paired model, clean up) ``X``, in ``X``'s
        units: a model trained on uint8 images takes floats in [0, 1] too and answers in
        them."""
        x, output_scaler = self._input(X)
        decoded = self._run(self._inference_model().reconstruct, x)
        return self._like(X, output_scaler.inverse_transform(decoded))

    def score_samples(self, X) -> np.ndarray:
        """Negative reconstruction error of each sample (the training loss, per sample)."""
        x, _ = self._input(X)
        if self.output_shape_ != self.input_shape_:
            raise DataError(
                "score_samples needs a model that reconstructs its input; "
                "this one maps inputs to targets of another shape"
            )
        objective, model = self._objective(), self._inference_model()
        with seeded_global_rng(self.random_seed_, 0, self.device_):  # a VAE's posterior draw
            errors = self._run(lambda xb: objective.per_sample(model(xb), xb), x)
        return -errors.astype(np.float64)

    def score(self, X, y=None) -> float:
        """Mean of :meth:`score_samples`."""
        return float(self.score_samples(X).mean())

    def evaluate(self, X, y=None, *, noise: str | None = None, random_state: int = 0) -> dict:
        """Reconstruction metrics (BCE, MSE, PSNR) on ``X`` (against ``y`` if paired).

        With ``noise``, ``X`` is corrupted first (seeded) and the metrics measure how
        well the model restores the clean data; ``noisy_*`` give the corrupted input's.
        Measured a batch at a time (each metric is a mean over samples), so a
        memory-mapped ``X`` is never held whole.
        """
        x, _ = self._input(X)
        target = x
        if inputs.is_samples(y):
            y = self._samples(y, "y")
            target = inference.scaled(self._scalers_for(y, "y")[1], y, self._images(y))
        if len(target) != len(x):
            raise DataError(f"X has {len(x)} samples but y has {len(target)}; they must match")
        bounded = self._bounded_output()
        corruption = Corruption.parse(noise, clip=bounded) if noise else None
        model = self._inference_model()
        reconstruct = lambda xb: torch.from_numpy(self._run(model.reconstruct, xb))  # noqa: E731
        batch = self._inference_batch()
        return inference.evaluate(
            reconstruct, x, target, corruption, bounded=bounded, batch=batch, seed=random_state
        )

    def corrupt(self, X, noise: str | None = None, *, random_state: int = 0) -> np.ndarray:
        """``X`` with a corruption applied (the model's own ``noise`` by default), seeded,
        in ``X``'s units: the noisy inputs a denoising model is meant to clean up."""
        noise = noise or self.noise
        if not noise:
            raise ValueError("no noise given and the model was not trained with one")
        check_is_fitted(self)
        X = self._samples(X, "X")
        input_scaler, _ = self._scalers_for(X, "X")
        x = self._to_tensor(input_scaler, X, self.input_shape_)[:]  # a whole memory map
        rng = torch.Generator().manual_seed(random_state)
        noisy = Corruption.parse(noise, clip=self._bounded_output())(x, rng)
        return self._like(X, input_scaler.inverse_transform(noisy.numpy()))

    def _bounded_output(self) -> bool:
        return self.model_config_.output_activation == "sigmoid"

    # ------------------------------------------------------------------ helpers
    def _input(self, X, name: str = "X") -> tuple[torch.Tensor | ScaledArray, Scaler]:
        """The scaled samples of ``X`` and the scaler that writes outputs in its units."""
        check_is_fitted(self)
        _check_feature_names(self, X, reset=False)
        X = self._samples(X, name)
        input_scaler, output_scaler = self._scalers_for(X, name)
        return self._to_tensor(input_scaler, X, self.input_shape_, name), output_scaler

    def _scalers_for(self, X: np.ndarray, name: str) -> tuple[Scaler, Scaler]:
        """(input, output) scalers for data in ``X``'s units (see :func:`inputs.scalers_for`)."""
        return inputs.scalers_for(
            X,
            self.input_scaler_,
            self.target_scaler_,
            images=len(self.input_shape_) == 3,
            name=name,
        )

    def _to_tensor(
        self, scaler: Scaler, X: np.ndarray, expected: tuple | None = None, name: str = "X"
    ) -> torch.Tensor | ScaledArray:
        images = self._images(X)
        if expected is not None:  # before scaling, whose own check knows less
            shape = (1, *X.shape[1:]) if images and X.ndim == 3 else X.shape[1:]
            inputs.check_features(shape, expected, type(self).__name__, name)
        return inference.scaled(scaler, X, images)

    @staticmethod
    def _like(X, output: np.ndarray) -> np.ndarray:
        """float64 out for float64 in (scikit-learn's dtype contract), else float32."""
        return output.astype(np.float64) if getattr(X, "dtype", None) == np.float64 else output

    def _inference_model(self) -> torch.nn.Module:
        """The network that transform, predict, score and evaluate run (a family may
        wrap ``module_``): it has ``encoder``, ``reconstruct`` and a forward pass."""
        return self.module_

    def _inference_batch(self) -> int:
        return inference.batch_size(self.model_config_)

    def _run(self, fn, x: torch.Tensor | ScaledArray) -> np.ndarray:
        """Apply ``fn`` in large batches on the model's device; numpy out."""
        batch = self._inference_batch()
        return inference.run(
            self.module_, fn, x, batch=batch, device=self.device_, precision=self.precision
        )

    # -------------------------------------------------------------- persistence
    def save(self, path: str | Path, *, metrics: dict | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors``, ``history.csv`` (+ ``metrics.json``)."""
        return persistence.save_estimator(self, path, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> BaseAutoEncoder:
        """Rebuild a saved model from its directory; never unpickles.

        ``AutoEncoder.load`` and the other families load their own kind (and refuse
        another's); :func:`autoencoders.load` loads any.
        """
        saved = persistence.read_estimator(path, families=cls.families)
        family = cls.families[saved.estimator]
        if not issubclass(family, cls):
            raise ModelFileError(
                f"{path}: holds a {saved.estimator}, not a {cls.__name__}; load it with "
                f"{saved.estimator}.load or autoencoders.load"
            )
        estimator = family(**saved.params)
        persistence.restore(estimator, saved, resolve_device(device))
        estimator._resolve_options()
        estimator._set_shape_attributes()
        return estimator
