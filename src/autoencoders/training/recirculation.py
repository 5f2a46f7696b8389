"""Training without back-propagation: Hinton & McClelland's recirculation (1988).

G. E. Hinton and J. L. McClelland, "Learning representations by recirculation",
NIPS 1987 (1988). A one-hidden-layer autoencoder sends its input around the loop
twice and learns from the difference between the two passes, with purely local
updates::

    x⁰ = x                               (visible, the input)
    h¹ = σ(W₁ x⁰ + b₁)                   (hidden, first pass)
    x² = λ x⁰ + (1 − λ) σ(W₂ h¹ + b₂)     (visible again; λ is the "regression")
    h³ = σ(W₁ x² + b₁)                   (hidden, second pass)
    ΔW₂ = ε (x⁰ − x²) h¹ᵀ,  ΔW₁ = ε (h¹ − h³) x²ᵀ

No gradient is computed: each weight changes by the product of the activity at its
two ends, as a biological synapse could.
"""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor, nn

from autoencoders.errors import ParameterError
from autoencoders.training.trainer import Progress, TrainConfig, TrainResult

REGRESSION = 0.75  # λ, as in the paper
DEFAULT_LEARNING_RATE = 1.0  # ε, applied to updates averaged over a minibatch


def check_settings(
    *, noise: bool, binarize: bool, neighbors: bool, compile: bool, flip: bool = False
) -> None:
    """Refuse what recirculation cannot do (callers check before building anything costly)."""
    if noise or flip or binarize or neighbors:
        raise ParameterError(
            "trainer='recirculation' learns to reconstruct the inputs as given; "
            "drop the noise, flip, binarize and neighbors"
        )
    if compile:
        raise ParameterError(
            "trainer='recirculation' has no backward pass to compile; drop compile"
        )


class RecirculationTrainer:
    """Fits a dense autoencoder with one sigmoid code layer and a sigmoid output."""

    def __init__(
        self,
        config: TrainConfig,
        objective: nn.Module,
        *,
        corruption: object | None = None,
        resample: object | None = None,
        neighbors: object | None = None,
        seed: int = 0,
        regression: float = REGRESSION,
    ) -> None:
        check_settings(
            noise=corruption is not None,
            binarize=resample is not None,
            neighbors=neighbors is not None,
            compile=config.compile,
        )
        self.config = config
        self.objective = objective
        self.seed = seed
        self.regression = regression

    def fit(
        self, model: nn.Module, x: Tensor, target: Tensor, validation=None, *, checkpoint=None
    ) -> TrainResult:
        """Train in place. Checkpoints are not written: these runs take seconds."""
        del checkpoint
        encoder, decoder = _linear_layers(model)
        cfg = self.config
        rate = DEFAULT_LEARNING_RATE if cfg.learning_rate is None else cfg.learning_rate
        shuffle_rng = torch.Generator().manual_seed(self.seed + 1)
        steps = math.ceil(len(x) / cfg.batch_size)
        progress = Progress(cfg.epochs, steps, cfg.verbose)
        history = []
        try:
            for epoch in range(1, cfg.epochs + 1):
                progress.start_epoch(epoch)
                started = time.perf_counter()
                order = torch.randperm(len(x), generator=shuffle_rng) if cfg.shuffle else None
                for start in range(0, len(x), cfg.batch_size):
                    index = (
                        slice(start, start + cfg.batch_size)
                        if order is None
                        else (order[start : start + cfg.batch_size].to(x.device))
                    )
                    self._step(encoder, decoder, x[index].flatten(1), rate)
                    progress.step()
                row = {"epoch": epoch, "loss": self.evaluate(model, x, target)}
                if validation is not None:
                    row["val_loss"] = self.evaluate(model, *validation)
                row["seconds"] = time.perf_counter() - started
                history.append(row)
                progress.end_epoch(row)
                for callback in cfg.callbacks:
                    callback(row, model)
        finally:
            progress.close()
        return TrainResult(history, "completed")

    @torch.no_grad()
    def _step(self, encoder: nn.Linear, decoder: nn.Linear, x0: Tensor, rate: float) -> None:
        lam, n = self.regression, len(x0)
        h1 = torch.sigmoid(encoder(x0))
        x2 = lam * x0 + (1 - lam) * torch.sigmoid(decoder(h1))
        h3 = torch.sigmoid(encoder(x2))
        visible_error, hidden_error = x0 - x2, h1 - h3
        decoder.weight += rate / n * visible_error.T @ h1
        decoder.bias += rate * visible_error.mean(0)
        encoder.weight += rate / n * hidden_error.T @ x2
        encoder.bias += rate * hidden_error.mean(0)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, x: Tensor, target: Tensor) -> float:
        """The same objective back-propagation would minimise, for a fair comparison."""
        model.eval()
        whole = x[:]  # a memory-mapped array read whole: recirculation runs are small
        outputs = model(whole)
        return self.objective(outputs, whole if target is x else target[:], whole)["loss"].item()


def _linear_layers(model: nn.Module) -> tuple[nn.Linear, nn.Linear]:
    """The encoder's and decoder's only linear layers; refuse any other architecture."""
    encoder = [m for m in model.encoder.modules() if isinstance(m, nn.Linear)]
    decoder = [m for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    code = [m for m in model.encoder.modules() if isinstance(m, nn.Sigmoid)]
    output = model.decoder.output_activation
    if (
        len(encoder) != 1
        or len(decoder) != 1
        or len(code) != 1
        or not isinstance(output, nn.Sigmoid)
    ):
        raise ParameterError(
            "recirculation trains a dense autoencoder with one sigmoid code layer and a "
            "sigmoid output: use model='dense', no hidden layers, activation='sigmoid', "
            "and data in [0, 1]"
        )
    return encoder[0], decoder[0]
