"""Input corruptions for denoising autoencoders, drawn afresh for every batch.

A denoising autoencoder (Vincent et al., 2008) sees a corrupted x̃ and is trained to
give back the clean x, which forces the code to capture structure, not pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from autoencoders.errors import ParameterError

KINDS = ("gaussian", "salt-pepper", "mask")


@dataclass(frozen=True)
class Corruption:
    """``gaussian:σ`` adds σ·N(0, 1); ``salt-pepper:p`` sets a fraction p of values to
    0 or 1 (half each); ``mask:p`` zeroes a fraction p. With ``clip``, results are
    clipped to [0, 1], as the classic tutorial does for images."""

    kind: str
    level: float
    clip: bool = True

    @classmethod
    def parse(cls, spec: str, *, clip: bool = True) -> Corruption:
        """Read ``"kind:level"``; raises ParameterError with the accepted forms."""
        kind, _, level_text = spec.partition(":")
        try:
            level = float(level_text)
        except ValueError:
            level = float("nan")
        if kind not in KINDS or not level >= 0 or (kind != "gaussian" and level > 1):
            raise ParameterError(
                f"noise {spec!r} is not understood; use gaussian:SIGMA (e.g. gaussian:0.5), "
                "salt-pepper:P or mask:P with 0 <= P <= 1"
            )
        return cls(kind, level, clip)

    def __str__(self) -> str:
        return f"{self.kind}:{self.level:g}"

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.kind == "gaussian":
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            noisy = x + self.level * noise
        else:
            hit = torch.rand(x.shape, generator=generator, device=x.device) < self.level
            if self.kind == "mask":
                noisy = x.masked_fill(hit, 0.0)
            else:
                salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
                noisy = torch.where(hit, salt.to(x.dtype), x)
        return noisy.clamp(0.0, 1.0) if self.clip else noisy


def binarize(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A fresh Bernoulli draw of data in [0, 1]: "dynamic binarisation".

    The protocol behind the MNIST likelihoods of the VAE literature (Burda et al., 2016):
    every batch sees each pixel on with probability equal to its grey level.
    """
    return torch.bernoulli(x, generator=generator)


def horizontal_flip(x: Tensor, target: Tensor, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """Mirror a random half of a batch of images left to right, each target with its
    input (the augmentation photographs take: a mirrored face is still a face)."""
    shape = (len(x),) + (1,) * (x.dim() - 1)
    flip = (torch.rand(len(x), generator=rng, device=x.device) < 0.5).view(shape)
    flipped = torch.where(flip, x.flip(-1), x)
    if target is x:
        return flipped, flipped
    return flipped, torch.where(
        flip.view((len(target),) + (1,) * (target.dim() - 1)), target.flip(-1), target
    )
