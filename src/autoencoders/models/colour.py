"""Colourisation as the literature does it: keep the grey input as the luminance and
predict only the colour (chroma) planes.

Zhang et al. (2016, "Colorful image colorization") and Iizuka et al. (2016) predict the
a, b planes of CIELAB from L; here the planes are Cb and Cr of JPEG's full-range YCbCr,
whose luminance Y is exactly what a grey conversion (ITU-R BT.601, PIL's ``"L"``)
gives, and whose conversion to RGB is linear: the output keeps every detail of the grey
input, so it is never worse than the grey image in luminance, and the loss is taken on
the composed RGB image, as for any other model.
"""

from __future__ import annotations

import torch
from torch import Tensor

from autoencoders.models.base import Autoencoder

_EPS = 1e-6  # keeps the logits of composed pixels at exactly 0 or 1 finite


def ycbcr_to_rgb(luma: Tensor, chroma: Tensor) -> Tensor:
    """``(B, 1, H, W)`` Y and ``(B, 2, H, W)`` Cb, Cr in [0, 1] (½ is no colour) → RGB."""
    cb, cr = chroma[:, :1] - 0.5, chroma[:, 1:] - 0.5
    red = luma + 1.402 * cr
    green = luma - 0.344136 * cb - 0.714136 * cr
    blue = luma + 1.772 * cb
    return torch.cat([red, green, blue], 1)


def rgb_to_chroma(rgb: Tensor) -> Tensor:
    """RGB in [0, 1] → Cb, Cr in [0, 1] (the inverse of :func:`ycbcr_to_rgb`'s chroma)."""
    red, green, blue = rgb[:, :1], rgb[:, 1:2], rgb[:, 2:]
    cb = 0.5 - 0.168736 * red - 0.331264 * green + 0.5 * blue
    cr = 0.5 + 0.5 * red - 0.418688 * green - 0.081312 * blue
    return torch.cat([cb, cr], 1)


class ChromaAutoencoder(Autoencoder):
    """Grey in, colour out: the decoder gives the two chroma planes (through its sigmoid),
    composed with the input's luminance into RGB.

    ``forward``'s logits are those of the composed image (so that the decoder's sigmoid
    gives it back and every loss applies unchanged); the decoder used on its own, from a
    code alone, gives the chroma planes, since the luminance comes from the input.
    """

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        code = self.encoder(x)
        rgb = ycbcr_to_rgb(x, self.decoder(code)).clamp(_EPS, 1 - _EPS)
        return {"code": code, "logits": torch.logit(rgb)}

    def reconstruct(self, x: Tensor) -> Tensor:
        return ycbcr_to_rgb(x, self.decoder(self.encoder(x))).clamp(0, 1)
