"""Where and how the numbers are computed: device, seed, precision, the global generator.

Shared by the estimators, the trainer, the neighbour graph and the codec, so none of
them imports another for these.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from autoencoders.errors import DataError

PRECISIONS = ("fp32", "bf16")


def resolve_seed(random_state) -> int:
    """An int seed from scikit-learn's ``random_state`` (None draws a fresh one)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
    return int(random_state)


def resolve_device(device: str) -> torch.device:
    """``auto`` is CUDA when there is one; asking for CUDA without one is a DataError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DataError(
            f"device {device!r} was asked for but CUDA is not available; use device='cpu' or 'auto'"
        )
    return torch.device(device)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """``bf16``: matmuls and convolutions in bfloat16, weights, optimizer and losses in
    float32. It pays where the hardware multiplies bf16 natively (AVX512-BF16 or AMX
    CPUs, Ampere and later GPUs): 1.6× a conv epoch on MNIST (benchmarks/results/speed.md).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def float32(outputs: Tensor | dict[str, Tensor]) -> Tensor | dict[str, Tensor]:
    """A model's outputs in float32, so that losses are summed at full precision."""
    if isinstance(outputs, dict):
        return {name: float32(value) for name, value in outputs.items()}
    return outputs.float() if outputs.is_floating_point() else outputs


@contextlib.contextmanager
def seeded_global_rng(
    seed: int, epoch: int, device: torch.device, *, rank: int = 0
) -> Iterator[None]:
    """Seed PyTorch's global generator for one epoch, and restore it afterwards.

    Randomness drawn inside a model or an objective (a VAE's reparameterised samples)
    then depends only on the seed and the epoch: a fit is reproducible, a resumed fit
    draws what the uninterrupted one drew, and the caller's own generator is untouched.
    Each rank of a process group after the first draws a stream of its own.
    """
    devices = [device] if device.type == "cuda" else []
    entropy = [seed, epoch] if rank == 0 else [seed, epoch, rank]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))
        yield
