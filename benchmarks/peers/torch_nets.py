"""The benchmark's three networks as plain PyTorch modules, with PyTorch's default init.

Shared by the plain PyTorch loop (torch_loop.py) and the pythae peer, so both train
exactly the networks of the toolkit and of the Keras tutorial:

* dense 784-32-784 and deep 784-128-64-32-64-128-784, ReLU code, logits out;
* conv: [Conv(32, 3×3, same) → ReLU → MaxPool(2)] ×2  → (B, 32, 7, 7)
        [Conv(32, 3×3, same) → ReLU → UpSample(2)] ×2 → Conv(1, 3×3, same) → logits.
"""

from __future__ import annotations

import itertools

from torch import nn

HIDDEN = {"dense": (), "deep": (128, 64)}
LATENT = 32
PIXELS = 28 * 28
FILTERS = 32


def mlp(sizes: list[int], *, last_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or last_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def networks(model: str) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder, decoder) of ``model``; the decoder ends in logits (no sigmoid)."""
    if model == "conv":
        encoder = nn.Sequential(
            nn.Conv2d(1, FILTERS, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(FILTERS, FILTERS, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 7, 7)
        )
        decoder = nn.Sequential(
            nn.Conv2d(FILTERS, FILTERS, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),  # (B, 32, 14, 14)
            nn.Conv2d(FILTERS, FILTERS, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),  # (B, 32, 28, 28)
            nn.Conv2d(FILTERS, 1, 3, padding=1),
        )
        return encoder, decoder
    sizes = [PIXELS, *HIDDEN[model], LATENT]
    return mlp(sizes, last_relu=True), mlp(sizes[::-1], last_relu=False)


def input_shape(model: str) -> tuple[int, ...]:
    """Shape of one sample as the network takes it."""
    return (1, 28, 28) if model == "conv" else (PIXELS,)
