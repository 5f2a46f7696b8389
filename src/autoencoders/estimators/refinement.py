"""Codes refined at inference: the encoder's guess, then gradient steps on the code alone.

An encoder amortises an optimisation: it maps each input straight to a code, trained so
that the decoder reconstructs the input well *on average*, and for a given input it
stops short of the code that the decoder would reconstruct best. Optimising each code
against its own reconstruction from that start, with the decoder fixed, closes that gap
(iterative or semi-amortised inference: Campos et al., 2019, "Content adaptive
optimization for neural image compression"; Yang et al., 2020, "Improving inference for
neural image compression"). The code keeps its size; encoding costs ``steps`` passes
through the decoder, forward and back. On validation CIFAR-10 photos a ``pca-resnet``
with 64 numbers per image went from 22.24 to 22.61 dB with 30 steps (100: 22.62).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from autoencoders.models.base import Autoencoder
from autoencoders.training.objectives import ReconstructionLoss

RATE = 0.05  # Adam's step, as a fraction of each code's root-mean-square value
_TINY = 1e-6


class RefinedCodes(nn.Module):
    """``model`` with every code refined by ``steps`` Adam steps that lower ``loss``
    between the input and its reconstruction; read like the model it wraps
    (``encoder``, ``reconstruct``, ``forward``).

    Adam's update is elementwise, so each sample's code moves as if refined alone: the
    result does not depend on the batch it came in. Its step is ``RATE`` times the
    code's root-mean-square value, so codes of any scale move alike.
    """

    def __init__(self, model: Autoencoder, loss: ReconstructionLoss, steps: int) -> None:
        super().__init__()
        self.model = model
        self.loss = loss
        self.steps = steps

    def encoder(self, x: Tensor) -> Tensor:
        code = self.model.encoder(x)
        # Inference runs under torch.inference_mode; the refinement needs gradients.
        with torch.inference_mode(False), torch.enable_grad():
            x, code = x.clone(), code.detach().clone()
            scale = code.flatten(1).float().square().mean(1).sqrt().clamp_min(_TINY)
            scale = scale.view(-1, *[1] * (code.dim() - 1))
            step = torch.zeros_like(code, dtype=torch.float32, requires_grad=True)
            optimizer = torch.optim.Adam([step], lr=RATE)
            for _ in range(self.steps):
                logits = self.model.decoder.logits(code + scale * step)
                loss = self.loss.per_sample(logits, x).sum()
                (step.grad,) = torch.autograd.grad(loss, step)
                optimizer.step()
            return (code + scale * step).detach().to(code.dtype)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        code = self.encoder(x)
        return {"code": code, "logits": self.model.decoder.logits(code)}

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.model.decoder(self.encoder(x))
