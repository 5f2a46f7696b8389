"""The convolutional autoencoder of the classic Keras denoising tutorial.

Encoder: [Conv(f, 3×3, same) → ReLU → MaxPool(2)] for f in filters   (B, F, ⌈H/4⌉, ⌈W/4⌉)
Decoder: [Conv(f, 3×3, same) → ReLU → UpSample(2)] for f reversed    (B, F, 4⌈H/4⌉, …)
         → Conv(C, 3×3, same) → crop to (H, W) → sigmoid
Pooling rounds up (Keras's ``padding="same"``), so any image size works; the
decoder crops the surplus rows and columns. With ``latent_dim`` set, a dense
bottleneck of that size sits between the two, for a flat code.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from autoencoders.models.base import Autoencoder, Decoder, activation_layer
from autoencoders.models.config import ModelConfig
from autoencoders.models.registry import register_model


class CropTo(nn.Module):
    """Keeps the top-left (H, W) of a feature map: undoes the rounding-up of pooling."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: Tensor) -> Tensor:
        return x[..., : self.height, : self.width]


def _pooled_size(size: int, n_pools: int) -> int:
    for _ in range(n_pools):
        size = math.ceil(size / 2)
    return size


def check_image_shapes(config: ModelConfig) -> None:
    if len(config.input_shape) != 3 or len(config.output_shape) != 3:
        raise ValueError(
            f"the {config.model} model needs images (C, H, W); got input shape {config.input_shape}"
        )
    if config.output_shape[1:] != config.input_shape[1:]:
        raise ValueError(
            f"the {config.model} model keeps the image size: input and target H, W must match"
        )


def conv_encoder_layers(config: ModelConfig) -> tuple[list[nn.Module], tuple[int, int, int]]:
    """The Conv → ReLU → MaxPool blocks, and the shape of the feature map they give."""
    channels, height, width = config.input_shape
    layers: list[nn.Module] = []
    c_in = channels
    for f in config.filters:
        layers += [
            nn.Conv2d(c_in, f, 3, padding=1),
            activation_layer(config.activation),
            nn.MaxPool2d(2, ceil_mode=True),
        ]
        c_in = f
    n_pools = len(config.filters)
    return layers, (c_in, _pooled_size(height, n_pools), _pooled_size(width, n_pools))


def conv_decoder_layers(config: ModelConfig) -> list[nn.Module]:
    """The Conv → ReLU → UpSample blocks from the encoder's feature map back to the image."""
    out_channels, height, width = config.output_shape
    layers: list[nn.Module] = []
    c_in = config.filters[-1]
    for f in reversed(config.filters):
        layers += [
            nn.Conv2d(c_in, f, 3, padding=1),
            activation_layer(config.activation),
            nn.Upsample(scale_factor=2, mode="nearest"),
        ]
        c_in = f
    return [*layers, nn.Conv2d(c_in, out_channels, 3, padding=1), CropTo(height, width)]


@register_model("conv")
def conv_autoencoder(config: ModelConfig) -> Autoencoder:
    check_image_shapes(config)
    encoder_layers, feature_shape = conv_encoder_layers(config)
    decoder_layers = conv_decoder_layers(config)
    if config.latent_dim is not None:
        encoder_layers += [
            nn.Flatten(),
            nn.Linear(math.prod(feature_shape), config.latent_dim),
            activation_layer(config.activation),
        ]
        decoder_layers = [
            nn.Linear(config.latent_dim, math.prod(feature_shape)),
            activation_layer(config.activation),
            nn.Unflatten(1, feature_shape),
            *decoder_layers,
        ]
    return Autoencoder(
        nn.Sequential(*encoder_layers),
        Decoder(nn.Sequential(*decoder_layers), config.output_activation),
    )
