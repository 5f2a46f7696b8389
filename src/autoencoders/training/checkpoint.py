"""Training checkpoints: everything needed to resume bit-for-bit, in one safetensors file.

Tensors (weights, optimizer moments, best weights, RNG states) are the file's tensors;
the rest (epoch, history, counters) is JSON in its metadata. One file written
atomically means a crash at any moment leaves either the previous checkpoint or the
new one, never a mix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save
from torch import Tensor, nn

from autoencoders.errors import ModelFileError
from autoencoders.files import atomic_write_bytes

FORMAT = "autoencoders-checkpoint/1"


@dataclass
class TrainState:
    """Where a training run stands after ``epoch`` completed epochs."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best: float = float("inf")
    waited: int = 0
    stop_reason: str | None = None
    best_weights: dict[str, Tensor] | None = None
    rng_states: dict[str, Tensor] = field(default_factory=dict)


class Checkpoint:
    """A checkpoint file tied to one run by a ``fingerprint`` of its settings and data."""

    def __init__(self, path: str | Path, fingerprint: str) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, model: nn.Module, optimizer: torch.optim.Optimizer, state: TrainState) -> None:
        tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
        if state.best_weights is not None:
            tensors |= {f"best/{k}": v for k, v in state.best_weights.items()}
        tensors |= {f"rng/{k}": v for k, v in state.rng_states.items()}
        optimizer_state = optimizer.state_dict()
        scalars: dict[str, dict] = {}
        for index, slots in optimizer_state["state"].items():
            for name, value in slots.items():
                if isinstance(value, Tensor):
                    tensors[f"optimizer/{index}/{name}"] = value
                else:
                    scalars.setdefault(str(index), {})[name] = value
        meta = asdict(state) | {"best_weights": None, "rng_states": None}
        meta |= {"param_groups": optimizer_state["param_groups"], "optimizer_scalars": scalars}
        metadata = {"format": FORMAT, "fingerprint": self.fingerprint, "state": json.dumps(meta)}
        data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata)
        atomic_write_bytes(self.path, data)

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> TrainState:
        """Load weights and optimizer state in place; return the rest of the state."""
        try:
            raw = self.path.read_bytes()
            tensors = load(raw)
            metadata = _metadata(raw)
            meta = json.loads(metadata["state"])
        except (OSError, SafetensorError, ValueError, KeyError) as error:
            raise ModelFileError(
                f"{self.path}: unreadable checkpoint ({error}); pass --overwrite to start again"
            ) from None
        if metadata.get("format") != FORMAT or metadata.get("fingerprint") != self.fingerprint:
            raise ModelFileError(
                f"{self.path}: this checkpoint belongs to a run with other "
                "settings or data; resume with the same command, or pass "
                "--overwrite to start again"
            )
        device = next(model.parameters()).device
        model.load_state_dict(
            {k.removeprefix("model/"): v for k, v in tensors.items() if k.startswith("model/")}
        )
        optimizer.load_state_dict(_optimizer_state(tensors, meta))
        _match_layouts(optimizer)
        best = {
            k.removeprefix("best/"): v.to(device)
            for k, v in tensors.items()
            if k.startswith("best/")
        }
        return TrainState(
            epoch=meta["epoch"],
            history=meta["history"],
            best=meta["best"],
            waited=meta["waited"],
            stop_reason=meta["stop_reason"],
            best_weights=best or None,
            rng_states={
                k.removeprefix("rng/"): v for k, v in tensors.items() if k.startswith("rng/")
            },
        )

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _metadata(raw: bytes) -> dict[str, str]:
    """The metadata of a safetensors buffer (its JSON header's ``__metadata__``)."""
    header_size = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + header_size])["__metadata__"]


def _optimizer_state(tensors: dict[str, Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    for index, slots in meta["optimizer_scalars"].items():
        state.setdefault(int(index), {}).update(slots)
    return {"state": state, "param_groups": meta["param_groups"]}


def _match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each loaded moment its parameter's memory layout (channels-last convolutions
    are saved contiguous): fused Adam walks the two in storage order, so a mismatch
    would pair each gradient with another element's moments."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state[param]
            for name, value in state.items():
                if torch.is_tensor(value) and value.shape == param.shape:
                    state[name] = torch.empty_like(param).copy_(value)
