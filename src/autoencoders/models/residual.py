"""The photo family: residual convolutional encoders and decoders.

The shapes of Stable Diffusion's autoencoder (Rombach et al., 2022) and CompressAI's
analysis / synthesis transforms, scaled down to what a CPU trains in minutes:

    Encoder: PixelUnshuffle(2) → Conv3×3(4C → w₁) → ResBlock
             → for each next width w: Conv3×3 stride 2 (→ w) → ResBlock
             → GroupNorm → SiLU → Conv3×3 (→ code channels)       (B, k, H/2^L, W/2^L)
             [latent_dim set: → flatten → Linear(latent_dim)]      (B, latent_dim)
    Decoder: the mirror image, nearest-neighbour upsampling + Conv3×3 in place of the
             strided convolutions, ending Conv3×3 (→ 4C) → PixelShuffle(2)
    ResBlock: x + Conv3×3(SiLU(GN(Conv3×3(SiLU(GN(x))))))

L = len(filters) halvings in all (the first by pixel unshuffling, which moves each 2×2
patch into channels: the full-resolution convolutions, the costly ones, are skipped).
Images must be a multiple of 2^L on each side. Without ``latent_dim`` the code is the
spatial map of ``code_channels`` channels, as in latent-diffusion and codec models.
Trained from grey images to colour ones, it colourises: it keeps the input as the
luminance and predicts the chroma (:class:`~autoencoders.models.colour.ChromaAutoencoder`).
The variational model (``resnet-vae``) has a flat Gaussian code of ``latent_dim`` read
from the encoder's last map, so that its prior is the usual N(0, I).
"""

from __future__ import annotations

import itertools
import math

from torch import Tensor, nn

from autoencoders.models.base import Autoencoder, Decoder
from autoencoders.models.colour import ChromaAutoencoder
from autoencoders.models.config import ModelConfig
from autoencoders.models.conv import check_image_shapes
from autoencoders.models.registry import register_model
from autoencoders.models.variational import GaussianEncoder, VariationalAutoencoder, vamp_prior

DEFAULT_CODE_CHANNELS = 4  # Stable Diffusion's autoencoder's latent channels
FLAT_CODE_CHANNELS = 16  # the map a flat code reads: narrow, so its dense layer stays small


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups (Wu & He, 2018), as many as divide ``channels``."""
    return nn.GroupNorm(math.gcd(32, channels), channels)


class ResidualBlock(nn.Module):
    """x + F(x) with F = two pre-activation (GroupNorm → SiLU → Conv3×3) layers."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            group_norm(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            group_norm(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def downsampling_factor(config: ModelConfig) -> int:
    return 2 ** len(config.filters)


def check_divisible(config: ModelConfig) -> None:
    factor = downsampling_factor(config)
    height, width = config.input_shape[1:]
    if height % factor or width % factor:
        raise ValueError(
            f"the {config.model} model halves images {len(config.filters)} times, so their "
            f"sides must be multiples of {factor}; got {height}×{width}: resize or crop them, "
            "or give fewer filters"
        )


def encoder_body(config: ModelConfig, code_channels: int) -> nn.Sequential:
    channels = config.input_shape[0]
    widths = config.filters
    layers: list[nn.Module] = [nn.PixelUnshuffle(2), nn.Conv2d(4 * channels, widths[0], 3, 1, 1)]
    layers.append(ResidualBlock(widths[0]))
    for c_in, c_out in itertools.pairwise(widths):
        layers.append(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1))
        layers.append(ResidualBlock(c_out))
    layers += [group_norm(widths[-1]), nn.SiLU(), nn.Conv2d(widths[-1], code_channels, 3, 1, 1)]
    return nn.Sequential(*layers)


def colourises(config: ModelConfig) -> bool:
    """Grey in, RGB out: the decoder predicts chroma only (see :mod:`.colour`)."""
    return config.input_shape[0] == 1 and config.output_shape[0] == 3


def decoder_body(config: ModelConfig, code_channels: int) -> nn.Sequential:
    channels = 2 if colourises(config) else config.output_shape[0]
    widths = tuple(reversed(config.filters))
    layers: list[nn.Module] = [nn.Conv2d(code_channels, widths[0], 3, 1, 1)]
    layers.append(ResidualBlock(widths[0]))
    for c_in, c_out in itertools.pairwise(widths):
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1)]
        layers.append(ResidualBlock(c_out))
    layers += [
        group_norm(widths[-1]),
        nn.SiLU(),
        nn.Conv2d(widths[-1], 4 * channels, 3, 1, 1),
        nn.PixelShuffle(2),
    ]
    return nn.Sequential(*layers)


def code_map_shape(config: ModelConfig, code_channels: int) -> tuple[int, int, int]:
    factor = downsampling_factor(config)
    _, height, width = config.input_shape
    return code_channels, height // factor, width // factor


def feature_map_channels(config: ModelConfig) -> int:
    """Channels of the encoder's last map: the code itself, or what a flat code reads."""
    if config.latent_dim is None:
        return config.code_channels or DEFAULT_CODE_CHANNELS
    return config.code_channels or FLAT_CODE_CHANNELS


@register_model("resnet")
def residual_autoencoder(config: ModelConfig) -> Autoencoder:
    check_image_shapes(config)
    check_divisible(config)
    channels = feature_map_channels(config)
    encoder, decoder = encoder_body(config, channels), decoder_body(config, channels)
    if config.latent_dim is not None:
        shape = code_map_shape(config, channels)
        encoder = nn.Sequential(
            *encoder, nn.Flatten(), nn.Linear(math.prod(shape), config.latent_dim)
        )
        decoder = nn.Sequential(
            nn.Linear(config.latent_dim, math.prod(shape)), nn.Unflatten(1, shape), *decoder
        )
    kind = ChromaAutoencoder if colourises(config) else Autoencoder
    return kind(encoder, Decoder(decoder, config.output_activation))


@register_model("resnet-vae")
def residual_vae(config: ModelConfig) -> VariationalAutoencoder:
    check_image_shapes(config)
    check_divisible(config)
    channels = feature_map_channels(config)
    shape = code_map_shape(config, channels)
    body = nn.Sequential(*encoder_body(config, channels), nn.Flatten())
    decoder = nn.Sequential(
        nn.Linear(config.latent_dim, math.prod(shape)),
        nn.Unflatten(1, shape),
        *decoder_body(config, channels),
    )
    return VariationalAutoencoder(
        GaussianEncoder(body, math.prod(shape), config.latent_dim),
        Decoder(decoder, config.output_activation),
        config.output_shape,
        vamp=vamp_prior(config),
    )
