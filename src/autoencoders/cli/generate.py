"""Generation commands: sample, interpolate, traverse, arithmetic, manifold.

Each writes a figure when OUTPUT ends in .png, else the decoded arrays (.npy, .npz,
.csv, or a folder of PNG images), like ``decode`` does.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from autoencoders import generation
from autoencoders.cli.app import cli
from autoencoders.cli.options import RUN, SPLIT, data_options, float_list, int_list, read_data
from autoencoders.cli.outputs import write_output
from autoencoders.errors import DataError
from autoencoders.estimators import BaseAutoEncoder
from autoencoders.estimators import load as load_model
from autoencoders.report import image_grid

OUTPUT = click.option(
    "-o",
    "--output",
    required=True,
    help="A .png figure, or the decoded arrays: .npy, .npz, .csv or a folder of PNGs.",
)
SEED = click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)


def _write(estimator: BaseAutoEncoder, grid: np.ndarray, output: str, title: str, **figure) -> None:
    """``grid`` is (rows, columns, *sample shape) in the data's units."""
    flat = grid.reshape(-1, *grid.shape[2:])
    if Path(output).suffix.lower() == ".png":
        images = _as_images(estimator, flat).reshape(*grid.shape[:2], -1, *flat.shape[-2:])
        click.echo(f"wrote {image_grid(images, output, title=title, **figure)}")
        return
    click.echo(f"wrote {write_output(output, flat, images01=_maybe_images(estimator, flat))}")


def _maybe_images(estimator: BaseAutoEncoder, outputs: np.ndarray) -> np.ndarray | None:
    if len(estimator.output_shape_) != 3:
        return None
    return _as_images(estimator, outputs)


def _as_images(estimator: BaseAutoEncoder, outputs: np.ndarray) -> np.ndarray:
    if len(estimator.output_shape_) != 3:
        raise DataError(
            "a .png figure needs a model of images; this one outputs vectors, so write "
            ".npy, .npz or .csv"
        )
    shown = estimator.target_scaler_.transform(outputs)
    return shown[:, None] if shown.ndim == 3 else shown


def _sample_index(X: np.ndarray, index: int, option: str) -> np.ndarray:
    if not 0 <= index < len(X):
        raise DataError(f"{option} {index} is out of range: the data has {len(X)} samples")
    return X[index]


