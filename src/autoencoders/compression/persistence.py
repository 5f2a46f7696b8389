"""A saved codec is a run directory like any model's: ``config.json`` + ``model.safetensors``.

The coding tables are tensors of the weights file, so a codec is rebuilt from the folder
alone, and its model id (a hash of config and weights) is checked when it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import save

from autoencoders import zoo
from autoencoders.compression.model import CodecConfig, CodecNetwork, model_id
from autoencoders.errors import ModelFileError, first_line
from autoencoders.files import atomic_write_bytes
from autoencoders.persistence import (
    CONFIG,
    HISTORY,
    METRICS,
    WEIGHTS,
    library_versions,
    read_config,
    read_history,
    read_weights,
    write_history,
    write_json,
)

FORMAT_VERSION = 1
ESTIMATOR = "ImageCodec"


def save_codec(codec, path: str | Path, *, metrics: dict | None = None) -> Path:
    """Write a fitted :class:`~autoencoders.compression.ImageCodec`'s files into ``path``."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(codec)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in codec.module_.state_dict().items()}
    atomic_write_bytes(path / WEIGHTS, save(state, metadata={"format": "pt"}))
    config = {
        "format_version": FORMAT_VERSION,
        "estimator": ESTIMATOR,
        "params": codec.get_params(),
        "model": codec.config_.to_dict(),
        "fitted": {
            "model_id": codec.model_id_,
            "table_length": codec.module_.z_prior.table_counts.shape[1],
            "random_seed": codec.random_seed_,
            "epochs_run": len(codec.history_),
            "stop_reason": codec.stop_reason_,
        },
        "versions": library_versions() | {"constriction": _constriction_version()},
    }
    write_json(path / CONFIG, config)
    write_history(path / HISTORY, codec.history_)
    if metrics is not None:
        write_json(path / METRICS, metrics)
    return path


@dataclass
class CodecFiles:
    """What a codec run directory holds, checked: enough for ``ImageCodec.load``."""

    params: dict
    config: CodecConfig
    module: CodecNetwork
    fitted: dict
    history: list[dict]


def read_codec(path: str | Path) -> CodecFiles:
    """Read and check a codec run; refuse a folder whose weights do not match its id."""
    path = zoo.resolve(path)
    where = path / CONFIG
    config = read_config(
        path,
        kind="codec run",
        estimator=ESTIMATOR,
        hint="; train one with `autoencoders train-codec`",
        sections=("params", "model", "fitted"),
        format_version=FORMAT_VERSION,
    )
    try:
        model = config["model"]
        network_config = CodecConfig(**{**model, "image_shape": tuple(model["image_shape"])})
        if len(network_config.image_shape) != 3 or network_config.image_shape[0] not in (1, 3):
            raise ValueError("image_shape must be (C, H, W) with 1 or 3 channels")
        module = CodecNetwork(network_config)
        module.z_prior.resize_tables(int(config["fitted"]["table_length"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{where}: invalid model ({first_line(error)})") from None
    module.load_state_dict(read_weights(path / WEIGHTS, module.state_dict()))
    if model_id(module) != config["fitted"].get("model_id"):
        raise ModelFileError(
            f"{path / WEIGHTS}: does not match the model id in {CONFIG}; "
            "the run directory was altered or mixed with another run"
        )
    return CodecFiles(
        config["params"],
        network_config,
        module.eval(),
        config["fitted"],
        read_history(path / HISTORY),
    )


def _constriction_version() -> str:
    from importlib.metadata import version

    return version("constriction")


__all__ = ["METRICS", "CodecFiles", "read_codec", "save_codec"]
