"""``autoencoders detect``: anomaly scores of INPUT under a trained model, as CSV and a figure."""

from __future__ import annotations

from pathlib import Path

import click
from sklearn.frozen import FrozenEstimator

from autoencoders.applications import AnomalyDetector
from autoencoders.applications.anomaly import DETECTOR, SCORES
from autoencoders.cli.app import cli
from autoencoders.cli.options import SPLIT, data_options, read_data
from autoencoders.cli.outputs import scores_csv, write_text
from autoencoders.errors import DataError
from autoencoders.estimators import load as load_model
from autoencoders.report.anomaly import detection_figure

DEFAULT_CONTAMINATION = 0.1


@cli.command(
    epilog="""\b
Examples:
  autoencoders train digits --model conv --out runs/digits
  autoencoders detect runs/digits digits --reference digits -o scores.csv
  autoencoders detect runs/digits new.npy --reference digits --contamination 0.01 -o new.csv
  autoencoders detect runs/table table.csv --label-column class -o scores.csv

\b
The threshold is the (1 - contamination) quantile of the anomaly scores of the
reference data: --reference DATA (its training split), else the threshold saved with
RUN by AnomalyDetector.save, else INPUT itself (its top fraction is flagged).
"""
)
@click.argument("run", type=click.Path())
@click.argument("input_data", metavar="INPUT")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="CSV to write: index, anomaly_score, is_anomaly (and label when INPUT has labels).",
)
@click.option("--reference", help="DATA whose scores set the threshold, e.g. the training data.")
@click.option(
    "--contamination",
    type=click.FloatRange(0, 0.5, min_open=True),
    help=f"Fraction of the reference above the threshold [default: {DEFAULT_CONTAMINATION}].",
)
@click.option(
    "--score",
    type=click.Choice(["auto", *SCORES]),
    help="model: the model's own loss (a VAE's negative ELBO); mse; normalized: each "
    "feature's error over its typical size [default: auto, normalized for tables, mse "
    "for images].",
)
@click.option(
    "--figure",
    type=click.Path(),
    help="PNG of the most and least anomalous inputs with their error maps "
    "[default: OUTPUT with .png].",
)
@SPLIT
@data_options
def detect(run, input_data, output, reference, contamination, score, figure, split, **options):
    """Score INPUT for anomalies with the model in RUN: the worse its reconstruction, the
    higher the score. Writes a CSV and a figure of the most and least anomalous inputs."""
    if Path(output).suffix.lower() != ".csv":
        raise DataError(f"{output}: the scores are written as CSV; give a name ending in .csv")
    data = read_data(input_data, split, dict(options))
    saved = (Path(run) / DETECTOR).is_file()
    if saved and reference is None and contamination is None and score is None:
        detector = AnomalyDetector.load(run)
        source = f"saved in {run}"
    else:
        base = AnomalyDetector.load(run) if saved else None
        model = base.model_ if base else load_model(run)
        reference_data = read_data(reference, "train", dict(options)) if reference else data
        detector = AnomalyDetector(
            FrozenEstimator(model),
            contamination=contamination or (base.contamination if base else DEFAULT_CONTAMINATION),
            anomaly_score=score or (base.anomaly_score if base else "auto"),
        ).fit(reference_data.X)
        source = f"top {detector.contamination:.3g} of {reference_data.name}"
    anomaly_scores = -detector.score_samples(data.X)
    flagged = anomaly_scores > detector.threshold_
    write_text(output, scores_csv(anomaly_scores, flagged, data.y))
    figure = Path(figure) if figure else Path(output).with_suffix(".png")
    detection_figure(detector, data.X, anomaly_scores, figure, title=f"Anomalies in {data.name}")
    click.echo(
        f"{flagged.sum()} of {len(flagged)} samples of {data.name} are anomalies: "
        f"score above {detector.threshold_:.4g} "
        f"({detector.anomaly_score_} score; threshold: {source})"
    )
    click.echo(f"wrote {output} and {figure}")
