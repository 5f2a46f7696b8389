"""Training objectives: a reconstruction term plus optional penalties, reported by name.

Kept apart from the models (as CompressAI's ``RateDistortionLoss``) so that
regularisers compose with any reconstruction loss: the total is ``loss`` and every
term is also returned on its own (``reconstruction``, ``sparsity``, ``contractive``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import jacrev, vmap

from autoencoders.metrics import ms_ssim, ssim

LOSSES = ("bce", "cb", "mse", "psnr", "ssim", "ms-ssim")
STRUCTURAL = {"ssim": ssim, "ms-ssim": ms_ssim}  # image losses: 1 − similarity, per image
PER_SAMPLE = ("psnr", *STRUCTURAL)  # losses averaged over per-sample scores, not elements
_MSE_FLOOR = 1e-8  # a perfect sample's −PSNR stops at −80 dB instead of −∞
SPARSITY = ("l1", "kl")


def continuous_bernoulli_log_norm(logits: Tensor) -> Tensor:
    """log C(λ) of the continuous Bernoulli with λ = sigmoid(logits), elementwise.

    C(λ) = 2 artanh(1 − 2λ) / (1 − 2λ), which in terms of the logit l is l / tanh(l / 2);
    near l = 0 (λ = ½, where C = 2) its Taylor series 2 + l²/6 avoids 0/0.
    """
    small = logits.abs() < 1e-2
    safe = torch.where(small, torch.ones_like(logits), logits)
    return torch.where(
        small, torch.log(2 + logits.square() / 6), torch.log(safe / torch.tanh(safe / 2))
    )


class ReconstructionLoss(nn.Module):
    """Mean per-element reconstruction error between the decoder's output and the target.

    ``bce`` is binary cross-entropy computed from the logits (stable where a sigmoid
    output saturates); ``cb`` is the continuous Bernoulli's negative log-density, the
    proper likelihood for values in [0, 1]; ``mse`` compares the activated output with
    the target; ``psnr`` is −PSNR of each sample in dB, averaged (the "PSNR loss" of
    HINet and NAFNet, Chen et al., 2021, 2022): a mean of log errors, so every image's
    PSNR counts alike, as in the average PSNR benchmarks report, where MSE is ruled by
    the hardest images and gives up easy ones (a colouriser trained on MSE tints grey
    photos); ``ssim`` and ``ms-ssim`` are 1 − (MS-)SSIM of each image (Zhao et al.,
    2017, "Loss functions for image restoration"), for photographs, where they weigh
    structure (edges, texture) that MSE blurs away.
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
        if self.kind == "cb":
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            return bce - continuous_bernoulli_log_norm(logits)
        return (self.output_activation(logits) - target).square()

    def per_sample(self, logits: Tensor, target: Tensor) -> Tensor:
        if self.kind in STRUCTURAL:
            output = self.output_activation(logits).clamp(0, 1)
            return 1 - STRUCTURAL[self.kind](output.float(), target.float())
        error = self.per_element(logits, target).flatten(1).mean(1)
        if self.kind == "psnr":
            return 10 * torch.log10(error.float() + _MSE_FLOOR)
        return error

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        if self.kind in PER_SAMPLE:
            return self.per_sample(logits, target).mean()
        if self.kind == "bce":
            return F.binary_cross_entropy_with_logits(logits, target)
        if self.kind == "mse":
            return F.mse_loss(self.output_activation(logits), target)
        return self.per_element(logits, target).mean()


class L1Sparsity(nn.Module):
    """``weight · mean over samples of Σ_j |h_j|``: Keras's ``activity_regularizer=l1``."""

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, code: Tensor) -> Tensor:
        return self.weight * code.abs().flatten(1).sum(1).mean()


class KLSparsity(nn.Module):
    """``weight · Σ_j KL(ρ ‖ ρ̂_j)``, ρ̂_j the batch's mean activation of code unit j.

    Pushes each unit to be active (near 1) on a fraction ρ of the inputs only (Ng's
    sparse autoencoder notes); the code must lie in [0, 1], e.g. a sigmoid code.
    """

    def __init__(self, weight: float, target: float) -> None:
        super().__init__()
        self.weight, self.target = weight, target

    def forward(self, code: Tensor) -> Tensor:
        rho = self.target
        rho_hat = code.flatten(1).mean(0).clamp(1e-6, 1 - 1e-6)
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        return self.weight * kl.sum()


class ContractivePenalty(nn.Module):
    """``weight · mean over samples of ‖∂h/∂x‖²_F``, the encoder Jacobian's Frobenius norm.

    Rifai et al. (2011), "Contractive auto-encoders". Computed exactly, one Jacobian per
    sample with ``torch.func`` (vmap of reverse-mode), which is cheap for dense encoders.
    """

    def __init__(self, weight: float, encoder: nn.Module) -> None:
        super().__init__()
        self.weight = weight
        self.encoder = [encoder]  # a list, so the encoder is not registered twice

    def forward(self, inputs: Tensor) -> Tensor:
        encoder = self.encoder[0]
        jacobians = vmap(jacrev(lambda x: encoder(x[None])[0]))(inputs)  # (B, *code, *input)
        return self.weight * jacobians.square().flatten(1).sum(1).mean()


class Objective(nn.Module):
    """Reconstruction plus the optional penalties; ``forward`` returns every term by name."""

    def __init__(
        self,
        reconstruction: ReconstructionLoss,
        *,
        sparsity: nn.Module | None = None,
        contractive: ContractivePenalty | None = None,
    ) -> None:
        super().__init__()
        self.reconstruction = reconstruction
        self.sparsity = sparsity
        self.contractive = contractive

    def forward(self, outputs: dict[str, Tensor], target: Tensor, inputs: Tensor) -> dict:
        terms = {"reconstruction": self.reconstruction(outputs["logits"], target)}
        if self.sparsity is not None:
            terms["sparsity"] = self.sparsity(outputs["code"])
        if self.contractive is not None:
            terms["contractive"] = self.contractive(inputs)
        terms["loss"] = sum(terms.values())
        return terms

    def per_sample(self, outputs: dict[str, Tensor], target: Tensor) -> Tensor:
        """The reconstruction error of each sample (what ``score_samples`` negates)."""
        return self.reconstruction.per_sample(outputs["logits"], target)
