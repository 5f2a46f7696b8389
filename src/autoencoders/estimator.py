"""The scikit-learn face of the toolkit: ``AutoEncoder().fit(X).transform(X)``."""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from autoencoders.data import Scaler, fit_scaler
from autoencoders.data.streaming import ScaledArray
from autoencoders.errors import DataError, ParameterError
from autoencoders.metrics import reconstruction_metrics
from autoencoders.models import ModelConfig, build_model, code_shape
from autoencoders.models.base import glorot_init_, init_relu_biases_
from autoencoders.models.variational import VariationalAutoencoder
from autoencoders.training import (
    Checkpoint,
    ContractivePenalty,
    Corruption,
    KLSparsity,
    L1Sparsity,
    Objective,
    ReconstructionLoss,
    TrainConfig,
    Trainer,
    recirculation,
)
from autoencoders.training.corruption import binarize
from autoencoders.training.neighbors import NeighborEmbedding, NeighborGraph
from autoencoders.training.trainer import PRECISIONS, autocast, seeded_global_rng
from autoencoders.training.variational import ELBO, importance_sampled_log_likelihood

DENSE_MODELS = ("dense", "deep", "sparse", "contractive", "linear", "vae")
VARIATIONAL_MODELS = ("vae", "conv-vae")
RECURRENT_MODELS = ("lstm", "gru")
MODELS = (*DENSE_MODELS, "conv", "conv-vae", *RECURRENT_MODELS)
LOSSES = ("bce", "cb", "mse", "gaussian")
DEFAULT_HIDDEN = {"deep": (128, 64), "vae": (512, 256), "lstm": (64,), "gru": (64,)}
DEFAULT_LATENT = dict.fromkeys((*DENSE_MODELS, "conv-vae"), 32) | dict.fromkeys(
    RECURRENT_MODELS, 16
)
DEFAULT_SPARSITY = {"sparse": "l1"}
DEFAULT_SPARSITY_WEIGHT = {"l1": 1e-4, "kl": 0.1}  # l1: Keras's classic l1(10e-5)
DEFAULT_CONTRACTIVE = {"contractive": 1e-4}
MAX_PLOT_CODE = 3  # codes this small are plotted, so they stay linear
INFERENCE_BATCH = 4096
INIT_SAMPLE = 2048  # samples that set the ReLU biases at initialisation
MAX_PARAMETERS = 100_000_000  # a larger model is a typo, not a plan, on the machines we target


class TrainingWarning(UserWarning):
    """Training stopped before the last epoch for a reason the user should know."""


class OvercompleteWarning(UserWarning):
    """An unregularised code at least as large as the input."""


