"""Variational autoencoders (Kingma & Welling, 2014): a Gaussian encoder q(h|x), a
decoder p(x|h) and a prior p(h): the standard normal, or the VampPrior (Tomczak &
Welling, 2018), a mixture of the posterior at K learned pseudo-inputs.

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

LOG_2PI = math.log(2 * math.pi)


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


def gaussian_log_prob(h: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """log N(h; μ, diag σ²), summed over the last axis."""
    return -0.5 * ((h - mean).square() * torch.exp(-log_var) + log_var + LOG_2PI).sum(-1)


def standard_normal_log_prob(h: Tensor) -> Tensor:
    return -0.5 * (h.square() + LOG_2PI).sum(-1)


def mixture_log_prob(h: Tensor, means: Tensor, log_vars: Tensor) -> Tensor:
    """log (1/K) Σ_k N(h; μ_k, σ_k²) for h (…, d) and K components (K, d).

    The squared distances to every component come from two matrix products
    (Σ h²/σ² − 2 h·μ/σ² + Σ μ²/σ²), not a (…, K, d) difference tensor.
    """
    precision = torch.exp(-log_vars)
    flat = h.reshape(-1, h.shape[-1])
    squared = (
        flat.square() @ precision.T
        - 2 * flat @ (means * precision).T
        + (means.square() * precision).sum(-1)
    )
    log_n = -0.5 * (squared + (log_vars + LOG_2PI).sum(-1))
    return (torch.logsumexp(log_n, -1) - math.log(len(means))).reshape(h.shape[:-1])


class VampPrior(nn.Module):
    """K pseudo-inputs u_k; the prior is (1/K) Σ_k q(h | u_k), the variational mixture of
    posteriors (Tomczak & Welling, 2018). The encoder that maps them is the model's."""

    def __init__(self, components: int, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        # Tomczak & Welling's init; the estimator overwrites it with training samples.
        self.pseudo_inputs = nn.Parameter(0.05 + 0.01 * torch.randn(components, *input_shape))


class VariationalAutoencoder(Autoencoder):
    """A Gaussian encoder, a decoder, a prior, and the decoder's per-output log σ.

    ``log_scale`` is the standard deviation of a Gaussian p(x|h) on a log scale; it is
    learned only with the ``gaussian`` loss (it stays at σ = 1 for ``mse``) and unused
    by the Bernoulli and continuous Bernoulli decoders. ``vamp`` (None: N(0, I)) makes
    the prior of the top stochastic layer a VampPrior.
    """

    encoder: GaussianEncoder

    def __init__(
        self,
        encoder: GaussianEncoder,
        decoder: Decoder,
        output_shape,
        *,
        vamp: VampPrior | None = None,
    ) -> None:
        super().__init__(encoder, decoder)
        self.log_scale = nn.Parameter(torch.zeros(output_shape))
        self.vamp = vamp

    @property
    def latent_dim(self) -> int:
        return self.encoder.mean.out_features

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        mean, log_var = self.encoder.distribution(x)
        return {"code": mean, "mean": mean, "log_var": log_var}

    @property
    def standard_prior(self) -> bool:
        """Whether p(h) is N(0, I), whose KL from q(h|x) has a closed form."""
        return self.vamp is None

    def top_posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """q of the top stochastic layer given inputs x (here the only layer)."""
        return self.encoder.distribution(x)

    def log_top_prior(self, z: Tensor) -> Tensor:
        if self.vamp is None:
            return standard_normal_log_prob(z)
        return mixture_log_prob(z, *self.top_posterior(self.vamp.pseudo_inputs))

    def sample_top(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n draws from the top layer's prior (on the CPU, for ``generator``)."""
        if self.vamp is None:
            return torch.randn(n, self.top_dim, generator=generator)
        with torch.no_grad():
            means, log_vars = (t.cpu().float() for t in self.top_posterior(self.vamp.pseudo_inputs))
        k = torch.randint(len(means), (n,), generator=generator)
        eps = torch.randn(n, means.shape[1], generator=generator)
        return means[k] + torch.exp(0.5 * log_vars[k]) * eps

    @property
    def top_dim(self) -> int:
        """Size of the top stochastic layer, the one the prior is over."""
        return self.latent_dim

    def log_prior(self, h: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """log p(h) of codes h (…, latent_dim): exact here; an estimate in a hierarchy."""
        return self.log_top_prior(h)

    def sample_codes(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n codes drawn from the prior, ready for the decoder."""
        return self.sample_top(n, generator)

    @torch.no_grad()
    def init_pseudo_inputs_(self, sample: Tensor) -> None:
        """Start the VampPrior's pseudo-inputs at training samples (a no-op without one)."""
        if self.vamp is not None:
            inputs = self.vamp.pseudo_inputs
            inputs.copy_(sample[torch.arange(len(inputs)) % len(sample)].to(inputs))


def vamp_prior(config: ModelConfig) -> VampPrior | None:
    """The VampPrior a config asks for (``pseudo_inputs`` > 0), or None for N(0, I)."""
    return VampPrior(config.pseudo_inputs, config.input_shape) if config.pseudo_inputs else None


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
    return VariationalAutoencoder(encoder, decoder, config.output_shape, vamp=vamp_prior(config))


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
    return VariationalAutoencoder(encoder, decoder, config.output_shape, vamp=vamp_prior(config))
