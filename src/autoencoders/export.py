"""Export a fitted model for other runtimes: ONNX (three graphs) or a ``torch.export`` program.

The graphs include the model's scaling, so they take and give data in the units the
model was trained on, exactly as the estimator's methods do:

    NAME.onnx          x (batch, *input shape) → reconstruction (batch, *output shape)  predict
    NAME.encoder.onnx  x (batch, *input shape) → code (batch, code size)               transform
    NAME.decoder.onnx  code (batch, code size) → output (batch, *output shape)  inverse_transform

All inputs are float32 and the batch axis is dynamic. ``torch.onnx.export`` (its
``torch.export``-based exporter) needs the ``onnx`` extra: ``pip install
'autoencoders[onnx]'``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from autoencoders.data import Scaler
from autoencoders.data.scaling import IdentityScaler, MinMaxScaler, StandardScaler
from autoencoders.errors import DataError, ParameterError
from autoencoders.files import atomic_write_bytes

FORMATS = ("onnx", "pt2")
ONNX_OPSET = 18


class Affine(nn.Module):
    """A fitted :class:`~autoencoders.data.Scaler` as a layer: ``(x - shift) / scale``."""

    def __init__(self, scaler: Scaler, sample_shape: tuple[int, ...], *, inverse: bool) -> None:
        super().__init__()
        if isinstance(scaler, MinMaxScaler):
            shift, scale = np.float32(scaler.low), np.float32(scaler.high - scaler.low)
        elif isinstance(scaler, StandardScaler):
            shift, scale = scaler.mean, scaler.scale
        elif isinstance(scaler, IdentityScaler):
            shift, scale = np.float32(0), np.float32(1)
        else:
            raise ParameterError(f"cannot export a {type(scaler).__name__}")
        shape = (1, *sample_shape) if np.ndim(shift) else ()
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32).reshape(shape))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).reshape(shape))
        self.inverse = inverse

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.shift if self.inverse else (x - self.shift) / self.scale


class EncoderGraph(nn.Module):
    """Raw data → flat code, as ``AutoEncoder.transform``."""

    def __init__(self, estimator) -> None:
        super().__init__()
        self.scale = Affine(estimator.input_scaler_, estimator.input_shape_, inverse=False)
        self.encoder = estimator.module_.encoder

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(self.scale(x)).flatten(1)  # (B, code size)


class DecoderGraph(nn.Module):
    """Flat code → output in the data's units, as ``AutoEncoder.inverse_transform``."""

    def __init__(self, estimator) -> None:
        super().__init__()
        self.code_shape = tuple(estimator.code_shape_)
        self.decoder = estimator.module_.decoder
        self.unscale = Affine(estimator.target_scaler_, estimator.output_shape_, inverse=True)

    def forward(self, code: Tensor) -> Tensor:
        return self.unscale(self.decoder(code.reshape(-1, *self.code_shape)))


class ModelGraph(nn.Module):
    """Raw data → reconstruction in the data's units, as ``AutoEncoder.predict``."""

    def __init__(self, estimator) -> None:
        super().__init__()
        self.encode = EncoderGraph(estimator)
        self.decode = DecoderGraph(estimator)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


def graphs(estimator) -> dict[str, tuple[nn.Module, Tensor, str, str]]:
    """The three graphs, each with an example input and its input and output names."""
    x = torch.zeros(2, *estimator.input_shape_)
    code = torch.zeros(2, math.prod(estimator.code_shape_))
    return {
        "model": (ModelGraph(estimator), x, "x", "reconstruction"),
        "encoder": (EncoderGraph(estimator), x, "x", "code"),
        "decoder": (DecoderGraph(estimator), code, "code", "output"),
    }


def export_model(estimator, output: str | Path, *, format: str = "onnx") -> list[Path]:
    """Write the model, its encoder and its decoder next to each other; return the paths.

    ``output`` names the full model (``model.onnx``); the parts get ``.encoder`` and
    ``.decoder`` before the suffix (``model.encoder.onnx``, ``model.decoder.onnx``).
    """
    if format not in FORMATS:
        raise ParameterError(f"unknown export format {format!r}; choose one of {FORMATS}")
    output = Path(output)
    suffix = f".{format}"
    if output.suffix.lower() != suffix:
        raise DataError(
            f"{output}: name the {format} export with the {suffix} suffix, e.g. model{suffix}"
        )
    if not output.parent.is_dir():
        raise DataError(f"{output}: folder {output.parent} does not exist; create it first")
    module = estimator.module_
    device = next(module.parameters()).device
    module.cpu().eval()
    written = []
    try:
        for part, (graph, example, input_name, output_name) in graphs(estimator).items():
            name = output.name if part == "model" else f"{output.stem}.{part}{suffix}"
            path = output.with_name(name)
            write = _onnx_bytes if format == "onnx" else _pt2_bytes
            atomic_write_bytes(path, write(graph.eval(), example, input_name, output_name))
            written.append(path)
    finally:
        module.to(device)
    return written


def _onnx_bytes(graph: nn.Module, example: Tensor, input_name: str, output_name: str) -> bytes:
    try:
        import onnxscript  # noqa: F401  (the exporter needs it; fail here with a clear line)
    except ImportError:
        raise ParameterError(
            "ONNX export needs the onnx extra: pip install 'autoencoders[onnx]'"
        ) from None
    batch = torch.export.Dim("batch", min=1)
    with _quiet():
        program = torch.onnx.export(
            graph,
            (example,),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_shapes=({0: batch},),
            opset_version=ONNX_OPSET,
            dynamo=True,
            verbose=False,
        )
    buffer = io.BytesIO()
    program.save(buffer)
    return buffer.getvalue()


def _pt2_bytes(graph: nn.Module, example: Tensor, input_name: str, output_name: str) -> bytes:
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(graph, (example,), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


@contextlib.contextmanager
def _quiet():
    """The exporter narrates its steps and warns about optional packages; keep the CLI clean."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
