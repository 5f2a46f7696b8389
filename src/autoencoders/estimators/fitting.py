"""The steps of ``fit`` that do not depend on the model family."""

from __future__ import annotations

import hashlib
import json
import math
import warnings

import numpy as np
import torch

from autoencoders.data.streaming import ScaledArray
from autoencoders.errors import DataError, ParameterError
from autoencoders.models import ModelConfig, build_model, principal_start
from autoencoders.models.base import glorot_init_, init_output_bias_, init_relu_biases_
from autoencoders.training import TrainConfig
from autoencoders.training.runtime import seeded_global_rng

INIT_SAMPLE = 2048  # samples that set the ReLU biases at initialisation
PCA_SAMPLES = 20_000  # samples pca-resnet's principal axes are computed from
START_SAMPLES = 10_000  # samples a one-layer dense model's PCA start is computed from
MAX_PARAMETERS = 100_000_000  # a larger model is a typo, not a plan, on the machines we target


class TrainingWarning(UserWarning):
    """Training stopped before the last epoch for a reason the user should know."""


class OvercompleteWarning(UserWarning):
    """An unregularised code at least as large as the input."""


def new_module(
    config: ModelConfig, x: torch.Tensor, target: torch.Tensor, seed: int, init: str = "random"
) -> torch.nn.Module:
    """Build the network; Glorot weights, then the ReLU biases and the output layer's
    bias set from a sample of ``x`` and its ``target`` (``init="random"``), or every
    weight of a one-layer dense model from the sample's principal axes (``"pca"``;
    ``"auto"``: where :func:`~autoencoders.models.principal_start.applies`)."""
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
    index = torch.randperm(len(x), generator=rng)[:INIT_SAMPLE].to(x.device)
    sample = x[index]
    module.to(x.device)
    at_pca = init != "random" and principal_start.applies(module, len(x))
    if init == "pca" and not at_pca:
        raise ParameterError(
            f"init='pca' starts dense models whose layers narrow toward the code; "
            f"model={config.model!r} with these sizes is not one: use init='random'"
        )
    if at_pca:
        many = sorted_rows(len(x), START_SAMPLES, rng).to(x.device)
        inputs = x[many]  # one copy when the target is the input: memory may be tight
        targets = inputs if target is x else target[many]
        principal_start.principal_start_(module, inputs, targets, seed)
    else:
        init_relu_biases_(module, sample)
        init_output_bias_(module, sample, target[index])
    if hasattr(module, "init_pseudo_inputs_"):  # a VampPrior starts at training samples
        module.init_pseudo_inputs_(sample)
    if hasattr(module, "init_from_data_"):  # pca-resnet starts as the training data's PCA
        module.init_from_data_(x[sorted_rows(len(x), PCA_SAMPLES, rng).to(x.device)], seed)
    return module


def sorted_rows(n_rows: int, size: int, rng: torch.Generator) -> torch.Tensor:
    """``size`` random row indices (all, if fewer), in file order: reading a memory-mapped
    array in order is a sweep, not a seek per row."""
    return torch.randperm(n_rows, generator=rng)[:size].sort().values


def fingerprint(params: dict, seed: int, *arrays: np.ndarray) -> str:
    """What a checkpoint must match to be resumed: the settings and (a sample of) the data."""
    # How the steps run (device, compilation, progress) is not what they compute.
    ignored = ("verbose", "device", "compile")
    kept = {k: v for k, v in params.items() if k not in ignored}
    digest = hashlib.sha256(json.dumps([kept, seed], sort_keys=True, default=str).encode())
    for array in arrays:
        digest.update(str((array.shape, array.dtype)).encode())
        flat = array.reshape(-1)
        digest.update(np.ascontiguousarray(flat[:: max(1, flat.size // 100_000)]).tobytes())
    return digest.hexdigest()


def split(x: torch.Tensor, t: torch.Tensor, fraction: float, seed: int):
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


def train_config(estimator, eval_batch_size: int, callbacks=()) -> TrainConfig:
    """The trainer's settings, from the estimator's parameters of the same names."""
    return TrainConfig(
        epochs=estimator.epochs,
        batch_size=estimator.batch_size,
        optimizer=estimator.optimizer,
        learning_rate=estimator.learning_rate,
        shuffle=estimator.shuffle,
        early_stopping=estimator.early_stopping,
        lr_schedule=estimator.lr_schedule,
        gradient_clip=estimator.gradient_clip,
        precision=estimator.precision,
        compile=estimator.compile,
        eval_batch_size=eval_batch_size,
        verbose=estimator.verbose,
        callbacks=tuple(callbacks),
    )


def check_flip(flip: bool, images: bool) -> None:
    """Flips are for images (the families with a ``flip`` parameter call this)."""
    if flip and not images:
        raise ParameterError(
            "flip=True mirrors images left to right; give images (n, C, H, W) or drop it"
        )


def warn_if_overcomplete(input_shape: tuple, code_shape: tuple, regularised: bool) -> None:
    """An overcomplete code with nothing to stop it can learn the identity."""
    n_inputs, n_code = math.prod(input_shape), math.prod(code_shape)
    if n_code >= n_inputs and not regularised:
        warnings.warn(
            f"the code ({n_code} values) is not smaller than the input ({n_inputs}) and "
            "nothing regularises it, so the model can learn the identity; add noise, "
            "sparsity or a contractive penalty, or shrink latent_dim",
            OvercompleteWarning,
            stacklevel=3,
        )
