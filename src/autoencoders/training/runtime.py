"""Where and how the numbers are computed: device, seed, precision, the global generator.

Shared by the estimators, the trainer, the neighbour graph and the codec, so none of
them imports another for these.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from autoencoders.errors import DataError

PRECISIONS = ("fp32", "bf16", "auto")
BF16_MARGIN = 0.8  # "auto" takes bf16 only where its matmul needs under 80% of fp32's time


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
    CPUs, Ampere and later GPUs): 2.4× a conv epoch on MNIST on an AMX Xeon, 1.7× on an
    AMD EPYC (benchmarks/results/speed.md).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    if precision == "auto":
        precision = "bf16" if bf16_is_faster(device.type) else "fp32"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@functools.cache
def bf16_is_faster(device_type: str) -> bool:
    """Whether bfloat16 matmuls beat float32 ones here, measured once per process.

    CPU flags do not settle it: a 2-core Xeon that lists ``amx_bf16`` and ``avx512_bf16``
    ran a 4096² matmul at 100 GFLOP/s in bf16 and 269 in fp32 (the speed issue's figures),
    an AMD EPYC at 742 and 187. So ``precision="auto"`` times a 1024² matmul in each
    (about 0.1 s on a CPU) and takes bf16 where it needs under 80% of fp32's time; on
    CUDA it takes bf16 from compute capability 8 (Ampere) on.
    """
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability()[0] >= 8
    if device_type != "cpu":
        return False
    a = torch.randn(1024, 1024, generator=torch.Generator().manual_seed(0))
    best = {}
    for dtype in (torch.float32, torch.bfloat16):
        x = a.to(dtype)
        torch.matmul(x, x)  # warm-up: the kernel's first call picks and packs
        times = []
        for _ in range(3):
            started = time.perf_counter()
            torch.matmul(x, x)
            times.append(time.perf_counter() - started)
        best[dtype] = min(times)
    return best[torch.bfloat16] < BF16_MARGIN * best[torch.float32]


def float32(outputs: Tensor | dict[str, Tensor]) -> Tensor | dict[str, Tensor]:
    """A model's outputs in float32, so that losses are summed at full precision."""
    if isinstance(outputs, dict):
        return {name: float32(value) for name, value in outputs.items()}
    return outputs.float() if outputs.is_floating_point() else outputs


TINY_STATE = 1e-30  # optimiser state this small moves no weight (see zero_tiny_state_)
STATE_FLUSH_EVERY = 64  # steps; at β₁ = 0.9 a value takes 170 steps from 1e-30 to subnormal


@torch.no_grad()
def zero_tiny_state_(optimizer: torch.optim.Optimizer) -> None:
    """Set the optimiser's state entries under 1e-30 in magnitude to exactly zero.

    Where a weight's gradient stops (a ReLU unit that died), Adam's first moment decays
    by β₁ every step down through float32's subnormal range (below 1.2e-38), where each
    x86 operation on it costs a microcode assist: a 784-2048-512 MNIST denoiser's epochs
    went 7.1, 8.7, 12.0 s with 277 000 subnormal moments in its first layer (7.5, 7.3,
    7.7 s zeroed, the same loss). An entry under 1e-30 changes no update (Adam divides by
    √v + 1e-8; SGD's momentum adds it to weights of order 1e-2), and zeroed every 64 steps
    none ever becomes subnormal.
    (Flushing subnormals to zero, TensorFlow's default, would do too, but that mode
    belongs to each thread, and PyTorch's worker threads keep theirs.)
    """
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, Tensor) and value.is_floating_point() and value.dim():
                value.masked_fill_(value.abs() < TINY_STATE, 0)


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
