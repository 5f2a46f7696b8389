"""A variational autoencoder with two stochastic layers (Burda et al., 2016, section 5).

    inference   q(z1, z2 | x) = q(z1 | x) q(z2 | z1)
    generation  p(x, z1, z2)  = p(x | z1) p(z1 | z2) p(z2)

    x → hidden… → (μ1, log σ1²) → z1 → top hidden… → (μ2, log σ2²) → z2
    z2 → top hidden… → (μ, log σ²) of p(z1|z2) → z1 → hidden… → x̂

Seen from z1, the second layer is a richer prior: p(z1) = ∫ p(z1|z2) p(z2) dz2, a
latent-variable model of the codes with its own encoder q(z2|z1). That is how the model
plugs into the one-layer bounds: ``log_prior(z1)`` draws z2 ~ q(z2|z1) and returns
log p(z1|z2) + log p(z2) − log q(z2|z1), so the ELBO, the IWAE bound and the
importance-sampled likelihood are the one-layer formulas with q(z1, z2|x) as proposal.
p(z2) is N(0, I) or a VampPrior over q(z2 | μ1(u_k)) at the pseudo-inputs u_k.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from autoencoders.models.base import Decoder
from autoencoders.models.config import ModelConfig
from autoencoders.models.dense import mlp
from autoencoders.models.registry import register_model
from autoencoders.models.variational import (
    GaussianEncoder,
    VampPrior,
    VariationalAutoencoder,
    dense_vae,
    gaussian_log_prob,
)


class HierarchicalVAE(VariationalAutoencoder):
    """``encoder`` q(z1|x) and ``decoder`` p(x|z1) as in the one-layer model, plus
    ``upper`` q(z2|z1) and ``lower`` p(z1|z2). The code ``transform`` gives is μ1."""

    def __init__(
        self,
        encoder: GaussianEncoder,
        decoder: Decoder,
        output_shape,
        *,
        upper: GaussianEncoder,
        lower: GaussianEncoder,
        vamp: VampPrior | None = None,
    ) -> None:
        super().__init__(encoder, decoder, output_shape, vamp=vamp)
        self.upper = upper
        self.lower = lower

    @property
    def standard_prior(self) -> bool:
        return False  # p(z1) is the second layer's marginal

    @property
    def top_dim(self) -> int:
        return self.upper.mean.out_features

    def top_posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.upper.distribution(self.encoder(x))

    def log_prior(self, h: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One-draw importance estimate of log p(z1): E_q(z2|z1) of its exp is exact."""
        mean, log_var = self.upper.distribution(h)
        eps = mean.new_empty(mean.shape).normal_(generator=generator)
        z2 = mean + torch.exp(0.5 * log_var) * eps
        log_q = gaussian_log_prob(z2, mean, log_var)
        return gaussian_log_prob(h, *self.lower.distribution(z2)) + self.log_top_prior(z2) - log_q

    def sample_codes(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z2 = self.sample_top(n, generator)
        device = self.lower.mean.weight.device
        with torch.no_grad():
            mean, log_var = (t.cpu().float() for t in self.lower.distribution(z2.to(device)))
        return mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape, generator=generator)


def gaussian_layer(sizes: list[int], latent: int, activation: str) -> GaussianEncoder:
    """An MLP ``sizes`` → (μ, log σ²) of a ``latent``-dimensional diagonal Gaussian."""
    body = mlp(sizes, activation, last_activation=activation) if len(sizes) > 1 else nn.Identity()
    return GaussianEncoder(body, sizes[-1], latent)


@register_model("hvae")
def hierarchical_vae(config: ModelConfig) -> HierarchicalVAE:
    """The dense VAE's q(z1|x) and p(x|z1), with z1 ↔ z2 through ``top_hidden`` (None:
    two layers as wide as the last hidden one) and z2 of ``top_latent_dim`` (None: half
    of z1)."""
    bottom = dense_vae(config)
    z1 = config.latent_dim
    z2 = config.top_latent_dim or max(1, z1 // 2)
    width = config.hidden[-1] if config.hidden else z1
    top = list(config.top_hidden or (width, width))
    return HierarchicalVAE(
        bottom.encoder,
        bottom.decoder,
        config.output_shape,
        upper=gaussian_layer([z1, *top], z2, config.activation),
        lower=gaussian_layer([z2, *reversed(top)], z1, config.activation),
        vamp=bottom.vamp,
    )
