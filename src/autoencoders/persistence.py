"""A saved model is a directory: ``config.json`` + ``model.safetensors`` (+ history, metrics).

Nothing is ever unpickled: weights are read with safetensors, everything else is
JSON or CSV, validated field by field.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors
import sklearn
import torch
from safetensors.torch import load_file, save
from sklearn.utils._param_validation import InvalidParameterError

from autoencoders import zoo
from autoencoders.data.scaling import Scaler, scaler_from_dict
from autoencoders.errors import AutoencodersError, DataError, ModelFileError, first_line
from autoencoders.files import atomic_write_bytes
from autoencoders.models import ModelConfig, build_model

# 2: one estimator class per model family (format 1 had one AutoEncoder for all).
FORMAT_VERSION = 2
CONFIG, WEIGHTS, HISTORY, METRICS = (
    "config.json",
    "model.safetensors",
    "history.csv",
    "metrics.json",
)
CHECKPOINT = "checkpoint.safetensors"  # only in an unfinished run's FINAL.partial folder


def library_versions() -> dict[str, str]:
    from autoencoders import __version__

    return {
        "autoencoders": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------------- writing
def write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode())


def write_history(path: Path, history: list[dict]) -> None:
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns or ["epoch"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(path, text.getvalue().encode())


def save_estimator(estimator, path: str | Path, *, metrics: dict | None = None) -> Path:
    """Write a fitted estimator's files into the directory ``path`` (created if needed)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in estimator.module_.state_dict().items()}
    atomic_write_bytes(path / WEIGHTS, save(state, metadata={"format": "pt"}))
    write_json(path / CONFIG, estimator_config(estimator))
    write_history(path / HISTORY, estimator.history_)
    if metrics is not None:
        write_json(path / METRICS, metrics)
    return path


def estimator_config(estimator) -> dict:
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in estimator.get_params().items()}
    return {
        "format_version": FORMAT_VERSION,
        "estimator": estimator.family().__name__,
        "params": params,
        "model": estimator.model_config_.to_dict(),
        "scaling": {
            "input": estimator.input_scaler_.to_dict(),
            "target": estimator.target_scaler_.to_dict(),
        },
        "fitted": {
            "loss": estimator.loss_,
            "paired": estimator.paired_,
            "random_seed": estimator.random_seed_,
            "epochs_run": len(estimator.history_),
            "stop_reason": estimator.stop_reason_,
            "code_shape": list(estimator.code_shape_),
            **estimator._resolved_options(),
        },
        "versions": library_versions(),
    }


