"""A training run: fit, evaluate on held-out data, save, draw the figures, write the report.

Everything is written into a staging directory that takes the run's name only when
the run has finished, so a crash never leaves a run that looks complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoencoders.data import Dataset
from autoencoders.estimators import BaseAutoEncoder
from autoencoders.persistence import CHECKPOINT, staged_directory
from autoencoders.report import (
    Section,
    comparison_grid,
    denoising_grid,
    loss_curves,
    reconstruction_grid,
    sequence_reconstructions,
)
from autoencoders.report import write_report as write_html_report
from autoencoders.training import distributed

GRID_SIZE = 10


@dataclass
class Run:
    path: Path
    estimator: BaseAutoEncoder
    metrics: dict
    section: Section


def train_run(
    estimator: BaseAutoEncoder,
    train: Dataset,
    out: str | Path,
    *,
    test: Dataset | None = None,
    target: Dataset | None = None,
    test_target: Dataset | None = None,
    title: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    callbacks=(),
) -> Run | None:
    """Train ``estimator`` on ``train`` (against ``target`` if paired) and write a run directory.

    Metrics are measured on ``test`` when given (a held-out split; for paired training,
    with ``test_target`` its pairs), else on the training data, and say which.
    Training is checkpointed every epoch in ``OUT.partial``; ``resume=True`` continues
    an interrupted run from there.
    ``callbacks`` are passed to :meth:`AutoEncoder.fit` (called after every epoch).
    In a ``torch.distributed`` process group the other ranks only train alongside
    rank 0 (reading the checkpoint to resume) and return None; rank 0 writes the run.
    """
    out = Path(out)
    if not distributed.is_main():
        partial = out.with_name(out.name + ".partial")
        _fit(estimator, train, test, target, partial / CHECKPOINT if resume else None, callbacks)
        return None
    with staged_directory(out, overwrite=overwrite, resume=resume) as staging:
        started = time.perf_counter()
        _fit(estimator, train, test, target, staging / CHECKPOINT, callbacks)
        seconds = time.perf_counter() - started
        paired_test = test is not None and (target is None) == (test_target is None)
        held_out, held_target = (test, test_target) if paired_test else (train, target)
        metrics = evaluate_run(estimator, held_out, target=held_target)
        if held_target is not None:
            where = "held out" if paired_test else "training data"
            metrics["evaluated_on"] = f"{held_out.name} (paired, {where})"
        metrics |= {
            "data": train.name,
            "n_train": len(train.X),
            "epochs_run": len(estimator.history_),
            "stop_reason": estimator.stop_reason_,
            "train_seconds": round(seconds, 3),
        }
        estimator.save(staging, metrics=metrics)
        section = run_section(
            estimator, held_out, staging, metrics, title=title or out.name, target=held_target
        )
        write_html_report(staging / "report.html", f"autoencoders run: {out.name}", [section])
    return Run(out, estimator, metrics, _relocate(section, out))


def _fit(estimator, train, test, target, checkpoint, callbacks) -> None:
    if target is None:
        # As the Keras tutorials do, the held-out data draws the val_loss curve, unless
        # validation decides something (early stopping) or has its own split.
        watch_only = estimator.validation_split == 0 and estimator.early_stopping is None
        validation = test.X if test is not None and watch_only else None
        estimator.fit(
            train.X, validation_data=validation, checkpoint=checkpoint, callbacks=callbacks
        )
    else:
        estimator.fit(train.X, target.X, checkpoint=checkpoint, callbacks=callbacks)


def evaluate_run(
    estimator: BaseAutoEncoder, data: Dataset, *, target: Dataset | None = None
) -> dict:
    """Clean reconstruction metrics, plus denoising metrics for a denoising model."""
    y = None if target is None else target.X
    metrics = {
        "evaluated_on": data.name if target is None else f"{data.name} (paired)",
        "n_evaluated": len(data.X),
        "reconstruction": estimator.evaluate(data.X, y),
    }
    if estimator.noise:
        metrics["denoising"] = estimator.evaluate(data.X, y, noise=estimator.noise)
    return metrics


def run_section(
    estimator: BaseAutoEncoder,
    data: Dataset,
    folder: Path,
    metrics: dict,
    *,
    title: str,
    target: Dataset | None = None,
) -> Section:
    """Draw a run's figures into ``folder`` and describe them for the report."""
    shown = data.X[:GRID_SIZE]
    clean = target.X[:GRID_SIZE] if target is not None else shown
    figures = []
    outputs = _display(estimator.target_scaler_, estimator.predict(shown))
    if data.kind == "sequence" or len(estimator.input_shape_) == 2:
        sequence_reconstructions(
            estimator.input_scaler_.transform(estimator._samples(shown, "X")),
            estimator.target_scaler_.transform(estimator.predict(shown)),
            folder / "reconstructions.png",
        )
        caption = "Sequences (solid) and their reconstructions (dashed); shaded: error per step."
    elif target is None:
        reconstruction_grid(
            _display(estimator.input_scaler_, shown),
            outputs,
            folder / "reconstructions.png",
            n=GRID_SIZE,
        )
        caption = "Originals (top) and their reconstructions (bottom)."
    else:
        rows = {
            "input": _display(estimator.input_scaler_, shown),
            "output": outputs,
            "target": _display(estimator.target_scaler_, clean),
        }
        comparison_grid(rows, folder / "reconstructions.png", n=GRID_SIZE)
        caption = "Inputs (top), the model's outputs (middle) and the targets (bottom)."
    figures.append((caption, "reconstructions.png"))
    if estimator.noise:
        noisy = estimator.corrupt(shown)
        denoising_grid(
            _display(estimator.input_scaler_, noisy),
            _display(estimator.target_scaler_, estimator.predict(noisy)),
            _display(estimator.target_scaler_, clean),
            folder / "denoising.png",
            n=GRID_SIZE,
        )
        figures.append(
            (
                f"Corrupted with {estimator.noise} (top), denoised (middle), clean (bottom).",
                "denoising.png",
            )
        )
    if estimator.history_:
        loss_curves(
            {k: [row.get(k, np.nan) for row in estimator.history_] for k in estimator.history_[0]},
            folder / "loss.png",
        )
        figures.append(("Training and validation loss per epoch.", "loss.png"))

    flat = {
        f"{group} {name}": value
        for group, values in metrics.items()
        if isinstance(values, dict)
        for name, value in values.items()
    }
    flat |= {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    settings = {k: v for k, v in estimator.get_params().items() if v is not None}
    settings |= {"loss (resolved)": estimator.loss_, "code shape": estimator.code_shape_}
    return Section(
        title=title, text=_describe(estimator), metrics=flat, settings=settings, figures=figures
    )


def _describe(estimator: BaseAutoEncoder) -> str:
    config = estimator.model_config_
    code = "×".join(map(str, estimator.code_shape_))
    text = (
        f"A {config.model} autoencoder mapping inputs of shape {config.input_shape} to a "
        f"code of shape {code} and back, trained with {estimator.loss_.upper()} loss."
    )
    if estimator.noise:
        text += f" Denoising: inputs corrupted with {estimator.noise}, targets clean."
    return text


def _display(scaler, X: np.ndarray) -> np.ndarray:
    """Values as the network sees them ([0, 1] for images), channels-first."""
    shown = np.asarray(scaler.transform(X))
    return shown[:, None] if shown.ndim == 3 else shown


def _relocate(section: Section, final: Path) -> Section:
    """Figures were drawn in the staging directory; point them at the final one."""
    section.figures = [(caption, str(final.absolute() / name)) for caption, name in section.figures]
    return section
