"""A learned image codec with scikit-learn's contract: ``ImageCodec(lmbda).fit(images)``.

>>> from autoencoders.compression import ImageCodec
>>> from autoencoders.data import load_dataset
>>> digits = load_dataset("digits", "train").X                # (n, 1, 8, 8) in [0, 1]
>>> codec = ImageCodec(lmbda=0.05, epochs=1, random_state=0).fit(digits)
>>> data = codec.encode_bytes(digits[:1])                       # one small file's bytes
>>> bool((codec.decode_bytes(data) == codec.reconstruct(digits[:1])).all())
True
"""

from __future__ import annotations

import copy
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from autoencoders.compression import bitstream
from autoencoders.compression.loss import RateDistortionLoss
from autoencoders.compression.model import CodecConfig, CodecNetwork, model_id
from autoencoders.compression.persistence import read_codec, save_codec
from autoencoders.errors import DataError, ModelFileError, ParameterError, first_line
from autoencoders.training import TrainConfig, Trainer
from autoencoders.training.runtime import resolve_device, resolve_seed

PEAK = 255


class ImageCodec(BaseEstimator):
    """Compresses 8-bit images into small files with a learned transform and prior.

    Parameters
    ----------
    lmbda : float
        The rate–distortion trade-off λ of the loss ``λ·255²·MSE + bits per pixel``
        (CompressAI's convention): larger means better images and larger files.
    filters : int
        Channels of the first layer of the transforms, doubled at each further level.
    global_dim : int
        Size of the global code z, which carries the image's overall shape and predicts
        the distribution of the spatial code.
    latent_channels : int
        Channels of the spatial code y, which carries the detail z leaves out.
        Elements the rate makes useless cost (almost) nothing.
    levels : int
        Stride-2 stages; y has ``H/2^levels × W/2^levels`` positions.
    epochs, batch_size, learning_rate :
        Adam with a cosine schedule, as :class:`~autoencoders.AutoEncoder`.
    warm_start : bool
        Start from the weights of the previous fit (the same architecture, for instance
        at another λ) instead of a new network: how a family of λ is trained cheaply.
    random_state : int or None
        Seeds the initialisation, the batch order and the quantisation noise.
    device : {"auto", "cpu", "cuda"}
        Where to train; coding always runs on the CPU, so files are bit-exact everywhere.

    Attributes
    ----------
    module_ : CodecNetwork
        The network, with the integer coding tables of both priors as buffers.
    model_id_ : str
        SHA-256 (hex) of the config and weights; files carry its first 4 bytes.
    history_ : list of dict
        Per epoch: ``loss`` (and ``val_loss``), in the loss's units.
    """

    _parameter_constraints: ClassVar[dict] = {
        "lmbda": [Interval(Real, 0, None, closed="neither")],
        "filters": [Interval(Integral, 1, 1024, closed="both")],
        "global_dim": [Interval(Integral, 1, 4096, closed="both")],
        "latent_channels": [Interval(Integral, 1, 1024, closed="both")],
        "levels": [Interval(Integral, 1, 6, closed="both")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        lmbda: float = 0.01,
        *,
        filters: int = 48,
        global_dim: int = 128,
        latent_channels: int = 8,
        levels: int = 2,
        epochs: int = 10,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        warm_start: bool = False,
        random_state: int | None = None,
        device: str = "auto",
        verbose: int = 0,
    ) -> None:
        self.lmbda = lmbda
        self.filters = filters
        self.global_dim = global_dim
        self.latent_channels = latent_channels
        self.levels = levels
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Images (n, C, H, W) of 8-bit levels: scikit-learn's checks on tables cannot apply
        # (tests/test_sklearn_checks.py runs the others, and the image form of the rest).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        return tags

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, validation_data=None) -> ImageCodec:
        """Train on images ``X`` (uint8, or floats in [0, 1]); ``y`` is ignored."""
        self._validate_params()
        images = as_images(X, "X")
        seed = resolve_seed(self.random_state)
        self.random_seed_ = seed
        device = resolve_device(self.device)
        config = CodecConfig(
            tuple(images.shape[1:]),
            self.filters,
            self.global_dim,
            self.latent_channels,
            self.levels,
        )
        if self.warm_start and hasattr(self, "module_"):
            if self.config_ != config:
                raise ParameterError(
                    f"warm_start needs the architecture of the previous fit ({self.config_}); "
                    f"got {config}"
                )
            module = copy.deepcopy(self.module_).to(device)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = CodecNetwork(config).to(device)
        module.noise_rng = torch.Generator(device=device).manual_seed(seed + 4)
        validation = None
        if validation_data is not None:
            x_val = _to_unit(as_images(validation_data, "validation data")).to(device)
            validation = (x_val, x_val)
        x = _to_unit(images).to(device)
        trainer = Trainer(
            TrainConfig(
                epochs=self.epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                verbose=self.verbose,
            ),
            RateDistortionLoss(self.lmbda),
            seed=seed,
        )
        result = trainer.fit(module, x, x, validation)
        module.noise_rng = None
        module = module.cpu().eval()
        module.z_prior.update_tables()
        self.config_ = config
        self.module_ = module
        self.history_ = result.history
        self.stop_reason_ = result.stop_reason
        self.model_id_ = model_id(module)
        return self

    # ----------------------------------------------------------------- coding
    def reconstruct(self, X) -> np.ndarray:
        """The quantised forward pass: what decompressing ``X``'s file gives, as uint8."""
        return np.stack([pixels for _, pixels in self._code(X)])

    def encode_bytes(self, X) -> bytes:
        """Compress images ``(n, C, H, W)`` (or ``(n, H, W)``) into one file's bytes."""
        encoder = bitstream.SymbolEncoder()
        n = 0
        for groups, _ in self._code(X):
            for symbols, counts in groups:
                encoder.encode(symbols, counts)
            n += 1
        return bitstream.pack(bytes.fromhex(self.model_id_), n, encoder.finish())

    def decode_bytes(self, data: bytes, *, name: str = "data") -> np.ndarray:
        """Decompress a file's bytes to uint8 images ``(n, C, H, W)``; ``name`` is for errors."""
        check_is_fitted(self)
        count, payload = bitstream.unpack(bytes(data), bytes.fromhex(self.model_id_), name=name)
        decoder = bitstream.SymbolDecoder(payload)
        try:
            images = [self._decode_one(decoder) for _ in range(count)]
        except DataError as error:
            raise DataError(f"{name}: {error}") from None
        return np.stack(images) if images else np.zeros((0, *self.config_.image_shape), np.uint8)

    def evaluate(self, X) -> dict:
        """Bytes per image (one file each, and one archive for all) and PSNR, as decoded."""
        images = as_images(X, "X")
        sizes = [len(self.encode_bytes(image[None])) for image in images]
        decoded = self.reconstruct(images).astype(np.float64)
        mse = ((decoded - images) ** 2).reshape(len(images), -1).mean(1)
        return {
            "n_images": len(images),
            "bytes_per_image": float(np.mean(sizes)),
            "archive_bytes_per_image": len(self.encode_bytes(images)) / len(images),
            "psnr": float(np.mean(10 * np.log10(PEAK**2 / np.maximum(mse, 1e-10)))),
            "mse": float(mse.mean()),
        }

    # ---------------------------------------------------------------- helpers
    @torch.inference_mode()
    def _code(self, X):
        """For each image: the symbol groups to range-code, and the decoded pixels.

        One image at a time, as :meth:`_decode_one`, so the encoder and the decoder
        compute the very same floats: batching never changes a bit.
        """
        check_is_fitted(self)
        images = as_images(X, "X")
        if images.shape[1:] != self.config_.image_shape:
            raise DataError(
                f"images have shape {images.shape[1:]} (C, H, W) but the codec was trained "
                f"on {self.config_.image_shape}; resize or convert them first"
            )
        net, z_prior = self.module_, self.module_.z_prior
        active = self._active_z()
        length = (z_prior.table_counts > 0).sum(1)
        for x in _to_unit(images):
            z, y = net.analyse(x[None])
            z_symbols = torch.round(z[0]).to(torch.int32) - z_prior.table_low
            z_symbols = torch.minimum(z_symbols.clamp_min(0), length - 1)
            groups = [(z_symbols[active].numpy(), z_prior.table_counts[active].numpy())]
            context, mu, index = self._y_model(z_symbols)
            radius = net.y_prior.radius[index]
            residual = torch.round(y - mu).to(torch.int32)
            residual = torch.maximum(torch.minimum(residual, radius), -radius)
            groups += self._y_groups(index, residual + radius)
            yield groups, self._pixels(context, residual + mu)

    def _decode_one(self, decoder: bitstream.SymbolDecoder) -> np.ndarray:
        z_prior, y_prior = self.module_.z_prior, self.module_.y_prior
        active = self._active_z()
        z_symbols = torch.zeros(z_prior.channels, dtype=torch.int32)
        z_symbols[active] = torch.from_numpy(
            decoder.decode(z_prior.table_counts[active].numpy(), int(active.sum()))
        )
        context, mu, index = self._y_model(z_symbols)
        shifted = torch.zeros(index.shape, dtype=torch.int32)
        for i, where in self._y_positions(index):
            table = y_prior.table_counts[i, : 2 * int(y_prior.radius[i]) + 1].numpy()
            shifted[where] = torch.from_numpy(decoder.decode(table, int(where.sum())))
        return self._pixels(context, shifted - y_prior.radius[index] + mu)

    def _active_z(self) -> Tensor:
        """Elements of z with more than one possible value; the others cost nothing."""
        return (self.module_.z_prior.table_counts > 0).sum(1) > 1

    def _y_model(self, z_symbols: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """ẑ → (context for g_s, μ of y, the table of each element of y)."""
        with torch.inference_mode():
            z_hat = (z_symbols + self.module_.z_prior.table_low).float()[None]
            context, mu, sigma = self.module_.context(z_hat)
        return context, mu, self.module_.y_prior.index(sigma)

    def _y_groups(self, index: Tensor, shifted: Tensor) -> list[tuple[np.ndarray, np.ndarray]]:
        """The residuals of y grouped by table, each table i.i.d. over its group."""
        y_prior = self.module_.y_prior
        return [
            (
                shifted[where].numpy(),
                y_prior.table_counts[i, : 2 * int(y_prior.radius[i]) + 1].numpy(),
            )
            for i, where in self._y_positions(index)
        ]

    @staticmethod
    def _y_positions(index: Tensor):
        """(table, mask) for each table used, in a fixed order both sides follow."""
        return ((int(i), index == i) for i in torch.unique(index))

    def _pixels(self, context: Tensor, y_hat: Tensor) -> np.ndarray:
        with torch.inference_mode():
            x_hat = self.module_.synthesise(context, y_hat.float())[0]
        return torch.round(x_hat.clamp(0, 1) * PEAK).to(torch.uint8).numpy()

    # -------------------------------------------------------------- persistence
    def save(self, path: str | Path, *, metrics: dict | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors``, ``history.csv`` (+ ``metrics.json``)."""
        return save_codec(self, path, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path) -> ImageCodec:
        """Rebuild a saved codec from its directory; never unpickles."""
        files = read_codec(path)
        try:
            codec = cls(**files.params)
            codec._validate_params()
        except (TypeError, InvalidParameterError) as error:
            raise ModelFileError(
                f"{Path(path) / 'config.json'}: invalid params ({first_line(error)})"
            ) from None
        codec.config_, codec.module_, codec.history_ = files.config, files.module, files.history
        codec.model_id_ = model_id(files.module)
        codec.random_seed_ = files.fitted.get("random_seed")
        codec.stop_reason_ = files.fitted.get("stop_reason", "completed")
        return codec


def as_images(X, name: str) -> np.ndarray:
    """8-bit images ``(n, C, H, W)``, C = 1 or 3, from uint8 or floats in [0, 1]."""
    X = np.asarray(X)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4 or X.shape[1] not in (1, 3) or 0 in X.shape:
        raise DataError(
            f"{name}: expected images (n, H, W) or (n, C, H, W) with 1 or 3 channels, "
            f"got shape {X.shape}"
        )
    if X.dtype == np.uint8:
        return X
    if not np.issubdtype(X.dtype, np.number) or not np.isfinite(X).all():
        raise DataError(f"{name}: images must be finite numbers, got dtype {X.dtype}")
    if X.min() < 0 or X.max() > 1:
        raise DataError(f"{name}: images must be uint8 or floats in [0, 1]")
    return np.round(X * PEAK).astype(np.uint8)


def _to_unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32)) / PEAK


__all__ = ["ImageCodec", "as_images"]
