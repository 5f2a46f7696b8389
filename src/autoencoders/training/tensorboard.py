"""TensorBoard logging: a per-epoch training callback, written with ``torch.utils.tensorboard``.

    logger = TensorBoardLogger("runs/tensorboard/conv", ae, images=X[:8])
    ae.fit(X, callbacks=[logger])               # scalars and reconstructions, every epoch
    logger.log_embedding(X_test, y_test)        # the codes, for TensorBoard's projector
    logger.close()
    # tensorboard --logdir runs/tensorboard

Needs the tensorboard extra (``pip install 'autoencoders[tensorboard]'``). Logging
changes nothing in training: the same seed gives the same weights with or without it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from autoencoders.errors import ParameterError

EMBEDDED = 1000  # samples in the projector: its sprite sheet must stay under 8192² pixels


class TensorBoardLogger:
    """Writes each epoch's losses and a reconstruction grid, then codes and metrics.

    Parameters
    ----------
    log_dir : folder for the event files (one per run; point TensorBoard at its parent).
    estimator : the :class:`~autoencoders.AutoEncoder` being fitted; its scaling maps
        ``images`` to what the network sees.
    images : a few samples (images) whose reconstructions are drawn every epoch:
        originals on the top row, reconstructions below.
    """

    def __init__(self, log_dir: str | Path, estimator, *, images: np.ndarray | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ParameterError(
                "--log tensorboard needs the tensorboard extra: "
                "pip install 'autoencoders[tensorboard]'"
            ) from None
        self._writer_class = SummaryWriter
        self.log_dir = Path(log_dir)
        self.estimator = estimator
        self.images = images
        self.epoch = 0
        self._writer = None

    @property
    def writer(self):
        """Opened on first use, so that a failed start leaves no empty log behind."""
        if self._writer is None:
            self._writer = self._writer_class(log_dir=str(self.log_dir))
        return self._writer

    def __call__(self, row: dict[str, float], model: nn.Module) -> None:
        """The training callback: one epoch's history row and the model after it."""
        self.epoch = int(row["epoch"])
        for name, value in row.items():
            if name != "epoch":
                group = "time" if name == "seconds" else "loss"
                self.writer.add_scalar(f"{group}/{name}", value, self.epoch)
        if self.images is not None and self._reconstructs_images():
            self.writer.add_image("reconstructions", self._grid(model), self.epoch)
        self.writer.flush()

    def log_metrics(self, metrics: dict) -> None:
        """Final metrics (nested dicts flattened to ``group/name``), at the last epoch."""
        for name, value in _flatten(metrics).items():
            self.writer.add_scalar(f"metrics/{name}", value, self.epoch)
        self.writer.flush()

    def log_embedding(self, X: np.ndarray, labels: np.ndarray | None = None) -> None:
        """The codes of (up to 1000 of) ``X`` for the projector, with their images."""
        X = X[:EMBEDDED]
        codes = self.estimator.transform(X)
        images = None
        if _is_image(self.estimator.input_shape_):
            shown = np.clip(self.estimator.input_scaler_.transform(X), 0, 1)
            images = torch.from_numpy(shown[:, None] if shown.ndim == 3 else shown)
        metadata = None if labels is None else [str(label) for label in labels[:EMBEDDED]]
        self.writer.add_embedding(
            torch.from_numpy(codes), metadata=metadata, label_img=images, global_step=self.epoch
        )
        self.writer.flush()

    def finish(self, metrics: dict, data) -> None:
        """After a run: its metrics and the embedding of a :class:`~autoencoders.data.Dataset`."""
        self.log_metrics(metrics)
        self.log_embedding(data.X, data.y)
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _reconstructs_images(self) -> bool:
        shape = self.estimator.input_shape_
        return _is_image(shape) and self.estimator.output_shape_ == shape

    @torch.no_grad()
    def _grid(self, model: nn.Module) -> torch.Tensor:
        """Originals over reconstructions, (C, 2H, nW) in [0, 1]."""
        device = next(model.parameters()).device
        shown = self.estimator.input_scaler_.transform(self.images)
        x = torch.from_numpy(np.ascontiguousarray(shown, dtype=np.float32))
        x = (x[:, None] if x.ndim == 3 else x).to(device)
        training = model.training
        model.eval()
        try:
            reconstruction = model.reconstruct(x)
        finally:
            model.train(training)
        rows = [torch.cat(list(images.clamp(0, 1).cpu()), dim=2) for images in (x, reconstruction)]
        return torch.cat(rows, dim=1)


def _is_image(shape: tuple[int, ...]) -> bool:
    return len(shape) == 3 and shape[0] in (1, 3)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    flat = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{name}/")
        elif _is_number(value) and math.isfinite(value):
            flat[f"{prefix}{name}"] = float(value)
    return flat
