"""The commands: evaluate, encode, decode, reconstruct, demo (train is in train.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from autoencoders.cli.app import cli
from autoencoders.cli.options import OUTPUT, RUN, SPLIT, data_options, noise, read_data, summary
from autoencoders.cli.outputs import write_output, write_text
from autoencoders.estimators import BaseAutoEncoder
from autoencoders.estimators import load as load_model
from autoencoders.runs import evaluate_run


@cli.command(
    epilog="""\b
Examples:
  autoencoders evaluate runs/conv digits
  autoencoders evaluate runs/denoise mnist --noise gaussian:0.5 -o metrics.json
"""
)
@RUN
@click.argument("data")
@SPLIT
@click.option("--noise", callback=noise, help="Also measure denoising of this corruption.")
@click.option("-o", "--output", type=click.Path(), help="Also write the metrics as JSON here.")
@data_options
def evaluate(run, data, split, noise, output, **options) -> None:
    """Measure how well a saved model reconstructs DATA (BCE, MSE, PSNR), as JSON."""
    estimator = load_model(run)
    dataset = read_data(data, split, options)
    metrics = evaluate_run(estimator, dataset)
    if noise:
        metrics["denoising"] = estimator.evaluate(dataset.X, noise=noise)
    text = json.dumps(metrics, indent=2)
    if output:
        write_text(output, text)
    click.echo(text)


@cli.command(
    epilog="""\b
Examples:
  autoencoders encode runs/shallow mnist -o codes.npy
  autoencoders encode runs/tab table.csv --label-column class -o codes.csv
"""
)
@RUN
@click.argument("input_data", metavar="INPUT")
@OUTPUT
@SPLIT
@data_options
def encode(run, input_data, output, split, **options) -> None:
    """Encode INPUT with a saved model's encoder: one code per sample."""
    estimator = load_model(run)
    codes = estimator.transform(read_data(input_data, split, options).X)
    click.echo(f"wrote {write_output(output, codes)}")


@cli.command(
    epilog="""\b
Examples:
  autoencoders decode runs/shallow codes.npy -o decoded.npy
  autoencoders decode runs/shallow codes.npy -o decoded_images
"""
)
@RUN
@click.argument("codes", type=click.Path())
@OUTPUT
def decode(run, codes, output) -> None:
    """Decode CODES (.npy/.npz/.csv, one code per row) with a saved model's decoder."""
    estimator = load_model(run)
    decoded = estimator.inverse_transform(read_data(codes, "all", {}).X)
    click.echo(f"wrote {write_output(output, decoded, images01=_images01(estimator, decoded))}")


@cli.command(
    epilog="""\b
Examples:
  autoencoders reconstruct runs/conv digits -o reconstructions
  autoencoders reconstruct runs/denoise noisy.npy -o denoised.npy
  autoencoders reconstruct runs/denoise mnist --noise gaussian:0.5 -o denoised
"""
)
@RUN
@click.argument("input_data", metavar="INPUT")
@OUTPUT
@SPLIT
@click.option("--noise", callback=noise, help="Corrupt INPUT first (seeded), to see denoising.")
@data_options
def reconstruct(run, input_data, output, split, noise, **options) -> None:
    """Pass INPUT through a saved model (a denoising model cleans it up)."""
    estimator = load_model(run)
    X = read_data(input_data, split, options).X
    if noise:
        X = estimator.corrupt(X, noise)
    result = estimator.predict(X)
    shown = _images01(estimator, result, inputs=X)
    click.echo(f"wrote {write_output(output, result, images01=shown)}")


def _images01(estimator: BaseAutoEncoder, outputs, inputs=None):
    """The outputs as images in [0, 1] when the model produces images, else None;
    ``inputs`` are the data they answer (and whose units they are in), if any."""
    if len(estimator.output_shape_) != 3:
        return None
    scaler = estimator.target_scaler_
    if inputs is not None:
        scaler = estimator._scalers_for(estimator._samples(inputs, "INPUT"), "INPUT")[1]
    shown = scaler.transform(outputs)
    return shown[:, None] if shown.ndim == 3 else shown


@cli.command(
    epilog="""\b
Examples:
  autoencoders demo
  autoencoders demo --data mnist --epochs 3 --out runs/demo-mnist
"""
)
@click.option(
    "--data",
    default="digits",
    show_default=True,
    type=click.Choice(["digits", "mnist", "fashion-mnist"]),
)
@click.option("--out", default="runs/demo", show_default=True, type=click.Path())
@click.option("--epochs", type=click.IntRange(1, 10_000), help="Override the epochs per model.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Folder with the MNIST files (else $AUTOENCODERS_DATA or the cache).",
)
@click.option("-q", "--quiet", is_flag=True)
def demo(data, out, epochs, data_dir, quiet) -> None:
    """Train a convolutional and a denoising autoencoder and write an HTML report."""
    from autoencoders.demo import run_demo

    runs = run_demo(data, out, epochs=epochs, data_dir=data_dir, verbose=0 if quiet else 1)
    for run in runs:
        m = run.metrics
        line = f"{run.path.name}: test {summary(m['reconstruction'])}"
        if "denoising" in m:
            line += (
                f"; denoised PSNR {m['denoising']['psnr']:.4g} dB "
                f"(noisy {m['denoising']['noisy_psnr']:.4g} dB)"
            )
        click.echo(line)
    click.echo(f"report: {Path(out) / 'report.html'}")
