"""Training objectives: named loss terms computed from a model's outputs and a target.

Kept apart from the models (as CompressAI's ``RateDistortionLoss``) so that
regularisers can be composed with the reconstruction term.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

LOSSES = ("bce", "mse")


class ReconstructionLoss(nn.Module):
    """Mean per-element reconstruction error between the decoder's output and the target.

    ``bce`` is binary cross-entropy computed from the logits (stable where a sigmoid
    output saturates); ``mse`` compares the activated output with the target.
    """

    def __init__(self, kind: str, output_activation: nn.Module) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
        self.kind = kind
        self.output_activation = output_activation

    def per_element(self, logits: Tensor, target: Tensor) -> Tensor:
        if self.kind == "bce":
            return F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return (self.output_activation(logits) - target).square()

    def per_sample(self, logits: Tensor, target: Tensor) -> Tensor:
        return self.per_element(logits, target).flatten(1).mean(1)

    def forward(self, outputs: dict[str, Tensor], target: Tensor) -> dict[str, Tensor]:
        logits = outputs["logits"]
        if self.kind == "bce":
            loss = F.binary_cross_entropy_with_logits(logits, target)
        else:
            loss = F.mse_loss(self.output_activation(logits), target)
        return {"loss": loss}
