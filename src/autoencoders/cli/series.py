"""``autoencoders detect-series``: one anomaly score per time step of a series, or a stream."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from autoencoders.applications.series import MODELS, SeriesAnomalyDetector
from autoencoders.cli.app import cli
from autoencoders.cli.outputs import scores_csv, write_text
from autoencoders.data.sequences import read_series
from autoencoders.errors import DataError


@cli.command(
    "detect-series",
    epilog="""\b
Examples:
  autoencoders detect-series server.csv --column latency -o scores.csv
  autoencoders detect-series sensor.csv --train-size 2000 --save runs/sensor -o scores.csv
  tail -f live.csv | autoencoders detect-series - --from runs/sensor -o -

\b
A CSV's rows are time steps. Its numeric columns (or those given with --column) are the
series; a text column (a timestamp) is skipped, a column named label or is_anomaly is
kept beside the scores, and empty cells are filled by interpolation (each reported).
""",
)
@click.argument("series", metavar="SERIES")
@click.option(
    "-o", "--output", required=True, help="CSV of index, anomaly_score, is_anomaly; - for stdout."
)
@click.option("--column", "columns", multiple=True, help="A column of the series (repeatable).")
@click.option(
    "--train-size",
    type=click.IntRange(1),
    help="The first N steps are known to be normal: one model learns from them, a second "
    "from the whole series.",
)
@click.option(
    "--prefix-only", is_flag=True, help="With --train-size: learn from the first N steps alone."
)
@click.option("--model", type=click.Choice(MODELS), default="dense", show_default=True)
@click.option("--window", type=click.IntRange(2), help="Steps per window [default: the period].")
@click.option(
    "--contamination",
    type=click.FloatRange(0, 0.5, min_open=True),
    default=0.01,
    show_default=True,
    help="Expected fraction of anomalous steps in SERIES: the share flagged.",
)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
@click.option("--save", "save_to", type=click.Path(), help="Save the detector here, for --from.")
@click.option(
    "--from",
    "run",
    type=click.Path(),
    help="Score with the detector saved in RUN; with SERIES '-', point by point as lines "
    "arrive on stdin.",
)
@click.option(
    "--figure", type=click.Path(), help="PNG of the series and its score [default: OUTPUT.png]."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def detect_series(
    series, output, columns, train_size, prefix_only, model, window, contamination, seed,
    save_to, run, figure, quiet,
) -> None:  # fmt: skip
    """Score every time step of SERIES (a CSV, one row per step) for anomalies."""
    if run and series == "-":
        _stream(SeriesAnomalyDetector.load(run), output)
        return
    if series == "-":
        raise click.UsageError("SERIES '-' (stdin) streams through a saved detector; add --from")
    if output != "-" and Path(output).suffix.lower() != ".csv":
        raise DataError(f"{output}: the scores are written as CSV; give a name ending in .csv")
    if save_to and model == "pca" and not run:
        raise click.UsageError("--model pca has no file format: use --model dense to --save")
    table = read_series(series, list(columns) or None)
    for note in table.notes:
        click.echo(f"{series}: {note}", err=True)
    if run:
        detector = SeriesAnomalyDetector.load(run)
    else:
        detector = SeriesAnomalyDetector(
            model,
            window=window or "auto",
            train_size=train_size,
            whole_series=not prefix_only,
            contamination=contamination,
            random_state=seed,
            verbose=0 if quiet else 1,
        ).fit(table.values)
    scores = -detector.score_samples(table.values)
    flagged = scores > detector.threshold_
    text = scores_csv(scores, flagged, table.labels)
    if output == "-":
        click.echo(text)
    else:
        write_text(output, text)
    if save_to:
        detector.save(save_to)
    if output != "-" or figure:
        from autoencoders.report.series import series_figure

        figure = Path(figure) if figure else Path(output).with_suffix(".png")
        series_figure(
            table.values, scores, detector.threshold_, figure, labels=table.labels,
            names=table.names, title=f"Anomalies in {Path(series).name}",
        )  # fmt: skip
    click.echo(
        f"{flagged.sum()} of {len(flagged)} steps flagged (window {detector.window_}, "
        f"threshold {detector.threshold_:.4g})" + (f"; wrote {output}" if output != "-" else ""),
        err=output == "-",
    )


def _stream(detector: SeriesAnomalyDetector, output: str) -> None:
    """Score each line of stdin as it arrives: once a window is full, every new step gets
    the score of the window that ends with it."""
    if output != "-":
        raise click.UsageError("streaming writes to stdout: use -o -")
    history: list[list[float]] = []
    click.echo("index,anomaly_score,is_anomaly")
    for index, line in enumerate(sys.stdin):
        cells = [c for c in line.strip().split(",") if c.strip()]
        try:
            history.append([float(c) for c in cells])
        except ValueError:
            raise DataError(f"stdin, line {index + 1}: {line.strip()!r} is not numbers") from None
        if len(history[-1]) != detector.n_features_in_:
            raise DataError(
                f"stdin, line {index + 1}: {len(history[-1])} values, but the detector takes "
                f"{detector.n_features_in_} per step"
            )
        history = history[-detector.window_ :]
        if len(history) < detector.window_:
            click.echo(f"{index},,")
            continue
        score = detector.score_stream(np.asarray(history))
        click.echo(f"{index},{score:.7g},{int(score > detector.threshold_)}")
        sys.stdout.flush()
