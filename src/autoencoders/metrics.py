"""Reconstruction metrics, computed on the scaled values the network sees."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_EPS = 1e-7  # Keras's clipping of probabilities, so BCE stays finite at exact 0 and 1


def reconstruction_metrics(reconstruction: Tensor, target: Tensor, *, bounded: bool) -> dict:
    """MSE for any data; BCE and PSNR (peak 1, averaged over samples) for data in [0, 1]."""
    reconstruction, target = reconstruction.double(), target.double()
    per_sample_mse = (reconstruction - target).square().flatten(1).mean(1)
    metrics = {"mse": per_sample_mse.mean().item()}
    if bounded:
        clipped = reconstruction.clamp(_EPS, 1 - _EPS)
        metrics["bce"] = F.binary_cross_entropy(clipped, target.clamp(0, 1)).item()
        metrics["psnr"] = psnr(reconstruction, target).mean().item()
    return metrics


def psnr(reconstruction: Tensor, target: Tensor, *, peak: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio of each sample, in dB (capped at 100 dB for exact copies)."""
    mse = (reconstruction - target).double().square().flatten(1).mean(1)
    return (10 * torch.log10(peak**2 / mse.clamp_min(1e-10))).to(torch.float64)
