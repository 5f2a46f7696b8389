"""The architecture of a model as data: saved as JSON, rebuilt by :func:`build_model`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from autoencoders.errors import ModelFileError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu", "linear")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild an autoencoder's network (not its weights).

    ``input_shape`` and ``output_shape`` exclude the batch axis: ``(d,)`` for tables,
    ``(C, H, W)`` for images. They differ only for paired (image-to-image) training.
    """

    model: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    latent_dim: int | None = 32
    hidden: tuple[int, ...] = ()
    filters: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    output_activation: str = "sigmoid"
    code_activation: str | None = None  # None: the same as ``activation``
    code_channels: int | None = None  # resnet: channels of the spatial code (None: 4)
    pseudo_inputs: int = 0  # variational: K of a VampPrior (0: the standard normal prior)
    top_latent_dim: int | None = None  # hvae: size of the second stochastic layer
    top_hidden: tuple[int, ...] = ()  # hvae: layers between z1 and z2 (empty: the default)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Validate a dict read from JSON, naming the first bad field."""
        if not isinstance(data, dict):
            raise ModelFileError("model config: expected a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelFileError(f"model config: unknown field {unknown[0]!r}")
        missing = sorted(k for k in ("model", "input_shape", "output_shape") if k not in data)
        if missing:
            raise ModelFileError(f"model config: missing field {missing[0]!r}")
        values = dict(data)
        for name in ("input_shape", "output_shape", "hidden", "filters", "top_hidden"):
            if name in values:
                values[name] = _positive_ints(name, values[name])
        if not isinstance(values["model"], str):
            raise ModelFileError("model config: field 'model' must be a string")
        latent = values.get("latent_dim")
        if latent is not None and (not _is_int(latent) or not 1 <= latent <= 1_000_000):
            raise ModelFileError("model config: field 'latent_dim' must be an integer in [1, 1e6]")
        for name in ("top_latent_dim", "pseudo_inputs"):
            value = values.get(name)
            if value is not None and (not _is_int(value) or not 0 <= value <= 1_000_000):
                raise ModelFileError(f"model config: field {name!r} must be an integer in [0, 1e6]")
        channels = values.get("code_channels")
        if channels is not None and (not _is_int(channels) or not 1 <= channels <= 4096):
            raise ModelFileError(
                "model config: field 'code_channels' must be an integer in [1, 4096]"
            )
        if values.get("activation", "relu") not in ACTIVATIONS:
            raise ModelFileError(f"model config: field 'activation' must be one of {ACTIVATIONS}")
        if values.get("code_activation") not in (None, *ACTIVATIONS):
            raise ModelFileError(
                f"model config: field 'code_activation' must be one of {ACTIVATIONS}"
            )
        if values.get("output_activation", "sigmoid") not in OUTPUT_ACTIVATIONS:
            raise ModelFileError(
                f"model config: field 'output_activation' must be one of {OUTPUT_ACTIVATIONS}"
            )
        return cls(**values)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_ints(name: str, value: object) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(
        _is_int(v) and 1 <= v <= 1_000_000 for v in value
    ):
        raise ModelFileError(
            f"model config: field {name!r} must be a list of integers in [1, 1e6], got {value!r}"
        )
    return tuple(value)
