"""Assemble a server for a run directory: the model, its reference data, the threshold.

The reference data (``--data``, by default the data the run was trained on, as its
``metrics.json`` records) feeds the explorer's scatter plot (its test split) and, when
no threshold is given or saved with the run, calibrates ``/score``'s: the 99th
percentile of the anomaly scores of its training split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

from autoencoders.data import BUILTIN_DATASETS, Dataset, load_dataset
from autoencoders.errors import AutoencodersError, DataError
from autoencoders.estimator import AutoEncoder
from autoencoders.serving.explorer import POINTS, explorer_data, render_explorer
from autoencoders.serving.service import Limits, ModelService, Threshold, calibrate_threshold

ANOMALY_FILE = "anomaly.json"  # a threshold saved with the run: {"threshold": float, ...}


@dataclass
class Reference:
    """The data a served model is shown with: its explorer points and calibration set."""

    name: str
    shown: Dataset  # the explorer's points (a built-in data set's test split)
    calibration: Dataset  # the threshold's normal data (its training split)


def reference_data(run: str | Path, spec: str | None, *, data_dir: str | None = None) -> Reference:
    """``spec``, or the data ``run`` was trained on; a clear error when neither loads."""
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


def resolve_threshold(
    estimator: AutoEncoder, run: str | Path, reference: Reference, given: float | None
) -> Threshold:
    """``given``, else one saved with the run (``anomaly.json``), else calibrated on the data."""
    if given is not None:
        return Threshold(float(given), "given with --threshold")
    saved = Path(run) / ANOMALY_FILE
    if saved.exists():
        try:
            value = json.loads(saved.read_text())["threshold"]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(f"{saved}: expected a JSON object with a number 'threshold'") from None
        return Threshold(float(value), f"saved with the run ({saved.name})")
    return calibrate_threshold(estimator, reference.calibration.X, f"{reference.name} (train)")


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

    estimator = AutoEncoder.load(run)
    reference = reference_data(run, data, data_dir=data_dir)
    chosen = resolve_threshold(estimator, run, reference, threshold)
    service = ModelService(estimator, chosen, limits or Limits())
    try:
        page = explorer_data(
            estimator, reference.shown, service.threshold, live=True, points=points
        )
        html = render_explorer(page)
    except DataError as error:  # a table model, say: the API works, the page says why not
        html = (
            f"<!doctype html><title>autoencoders</title><p>No explorer: {escape(str(error))}. "
            'The API is described at <a href="/openapi.json">/openapi.json</a>.</p>'
        )
    return create_app(service, explorer_html=html)
