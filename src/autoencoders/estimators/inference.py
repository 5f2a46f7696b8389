"""Running a trained network over many samples: scaled inputs, batches, numpy out."""

from __future__ import annotations

import math

import numpy as np
import torch

from autoencoders.data.scaling import Scaler
from autoencoders.data.streaming import ScaledArray
from autoencoders.metrics import reconstruction_metrics
from autoencoders.models import ModelConfig
from autoencoders.training.runtime import autocast

MAX_BATCH = 4096
ACTIVATION_BYTES = 2**20  # floats per widest activation of a batch (~4 MB)


def scaled(scaler: Scaler, X: np.ndarray, images: bool) -> torch.Tensor | ScaledArray:
    """The scaled float32 samples; a memory-mapped ``X`` stays on disk and is read and
    scaled a batch at a time (a :class:`ScaledArray` indexed like the tensor).
    Grayscale images (n, H, W) get their channel axis: (n, 1, H, W)."""
    streamed = isinstance(X, np.memmap)  # only its first sample is scaled here, as a check
    values = np.ascontiguousarray(scaler.transform(X[:1] if streamed else X), np.float32)
    if not values.flags.writeable:  # a read-only array the scaler passed through
        values = values.copy()
    shape = tuple(values.shape[1:])
    if images and values.ndim == 3:
        shape = (1, *shape)
    if streamed:
        return ScaledArray(X, scaler, shape)
    return torch.from_numpy(values.reshape(len(values), *shape))


def batch_size(config: ModelConfig) -> int:
    """Batches whose widest activation stays near 4 MB: a larger buffer is a fresh
    mmap that the first write page-faults in, which made MNIST's conv encoder 3.6×
    slower at batch 256 than at 32. 1024 for MNIST's dense models, 32 for its conv."""
    width = max(math.prod(config.input_shape), math.prod(config.output_shape))
    if config.model in ("conv", "conv-vae"):
        width *= max(config.filters)
    return int(np.clip(2 ** int(math.log2(max(1, ACTIVATION_BYTES // width))), 16, MAX_BATCH))


@torch.inference_mode()
def run(
    module: torch.nn.Module,
    fn,
    x: torch.Tensor | ScaledArray,
    *,
    batch: int,
    device: torch.device,
    precision: str,
) -> np.ndarray:
    """Apply ``fn`` to ``x`` in batches on ``device``; float32 numpy out."""
    module.eval()
    with autocast(device, precision):
        outputs = [fn(x[i : i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)]
    return torch.cat(outputs).numpy()


def evaluate(
    reconstruct,
    x: torch.Tensor | ScaledArray,
    target: torch.Tensor | ScaledArray,
    corruption=None,
    *,
    bounded: bool,
    batch: int,
    seed: int,
) -> dict[str, float]:
    """Reconstruction metrics of ``reconstruct`` (scaled batch in, tensor out) against
    ``target``, a batch at a time; with ``corruption``, of the seeded noisy inputs too
    (as ``noisy_*``). Each metric is a mean over samples."""
    rng = torch.Generator().manual_seed(seed)
    sums: dict[str, float] = {}
    for start in range(0, len(x), batch):
        xb, tb = x[start : start + batch], target[start : start + batch]
        noisy = {}
        if corruption is not None:
            xb = corruption(xb, rng)
            noisy = reconstruction_metrics(xb, tb, bounded=bounded)
        metrics = reconstruction_metrics(reconstruct(xb), tb, bounded=bounded)
        metrics |= {f"noisy_{k}": v for k, v in noisy.items()}
        for name, value in metrics.items():
            sums[name] = sums.get(name, 0.0) + value * len(xb)
    return {name: total / len(x) for name, total in sums.items()}