@cli.command(
    epilog="""\b
Examples:
  autoencoders sample runs/vae -n 64 -o samples.png
  autoencoders sample runs/vae -n 1000 -o samples.npy
"""
)
@RUN
@click.option("-n", "--count", type=click.IntRange(1, 100_000), default=64, show_default=True)
@OUTPUT
@SEED
def sample(run, count, output, seed) -> None:
    """Draw COUNT codes from a variational model's prior and decode them."""
    estimator = load_model(run)
    samples = estimator.sample(count, random_state=seed)
    if Path(output).suffix.lower() == ".png":  # the largest full square-ish grid
        columns = int(np.ceil(np.sqrt(count)))
        samples = samples[: max(1, count // columns) * columns]
        grid = samples.reshape(-1, min(columns, len(samples)), *samples.shape[1:])
    else:
        grid = samples[None]
    _write(estimator, grid, output, "samples from the prior")


@cli.command(
    epilog="""\b
Examples:
  autoencoders interpolate runs/vae mnist --from 0 --to 1 --steps 12 -o path.png
  autoencoders interpolate runs/vae digits --from 3 --to 7 --method slerp -o path.npy
"""
)
@RUN
@click.argument("data")
@click.option(
    "--from", "start", type=click.IntRange(0), required=True, help="Index of the first sample."
)
@click.option(
    "--to", "end", type=click.IntRange(0), required=True, help="Index of the last sample."
)
@click.option("--steps", type=click.IntRange(2, 1000), default=10, show_default=True)
@click.option(
    "--method",
    type=click.Choice(generation.INTERPOLATIONS),
    default="linear",
    show_default=True,
    help="slerp follows the great circle between the codes (better for a VAE).",
)
@OUTPUT
@SPLIT
@data_options
def interpolate(run, data, start, end, steps, method, output, split, **options) -> None:
    """Decode the path between the codes of two samples of DATA."""
    estimator = load_model(run)
    X = read_data(data, split, options).X
    path = generation.interpolate(
        estimator,
        _sample_index(X, start, "--from"),
        _sample_index(X, end, "--to"),
        steps=steps,
        method=method,
    )
    _write(estimator, path[None], output, f"{method} interpolation, sample {start} → {end}")


@cli.command(
    epilog="""\b
Examples:
  autoencoders traverse runs/vae mnist --index 0 --units 0,1,2,3 -o traversal.png
"""
)
@RUN
@click.argument("data")
@click.option(
    "--index", type=click.IntRange(0), default=0, show_default=True, help="Sample to start from."
)
@click.option("--units", callback=int_list, help="Code units to vary, e.g. 0,1,2 (default: all).")
@click.option("--span", type=click.FloatRange(0, min_open=True), default=3.0, show_default=True)
@click.option("--steps", type=click.IntRange(2, 100), default=9, show_default=True)
@OUTPUT
@SPLIT
@data_options
def traverse(run, data, index, units, span, steps, output, split, **options) -> None:
    """Vary one code unit at a time (±SPAN) around the code of a sample of DATA."""
    estimator = load_model(run)
    X = read_data(data, split, options).X
    grid = generation.traverse(
        estimator, _sample_index(X, index, "--index"), units=units, span=span, steps=steps
    )
    labels = [f"h{u}" for u in (units if units is not None else range(len(grid)))]
    _write(estimator, grid, output, f"latent traversal of sample {index}", row_labels=labels)


@cli.command(
    epilog="""\b
Examples:
  autoencoders arithmetic runs/vae mnist --without 1 --with 7 --apply-to 1 -o shifted.png
  autoencoders arithmetic runs/faces smiles/ --without not_smiling --with smiling \\
      --strength 0,1,2,3 -n 6 --focus 1 --region -o smiles.png
"""
)
@RUN
@click.argument("data")
@click.option(
    "--without", "without", required=True, help="Label of the group without the attribute."
)
@click.option("--with", "with_", required=True, help="Label of the group with the attribute.")
@click.option("--apply-to", help="Label of the samples to move (default: the --without group).")
@click.option("-n", "--count", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--strength",
    "strengths",
    callback=float_list,
    default="1",
    show_default=True,
    help="How far to move, or a list (0,1,2,3): then a row per sample, a column per strength.",
)
@click.option(
    "--focus",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Weight each code element by its effect size to this power (0: the plain "
    "difference); moves only what tells the groups apart.",
)
@click.option(
    "--region",
    is_flag=True,
    help="Keep the change where the two groups' mean inputs differ most (the mouth, for "
    "smiling); elsewhere the output stays the unmoved reconstruction.",
)
@OUTPUT
@SPLIT
@data_options
def arithmetic(
    run, data, without, with_, apply_to, count, strengths, focus, region, output, split, **options
) -> None:
    """Latent arithmetic: move samples by the mean code of one labelled group minus another's."""
    estimator = load_model(run)
    dataset = read_data(data, split, options)
    if dataset.y is None:
        raise DataError(f"{data}: arithmetic needs labelled data (use --label-column for a CSV)")
    groups = {
        name: _group(dataset, label) for name, label in (("--without", without), ("--with", with_))
    }
    targets = groups["--without"] if apply_to is None else _group(dataset, apply_to)
    vector = generation.attribute_vector(
        estimator, groups["--without"], groups["--with"], focus=focus
    )
    where = generation.attribute_region(groups["--without"], groups["--with"]) if region else None
    chosen = targets[:count]
    title = f"+ (mean code of {with_} − mean code of {without})"
    if len(strengths) > 1:
        title += " × " + ", ".join(f"{s:g}" for s in strengths)
    details = []
    if focus:
        details.append(f"focus {focus:g}")
    if region:
        details.append("within the region")
    if details:
        title += f" ({', '.join(details)})"
    if len(strengths) > 1:
        moved = [
            generation.shift(estimator, chosen, vector, strength=s, region=where) for s in strengths
        ]
        _write(estimator, np.stack(moved, axis=1), output, title)
        return
    moved = generation.shift(estimator, chosen, vector, strength=strengths[0], region=where)
    grid = np.stack([estimator.predict(chosen), moved])
    _write(estimator, grid, output, title, row_labels=["reconstruction", "moved"])


def _group(dataset, label: str) -> np.ndarray:
    """The samples whose label is ``label`` (a class name, or the label's value)."""
    y = np.asarray(dataset.y)
    names = [str(name) for name in dataset.class_names or ()]
    mask = y == names.index(label) if label in names else y.astype(str) == label
    if not mask.any():
        known = names or sorted({str(v) for v in np.unique(y)})
        raise DataError(f"no sample has label {label!r}; labels are {', '.join(known[:20])}")
    return dataset.X[mask]


@cli.command(
    epilog="""\b
Examples:
  autoencoders manifold runs/vae2d -n 20 -o manifold.png
  autoencoders manifold runs/ae2d --extent 5 -o manifold.png
"""
)
@RUN
@click.option("-n", "--size", type=click.IntRange(2, 100), default=20, show_default=True)
@click.option(
    "--extent",
    type=click.FloatRange(0, min_open=True),
    help="Plane half-width (non-variational models).",
)
@OUTPUT
def manifold(run, size, extent, output) -> None:
    """Decode a grid over the latent plane of a model with a 2-D code."""
    estimator = load_model(run)
    grid = generation.manifold(estimator, n=size, extent=extent)
    _write(estimator, grid, output, "the learned 2-D manifold")
