"""Bounds on log p(x) for variational autoencoders: the ELBO, β-VAE and IWAE.

For a Gaussian posterior q(h|x) = N(μ, σ²), a prior p(h) and a decoder likelihood p(x|h):

    ELBO   = E_q[log p(x|h)] − β · KL(q(h|x) ‖ p(h))          (β = 1: Kingma & Welling, 2014;
                                                              β > 1: Higgins et al., 2017)
    IWAE_k = E[log (1/k) Σ_i p(x, h_i) / q(h_i|x)],  h_i ~ q  (Burda et al., 2016)

The prior is the model's (``model.log_prior``): with N(0, I) the KL is in closed form;
with a VampPrior or a second stochastic layer it is the one-draw estimate
log q(h|x) − log p(h), and in a hierarchy log p(h) is itself a one-draw importance
estimate, which makes every bound here the bound of the whole model.

Every term is in nats per sample, summed over the sample's values. With k → ∞ the IWAE
bound tends to log p(x), which is how the test log-likelihood is estimated.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autoencoders.models.variational import LOG_2PI, VariationalAutoencoder
from autoencoders.training.objectives import continuous_bernoulli_log_norm

LIKELIHOODS = ("bce", "cb", "mse", "gaussian")
MIN_LOG_SCALE = math.log(1e-3)  # a learned σ may not collapse onto constant pixels


def log_likelihood(
    kind: str, model: VariationalAutoencoder, logits: Tensor, target: Tensor
) -> Tensor:
    """log p(target | h) per sample, from the decoder's ``logits`` (…, *sample shape).

    ``bce``: Bernoulli; ``cb``: continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019),
    the proper density for values in [0, 1]; ``mse``: Gaussian with σ = 1; ``gaussian``:
    Gaussian with the model's learned per-output σ.
    """
    n_event = target.dim() - 1
    if kind in ("bce", "cb"):
        log_p = -F.binary_cross_entropy_with_logits(
            logits, target.expand_as(logits), reduction="none"
        )
        if kind == "cb":
            log_p = log_p + continuous_bernoulli_log_norm(logits)
    elif kind in ("mse", "gaussian"):
        mean = model.decoder.output_activation(logits)
        log_scale = (
            model.log_scale.clamp(min=MIN_LOG_SCALE)
            if kind == "gaussian"
            else torch.zeros((), device=logits.device)
        )
        log_p = -0.5 * ((target - mean) * torch.exp(-log_scale)).square() - log_scale - LOG_2PI / 2
    else:
        raise ValueError(f"unknown likelihood {kind!r}; choose one of {LIKELIHOODS}")
    return log_p.flatten(-n_event).sum(-1)


def gaussian_kl(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per sample, in closed form."""
    return 0.5 * (mean.square() + log_var.exp() - 1 - log_var).sum(-1)


def log_weights(
    model: VariationalAutoencoder,
    kind: str,
    target: Tensor,
    mean: Tensor,
    log_var: Tensor,
    samples: int,
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """log p(x|h_i) and log p(h_i) − log q(h_i|x) for ``samples`` draws h_i ~ q: (k, B) each."""
    std = torch.exp(0.5 * log_var)
    # new_empty().normal_() draws what torch.randn does, and torch.compile can trace it
    # with a symbolic batch size (the last, smaller batch), which randn's size cannot be.
    eps = mean.new_empty((samples, *mean.shape)).normal_(generator=generator)
    h = mean + std * eps
    logits = model.decoder.logits(h.flatten(0, 1)).unflatten(0, (samples, len(mean)))
    log_px = log_likelihood(kind, model, logits, target)
    log_q = -0.5 * (eps.square() + log_var + LOG_2PI).sum(-1)  # (h − μ)/σ is eps
    return log_px, model.log_prior(h, generator) - log_q


class ELBO(nn.Module):
    """The negative (β-)ELBO, or with ``samples`` = k > 1 the negative IWAE bound.

    ``forward`` returns ``loss`` and its parts, ``reconstruction`` (−E log p(x|h)) and
    ``kl``, each a mean over the batch in nats per sample.
    """

    def __init__(
        self, model: VariationalAutoencoder, kind: str, *, beta: float = 1.0, samples: int = 1
    ) -> None:
        super().__init__()
        if kind not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {kind!r}; choose one of {LIKELIHOODS}")
        self.model = [model]  # a list, so the model is not registered as a submodule
        self.kind, self.beta, self.samples = kind, beta, samples

    def forward(self, outputs: dict[str, Tensor], target: Tensor, inputs: Tensor) -> dict:
        model, mean, log_var = self.model[0], outputs["mean"], outputs["log_var"]
        if self.samples == 1:
            reconstruction, kl = self._one_draw(outputs, target)
            loss = reconstruction + self.beta * kl
        else:
            log_px, log_ratio = log_weights(model, self.kind, target, mean, log_var, self.samples)
            bound = torch.logsumexp(log_px + self.beta * log_ratio, 0) - math.log(self.samples)
            reconstruction, kl, loss = -log_px.mean(0), -log_ratio.mean(0), -bound
        return {"reconstruction": reconstruction.mean(), "kl": kl.mean(), "loss": loss.mean()}

    def per_sample(self, outputs: dict[str, Tensor], target: Tensor) -> Tensor:
        """The negative ELBO of each sample (one posterior draw; the KL in closed form
        under N(0, I))."""
        reconstruction, kl = self._one_draw(outputs, target)
        return reconstruction + self.beta * kl

    def _one_draw(self, outputs: dict[str, Tensor], target: Tensor) -> tuple[Tensor, Tensor]:
        """−log p(x|h) and the KL term of each sample, from one draw h ~ q(h|x)."""
        model, mean, log_var = self.model[0], outputs["mean"], outputs["log_var"]
        log_px, log_ratio = log_weights(model, self.kind, target, mean, log_var, 1)
        kl = gaussian_kl(mean, log_var) if model.standard_prior else -log_ratio[0]
        return -log_px[0], kl


@torch.no_grad()
def importance_sampled_log_likelihood(
    model: VariationalAutoencoder,
    kind: str,
    x: Tensor,
    samples: int,
    *,
    generator: torch.Generator | None = None,
    chunk: int = 500,
) -> Tensor:
    """log p(x) ≈ log (1/k) Σ_i p(x|h_i) p(h_i) / q(h_i|x) with k = ``samples`` (per sample).

    Burda et al. (2016) report test log-likelihoods this way with k = 5000. The k draws
    are taken ``chunk`` at a time and combined with a running log-sum-exp.
    """
    mean, log_var = model.encoder.distribution(x)
    total = torch.full((len(x),), -math.inf, device=x.device)
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        log_px, log_ratio = log_weights(model, kind, x, mean, log_var, k, generator=generator)
        total = torch.logaddexp(total, torch.logsumexp(log_px + log_ratio, 0))
    return total - math.log(samples)
