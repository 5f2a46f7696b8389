"""Options shared by several commands, and the parsers behind them."""

from __future__ import annotations

import functools
import math

import click

from autoencoders.data import Dataset, load_dataset, windowed
from autoencoders.training import Corruption


def int_list(ctx, param, value: str | None) -> tuple[int, ...] | None:
    """``"128,64"`` → ``(128, 64)``; empty string → ``()``."""
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None
    if any(s < 1 or s > 1_000_000 for s in sizes):
        raise click.BadParameter(f"{value!r}: sizes must be between 1 and 1000000")
    return sizes


def float_list(ctx, param, value: str) -> tuple[float, ...]:
    """``"0,1,2.5"`` → ``(0.0, 1.0, 2.5)``: at least one finite number."""
    try:
        numbers = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        numbers = ()
    if not numbers or not all(math.isfinite(v) for v in numbers):
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers")
    return numbers


def image_size(ctx, param, value: str | None) -> tuple[int, int] | None:
    """``"28"`` or ``"32x48"`` (height × width)."""
    if value is None:
        return None
    parts = value.lower().split("x")
    try:
        height, width = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, 0)
    except ValueError:
        height = width = 0
    if not (1 <= height <= 8192 and 1 <= width <= 8192):
        raise click.BadParameter(f"{value!r}: use SIZE or HEIGHTxWIDTH, e.g. 28 or 32x48")
    return height, width


def data_options(command):
    """How a DATA argument is read: ``--data-dir``, ``--label-column``, ``--image-size``…"""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        help="Folder holding MNIST / Fashion-MNIST files (else $AUTOENCODERS_DATA, "
        "then the cache, then a download).",
    )
    @click.option("--label-column", help="CSV column (name or index) holding labels, not features.")
    @click.option(
        "--image-size",
        callback=image_size,
        help="Resize a folder's images to SIZE or HxW (default: their common size).",
    )
    @click.option("--limit", type=click.IntRange(1), help="Use only the first N samples.")
    @click.option(
        "--window",
        callback=window,
        metavar="LENGTH[:STRIDE]",
        help="Read DATA as one long series (rows are time steps) and cut it into windows "
        "of LENGTH steps every STRIDE (default 1), for the lstm and gru models.",
    )
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        # Kept out of the command's arguments: read_data finds it in the click context.
        click.get_current_context().meta["autoencoders.window"] = kwargs.pop("window")
        return command(*args, **kwargs)

    return wrapper


def window(ctx, param, value: str | None) -> tuple[int, int] | None:
    """``"64"`` → (64, 1); ``"64:8"`` → (64, 8)."""
    if value is None:
        return None
    length, _, stride = value.partition(":")
    try:
        parsed = int(length), int(stride or 1)
    except ValueError:
        parsed = (0, 0)
    if parsed[0] < 2 or parsed[1] < 1:
        raise click.BadParameter(f"{value!r}: use LENGTH or LENGTH:STRIDE, e.g. 64 or 64:8")
    return parsed


def read_data(spec: str, split: str, options: dict) -> Dataset:
    """Load DATA with the shared options popped from a command's keyword arguments."""
    dataset = load_dataset(
        spec,
        split,
        data_dir=options.pop("data_dir", None),
        label_column=options.pop("label_column", None),
        image_size=options.pop("image_size", None),
        limit=options.pop("limit", None),
    )
    context = click.get_current_context(silent=True)
    windows = context.meta.get("autoencoders.window") if context is not None else None
    return dataset if windows is None else windowed(dataset, *windows)


def run_location(ctx, param, value: str) -> str:
    """A run directory as given, or a zoo model's (``zoo:NAME``), checked."""
    from autoencoders import zoo

    return str(zoo.resolve(value)) if value.startswith(zoo.PREFIX) else value


RUN = click.argument("run", type=click.Path(), callback=run_location)
OUTPUT = click.option(
    "-o",
    "--output",
    required=True,
    help="File to write: .npy, .npz or .csv; a name without suffix is a folder of PNG images.",
)


SPLIT = click.option(
    "--split",
    type=click.Choice(["train", "test", "all"]),
    default="test",
    show_default=True,
    help="Split of a built-in dataset.",
)


def noise(ctx, param, value: str | None) -> str | None:
    if value is not None:
        Corruption.parse(value)  # fail before any work is done
    return value


def summary(metrics: dict) -> str:
    parts = [
        f"{name.upper()} {value:.4g}"
        for name, value in metrics.items()
        if name in ("bce", "mse", "psnr")
    ]
    return ", ".join(parts)