@contextlib.contextmanager
def staged_directory(
    final: str | Path, *, overwrite: bool = False, resume: bool = False
) -> Iterator[Path]:
    """Yield ``FINAL.partial``, which becomes ``final`` only if the block succeeds.

    A crash leaves no half-written run under the final name. A partial run holding a
    checkpoint is kept so that it can be resumed (``resume=True``); an existing run is
    replaced only at the very end, and only with ``overwrite`` or ``resume``.
    """
    final = Path(final)
    partial = final.with_name(final.name + ".partial")
    if final.exists() and not final.is_dir():
        raise DataError(f"{final}: exists and is not a directory; choose another --out")
    if resume:
        if not partial.is_dir():
            raise DataError(
                f"{final}: no interrupted run to resume ({partial.name} is missing); "
                "start it without --resume"
            )
    else:
        if final.is_dir() and any(final.iterdir()) and not overwrite:
            raise DataError(
                f"{final}: already exists and is not empty; "
                "pass --overwrite or choose another --out"
            )
        if partial.exists() and not overwrite:
            raise DataError(
                f"{partial}: holds an interrupted run; continue it with "
                f"--resume {final}, or pass --overwrite to start again"
            )
        shutil.rmtree(partial, ignore_errors=True)
        try:
            partial.mkdir(parents=True)
        except OSError as error:
            raise DataError(
                f"{final}: cannot create the output directory "
                f"({error.strerror}); choose a writable --out"
            ) from None
    try:
        yield partial
    except BaseException:
        if not (partial / CHECKPOINT).exists():
            shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / CHECKPOINT).unlink(missing_ok=True)
    if final.exists():
        retired = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-"))
        os.replace(final, retired / "run")
        os.replace(partial, final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(partial, final)


# --------------------------------------------------------------------------- reading
def read_config(
    path: str | Path,
    *,
    kind: str = "saved model",
    estimator: str | None = None,
    hint: str = "",
    sections: tuple[str, ...] = ("params", "model", "scaling", "fitted"),
    format_version: int = FORMAT_VERSION,
) -> dict:
    """The checked ``config.json`` of a run directory: a JSON object of a format version
    this library reads, with every section (and, if given, the ``estimator``) expected;
    ``hint`` follows the error of another estimator's directory."""
    path = Path(path)
    config_file = path / CONFIG
    if not path.is_dir():
        raise ModelFileError(f"{path}: no such {kind} directory")
    try:
        config = json.loads(config_file.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{config_file}: missing; is {path} a {kind}?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{config_file}: unreadable JSON ({error})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_file}: expected a JSON object")
    if estimator is not None and config.get("estimator") != estimator:
        raise ModelFileError(f"{config_file}: not a {kind}{hint}")
    version = config.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{config_file}: missing or invalid 'format_version'")
    if version > format_version:
        raise ModelFileError(
            f"{config_file}: saved with format version {version}, newer than this library "
            f"reads ({format_version}); upgrade autoencoders"
        )
    for key in sections:
        if not isinstance(config.get(key), dict):
            raise ModelFileError(f"{config_file}: missing or invalid section {key!r}")
    return config


@dataclass
class SavedEstimator:
    """A saved model's files, read and checked: what ``load`` needs to rebuild it."""

    estimator: str  # the family's class name
    params: dict
    model_config: ModelConfig
    module: torch.nn.Module
    scalers: tuple[Scaler, Scaler]  # input, target
    fitted: dict
    history: list[dict]


def read_estimator(path: str | Path, *, families: dict[str, type]) -> SavedEstimator:
    """Read a model directory saved by any of ``families`` (class name -> estimator class).

    Format 1 had one ``AutoEncoder`` for every family: its params are given to the family
    of its ``model``, less those that family does not have (they were at their defaults,
    since format 1 refused them elsewhere).
    """
    path = zoo.resolve(path)
    config = read_config(path)
    where = path / CONFIG
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()}
    name = config.get("estimator")
    if config["format_version"] == 1 and name == "AutoEncoder":
        name = next((n for n, f in families.items() if params.get("model") in f.models), name)
        family = families[name]
        params = {k: v for k, v in params.items() if k in family._get_param_names()}
    if name not in families:
        raise ModelFileError(f"{where}: not a saved autoencoder (estimator {name!r})")
    try:
        families[name](**params)._validate_params()
    except (TypeError, InvalidParameterError) as error:
        raise ModelFileError(f"{where}: invalid params ({first_line(error)})") from None
    try:
        model_config = ModelConfig.from_dict(config["model"])
        module = build_model(model_config)
    except ModelFileError as error:
        raise ModelFileError(f"{where}: {error}") from None
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: invalid model ({first_line(error)})") from None
    try:
        input_scaler = scaler_from_dict(config["scaling"]["input"])
        target_scaler = scaler_from_dict(config["scaling"]["target"])
    except (AutoencodersError, ValueError, TypeError, KeyError) as error:
        raise ModelFileError(f"{where}: invalid scaling ({first_line(error)})") from None
    losses = families[name].losses
    if config["fitted"].get("loss") not in losses:
        raise ModelFileError(f"{where}: fitted.loss must be one of {', '.join(losses)}")
    module.load_state_dict(read_weights(path / WEIGHTS, module.state_dict()))
    return SavedEstimator(
        name,
        params,
        model_config,
        module,
        (input_scaler, target_scaler),
        config["fitted"],
        read_history(path / HISTORY),
    )


def restore(estimator, saved: SavedEstimator, device: torch.device) -> None:
    """Set a new estimator's fitted attributes from its saved files."""
    estimator.device_ = device
    estimator.module_ = saved.module.to(device).eval()
    estimator.model_config_ = saved.model_config
    estimator.input_scaler_, estimator.target_scaler_ = saved.scalers
    estimator.loss_ = saved.fitted["loss"]
    # files saved before "paired" was recorded: a target of another shape is what tells
    estimator.paired_ = bool(
        saved.fitted.get(
            "paired", saved.model_config.output_shape != saved.model_config.input_shape
        )
    )
    estimator.random_seed_ = saved.fitted.get("random_seed")
    estimator.stop_reason_ = saved.fitted.get("stop_reason", "completed")
    estimator.corruption_ = None
    estimator.history_ = saved.history


def read_weights(path: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Load safetensors weights and check them against the model's, tensor by tensor."""
    try:
        weights = load_file(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: missing; the model directory is incomplete") from None
    except Exception as error:  # safetensors raises its own error types for damaged files
        raise ModelFileError(
            f"{path}: not a valid safetensors file ({first_line(error)})"
        ) from None
    for name, tensor in expected.items():
        if name not in weights:
            raise ModelFileError(f"{path}: tensor {name!r} is missing")
        if tuple(weights[name].shape) != tuple(tensor.shape):
            raise ModelFileError(
                f"{path}: tensor {name!r} has shape {tuple(weights[name].shape)}, "
                f"the config implies {tuple(tensor.shape)}"
            )
        if weights[name].dtype != tensor.dtype:
            raise ModelFileError(
                f"{path}: tensor {name!r} has dtype {weights[name].dtype}, expected {tensor.dtype}"
            )
        if weights[name].is_floating_point() and not torch.isfinite(weights[name]).all():
            raise ModelFileError(f"{path}: tensor {name!r} contains NaN or infinite values")
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise ModelFileError(f"{path}: unexpected tensor {extra[0]!r} not in the model's config")
    return weights


def read_history(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    try:
        with open(path, newline="") as f:
            return [
                {
                    k: int(v) if k == "epoch" else float(v)
                    for k, v in row.items()
                    if v not in ("", None)
                }
                for row in csv.DictReader(f)
            ]
    except (OSError, ValueError, csv.Error) as error:
        raise ModelFileError(f"{path}: unreadable history ({first_line(error)})") from None
