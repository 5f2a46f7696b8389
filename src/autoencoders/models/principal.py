"""PCA refined by residual networks: an autoencoder that starts where PCA ends.

On photographs a code of k numbers from PCA is hard to beat: a nonlinear autoencoder
trained from scratch for minutes on a CPU reconstructs held-out faces below PCA with
the same k. This model keeps PCA as its linear path and learns only what PCA misses:

    Encoder: h = Λ^-½ Uᵀ (x − μ) + f(x)       f: the ``resnet`` flat encoder
    Decoder: y = μ + U Λ^½ h                  the PCA reconstruction of the code
             x̂ = σ(logit(y) + g(y))           g: a small U-Net (y + g(y) for a linear output)

μ, U and Λ are the training data's mean, first ``latent_dim`` principal axes and their
variances, found when the model is fitted (:meth:`PrincipalResidualAutoencoder.init_from_data_`)
and kept fixed; the code is whitened, so each of its units has unit variance. The last
layers of f and g start at zero, so the untrained model *is* PCA (up to the output's
clipping to [0, 1]) and training moves it from there. On held-out faces at k = 32 / 64
/ 128 it reaches 23.91 / 25.88 / 28.59 dB in 6 epochs, and 24.20 / 26.19 / 29.00 with
its codes refined at encoding (``AutoEncoder(refine_code=30)``), where PCA gives 23.14 /
25.18 / 27.76 (``benchmarks/results/photos-recon-faces.md``).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

from autoencoders.errors import ParameterError
from autoencoders.models.base import Autoencoder, Decoder
from autoencoders.models.config import ModelConfig
from autoencoders.models.conv import check_image_shapes
from autoencoders.models.registry import register_model
from autoencoders.models.residual import (
    FLAT_CODE_CHANNELS,
    ResidualBlock,
    check_divisible,
    code_map_shape,
    encoder_body,
    group_norm,
)

EXACT_PCA_FEATURES = 1024  # up to this many values per sample, PCA by eigh of the covariance


class PrincipalAxes(nn.Module):
    """The fixed linear map x ↔ whitened PCA coordinates (buffers, saved with the weights)."""

    def __init__(self, input_shape: tuple[int, ...], k: int) -> None:
        super().__init__()
        d = math.prod(input_shape)
        self.input_shape = input_shape
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("axes", torch.zeros(k, d))  # rows: principal axes
        self.register_buffer("scale", torch.ones(k))  # the axes' standard deviations

    # In fp32 under a bf16 autocast too: the code and the PCA image are what the
    # learned corrections add to, and bf16's 8-bit mantissa would blur them.
    def project(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return (x.flatten(1).float() - self.mean) @ self.axes.T / self.scale

    def unproject(self, h: Tensor) -> Tensor:
        with torch.autocast(h.device.type, enabled=False):
            y = self.mean + (h.float() * self.scale) @ self.axes
        return y.reshape(-1, *self.input_shape)

    @torch.no_grad()
    def fit_(self, x: Tensor, generator_seed: int = 0) -> None:
        """The mean and the first k principal axes of ``x`` (see :func:`principal_axes`)."""
        mean, axes, scale = principal_axes(x.flatten(1), len(self.scale), generator_seed)
        self.mean.copy_(mean)
        self.axes.copy_(axes)
        self.scale.copy_(scale)


@torch.no_grad()
def principal_axes(x: Tensor, k: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """The mean of the rows of ``x`` (n, d), its first ``k`` principal axes (k, d) and
    their standard deviations (k,): from the covariance matrix where d is small (exact,
    and on MNIST's 784 values 5× faster), by a seeded randomised SVD otherwise."""
    x = x.float()
    if k > min(x.shape):
        raise ParameterError(
            f"latent_dim={k} principal axes need at least {k} samples and {k} values per "
            f"sample; got {x.shape[0]} samples of {x.shape[1]}: lower latent_dim"
        )
    mean = x.mean(0)
    n = len(x)
    # No centred copy of x is made: the sample may be most of the memory there is.
    if x.shape[1] <= EXACT_PCA_FEATURES:
        covariance = (x.T @ x - n * torch.outer(mean, mean)) / max(n - 1, 1)
        variances, vectors = torch.linalg.eigh(covariance)
        axes, scale = vectors[:, -k:].flip(1).T, variances[-k:].flip(0).clamp_min(0).sqrt()
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            q = min(k + 16, *x.shape)
            _, s, v = torch.svd_lowrank(x, q=q, niter=6, M=mean.expand_as(x))
        axes, scale = v[:, :k].T, s[:k] / math.sqrt(max(n - 1, 1))
    return mean, axes.contiguous(), scale.clamp_min(1e-6)


class PrincipalEncoder(nn.Module):
    """h = the whitened PCA code of x + a learned correction that starts at zero."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.axes = PrincipalAxes(config.input_shape, config.latent_dim)
        shape = code_map_shape(config, FLAT_CODE_CHANNELS)
        self.correction = nn.Sequential(
            *encoder_body(config, FLAT_CODE_CHANNELS),
            nn.Flatten(),
            nn.Linear(math.prod(shape), config.latent_dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.axes.project(x) + self.correction(x)


class Refiner(nn.Module):
    """A U-Net on the PCA reconstruction: one residual block a level on the way down
    (strided convolutions) and on the way up (skip connections added), its last
    convolution at zero so that it starts as the identity."""

    def __init__(self, channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.inlet = nn.Sequential(
            nn.PixelUnshuffle(2),
            nn.Conv2d(4 * channels, widths[0], 3, 1, 1),
            ResidualBlock(widths[0]),
        )
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, 2, 1), ResidualBlock(b))
            for a, b in itertools.pairwise(widths)
        )
        self.up = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(b, a, 3, 1, 1))
            for a, b in itertools.pairwise(widths)
        )
        self.merge = nn.ModuleList(ResidualBlock(a) for a in widths[:-1])
        self.outlet = nn.Sequential(
            group_norm(widths[0]),
            nn.SiLU(),
            nn.Conv2d(widths[0], 4 * channels, 3, 1, 1),
            nn.PixelShuffle(2),
        )

    def forward(self, y: Tensor) -> Tensor:
        skips = [self.inlet(y)]
        for down in self.down:
            skips.append(down(skips[-1]))
        z = skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge), strict=True):
            z = merge(skips.pop() + up(z))
        return self.outlet(z)

    def zero_last_(self) -> None:
        last = self.outlet[2]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)


class PrincipalDecoderBody(nn.Module):
    """Logits of x̂ from a code: the PCA reconstruction y, plus the refiner's correction
    (added to logit(y) under a sigmoid output, to y under a linear one)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.axes = PrincipalAxes(config.output_shape, config.latent_dim)
        self.refiner = Refiner(config.output_shape[0], config.filters)
        self.sigmoid = config.output_activation == "sigmoid"

    def forward(self, h: Tensor) -> Tensor:
        y = self.axes.unproject(h)
        base = torch.logit(y.clamp(1e-3, 1 - 1e-3)) if self.sigmoid else y
        return base + self.refiner(y)


class PrincipalResidualAutoencoder(Autoencoder):
    """See the module's docstring; ``init_from_data_`` makes it PCA before training."""

    @torch.no_grad()
    def init_from_data_(self, x: Tensor, seed: int = 0) -> None:
        self.encoder.axes.fit_(x, seed)
        self.decoder.body.axes.load_state_dict(self.encoder.axes.state_dict())
        nn.init.zeros_(self.encoder.correction[-1].weight)
        nn.init.zeros_(self.encoder.correction[-1].bias)
        self.decoder.body.refiner.zero_last_()


@register_model("pca-resnet")
def principal_residual_autoencoder(config: ModelConfig) -> PrincipalResidualAutoencoder:
    check_image_shapes(config)
    check_divisible(config)
    if config.latent_dim is None:
        raise ParameterError("the pca-resnet model has a flat code: give latent_dim")
    if config.input_shape != config.output_shape:
        raise ParameterError(
            "the pca-resnet model reconstructs its input (its decoder starts as the "
            "inverse of its encoder's PCA); for grey → colour use the resnet model"
        )
    decoder = Decoder(PrincipalDecoderBody(config), config.output_activation)
    return PrincipalResidualAutoencoder(PrincipalEncoder(config), decoder)
