"""Variational autoencoders (Kingma & Welling, 2014): a Gaussian encoder q(h|x) and a
decoder p(x|h), with a standard normal prior p(h).

The network gives the distributions; the objective (``training.variational``) draws the
reparameterised samples and computes the bound (ELBO, β-VAE or IWAE), as the model and
the loss are kept apart everywhere else in the toolkit. The encoder used on its own
gives the posterior mean, which is the code ``transform`` returns.

    dense  (vae):       x → flatten → hidden… → (μ, log σ²) ; h → …hidden → x̂
    conv   (conv-vae):  x → [Conv → ReLU → MaxPool]… → flatten → (μ, log σ²) ;
                        h → dense → [Conv → ReLU → UpSample]… → Conv → x̂
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from autoencoders.models.base import Autoencoder, Decoder, activation_layer
from autoencoders.models.config import ModelConfig
from autoencoders.models.conv import check_image_shapes, conv_decoder_layers, conv_encoder_layers
from autoencoders.models.dense import mlp
from autoencoders.models.registry import register_model


class GaussianEncoder(nn.Module):
    """``body`` features → mean and log-variance of a diagonal Gaussian q(h|x)."""

    def __init__(self, body: nn.Module, features: int, latent_dim: int) -> None:
        super().__init__()
        self.body = body
        self.mean = nn.Linear(features, latent_dim)
        self.log_var = nn.Linear(features, latent_dim)

    def distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)
        return self.mean(features), self.log_var(features)

    def forward(self, x: Tensor) -> Tensor:
        """The posterior mean: the deterministic code of ``x``."""
        return self.mean(self.body(x))


class VariationalAutoencoder(Autoencoder):
    """A Gaussian encoder, a decoder, and the decoder's per-output log σ.

    ``log_scale`` is the standard deviation of a Gaussian p(x|h) on a log scale; it is
    learned only with the ``gaussian`` loss (it stays at σ = 1 for ``mse``) and unused
    by the Bernoulli and continuous Bernoulli decoders.
    """

    encoder: GaussianEncoder

    def __init__(self, encoder: GaussianEncoder, decoder: Decoder, output_shape) -> None:
        super().__init__(encoder, decoder)
        self.log_scale = nn.Parameter(torch.zeros(output_shape))

    @property
    def latent_dim(self) -> int:
        return self.encoder.mean.out_features

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        mean, log_var = self.encoder.distribution(x)
        return {"code": mean, "mean": mean, "log_var": log_var}


@register_model("vae")
def dense_vae(config: ModelConfig) -> VariationalAutoencoder:
    n_in = math.prod(config.input_shape)
    n_out = math.prod(config.output_shape)
    hidden = list(config.hidden)
    body = nn.Sequential(
        nn.Flatten(),
        mlp([n_in, *hidden], config.activation, last_activation=config.activation)
        if hidden
        else nn.Identity(),
    )
    decoder_body = nn.Sequential(
        mlp([config.latent_dim, *reversed(hidden), n_out], config.activation, last_activation=None),
        nn.Unflatten(1, config.output_shape),
    )
    encoder = GaussianEncoder(body, hidden[-1] if hidden else n_in, config.latent_dim)
    decoder = Decoder(decoder_body, config.output_activation)
    return VariationalAutoencoder(encoder, decoder, config.output_shape)


@register_model("conv-vae")
def conv_vae(config: ModelConfig) -> VariationalAutoencoder:
    check_image_shapes(config)
    encoder_layers, feature_shape = conv_encoder_layers(config)
    features = math.prod(feature_shape)
    encoder = GaussianEncoder(
        nn.Sequential(*encoder_layers, nn.Flatten()), features, config.latent_dim
    )
    decoder_body = nn.Sequential(
        nn.Linear(config.latent_dim, features),
        activation_layer(config.activation),
        nn.Unflatten(1, feature_shape),
        *conv_decoder_layers(config),
    )
    decoder = Decoder(decoder_body, config.output_activation)
    return VariationalAutoencoder(encoder, decoder, config.output_shape)