class AutoEncoder(TransformerMixin, BaseEstimator):
    """An autoencoder with scikit-learn's contract.

    ``transform`` encodes (the encoder on its own), ``inverse_transform`` decodes
    (the decoder on its own), ``predict`` reconstructs and ``score_samples`` gives the
    negative reconstruction error of each sample (higher is more normal).

    Parameters
    ----------
    model : {"dense", "deep", "conv", "sparse", "contractive", "linear", "vae", "conv-vae"}
        ``dense`` with no ``hidden`` is the classic shallow 784-32-784; ``deep`` defaults
        to hidden sizes (128, 64); ``conv`` is the Conv+MaxPool ×2 / Conv+UpSampling ×2
        model of the Keras denoising tutorial. ``sparse`` and ``contractive`` are dense
        models with that penalty on by default; ``linear`` has no nonlinearity at all
        (trained with MSE it spans the PCA subspace). ``vae`` (hidden (512, 256) by
        default) and ``conv-vae`` are variational: a Gaussian encoder, a standard normal
        prior, trained on the ELBO; their code is the posterior mean, and they can
        :meth:`sample` and estimate :meth:`log_likelihood`. ``lstm`` and ``gru`` are
        sequence-to-sequence autoencoders for series: ``X`` is ``(n, T, d)`` (or
        ``(n, T)`` for one feature, read as ``(n, T, 1)``), ``hidden`` the recurrent
        layers' sizes (64,) and the code (16 by default) is linear; :meth:`score_steps`
        gives the error of every time step.
    latent_dim : int or None
        Size of the code. None means 32 for dense and variational models and, for
        ``conv``, the spatial feature map of the classic model (no dense bottleneck).
    hidden : tuple of int or None
        Hidden layer sizes of dense encoders (mirrored in the decoder).
    filters : tuple of int
        Channels of the conv encoder's blocks (mirrored in the decoder).
    loss : {"auto", "bce", "cb", "mse", "gaussian"}
        ``auto`` is binary cross-entropy for data scaled to [0, 1], else MSE. ``cb`` is
        the continuous Bernoulli likelihood (proper for grey levels in [0, 1]). For a
        variational model each loss is its decoder's likelihood p(x|h): Bernoulli,
        continuous Bernoulli, Gaussian with σ = 1 (``mse``) or with a learned
        per-output σ (``gaussian``, variational models only).
    beta : float
        Weight of the KL term of a variational model's ELBO (β-VAE; 1 is the ELBO).
    iwae_samples : int
        With k > 1, a variational model trains on the importance-weighted bound with k
        samples (IWAE, Burda et al., 2016), which is tighter than the ELBO.
    binarize : bool
        Dynamic binarisation: every batch is a fresh Bernoulli draw of the [0, 1] data,
        the protocol of the MNIST likelihoods in the VAE literature.
    noise : str or None
        Corruption for a denoising autoencoder: ``gaussian:σ``, ``salt-pepper:p``,
        ``mask:p``; drawn afresh for every batch.
    sparsity : {"l1", "kl"} or None
        A sparse autoencoder's penalty on the code: ``l1`` adds ``sparsity_weight ·
        Σ|h|`` (default weight 1e-4, Keras's ``activity_regularizer=l1(10e-5)``); ``kl``
        adds ``sparsity_weight · Σ_j KL(ρ ‖ ρ̂_j)`` toward a mean activation
        ``sparsity_target`` = ρ, with a sigmoid code (default weight 0.1).
        ``model="sparse"`` defaults to ``l1``.
    contractive : float or None
        Weight of the contractive penalty ‖∂h/∂x‖²_F (``model="contractive"`` defaults
        to 1e-4).
    neighbors : float or None
        Weight of a neighbourhood term on the code: UMAP's loss on the training data's
        15-nearest-neighbour graph (parametric UMAP, Sainburg et al., 2021), so that
        neighbours in the data stay neighbours in the code; what makes a 2-D code a
        good map (MNIST: 5-NN accuracy 0.80 without, see benchmarks/results/embedding.md).
        The graph is found by exhaustive search (n² distances on at most 64 principal
        components); in-memory data only.
    scaling : {"auto", "minmax", "standard", "none"}
        ``auto`` maps images and data in [0, 1] (or uint8) to [0, 1], and
        standardises other tables. Remembered, so new data is treated the same.
    learning_rate : float or None
        None takes the optimizer's default: 2e-3 for Adam, 1.0 for Adadelta, 1e-2 for SGD.
    lr_schedule : {"cosine", "constant"}
        ``cosine`` warms the learning rate up over the first 5% of the steps, then
        anneals it to zero; measured to end lower than a constant rate on the classic
        MNIST models (benchmarks/results/classics.md).
    gradient_clip : float or None
        Clip the global gradient norm to this value at every step.
    precision : {"fp32", "bf16"}
        ``bf16`` runs the forward pass (training and inference) under bfloat16 autocast:
        faster where the hardware multiplies bf16 natively (AVX512-BF16 or AMX CPUs,
        Ampere and later GPUs), slower where it does not; weights and losses stay fp32.
    compile : bool
        ``torch.compile`` the training step's forward pass and loss: fused kernels make
        steps faster (dense MNIST: benchmarks/results/speed.md) after a compilation of
        several seconds at the first step; on CPU it needs a C++ compiler.
    trainer : {"backprop", "recirculation"}
        ``recirculation`` trains a dense, one-layer, sigmoid autoencoder without
        back-propagation (Hinton & McClelland, 1988), for comparison and teaching.
    early_stopping : int or None
        Patience in epochs on the validation loss (training loss without
        validation data); the best weights are restored.

    Attributes
    ----------
    module_ : autoencoders.models.Autoencoder
        The trained network; ``module_.encoder`` and ``module_.decoder`` are
        ``nn.Module``s usable on their own.
    history_ : list of dict
        Per epoch: ``loss``, ``val_loss`` (with validation data) and ``seconds``.

    Notes
    -----
    Weights start as Keras's (Glorot-uniform), then each ReLU unit's bias is set so
    that it is active on 95% of a training sample, which keeps code units from dying
    (see :func:`autoencoders.models.init_relu_biases_`).
    """

    _parameter_constraints: ClassVar[dict] = {
        "model": [StrOptions(set(MODELS))],
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "hidden": [tuple, list, None],
        "filters": [tuple, list],
        "activation": [StrOptions({"relu", "tanh", "sigmoid", "elu", "gelu", "linear"})],
        "loss": [StrOptions({"auto", *LOSSES})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "iwae_samples": [Interval(Integral, 1, 10_000, closed="both")],
        "binarize": ["boolean"],
        "noise": [str, None],
        "sparsity": [StrOptions({"l1", "kl"}), None],
        "sparsity_weight": [Interval(Real, 0, None, closed="left"), None],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "contractive": [Interval(Real, 0, None, closed="left"), None],
        "neighbors": [Interval(Real, 0, None, closed="neither"), None],
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
        "trainer": [StrOptions({"backprop", "recirculation"})],
        "shuffle": ["boolean"],
        "scaling": [StrOptions({"auto", "minmax", "standard", "none"})],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model: str = "dense",
        *,
        latent_dim: int | None = None,
        hidden: tuple[int, ...] | None = None,
        filters: tuple[int, ...] = (32, 32),
        activation: str = "relu",
        loss: str = "auto",
        beta: float = 1.0,
        iwae_samples: int = 1,
        binarize: bool = False,
        noise: str | None = None,
        sparsity: str | None = None,
        sparsity_weight: float | None = None,
        sparsity_target: float = 0.05,
        contractive: float | None = None,
        neighbors: float | None = None,
        optimizer: str = "adam",
        learning_rate: float | None = None,
        batch_size: int = 256,
        epochs: int = 50,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        lr_schedule: str = "cosine",
        gradient_clip: float | None = None,
        precision: str = "fp32",
        compile: bool = False,
        trainer: str = "backprop",
        shuffle: bool = True,
        scaling: str = "auto",
        random_state: int | None = None,
        device: str = "auto",
        verbose: int = 0,
    ) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.filters = filters
        self.activation = activation
        self.loss = loss
        self.beta = beta
        self.iwae_samples = iwae_samples
        self.binarize = binarize
        self.noise = noise
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive = contractive
        self.neighbors = neighbors
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.precision = precision
        self.compile = compile
        self.trainer = trainer
        self.shuffle = shuffle
        self.scaling = scaling
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, validation_data=None, checkpoint=None, callbacks=()) -> AutoEncoder:
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
        self._validate_params()
        X = self._samples(X, "X")
        paired = y is not None and np.ndim(y) >= 2
        target = self._samples(y, "y") if paired else X
        if len(target) != len(X):
            raise DataError(f"X has {len(X)} samples but y has {len(target)}; they must match")
        seed = _resolve_seed(self.random_state)
        self.random_seed_ = seed
        self.device_ = _resolve_device(self.device)

        self.input_scaler_ = self._fit_scaler(X)
        self.target_scaler_ = self._fit_scaler(target) if paired else self.input_scaler_
        bounded = self.target_scaler_.kind == "minmax"
        sigmoid_output = bounded and self.model != "linear"
        self.loss_ = self.loss if self.loss != "auto" else ("bce" if sigmoid_output else "mse")
        self._check_variational_settings(paired)
        if self.loss_ in ("bce", "cb") and not bounded:
            raise DataError(
                f"loss={self.loss_!r} needs targets scaled to [0, 1]; use scaling='minmax' "
                "or loss='mse'"
            )
        if self.binarize and not bounded:
            raise DataError("binarize=True needs data scaled to [0, 1]; use scaling='minmax'")
        corruption = Corruption.parse(self.noise, clip=bounded) if self.noise else None
        self.corruption_ = corruption
        self.sparsity_ = self.sparsity or DEFAULT_SPARSITY.get(self.model)
        self.contractive_ = (
            self.contractive
            if self.contractive is not None
            else DEFAULT_CONTRACTIVE.get(self.model)
        )
        if self.loss_ in ("bce", "cb") and self.model == "linear":
            raise ParameterError("model='linear' has no output nonlinearity; use loss='mse'")

        x = self._to_tensor(self.input_scaler_, X).to(self.device_)
        t = x if not paired else self._to_tensor(self.target_scaler_, target).to(self.device_)
        validation = self._validation_tensors(validation_data)
        if validation is None and self.validation_split > 0:
            x, t, validation = _split(x, t, self.validation_split, seed)

        self.model_config_ = ModelConfig(
            model=self.model,
            input_shape=tuple(x.shape[1:]),
            output_shape=tuple(t.shape[1:]),
            latent_dim=self.latent_dim if self.latent_dim else DEFAULT_LATENT.get(self.model),
            hidden=tuple(
                self.hidden if self.hidden is not None else DEFAULT_HIDDEN.get(self.model, ())
            ),
            filters=tuple(self.filters),
            activation="linear" if self.model == "linear" else self.activation,
            output_activation="sigmoid" if sigmoid_output else "linear",
            code_activation=self._code_activation(),
        )
        self.module_ = _new_module(self.model_config_, x, seed).to(self.device_)
        self._set_shape_attributes()
        self._warn_if_overcomplete()
        trainer_class = Trainer
        if self.trainer == "recirculation":  # before the neighbour graph, which takes a while
            recirculation.check_settings(
                noise=bool(self.noise),
                binarize=self.binarize,
                neighbors=bool(self.neighbors),
                compile=self.compile,
            )
            trainer_class = recirculation.RecirculationTrainer
        trainer = trainer_class(
            TrainConfig(
                epochs=self.epochs,
                batch_size=self.batch_size,
                optimizer=self.optimizer,
                learning_rate=self.learning_rate,
                shuffle=self.shuffle,
                early_stopping=self.early_stopping,
                lr_schedule=self.lr_schedule,
                gradient_clip=self.gradient_clip,
                precision=self.precision,
                compile=self.compile,
                eval_batch_size=self._inference_batch(),
                verbose=self.verbose,
                callbacks=tuple(callbacks),
            ),
            self._objective(),
            corruption=corruption,
            resample=binarize if self.binarize else None,
            seed=seed,
            neighbors=self._neighbor_embedding(x, seed) if self.neighbors else None,
        )
        if checkpoint is not None:
            checkpoint = Checkpoint(checkpoint, self._fingerprint(X, target, seed))
        result = trainer.fit(self.module_, x, t, validation, checkpoint=checkpoint)
        self.history_ = result.history
        self.stop_reason_ = result.stop_reason
        if result.stop_reason not in ("completed", "early_stopping"):
            warnings.warn(result.stop_reason, TrainingWarning, stacklevel=2)
        return self

    def _fingerprint(self, X: np.ndarray, target: np.ndarray, seed: int) -> str:
        """What a checkpoint must match to be resumed: the settings and (a sample of) the data."""
        # How the steps run (device, compilation, progress) is not what they compute.
        ignored = ("verbose", "device", "compile")
        params = {k: v for k, v in self.get_params().items() if k not in ignored}
        digest = hashlib.sha256(json.dumps([params, seed], sort_keys=True, default=str).encode())
        for array in (X, target):
            digest.update(str((array.shape, array.dtype)).encode())
            flat = array.reshape(-1)
            digest.update(np.ascontiguousarray(flat[:: max(1, flat.size // 100_000)]).tobytes())
        return digest.hexdigest()

    @property
    def variational(self) -> bool:
        """Whether the model is a VAE (a prior to :meth:`sample` from, an ELBO to score)."""
        return self.model in VARIATIONAL_MODELS

    def _check_variational_settings(self, paired: bool) -> None:
        if self.variational:
            if self.sparsity or self.contractive:
                raise ParameterError(
                    f"model={self.model!r} is regularised by its KL term; sparsity and "
                    "contractive apply to deterministic autoencoders"
                )
            if paired:
                raise ParameterError(
                    f"model={self.model!r} models the data it is given; paired training "
                    "(a y of samples) needs a deterministic model such as 'conv'"
                )
            return
        if self.loss == "gaussian":
            raise ParameterError(
                "loss='gaussian' learns a decoder variance, which only variational models "
                "have; use model='vae' or 'conv-vae', or loss='mse'"
            )
        if self.beta != 1.0 or self.iwae_samples != 1:
            raise ParameterError(
                "beta and iwae_samples apply to variational models; use model='vae' or 'conv-vae'"
            )

    def _neighbor_embedding(self, x: torch.Tensor | ScaledArray, seed: int) -> NeighborEmbedding:
        if self.variational:
            raise ParameterError(
                f"neighbors applies to deterministic models, not model={self.model!r}"
            )
        if isinstance(x, ScaledArray):
            raise ParameterError(
                "neighbors needs the training data in memory (its neighbour graph compares "
                "every pair of samples); load the array without mmap_mode"
            )
        return NeighborEmbedding(NeighborGraph.build(x, seed=seed), self.neighbors)

    def _fit_scaler(self, X: np.ndarray) -> Scaler:
        method = self.scaling
        if method == "auto":
            in_unit_range = X.dtype == np.uint8 or (X.min() >= 0 and X.max() <= 1)
            method = "minmax" if self._images(X) or in_unit_range else "standard"
        return fit_scaler(X, method, kind="image" if self._images(X) else "table")

    def _images(self, X: np.ndarray) -> bool:
        return X.ndim >= 3 and self.model not in RECURRENT_MODELS

    def _code_activation(self) -> str | None:
        """KL sparsity needs codes in (0, 1); a code of at most three units (a plot's
        axes) stays linear, because a ReLU can silence one and collapse every input onto
        a line or a point. None: the hidden layers' activation."""
        if self.sparsity_ == "kl":
            return "sigmoid"
        latent = self.latent_dim or DEFAULT_LATENT.get(self.model)
        if latent is not None and latent <= MAX_PLOT_CODE and self.model not in VARIATIONAL_MODELS:
            return "linear"
        return None

    def _objective(self) -> Objective | ELBO:
        if self.variational:
            return ELBO(self.module_, self.loss_, beta=self.beta, samples=self.iwae_samples)
        reconstruction = ReconstructionLoss(self.loss_, self.module_.decoder.output_activation)
        sparsity = self.sparsity_
        if sparsity is not None:
            weight = self.sparsity_weight
            weight = DEFAULT_SPARSITY_WEIGHT[sparsity] if weight is None else weight
            sparsity = (
                L1Sparsity(weight) if sparsity == "l1" else KLSparsity(weight, self.sparsity_target)
            )
        contractive_weight = self.contractive_
        contractive = (
            None
            if not contractive_weight
            else ContractivePenalty(contractive_weight, self.module_.encoder)
        )
        return Objective(reconstruction, sparsity=sparsity, contractive=contractive)

    def _warn_if_overcomplete(self) -> None:
        """An overcomplete code with nothing to stop it can learn the identity."""
        n_inputs, n_code = math.prod(self.input_shape_), math.prod(self.code_shape_)
        regularised = self.noise or self.sparsity_ or self.contractive_ or self.variational
        if n_code >= n_inputs and not regularised:
            warnings.warn(
                f"the code ({n_code} values) is not smaller than the input ({n_inputs}) and "
                "nothing regularises it, so the model can learn the identity; add noise, "
                "sparsity or a contractive penalty, or shrink latent_dim",
                OvercompleteWarning,
                stacklevel=3,
            )

    def _validation_tensors(self, validation_data):
        if validation_data is None:
            return None
        if isinstance(validation_data, tuple | list):
            X_val, y_val = (
                validation_data[0],
                validation_data[1] if len(validation_data) > 1 else None,
            )
        else:
            X_val, y_val = validation_data, None
        x_val = self._to_tensor(self.input_scaler_, self._samples(X_val, "validation X"))
        if y_val is None or np.ndim(y_val) < 2:
            t_val = x_val
        else:
            t_val = self._to_tensor(self.target_scaler_, self._samples(y_val, "validation y"))
        return x_val.to(self.device_), t_val.to(self.device_)

    def _set_shape_attributes(self) -> None:
        """Shapes a fitted (or loaded) model exposes, derived from its config."""
        self.input_shape_ = self.model_config_.input_shape
        self.output_shape_ = self.model_config_.output_shape
        self.code_shape_ = code_shape(self.module_, self.input_shape_)
        if len(self.input_shape_) == 1:
            self.n_features_in_ = self.input_shape_[0]

    # ---------------------------------------------------------------- inference
    def transform(self, X) -> np.ndarray:
        """Encode: one flat code per sample, shape (n, code size)."""
        x = self._input(X)
        codes = self._run(self.module_.encoder, x)
        return codes.reshape(len(codes), -1)

    def inverse_transform(self, X) -> np.ndarray:
        """Decode codes back to the data's space (original units)."""
        check_is_fitted(self)
        codes = _check_samples(X, "codes")
        size = math.prod(self.code_shape_)
        if math.prod(codes.shape[1:]) != size:
            raise DataError(
                f"codes have shape {codes.shape[1:]} per sample but this model's code has "
                f"{size} values; pass the output of transform/encode"
            )
        codes = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.float32))
        decoded = self._run(self.module_.decoder, codes.reshape(len(codes), *self.code_shape_))
        return self.target_scaler_.inverse_transform(decoded)

    def predict(self, X) -> np.ndarray:
        """Reconstruct (and, for a denoising or paired model, clean up) ``X``."""
        decoded = self._run(self.module_.reconstruct, self._input(X))
        return self.target_scaler_.inverse_transform(decoded)

    def score_samples(self, X) -> np.ndarray:
        """Negative reconstruction error of each sample (the training loss, per sample).

        For a variational model, the ELBO of each sample in nats (one seeded posterior
        draw, the KL in closed form): a lower bound on log p(x).
        """
        x = self._input(X)
        if self.output_shape_ != self.input_shape_:
            raise DataError(
                "score_samples needs a model that reconstructs its input; "
                "this one maps inputs to targets of another shape"
            )
        objective = self._objective()

        def error(xb: torch.Tensor) -> torch.Tensor:
            return objective.per_sample(self.module_(xb), xb)

        with seeded_global_rng(self.random_seed_, 0, self.device_):
            return -self._run(error, x).astype(np.float64)

    def score_steps(self, X) -> np.ndarray:
        """Negative reconstruction error of every time step of every sequence, (n, T),
        averaged over the features: where in a series the model stops recognising it."""
        if self.model not in RECURRENT_MODELS:
            raise ParameterError(
                f"score_steps needs a sequence model (lstm, gru), not {self.model!r}"
            )
        x = self._input(X)
        objective = self._objective()

        def error(xb: torch.Tensor) -> torch.Tensor:
            logits = self.module_(xb)["logits"]
            return objective.reconstruction.per_element(logits, xb).mean(-1)

        return -self._run(error, x).astype(np.float64)

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
        x = self._input(X)
        target = (
            x
            if y is None or np.ndim(y) < 2
            else self._to_tensor(self.target_scaler_, self._samples(y, "y"))
        )
        if len(target) != len(x):
            raise DataError(f"X has {len(x)} samples but y has {len(target)}; they must match")
        bounded = self._bounded_output()
        corruption = Corruption.parse(noise, clip=bounded) if noise else None
        rng = torch.Generator().manual_seed(random_state)
        sums: dict[str, float] = {}
        batch = self._inference_batch()
        for start in range(0, len(x), batch):
            xb, tb = x[start : start + batch], target[start : start + batch]
            noisy = {}
            if corruption is not None:
                xb = corruption(xb, rng)
                noisy = reconstruction_metrics(xb, tb, bounded=bounded)
            reconstruction = torch.from_numpy(self._run(self.module_.reconstruct, xb))
            metrics = reconstruction_metrics(reconstruction, tb, bounded=bounded)
            metrics |= {f"noisy_{k}": v for k, v in noisy.items()}
            for name, value in metrics.items():
                sums[name] = sums.get(name, 0.0) + value * len(xb)
        return {name: total / len(x) for name, total in sums.items()}

    def sample(self, n_samples: int = 1, *, random_state: int | None = 0) -> np.ndarray:
        """Draw codes from the prior N(0, I) and decode them (the decoder's mean output)."""
        module = self._variational_module("sample")
        rng = torch.Generator().manual_seed(_resolve_seed(random_state))
        codes = torch.randn(n_samples, module.latent_dim, generator=rng)
        return self.inverse_transform(codes.numpy())

    def log_likelihood(self, X, *, samples: int = 5000, random_state: int = 0) -> np.ndarray:
        """Importance-sampled log p(x) of each sample in nats, with ``samples`` posterior
        draws (Burda et al.'s k = 5000 by default); the test NLL of the VAE literature
        is its negated mean on binarised data."""
        module = self._variational_module("log_likelihood")
        x = self._input(X)
        rng = torch.Generator(device=self.device_).manual_seed(random_state)
        module.eval()
        batch = max(1, min(len(x), 2**22 // (math.prod(self.output_shape_) * min(samples, 500))))
        with torch.inference_mode():
            parts = [
                importance_sampled_log_likelihood(
                    module, self.loss_, x[i : i + batch].to(self.device_), samples, generator=rng
                ).cpu()
                for i in range(0, len(x), batch)
            ]
        return torch.cat(parts).double().numpy()

    def _variational_module(self, method: str) -> VariationalAutoencoder:
        check_is_fitted(self)
        if not isinstance(self.module_, VariationalAutoencoder):
            raise ParameterError(
                f"{method} needs a variational model (model='vae' or 'conv-vae'); "
                f"this one is {self.model!r}"
            )
        return self.module_

    def corrupt(self, X, noise: str | None = None, *, random_state: int = 0) -> np.ndarray:
        """``X`` with a corruption applied (the model's own ``noise`` by default), seeded.

        Handy to make the noisy inputs a denoising model is meant to clean up.
        """
        noise = noise or self.noise
        if not noise:
            raise ValueError("no noise given and the model was not trained with one")
        x = self._input(X)[:]  # the whole of a memory-mapped X: the output is as large
        noisy = self._corrupt_scaled(x, noise, random_state)
        return self.input_scaler_.inverse_transform(noisy.numpy())

    def _corrupt_scaled(self, x: torch.Tensor, noise: str, random_state: int) -> torch.Tensor:
        rng = torch.Generator().manual_seed(random_state)
        return Corruption.parse(noise, clip=self._bounded_output())(x, rng)

    def _bounded_output(self) -> bool:
        return self.model_config_.output_activation == "sigmoid"

    # ------------------------------------------------------------------ helpers
    def _input(self, X) -> torch.Tensor | ScaledArray:
        check_is_fitted(self)
        return self._to_tensor(self.input_scaler_, self._samples(X, "X"), self.input_shape_)

    def _samples(self, X, name: str) -> np.ndarray:
        """Checked samples; for a sequence model, (n, T) series become (n, T, 1)."""
        X = _check_samples(X, name)
        if self.model in RECURRENT_MODELS:
            if X.ndim == 4 and X.shape[1] == 1:  # a 3-D array read as one-channel images
                X = X[:, 0]
            if X.ndim == 4:
                raise DataError(
                    f"{name} must be sequences (n, T, d) or (n, T) for model={self.model!r}, "
                    f"got shape {X.shape}"
                )
            X = X[:, :, None] if X.ndim == 2 else X
        return X

    def _to_tensor(
        self, scaler: Scaler, X: np.ndarray, expected: tuple | None = None
    ) -> torch.Tensor | ScaledArray:
        """The scaled float32 samples; a memory-mapped ``X`` stays on disk and is read
        and scaled a batch at a time (a :class:`ScaledArray` indexed like the tensor)."""
        streamed = isinstance(X, np.memmap)  # only its first sample is scaled here, as a check
        scaled = np.ascontiguousarray(scaler.transform(X[:1] if streamed else X), np.float32)
        if not scaled.flags.writeable:  # a read-only array the scaler passed through
            scaled = scaled.copy()
        shape = tuple(scaled.shape[1:])
        if self._images(scaled) and scaled.ndim == 3:  # (n, H, W) grayscale images
            shape = (1, *shape)
        if expected is not None and shape != tuple(expected):
            raise DataError(
                f"input has shape {X.shape[1:]} per sample but the model expects "
                f"{tuple(expected)}; pass data shaped like the training data"
            )
        if streamed:
            return ScaledArray(X, scaler, shape)
        return torch.from_numpy(scaled.reshape(len(scaled), *shape))

    def _inference_batch(self) -> int:
        """Batches whose widest activation stays near 4 MB: a larger buffer is a fresh
        mmap that the first write page-faults in, which made MNIST's conv encoder 3.6×
        slower at batch 256 than at 32. 1024 for MNIST's dense models, 32 for its conv."""
        config = self.model_config_
        width = max(math.prod(config.input_shape), math.prod(config.output_shape))
        if config.model in ("conv", "conv-vae"):
            width *= max(config.filters)
        return int(np.clip(2 ** int(math.log2(max(1, 2**20 // width))), 16, INFERENCE_BATCH))

    @torch.inference_mode()
    def _run(self, fn, x: torch.Tensor | ScaledArray) -> np.ndarray:
        """Apply ``fn`` in large batches on the model's device; numpy out."""
        self.module_.eval()
        batch = self._inference_batch()
        with autocast(self.device_, self.precision):
            outputs = [
                fn(x[i : i + batch].to(self.device_)).float().cpu() for i in range(0, len(x), batch)
            ]
        return torch.cat(outputs).numpy()

    # -------------------------------------------------------------- persistence
    def save(self, path: str | Path, *, metrics: dict | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors``, ``history.csv`` (+ ``metrics.json``)."""
        from autoencoders.persistence import save_estimator

        return save_estimator(self, path, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> AutoEncoder:
        """Rebuild a saved model from its directory; never unpickles."""
        from autoencoders.persistence import load_estimator

        return load_estimator(path, device=device)


def _new_module(config: ModelConfig, x: torch.Tensor, seed: int) -> torch.nn.Module:
    """Build the network; Glorot weights, then ReLU biases set from a sample of ``x``."""
    with torch.device("meta"):  # count the parameters before allocating any
        n_parameters = sum(p.numel() for p in build_model(config).parameters())
    if n_parameters > MAX_PARAMETERS:
        raise ParameterError(
            f"the model would have {n_parameters:,} parameters, more than {MAX_PARAMETERS:,}; "
            "lower latent_dim, hidden or filters"
        )
    # PyTorch's default init draws from the global generator: seeded here (recurrent layers
    # keep that init), and restored after, so the caller's stream is untouched.
    with seeded_global_rng(seed, 0, torch.device("cpu")):
        module = build_model(config)
    rng = torch.Generator().manual_seed(seed)
    glorot_init_(module, rng)
    sample = torch.randperm(len(x), generator=rng)[:INIT_SAMPLE].to(x.device)
    init_relu_biases_(module.to(x.device), x[sample])
    return module


def _check_samples(X, name: str) -> np.ndarray:
    """A numeric, finite, non-empty array of samples: (n, d), (n, H, W) or (n, C, H, W).

    A memory-mapped array stays one (it is checked a block of rows at a time).
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if not isinstance(X, np.memmap):
        X = np.asarray(X)
    if X.dtype == bool:
        X = X.astype(np.float32)
    if not (np.issubdtype(X.dtype, np.number)) or np.iscomplexobj(X):
        raise DataError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim < 2 or X.ndim > 4:
        raise DataError(f"{name} must have 2 to 4 dimensions (samples first), got shape {X.shape}")
    if len(X) == 0 or X.size == 0:
        raise DataError(f"{name} is empty (shape {X.shape}); pass at least one sample")
    if np.issubdtype(X.dtype, np.floating) and not _all_finite(X):
        raise DataError(f"{name} contains NaN or infinite values; remove or impute them first")
    return X


def _all_finite(X: np.ndarray) -> bool:
    """``np.isfinite(X).all()`` a million values at a time, so no full-size mask is built."""
    rows = max(1, 2**20 // max(1, math.prod(X.shape[1:])))
    return all(np.isfinite(X[i : i + rows]).all() for i in range(0, len(X), rows))


def _resolve_seed(random_state) -> int:
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
    return int(random_state)


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DataError(
            f"device {device!r} was asked for but CUDA is not available; use device='cpu' or 'auto'"
        )
    return torch.device(device)


def _split(x: torch.Tensor, t: torch.Tensor, fraction: float, seed: int):
    """Hold out a random ``fraction`` of the samples for validation."""
    n_val = max(1, round(len(x) * fraction))
    if n_val >= len(x):
        raise DataError(f"validation_split={fraction} leaves no training samples out of {len(x)}")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)).to(x.device)
    train, val = order[n_val:], order[:n_val]
    x_train, x_val = _rows(x, train), _rows(x, val)
    if t is x:  # keep the target the very same tensor, so the trainer slices it once
        return x_train, x_train, (x_val, x_val)
    return x_train, _rows(t, train), (x_val, _rows(t, val))


def _rows(x: torch.Tensor | ScaledArray, index: torch.Tensor) -> torch.Tensor | ScaledArray:
    """Samples ``index`` of ``x``; those of a memory-mapped array stay on disk."""
    return x.subset(index) if isinstance(x, ScaledArray) else x[index]
