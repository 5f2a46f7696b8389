"""Minibatch training of any autoencoder against any objective.

Data that fits in memory lives on the device as one tensor and is sliced by index:
no per-sample Python ``DataLoader``, and the loss is read back to the host once per
epoch, not once per step. Data larger than memory comes as a
:class:`~autoencoders.data.streaming.ScaledArray`, indexed the same way, which reads
each batch from disk. In a ``torch.distributed`` process group every rank trains on
its shard of each epoch (see :mod:`autoencoders.training.distributed`).
"""

from __future__ import annotations

import copy
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from autoencoders.errors import ParameterError, TrainingError
from autoencoders.training import distributed
from autoencoders.training.checkpoint import Checkpoint, TrainState
from autoencoders.training.corruption import Corruption
from autoencoders.training.runtime import (
    STATE_FLUSH_EVERY,
    autocast,
    float32,
    seeded_global_rng,
    zero_tiny_state_,
)

if TYPE_CHECKING:
    from autoencoders.data.streaming import ScaledArray
    from autoencoders.training.neighbors import NeighborEmbedding

    Samples = Tensor | ScaledArray

# Default learning rates. Adam's is four times Keras's 1e-3 because the default schedule
# anneals it to zero: on MNIST (training images 1-50 000, validation BCE on the other 10 000)
# 4e-3 against 2e-3 ends 50 epochs of 784-128-64-32 at 0.0784 against 0.0808 and reaches
# 0.0872 in 12 epochs against 17 (seed 0; the time-to-quality issue); 784-32-784 ends level.
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], float]] = {
    "adam": (torch.optim.Adam, 4e-3),
    "adadelta": (torch.optim.Adadelta, 1.0),
    "sgd": (torch.optim.SGD, 1e-2),
}


@dataclass(frozen=True)
class TrainConfig:
    """How to train; ``learning_rate=None`` takes the optimizer's usual default."""

    epochs: int = 50
    batch_size: int = 256
    optimizer: str = "adam"
    learning_rate: float | None = None
    shuffle: bool = True
    early_stopping: int | None = None  # patience, in epochs without improvement
    lr_schedule: str = "cosine"  # anneals to 0 over the planned steps; or "constant"
    gradient_clip: float | None = None  # max global gradient norm, against exploding steps
    precision: str = "fp32"  # "bf16": the forward pass under bfloat16 autocast; "auto"
    compile: bool = False  # torch.compile the training step's forward pass and loss
    eval_batch_size: int = 1024  # batches of the validation pass, which keeps no gradients
    verbose: int = 1
    # Called as callback(row, model) after every epoch, row being that epoch's history entry.
    callbacks: tuple[Callable[[dict[str, float], nn.Module], None], ...] = ()


@dataclass
class TrainResult:
    history: list[dict[str, float]]
    stop_reason: str  # "completed", "early_stopping" or a sentence about a non-finite loss


LR_SCHEDULES = ("constant", "cosine")
WARMUP_FRACTION = 0.05
WARMUP_STEPS = 100


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """The learning rate at ``step`` as a fraction of the base rate.

    ``cosine``: a linear warm-up over the first 5% of the steps, at most 100 (large early
    Adam steps are what kill ReLU units, and a longer run needs no longer warm-up: on
    MNIST, at 4e-3, 784-128-64-32 reaches a validation BCE of 0.0872 in 9–11 epochs with
    the cap, 12 or more without it, seeds 0–2), then a cosine decay to zero at the last
    step. A pure function of the step, so a resumed run follows the very same schedule.
    """
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"unknown lr_schedule {schedule!r}; choose one of {LR_SCHEDULES}")
    warmup = max(1, min(WARMUP_STEPS, round(WARMUP_FRACTION * total_steps)))
    return min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / total_steps))


def make_optimizer(name: str, params, learning_rate: float | None) -> torch.optim.Optimizer:
    """The optimizer called ``name``; each group remembers its base rate as ``initial_lr``."""
    try:
        cls, default_lr = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        ) from None
    # Adam's fused kernel updates every tensor in one pass: 2.5× faster steps than the
    # foreach default on CPU, a sixth of a dense MNIST epoch (benchmarks/results/speed.md).
    options = {"fused": True} if cls is torch.optim.Adam else {}
    optimizer = cls(params, lr=default_lr if learning_rate is None else learning_rate, **options)
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    return optimizer


