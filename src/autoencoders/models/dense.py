"""Fully connected autoencoders: the classic shallow 784-32-784 and deep stacks."""

from __future__ import annotations

import itertools
import math

from torch import nn

from autoencoders.models.base import Autoencoder, Decoder, activation_layer
from autoencoders.models.config import ModelConfig
from autoencoders.models.registry import register_model


def mlp(sizes: list[int], activation: str, *, last_activation: str | None) -> nn.Sequential:
    """Linear layers with ``activation`` between them and ``last_activation`` after the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation_layer(activation))
        elif last_activation is not None:
            layers.append(activation_layer(last_activation))
    return nn.Sequential(*layers)


@register_model("dense")
@register_model("deep")
@register_model("sparse")
@register_model("contractive")
@register_model("linear")
def dense_autoencoder(config: ModelConfig) -> Autoencoder:
    """x (any shape) → flatten → hidden… → code (latent_dim) → …hidden → x̂ (output shape).

    With no hidden layer this is the Keras tutorial's shallow autoencoder: a ReLU code
    and a sigmoid output. ``deep``, ``sparse``, ``contractive`` and ``linear`` are the
    same network; the estimator gives each its defaults (hidden sizes, a penalty in the
    objective, no nonlinearity).
    """
    n_in = math.prod(config.input_shape)
    n_out = math.prod(config.output_shape)
    sizes = [n_in, *config.hidden, config.latent_dim]
    code_activation = config.code_activation or config.activation
    encoder = nn.Sequential(
        nn.Flatten(), mlp(sizes, config.activation, last_activation=code_activation)
    )
    decoder_body = nn.Sequential(
        mlp(
            [config.latent_dim, *reversed(config.hidden), n_out],
            config.activation,
            last_activation=None,
        ),
        nn.Unflatten(1, config.output_shape),
    )
    return Autoencoder(encoder, Decoder(decoder_body, config.output_activation))
