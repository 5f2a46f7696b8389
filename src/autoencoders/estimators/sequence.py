"""Sequence autoencoders: a recurrent encoder and decoder for series, scored step by step."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions

from autoencoders.errors import DataError
from autoencoders.estimators import inputs
from autoencoders.estimators.base import BaseAutoEncoder
from autoencoders.training import Objective, ReconstructionLoss


class SequenceAutoEncoder(BaseAutoEncoder):
    """A sequence-to-sequence autoencoder (Srivastava et al., 2015) for series.

    The encoder's last hidden state becomes a linear code, which is repeated at every
    step of the decoder. ``X`` is ``(n, T, d)``, or ``(n, T)`` for one feature (read as
    ``(n, T, 1)``); :meth:`score_samples` is the error per sequence and
    :meth:`score_steps` the error of every time step, which is what anomaly detection
    in a series needs.

    Parameters
    ----------
    model : {"lstm", "gru"}
        The recurrent cell of encoder and decoder.
    latent_dim : int or None
        Size of the code (None: 16).
    hidden : tuple of int or None
        The recurrent layers' sizes (None: (64,)).
    loss : {"auto", "bce", "cb", "mse"}
        ``auto`` is MSE for standardised series, BCE for series in [0, 1].
    noise : str or None
        Corruption of the inputs (a denoising sequence autoencoder).
    optimizer, learning_rate, batch_size, epochs, validation_split, early_stopping, \
lr_schedule, gradient_clip, precision, compile, shuffle, scaling, random_state, device, \
verbose
        How to train, shared by every family (see :class:`~autoencoders.AutoEncoder`).

    Examples
    --------
    >>> import numpy as np
    >>> from autoencoders import SequenceAutoEncoder
    >>> t = np.linspace(0, 20, 64 * 50).reshape(50, 64)
    >>> ae = SequenceAutoEncoder(epochs=2, random_state=0).fit(np.sin(t))
    >>> ae.score_steps(np.sin(t[:3])).shape
    (3, 64)
    """

    models = ("lstm", "gru")
    default_hidden: ClassVar[dict] = {"lstm": (64,), "gru": (64,)}
    default_latent: ClassVar[dict] = {"lstm": 16, "gru": 16}
    _parameter_constraints: ClassVar[dict] = {
        **BaseAutoEncoder._parameter_constraints,
        "model": [StrOptions(set(models))],
        "loss": [StrOptions({"auto", "bce", "cb", "mse"})],
    }

    def __init__(
        self,
        model: str = "lstm",
        *,
        latent_dim: int | None = None,
        hidden: tuple[int, ...] | None = None,
        loss: str = "auto",
        noise: str | None = None,
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
        shuffle: bool = True,
        scaling: str = "auto",
        random_state: int | None = None,
        device: str = "auto",
        verbose: int = 0,
    ) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.loss = loss
        self.noise = noise
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
        self.shuffle = shuffle
        self.scaling = scaling
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _architecture(self) -> dict:
        return {}  # the cells have their own nonlinearities

    def _images(self, X: np.ndarray) -> bool:
        return False

    def _samples(self, X, name: str) -> np.ndarray:
        """Checked sequences; (n, T) series become (n, T, 1)."""
        X = inputs.check_samples(X, name)
        if X.ndim == 4 and X.shape[1] == 1:  # a 3-D array read as one-channel images
            X = X[:, 0]
        if X.ndim == 4:
            raise DataError(
                f"{name} must be sequences (n, T, d) or (n, T) for model={self.model!r}, "
                f"got shape {X.shape}"
            )
        return X[:, :, None] if X.ndim == 2 else X

    def _objective(self) -> Objective:
        reconstruction = ReconstructionLoss(self.loss_, self.module_.decoder.output_activation)
        return Objective(reconstruction)

    def score_steps(self, X) -> np.ndarray:
        """Negative reconstruction error of every time step of every sequence, (n, T),
        averaged over the features: where in a series the model stops recognising it."""
        x, _ = self._input(X)
        reconstruction = self._objective().reconstruction

        def error(xb: torch.Tensor) -> torch.Tensor:
            return reconstruction.per_element(self.module_(xb)["logits"], xb).mean(-1)

        return -self._run(error, x).astype(np.float64)
