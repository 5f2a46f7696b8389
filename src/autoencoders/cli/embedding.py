"""``autoencoders embed``: the codes of INPUT as a CSV, drawn beside PCA of the same data."""

from __future__ import annotations

import io
from pathlib import Path

import click
import numpy as np

from autoencoders.applications.embedding import (
    cross_validated_knn_accuracy,
    pca_embedding,
    plane,
    trustworthiness_score,
)
from autoencoders.cli.app import cli
from autoencoders.cli.options import SPLIT, data_options, read_data
from autoencoders.cli.outputs import write_text
from autoencoders.errors import DataError
from autoencoders.estimators import load as load_model
from autoencoders.report import embedding_scatter

TRUSTWORTHINESS_SAMPLE = 2000  # enough for two decimals, seconds to compute


@cli.command(
    epilog="""\b
Examples:
  autoencoders train mnist --model deep --latent-dim 2 --out runs/embed
  autoencoders embed runs/embed mnist -o embedding.csv          (also writes embedding.png)
  autoencoders embed runs/shallow mnist -o codes.csv --figure codes.png

\b
A 2-D code is drawn as it is; a larger one by its top two principal components.
With labels, the command also prints the 5-NN accuracy of the code and of PCA at the
same dimension (5-fold cross-validation) and their trustworthiness (k = 5).
"""
)
@click.argument("run", type=click.Path())
@click.argument("input_data", metavar="INPUT")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="CSV to write: the code x0, x1, … of each sample (and label when INPUT has labels).",
)
@click.option(
    "--figure",
    type=click.Path(),
    help="PNG of the code beside PCA, coloured by label [default: OUTPUT with .png].",
)
@SPLIT
@data_options
def embed(run, input_data, output, figure, split, **options) -> None:
    """Embed INPUT with the encoder in RUN and draw it beside PCA of the same data."""
    if Path(output).suffix.lower() != ".csv":
        raise DataError(f"{output}: the embedding is written as CSV; give a name ending in .csv")
    estimator = load_model(run)
    data = read_data(input_data, split, options)
    codes = estimator.transform(data.X)
    scaled = estimator.input_scaler_.transform(data.X)  # what the encoder sees
    write_text(output, _csv(codes, data.y))
    points, drawn = plane(codes)
    (pca,) = pca_embedding(scaled, n_components=2)
    figure = Path(figure) if figure else Path(output).with_suffix(".png")
    embedding_scatter(
        {f"autoencoder ({drawn})": points, "PCA (2 components)": pca},
        data.y,
        figure,
        class_names=data.class_names,
        title=f"{data.name}: {len(codes)} samples",
    )
    click.echo(f"wrote {output} ({len(codes)} × {codes.shape[1]}) and {figure}")
    _echo_scores(codes, scaled, data.y)


def _echo_scores(codes: np.ndarray, scaled: np.ndarray, labels: np.ndarray | None) -> None:
    """The code's scores beside PCA's at the same dimension, when they can be computed."""
    if len(codes) <= max(2 * 5 + 1, codes.shape[1]) or codes.shape[1] >= scaled[0].size:
        return
    (pca,) = pca_embedding(scaled, n_components=codes.shape[1])
    size = f"{codes.shape[1]}-D"
    if labels is not None and np.bincount(np.unique(labels, return_inverse=True)[1]).min() >= 5:
        code_acc, pca_acc = (cross_validated_knn_accuracy(x, labels) for x in (codes, pca))
        click.echo(f"5-NN accuracy (5-fold): code {code_acc:.3f}, PCA {size} {pca_acc:.3f}")
    sample = TRUSTWORTHINESS_SAMPLE
    code_t, pca_t = (trustworthiness_score(scaled, x, sample=sample) for x in (codes, pca))
    click.echo(f"trustworthiness (k=5): code {code_t:.3f}, PCA {size} {pca_t:.3f}")


def _csv(codes: np.ndarray, labels: np.ndarray | None) -> str:
    columns = [f"x{i}" for i in range(codes.shape[1])]
    table = codes.astype(object)
    formats = ["%.7g"] * codes.shape[1]
    if labels is not None:
        columns.append("label")
        table = np.column_stack([table, labels.astype(object)])
        formats.append("%s")
    text = io.StringIO()
    np.savetxt(text, table, delimiter=",", header=",".join(columns), comments="", fmt=formats)
    return text.getvalue().rstrip("\n")
