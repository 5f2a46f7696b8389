"""Data-parallel training over processes, GPUs and machines (``torch.distributed``).

Every process (a *rank*) holds a replica of the model and trains on its shard of each
epoch; ``DistributedDataParallel`` averages the gradients during ``backward``, so all
replicas take the same step. The trainer splits the global batch evenly over the
ranks, so an epoch goes through the very batches of single-process training, each
computed in parts. Rank 0 alone writes checkpoints, the run directory and logs.

A launcher starts the ranks and tells each who it is (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``…): ``torchrun`` on a cluster, or
``autoencoders train … --nproc N``, which runs torchrun's own launcher on this machine.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from autoencoders.errors import EXIT_USAGE, TrainingError


def launched() -> bool:
    """Whether a launcher (torchrun) started this process as one rank of a job."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of ranks; (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process writes files and logs (rank 0, or the only process)."""
    return rank_and_world()[0] == 0


@contextlib.contextmanager
def process_group(device: str) -> Iterator[None]:
    """Join the launcher's process group for the block; nothing if no launcher started us.

    CUDA ranks use NCCL with one GPU each (``LOCAL_RANK``), so ``device="cuda"``
    means this rank's GPU; CPU ranks use gloo.
    """
    if not launched():
        yield
        return
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield
        dist.barrier()  # rank 0 writes the run after training: leave together
    finally:
        # A DDP wrapper that outlives the group (unreachable, but in a reference cycle)
        # aborts the process at exit now and then ("terminate called without an active
        # exception"): collect it while the group still exists.
        gc.collect()
        dist.destroy_process_group()


def shard(order: Tensor, rank: int, world: int) -> Tensor:
    """This rank's part of an epoch's sample order, dealt as ``DistributedSampler`` does.

    The order is padded (wrapping around) to a multiple of ``world``, then rank ``r``
    takes every ``world``-th sample from ``r``. With a local batch of ``batch / world``,
    the ranks' ``i``-th batches together are exactly the single process's ``i``-th batch.
    """
    padded = math.ceil(len(order) / world) * world
    return order.repeat(math.ceil(padded / len(order)))[:padded][rank::world]


def replicate(model: nn.Module) -> nn.Module:
    """The model wrapped so that ``backward`` averages its gradients over the ranks."""
    device = next(model.parameters()).device
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return DistributedDataParallel(model, device_ids=[index])
    return DistributedDataParallel(model)


def unwrap(model: nn.Module) -> nn.Module:
    """The model itself, out of its :func:`replicate` wrapper if it has one."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """Sum ``tensor`` over the ranks, in place (a no-op in a single process)."""
    if rank_and_world()[1] > 1:
        dist.all_reduce(tensor)
    return tensor


def all_gather(tensor: Tensor) -> list[Tensor]:
    """Every rank's ``tensor`` (the same shape on each), in rank order; ``[tensor]`` alone."""
    world = rank_and_world()[1]
    if world == 1:
        return [tensor]
    parts = [torch.empty_like(tensor) for _ in range(world)]
    dist.all_gather(parts, tensor)
    return parts


def launch(nproc: int, argv: Sequence[str]) -> None:
    """Run ``python -m autoencoders ARGV`` in ``nproc`` processes on this machine and wait.

    The same as ``torchrun --standalone --nproc-per-node NPROC -m autoencoders ARGV``.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    args = get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "--module", "autoencoders"]
    )
    args.training_script_args = list(argv)  # set here: argparse would read them as its own
    # The cores shared out between the processes (torchrun's default is one thread each).
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (cores or 1) // nproc)))
    # The processes print their own errors; the launcher's log would repeat them at length.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    try:
        run(args)
    except ChildFailedError as error:
        rank, failure = error.get_first_failure()
        if failure.exitcode == EXIT_USAGE:  # the first process printed the one-line reason
            raise SystemExit(EXIT_USAGE) from None
        raise TrainingError(
            f"training process {rank} of {nproc} failed (exit code {failure.exitcode}); "
            "its message is above"
        ) from None
