"""Variational autoencoders: a Gaussian code, a prior to sample from, a likelihood to score."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from autoencoders.errors import DataError, ParameterError
from autoencoders.estimators import fitting
from autoencoders.estimators.base import BaseAutoEncoder
from autoencoders.models.config import ACTIVATIONS
from autoencoders.training import TrainConfig, Trainer
from autoencoders.training.corruption import binarize, horizontal_flip
from autoencoders.training.runtime import resolve_seed
from autoencoders.training.variational import ELBO, importance_sampled_log_likelihood


class VariationalAutoEncoder(BaseAutoEncoder):
    """A variational autoencoder (Kingma & Welling, 2014) with scikit-learn's contract.

    A Gaussian encoder q(h|x), a prior p(h) and a decoder likelihood p(x|h), trained
    on the ELBO (or the IWAE bound); ``hvae`` adds a second stochastic layer.
    ``transform`` gives the posterior mean, ``score_samples`` the ELBO in nats,
    :meth:`log_likelihood` the importance-sampled log p(x) and :meth:`sample` decoded
    draws from the prior.

    Parameters
    ----------
    model : {"vae", "hvae", "conv-vae", "resnet-vae"}
        ``vae`` is dense (hidden (512, 256) by default); ``hvae`` is the dense model with
        two stochastic layers x → z1 → z2 (Burda et al., 2016), whose code is z1;
        ``conv-vae`` and ``resnet-vae`` have the encoder and decoder of
        :class:`~autoencoders.AutoEncoder`'s ``conv`` and ``resnet`` (the model for
        photographs), with a flat Gaussian code.
    latent_dim : int or None
        Size of the code, z1 in ``hvae`` (None: 32; ``hvae`` 64).
    top_latent_dim : int or None
        ``hvae``: size of z2 (None: half of ``latent_dim``), reached through two
        layers as wide as the last of ``hidden``.
    prior : {"normal", "vamp"}
        p of the top stochastic layer: N(0, I), or the VampPrior (Tomczak & Welling,
        2018), the mixture of the posteriors at ``pseudo_inputs`` learned inputs, which
        start at training samples.
    pseudo_inputs : int
        K, the VampPrior's number of components (500 in the paper).
    hidden, filters, activation
        The network, as for :class:`~autoencoders.AutoEncoder`.
    loss : {"auto", "bce", "cb", "mse", "gaussian"}
        The decoder's likelihood: Bernoulli (``bce``, ``auto`` for data in [0, 1]),
        continuous Bernoulli (``cb``, proper for grey levels), Gaussian with σ = 1
        (``mse``, ``auto`` otherwise) or with a learned per-output σ (``gaussian``).
    beta : float
        Weight of the KL term (β-VAE; 1 is the ELBO).
    iwae_samples : int
        With k > 1, train on the importance-weighted bound with k samples (IWAE, Burda
        et al., 2016), which is tighter than the ELBO.
    binarize : bool
        Dynamic binarisation: every batch is a fresh Bernoulli draw of the [0, 1] data,
        the protocol of the MNIST likelihoods in the VAE literature.
    noise : str or None
        Corruption of the inputs (a denoising VAE), as for
        :class:`~autoencoders.AutoEncoder`.
    flip : bool
        Random left-right mirroring of the training images, as for
        :class:`~autoencoders.AutoEncoder`.
    optimizer, learning_rate, batch_size, epochs, validation_split, early_stopping, \
