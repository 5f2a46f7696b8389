"""Reconstruction metrics, computed on the scaled values the network sees."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim as _ms_ssim
from pytorch_msssim import ssim as _ssim
from torch import Tensor

_EPS = 1e-7  # Keras's clipping of probabilities, so BCE stays finite at exact 0 and 1


def reconstruction_metrics(reconstruction: Tensor, target: Tensor, *, bounded: bool) -> dict:
    """MSE for any data; BCE and PSNR (peak 1, averaged over samples) for data in [0, 1],
    and SSIM too when the data are images."""
    reconstruction, target = reconstruction.double(), target.double()
    per_sample_mse = (reconstruction - target).square().flatten(1).mean(1)
    metrics = {"mse": per_sample_mse.mean().item()}
    if bounded:
        clipped = reconstruction.clamp(_EPS, 1 - _EPS)
        metrics["bce"] = F.binary_cross_entropy(clipped, target.clamp(0, 1)).item()
        metrics["psnr"] = psnr(reconstruction, target).mean().item()
        if target.ndim == 4:
            metrics["ssim"] = ssim(reconstruction.clamp(0, 1), target).mean().item()
    return metrics


def psnr(reconstruction: Tensor, target: Tensor, *, peak: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio of each sample, in dB (capped at 100 dB for exact copies)."""
    mse = (reconstruction - target).double().square().flatten(1).mean(1)
    return (10 * torch.log10(peak**2 / mse.clamp_min(1e-10))).to(torch.float64)


def ssim_window(height: int, width: int) -> int:
    """The Gaussian window of SSIM: 11 (Wang et al., 2004), or the largest odd size that
    fits a smaller image."""
    side = min(height, width, 11)
    return side if side % 2 else side - 1


def ssim(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Structural similarity of each image ``(n, C, H, W)`` in [0, 1] (1 is identical)."""
    window = ssim_window(*target.shape[-2:])
    return _ssim(reconstruction, target, data_range=1.0, size_average=False, win_size=window)


MS_SSIM_MIN_SIDE = 97  # five scales, four halvings, a 7-pixel window at the coarsest


def ms_ssim(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Multi-scale SSIM of each image (Wang et al., 2003); images over 96 pixels a side."""
    side = min(target.shape[-2:])
    if side < MS_SSIM_MIN_SIDE:
        raise ValueError(
            f"MS-SSIM needs images of at least {MS_SSIM_MIN_SIDE} pixels a side, these have "
            f"{side}; use SSIM for smaller images"
        )
    window = 11 if side > 160 else 7
    return _ms_ssim(reconstruction, target, data_range=1.0, size_average=False, win_size=window)
