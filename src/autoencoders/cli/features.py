"""``autoencoders features``: a model's codes as features, beside PCA and the raw inputs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from autoencoders.applications.features import compare_features
from autoencoders.cli.app import cli
from autoencoders.cli.options import data_options, read_data
from autoencoders.cli.outputs import write_text
from autoencoders.data import BUILTIN_DATASETS
from autoencoders.estimators import load as load_model
from autoencoders.report import score_bars


@cli.command(
    epilog="""\b
Examples:
  autoencoders features runs/deep mnist -o features.json       (also writes features.png)
  autoencoders features runs/tab train.csv --test test.csv --label-column class -o f.json

\b
For each of the codes, PCA with as many components and the raw (scaled) inputs:
linear_probe is the test accuracy of a logistic regression fitted on DATA; ari and
nmi compare k-means clusters (k = the number of classes) of the test data with its
labels.
"""
)
@click.argument("run", type=click.Path())
@click.argument("data")
@click.option(
    "--test",
    "test_spec",
    help="Labelled held-out DATA [default: the test split of a built-in dataset].",
)
@click.option("-o", "--output", required=True, type=click.Path(), help="JSON file for the scores.")
@click.option(
    "--figure", type=click.Path(), help="PNG bar chart of the scores [default: OUTPUT with .png]."
)
@data_options
def features(run, data, test_spec, output, figure, **options) -> None:
    """Score the codes of RUN as features of labelled DATA: a linear probe and k-means."""
    if not test_spec and data not in BUILTIN_DATASETS:
        raise click.UsageError("give --test DATA: held-out labelled data to score on")
    estimator = load_model(run)
    train = read_data(data, "train", dict(options))
    test = read_data(test_spec or data, "test", dict(options))
    table = compare_features(estimator, train, test)
    write_text(output, json.dumps(table, indent=2))
    figure = Path(figure) if figure else Path(output).with_suffix(".png")
    score_bars(table, figure, title=f"Features of {train.name}")
    for name, scores in table.items():
        click.echo(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    click.echo(f"wrote {output} and {figure}")
