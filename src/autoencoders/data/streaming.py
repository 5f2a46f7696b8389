"""Data larger than memory: a memory-mapped array read and scaled one batch at a time.

A :class:`ScaledArray` stands in for the float32 tensor ``scaler.transform(array)``
would be, without ever building it: the trainer and inference index it like that
tensor (``len``, ``shape``, ``device``, a slice or a 1-D index tensor) and get one
batch back, read from the file and scaled on the fly. The file's pages live in the
page cache, which the kernel reclaims as it needs, so the data can be many times
larger than the process's own memory.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from autoencoders.data.scaling import Scaler

__all__ = ["ScaledArray"]


class ScaledArray:
    """The scaled float32 samples of ``array`` (usually an ``np.memmap``), read on demand.

    ``rows`` selects (and orders) a subset of the array's samples lazily, as a
    validation split does; batches come back on ``device`` with ``sample_shape``.
    """

    def __init__(
        self,
        array: np.ndarray,
        scaler: Scaler,
        sample_shape: tuple[int, ...],
        *,
        rows: np.ndarray | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.array = array
        self.scaler = scaler
        self.sample_shape = tuple(sample_shape)
        self.rows = rows
        self.device = torch.device(device)

    def __len__(self) -> int:
        return len(self.array) if self.rows is None else len(self.rows)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), *self.sample_shape))

    def to(self, device: torch.device | str) -> ScaledArray:
        """The same samples, delivered on ``device`` (as ``Tensor.to`` would move them)."""
        return ScaledArray(
            self.array, self.scaler, self.sample_shape, rows=self.rows, device=device
        )

    def subset(self, index: Tensor) -> ScaledArray:
        """Samples ``index`` (positions in this array), still on disk."""
        positions = index.cpu().numpy()
        rows = positions if self.rows is None else self.rows[positions]
        return ScaledArray(
            self.array, self.scaler, self.sample_shape, rows=rows, device=self.device
        )

    def __getitem__(self, index: slice | Tensor) -> Tensor:
        """One batch, scaled, as a float32 tensor on the device."""
        if isinstance(index, slice) and self.rows is None and index.step in (None, 1):
            raw = self.array[index]  # a contiguous block: one sequential read
        else:
            positions = (
                np.arange(len(self))[index] if isinstance(index, slice) else index.cpu().numpy()
            )
            rows = positions if self.rows is None else self.rows[positions]
            # Read in file order (sequential-ish, each row once), then restore the batch order.
            unique, inverse = np.unique(rows, return_inverse=True)
            raw = np.asarray(self.array[unique])[inverse]
        scaled = np.ascontiguousarray(self.scaler.transform(raw), dtype=np.float32)
        if not scaled.flags.writeable:  # the file's own pages, passed through unscaled
            scaled = scaled.copy()
        batch = torch.from_numpy(scaled).reshape(len(scaled), *self.sample_shape)
        return batch.to(self.device, non_blocking=True)