lr_schedule, gradient_clip, precision, compile, shuffle, scaling, random_state, device, \
verbose
        How to train, shared by every family (see :class:`~autoencoders.AutoEncoder`).

    Examples
    --------
    >>> from autoencoders import VariationalAutoEncoder
    >>> from autoencoders.data import load_dataset
    >>> X = load_dataset("digits").X
    >>> vae = VariationalAutoEncoder(latent_dim=2, epochs=2, random_state=0).fit(X)
    >>> vae.sample(4).shape
    (4, 1, 8, 8)
    """

    models = ("vae", "hvae", "conv-vae", "resnet-vae")
    losses = ("bce", "cb", "mse", "gaussian")
    default_hidden: ClassVar[dict] = {"vae": (512, 256), "hvae": (512, 256)}
    default_latent: ClassVar[dict] = {"vae": 32, "hvae": 64, "conv-vae": 32}
    _parameter_constraints: ClassVar[dict] = {
        **BaseAutoEncoder._parameter_constraints,
        "flip": ["boolean"],
        "model": [StrOptions(set(models))],
        "filters": [tuple, list, None],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "loss": [StrOptions({"auto", *losses})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "iwae_samples": [Interval(Integral, 1, 10_000, closed="both")],
        "top_latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "prior": [StrOptions({"normal", "vamp"})],
        "pseudo_inputs": [Interval(Integral, 1, 100_000, closed="both")],
        "binarize": ["boolean"],
    }

    def __init__(
        self,
        model: str = "vae",
        *,
        latent_dim: int | None = None,
        top_latent_dim: int | None = None,
        prior: str = "normal",
        pseudo_inputs: int = 500,
        hidden: tuple[int, ...] | None = None,
        filters: tuple[int, ...] | None = None,
        activation: str = "relu",
        loss: str = "auto",
        beta: float = 1.0,
        iwae_samples: int = 1,
        binarize: bool = False,
        noise: str | None = None,
        flip: bool = False,
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
        self.top_latent_dim = top_latent_dim
        self.prior = prior
        self.pseudo_inputs = pseudo_inputs
        self.hidden = hidden
        self.filters = filters
        self.activation = activation
        self.loss = loss
        self.beta = beta
        self.iwae_samples = iwae_samples
        self.binarize = binarize
        self.noise = noise
        self.flip = flip
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

    def _check_settings(self, *, paired: bool, bounded: bool, images: bool) -> None:
        fitting.check_flip(self.flip, images)
        if paired:
            raise ParameterError(
                f"model={self.model!r} models the data it is given; paired training "
                "(a y of samples) needs an AutoEncoder such as 'conv'"
            )
        if self.binarize and not bounded:
            raise DataError("binarize=True needs data scaled to [0, 1]; use scaling='minmax'")

    def _architecture(self) -> dict:
        fields = {
            "filters": self._filters(),
            "activation": self.activation,
            "pseudo_inputs": self.pseudo_inputs if self.prior == "vamp" else 0,
        }
        if self.model == "hvae":
            fields["top_latent_dim"] = self.top_latent_dim  # None: the builder's default
        return fields

    def _code_activation(self) -> None:
        return None  # the code is the posterior's mean: linear

    def _regularised(self) -> bool:
        return True  # by the KL term

    def _objective(self) -> ELBO:
        return ELBO(self.module_, self.loss_, beta=self.beta, samples=self.iwae_samples)

    def _trainer(self, config: TrainConfig, x, seed: int, corruption) -> Trainer:
        resample = binarize if self.binarize else None
        return Trainer(
            config,
            self._objective(),
            corruption=corruption,
            resample=resample,
            augment=horizontal_flip if self.flip else None,
            seed=seed,
        )

    def score_samples(self, X) -> np.ndarray:
        """The ELBO of each sample in nats (one seeded posterior draw, the KL in closed
        form): a lower bound on log p(x)."""
        return super().score_samples(X)

    def sample(self, n_samples: int = 1, *, random_state: int | None = 0) -> np.ndarray:
        """Draw codes from the prior and decode them (the decoder's mean output)."""
        check_is_fitted(self)
        rng = torch.Generator().manual_seed(resolve_seed(random_state))
        return self.inverse_transform(self.module_.sample_codes(n_samples, rng).numpy())

    def log_likelihood(self, X, *, samples: int = 5000, random_state: int = 0) -> np.ndarray:
        """Importance-sampled log p(x) of each sample in nats, with ``samples`` posterior
        draws (Burda et al.'s k = 5000 by default); the test NLL of the VAE literature
        is its negated mean on binarised data."""
        x, _ = self._input(X)
        rng = torch.Generator(device=self.device_).manual_seed(random_state)
        self.module_.eval()
        per_draw = math.prod(self.output_shape_) * min(samples, 500)
        batch = max(1, min(len(x), 2**22 // per_draw))
        with torch.inference_mode():
            parts = [
                importance_sampled_log_likelihood(
                    self.module_,
                    self.loss_,
                    x[i : i + batch].to(self.device_),
                    samples,
                    generator=rng,
                ).cpu()
                for i in range(0, len(x), batch)
            ]
        return torch.cat(parts).double().numpy()
