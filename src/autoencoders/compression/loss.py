"""The rate–distortion objective of a learned codec, reported term by term."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

PEAK = 255


class RateDistortionLoss(nn.Module):
    """``λ · 255² · MSE + bits per pixel``, CompressAI's ``RateDistortionLoss`` convention.

    The rate is ``−Σ log₂ p(ŷ)`` over the code, per image pixel (channels not counted);
    the distortion is the MSE of x̂ on the 8-bit scale, so λ means what it means there.
    """

    def __init__(self, lmbda: float) -> None:
        super().__init__()
        self.lmbda = lmbda

    def forward(self, outputs: dict[str, Tensor], target: Tensor, inputs: Tensor) -> dict:
        n, _, height, width = target.shape
        bpp = -outputs["likelihoods"].log2().sum() / (n * height * width)
        mse = F.mse_loss(outputs["x_hat"], target)
        return {"bpp": bpp, "mse": mse, "loss": self.lmbda * PEAK**2 * mse + bpp}
