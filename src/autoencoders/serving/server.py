"""Assemble a server for a run directory: the model, its reference data, the threshold.

The reference data (``--data``, by default the data the run was trained on, as its
``metrics.json`` records, or for a zoo model its shipped test sample) feeds the
explorer's scatter plot (its test split) and, when no threshold is given or saved with
the run by an AnomalyDetector, calibrates ``/score``'s: the 99th percentile of the
anomaly scores of its training split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

from autoencoders import zoo
from autoencoders.data import BUILTIN_DATASETS, Dataset, load_dataset
from autoencoders.errors import AutoencodersError, DataError
from autoencoders.estimators import BaseAutoEncoder
from autoencoders.estimators import load as load_model
from autoencoders.serving.explorer import POINTS, explorer_data, render_explorer
from autoencoders.serving.service import (
    AnomalyScore,
    Limits,
    ModelService,
    calibrated,
    model_score,
)

DETECTOR = "detector.json"  # what AnomalyDetector.save writes beside the model's files


@dataclass
class Reference:
    """The data a served model is shown with: its explorer points and calibration set."""

    name: str
    shown: Dataset  # the explorer's points (a built-in data set's test split)
    calibration: Dataset  # the threshold's normal data (its training split)


def reference_data(run: str | Path, spec: str | None, *, data_dir: str | None = None) -> Reference:
    """``spec``, or the data ``run`` was trained on (a zoo model: its shipped test
    sample); a clear error when neither loads."""
    if spec is None and zoo.is_zoo(run):
        sample = zoo.sample_dataset(Path(str(run).removeprefix(zoo.PREFIX)).name)
        return Reference(sample.name, sample, sample)
    run = Path(run)
    if spec is None:
        try:
            spec = json.loads((run / "metrics.json").read_text())["data"]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(
                f"{run}: no metrics.json naming the training data; pass --data DATA"
            ) from None
    try:
        calibration = load_dataset(spec, "train", data_dir=data_dir)
        shown = (
            load_dataset(spec, "test", data_dir=data_dir)
            if spec in BUILTIN_DATASETS
            else calibration
        )
    except AutoencodersError as error:
        raise DataError(f"{error} (the reference data; choose another with --data)") from None
    return Reference(str(spec), shown, calibration)


def load_scoring(
    run: str | Path, reference: Reference, threshold: float | None = None
) -> tuple[BaseAutoEncoder, AnomalyScore]:
    """The run's model, loaded once, and how ``/score`` scores and flags samples.

    A run saved by :class:`~autoencoders.applications.AnomalyDetector` (with its
    ``detector.json``) is scored as the detector scores and flagged at its threshold;
    any other run by the model's own score, flagged above the 99th percentile of the
    reference data's training scores. ``threshold`` overrides either.
    """
    run = Path(run)
    saved = None
    if (run / DETECTOR).exists():
        from autoencoders.applications.anomaly import AnomalyDetector

        detector = AnomalyDetector.load(run)
        estimator = detector.model_
        score = lambda X: -detector.score_samples(X)  # noqa: E731
        saved = f"saved by the AnomalyDetector ({DETECTOR}, score={detector.anomaly_score_!r})"
    else:
        estimator = load_model(run)
        score = model_score(estimator)
    if threshold is not None:
        return estimator, AnomalyScore(score, float(threshold), "given with --threshold")
    if saved is not None:
        return estimator, AnomalyScore(score, detector.threshold_, saved)
    return estimator, calibrated(score, reference.calibration.X, f"{reference.name} (train)")


def build_app(
    run: str | Path,
    *,
    data: str | None = None,
    data_dir: str | None = None,
    threshold: float | None = None,
    limits: Limits | None = None,
    points: int = POINTS,
):
    """Load the model once and make the FastAPI app that serves it (and its explorer)."""
    from autoencoders.serving.app import create_app  # FastAPI is an optional extra

    reference = reference_data(run, data, data_dir=data_dir)
    estimator, anomaly = load_scoring(run, reference, threshold)
    service = ModelService(estimator, anomaly, limits or Limits())
    try:
        page = explorer_data(estimator, reference.shown, anomaly, live=True, points=points)
        html = render_explorer(page)
    except DataError as error:  # a table model, say: the API works, the page says why not
        html = (
            f"<!doctype html><title>autoencoders</title><p>No explorer: {escape(str(error))}. "
            'The API is described at <a href="/openapi.json">/openapi.json</a>.</p>'
        )
    return create_app(service, explorer_html=html)