class Trainer:
    """Fits a model so that ``model(corrupt(x))`` reconstructs ``target``."""

    def __init__(
        self,
        config: TrainConfig,
        objective: nn.Module,
        *,
        corruption: Corruption | None = None,
        resample: Callable[[Tensor, torch.Generator], Tensor] | None = None,
        augment: Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]] | None = None,
        neighbors: NeighborEmbedding | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.objective = objective
        self.corruption = corruption
        self.resample = resample
        self.augment = augment  # training batches only: val_loss sees the data as it is
        # A term on pairs of training samples (a batch's and their drawn neighbours), so
        # the trainer's to add: a batch's objective sees only the batch.
        self.neighbors = neighbors
        self.seed = seed
        # Fuses the step's elementwise work (activations, the loss) into generated kernels;
        # compiled lazily, at the first step. Validation passes stay eager.
        self._step_loss = compiled(self._loss) if config.compile else self._loss

    def fit(
        self,
        model: nn.Module,
        x: Samples,
        target: Samples,
        validation: tuple[Samples, Samples] | None = None,
        *,
        checkpoint: Checkpoint | None = None,
    ) -> TrainResult:
        """Train; with ``checkpoint``, resume from it if it exists and save it every epoch.

        In a process group, every rank calls this with the same data and settings;
        ``batch_size`` is the global batch, split evenly over the ranks, and only rank 0
        saves checkpoints, shows progress and calls the callbacks.
        """
        cfg = self.config
        device = x.device
        rank, world = distributed.rank_and_world()
        if cfg.batch_size % world:
            raise ParameterError(
                f"batch_size {cfg.batch_size} does not split evenly over {world} processes; "
                f"use a multiple of {world}"
            )
        rngs = {
            "shuffle": torch.Generator().manual_seed(self.seed + 1),
            # Each rank corrupts its own samples with a stream of its own.
            "noise": torch.Generator(device=device).manual_seed(self.seed + 2 + 10_000 * rank),
        }
        optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.learning_rate)
        state = TrainState()
        if checkpoint is not None and checkpoint.exists():
            state = checkpoint.restore(model, optimizer)
            rngs["shuffle"].set_state(state.rng_states["shuffle"])
            # Each rank's noise stream goes on where it stopped (a checkpoint of a run with
            # fewer processes has none for this rank: it starts afresh).
            noise = state.rng_states.get(noise_stream(rank))
            if noise is not None:
                rngs["noise"].set_state(noise)
        main = rank == 0
        net = distributed.replicate(model) if world > 1 else model
        steps = math.ceil(len(x) / cfg.batch_size)
        last_good = copy.deepcopy(model.state_dict())
        progress = Progress(cfg.epochs, steps, cfg.verbose if main else 0)
        try:
            for epoch in range(state.epoch + 1, cfg.epochs + 1):
                if state.stop_reason is not None:
                    break
                progress.start_epoch(epoch)
                started = time.perf_counter()
                with seeded_global_rng(self.seed, epoch, device, rank=rank):
                    loss = self._train_epoch(net, optimizer, x, target, rngs, epoch, progress)
                if not math.isfinite(loss):
                    state.stop_reason = self._diverged(model, last_good, epoch, loss)
                else:
                    last_good = copy.deepcopy(model.state_dict())
                    row = {"epoch": epoch, "loss": loss}
                    if validation is not None:
                        with seeded_global_rng(self.seed, 0, device, rank=rank):
                            row["val_loss"] = self.evaluate(
                                model, *validation, draw_seed=self.seed + 3 + 10_000 * rank
                            )
                    row["seconds"] = time.perf_counter() - started
                    state.history.append(row)
                    state.epoch = epoch
                    progress.end_epoch(row)
                    for callback in cfg.callbacks if main else ():
                        callback(row, model)
                    self._early_stopping(model, state, last_good)
                # Every rank takes part, whether or not it holds the checkpoint (rank 0 does).
                streams = distributed.all_gather(rngs["noise"].get_state().to(device))
                if checkpoint is not None and main:
                    state.rng_states = {"shuffle": rngs["shuffle"].get_state()} | {
                        noise_stream(r): stream.cpu() for r, stream in enumerate(streams)
                    }
                    checkpoint.save(model, optimizer, state)
        finally:
            progress.close()
        return TrainResult(state.history, state.stop_reason or "completed")

    def _early_stopping(self, model: nn.Module, state: TrainState, weights: dict) -> None:
        """Track the best epoch; past the patience, restore its weights and stop."""
        if self.config.early_stopping is None:
            return
        row = state.history[-1]
        monitored = row.get("val_loss", row["loss"])
        if monitored < state.best:
            state.best, state.waited, state.best_weights = monitored, 0, weights
            return
        state.waited += 1
        if state.waited >= self.config.early_stopping:
            model.load_state_dict(state.best_weights)
            state.stop_reason = "early_stopping"

    def _train_epoch(self, model, optimizer, x, target, rngs, epoch, progress) -> float:
        model.train()
        cfg = self.config
        rank, world = distributed.rank_and_world()
        n, batch = len(x), cfg.batch_size // world
        steps = math.ceil(n / cfg.batch_size)
        base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        order = torch.randperm(n, generator=rngs["shuffle"]) if cfg.shuffle else None
        if order is None and (world > 1 or self.neighbors is not None):
            order = torch.arange(n)  # sample numbers: to shard, or to look neighbours up
        if world > 1:
            order = distributed.shard(order, rank, world)
        order = None if order is None else order.to(x.device)
        total = torch.zeros((), device=x.device)
        count = n if order is None else len(order)
        for i, start in enumerate(range(0, count, batch)):
            if order is None:
                xb, tb = x[start : start + batch], target[start : start + batch]
            else:
                idx = order[start : start + batch]
                xb = take(x, idx)
                tb = xb if target is x else take(target, idx)
            neighbors = None
            if self.neighbors is not None:
                neighbors = take(x, self.neighbors.graph.sample(idx, rngs["noise"]))
            if self.augment is not None:
                xb, tb = self.augment(xb, tb, rngs["noise"])
            inputs, tb = self._draw(xb, tb, target is x, rngs["noise"])
            loss = self._step_loss(model, inputs, tb, neighbors)
            step = (epoch - 1) * steps + i  # over the whole run, so a resumed one matches
            factor = lr_factor(cfg.lr_schedule, step, cfg.epochs * steps)
            for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base_lr * factor
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.gradient_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.gradient_clip, foreach=True)
            optimizer.step()
            # counted over the run: an epoch of fewer than 64 steps would never reach it
            if x.device.type == "cpu" and (step + 1) % STATE_FLUSH_EVERY == 0:
                zero_tiny_state_(optimizer)
            total += loss.detach() * len(xb)
            progress.step()
        return (distributed.all_reduce_sum(total) / (count * world)).item()

    def _draw(self, xb: Tensor, tb: Tensor, same: bool, rng: torch.Generator):
        """The batch as the model sees it (resampled, then corrupted) and its target;
        ``same``: the target is the input, so it is resampled along with it."""
        if self.resample is not None:
            xb = self.resample(xb, rng)
            tb = xb if same else tb
        inputs = self.corruption(xb, rng) if self.corruption is not None else xb
        return inputs, tb

    def _loss(
        self, model: nn.Module, inputs: Tensor, target: Tensor, neighbors: Tensor | None = None
    ) -> Tensor:
        """The objective on one batch: the forward pass at the configured precision, the
        loss in float32; with ``neighbors`` (one drawn per sample), the neighbour term."""
        with autocast(inputs.device, self.config.precision):
            outputs = model(inputs)
            if neighbors is not None:
                neighbor_code = distributed.unwrap(model).encoder(neighbors)
        outputs = float32(outputs)
        loss = self.objective(outputs, target, inputs)["loss"]
        if neighbors is not None:
            loss = loss + self.neighbors(outputs["code"], neighbor_code.float())
        return loss

    def _diverged(self, model: nn.Module, last_good: dict, epoch: int, loss: float) -> str:
        model.load_state_dict(last_good)
        advice = "lower the learning rate (--lr) or check the data for extreme values"
        if epoch == 1:
            raise TrainingError(f"training diverged in epoch 1 (loss {loss}); {advice}")
        return (
            f"loss became {loss} in epoch {epoch}; kept the weights of epoch {epoch - 1}; {advice}"
        )

    @torch.no_grad()  # not inference_mode: a contractive penalty differentiates inside
    def evaluate(
        self, model: nn.Module, x: Samples, target: Samples, *, draw_seed: int | None = None
    ) -> float:
        """Mean loss (with any penalties) over ``x`` in large batches, without gradients.

        With ``draw_seed``, inputs are resampled and corrupted as in training, by a
        generator seeded afresh each call: every epoch's val_loss sees the same draw.
        In a process group each rank takes a contiguous part and the sums are combined.
        """
        model.eval()
        rank, world = distributed.rank_and_world()
        rng = None if draw_seed is None else torch.Generator(x.device).manual_seed(draw_seed)
        batch = self.config.eval_batch_size
        first, stop = len(x) * rank // world, len(x) * (rank + 1) // world
        total = torch.zeros((), device=x.device)
        for start in range(first, stop, batch):
            end = min(start + batch, stop)
            xb, tb = x[start:end], target[start:end]
            if rng is not None:
                xb, tb = self._draw(xb, tb, target is x, rng)
            total += self._loss(model, xb, tb).detach() * len(xb)
        return (distributed.all_reduce_sum(total) / len(x)).item()


