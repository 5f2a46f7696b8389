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


@register_model("conv")
def conv_autoencoder(config: ModelConfig) -> Autoencoder:
    if len(config.input_shape) != 3 or len(config.output_shape) != 3:
        raise ValueError(
            f"the conv model needs images (C, H, W); got input shape {config.input_shape}"
        )
    channels, height, width = config.input_shape
    out_channels, out_height, out_width = config.output_shape
    if (out_height, out_width) != (height, width):
        raise ValueError("the conv model keeps the image size: input and target H, W must match")

    encoder_layers: list[nn.Module] = []
    c_in = channels
    for f in config.filters:
        encoder_layers += [
            nn.Conv2d(c_in, f, 3, padding=1),
            activation_layer(config.activation),
            nn.MaxPool2d(2, ceil_mode=True),
        ]
        c_in = f

    decoder_layers: list[nn.Module] = []
    code_shape = (
        c_in,
        _pooled_size(height, len(config.filters)),
        _pooled_size(width, len(config.filters)),
    )
    if config.latent_dim is not None:
        encoder_layers += [
            nn.Flatten(),
            nn.Linear(math.prod(code_shape), config.latent_dim),
            activation_layer(config.activation),
        ]
        decoder_layers += [
            nn.Linear(config.latent_dim, math.prod(code_shape)),
            activation_layer(config.activation),
            nn.Unflatten(1, code_shape),
        ]
    for f in reversed(config.filters):
        decoder_layers += [
            nn.Conv2d(c_in, f, 3, padding=1),
            activation_layer(config.activation),
            nn.Upsample(scale_factor=2, mode="nearest"),
        ]
        c_in = f
    decoder_layers += [nn.Conv2d(c_in, out_channels, 3, padding=1), CropTo(height, width)]
    return Autoencoder(
        nn.Sequential(*encoder_layers),
        Decoder(nn.Sequential(*decoder_layers), config.output_activation),
    )