def noise_stream(rank: int) -> str:
    """The checkpoint's name for a rank's noise generator (rank 0's keeps the old name)."""
    return "noise" if rank == 0 else f"noise.rank{rank}"


def _not_a_profiler_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Profiler record function")


def compiled(function: Callable) -> Callable:
    """``torch.compile(function)``, whose backend failing (no C++ compiler for the CPU
    kernels, say) is a one-line TrainingError rather than pages of compiler output."""
    # Dynamo says, once per process, that it skips DDP's profiler ranges: harmless, and
    # --nproc N would print it N times.
    logging.getLogger("torch._dynamo.variables.ctx_manager").addFilter(_not_a_profiler_notice)
    optimized = torch.compile(function)

    def call(*args):
        try:
            return optimized(*args)
        except torch._dynamo.exc.BackendCompilerFailed as error:
            inner = error.inner_exception
            first_line = next(iter(str(inner).strip().splitlines()), "")
            reason = f"{type(inner).__name__}: {first_line}"
            raise TrainingError(
                f"torch.compile failed ({reason}); train without it (drop --compile, or "
                "compile=False) or install what the backend needs (a C++ compiler on CPU)"
            ) from None

    return call


def take(samples: Samples, index: Tensor) -> Tensor:
    """The rows at ``index``; ``index_select`` gathers 3× faster than ``samples[index]``."""
    return samples.index_select(0, index) if isinstance(samples, Tensor) else samples[index]


class Progress:
    """A live bar on a terminal; in a log (CI, a file) about 20 plain lines per run."""

    def __init__(self, epochs: int, steps_per_epoch: int, verbose: int) -> None:
        self.epochs = epochs
        self.live = verbose > 0 and sys.stderr.isatty()
        self.log_every = max(1, epochs // 20) if verbose > 0 and not self.live else 0
        self.bar = (
            tqdm(total=epochs * steps_per_epoch, unit="batch", dynamic_ncols=True)
            if self.live
            else None
        )

    def start_epoch(self, epoch: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch}/{self.epochs}")

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def end_epoch(self, row: dict[str, float]) -> None:
        losses = {k: f"{v:.4f}" for k, v in row.items() if "loss" in k}
        if self.bar is not None:
            self.bar.set_postfix(losses)
        elif self.log_every and (row["epoch"] % self.log_every == 0 or row["epoch"] == self.epochs):
            text = " - ".join(f"{k} {v}" for k, v in losses.items())
            print(
                f"epoch {row['epoch']}/{self.epochs} - {text} - {row['seconds']:.2f}s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
