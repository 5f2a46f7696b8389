"""A codec training run: fit, measure real file sizes and PSNR, save, draw, report.

Written to a staging folder that takes the run's name only once it is complete, as
every other run (:func:`autoencoders.persistence.staged_directory`).
"""

from __future__ import annotations

import time
from pathlib import Path

from autoencoders.compression.codec import ImageCodec, as_images
from autoencoders.data import Dataset
from autoencoders.persistence import staged_directory
from autoencoders.report import Section, loss_curves, reconstruction_grid, write_report

EVALUATED = 1000  # held-out images whose files are measured (one file each, then an archive)
GRID_SIZE = 10


def train_codec_run(
    codec: ImageCodec,
    train: Dataset,
    out: str | Path,
    *,
    test: Dataset | None = None,
    overwrite: bool = False,
) -> dict:
    """Train ``codec`` on ``train`` and write the run directory ``out``; return its metrics.

    Metrics are measured on the first images of ``test`` (else of ``train``) by
    compressing them for real, headers included.
    """
    out = Path(out)
    held_out = test if test is not None else train
    with staged_directory(out, overwrite=overwrite) as staging:
        started = time.perf_counter()
        codec.fit(train.X)
        seconds = time.perf_counter() - started
        images = as_images(held_out.X[:EVALUATED], held_out.name)
        metrics = codec.evaluate(images) | {
            "evaluated_on": f"{held_out.name} ({'test' if test is not None else 'training'} "
            f"data, first {len(images)} images)",
            "data": train.name,
            "n_train": len(train.X),
            "lmbda": codec.lmbda,
            "model_id": codec.model_id_[:8],
            "train_seconds": round(seconds, 3),
        }
        codec.save(staging, metrics=metrics)
        shown = images[:GRID_SIZE]
        reconstruction_grid(
            shown / 255.0, codec.reconstruct(shown) / 255.0, staging / "reconstructions.png"
        )
        figures = [("Originals (top) and the decompressed images (bottom).", "reconstructions.png")]
        if codec.history_:
            loss_curves(
                {k: [row[k] for row in codec.history_] for k in codec.history_[0]},
                staging / "loss.png",
            )
            figures.append(("Rate–distortion loss per epoch.", "loss.png"))
        section = Section(
            title=out.name,
            text=_describe(codec),
            metrics=metrics,
            settings=codec.get_params(),
            figures=figures,
        )
        write_report(staging / "report.html", f"autoencoders codec: {out.name}", [section])
    return metrics


def _describe(codec: ImageCodec) -> str:
    config = codec.config_
    h, w = config.grid
    return (
        f"A learned codec for {'×'.join(map(str, config.image_shape))} images "
        f"(λ = {codec.lmbda}): a global integer code of {config.global_dim} values with a "
        f"learned density each, and a spatial code of {config.latent_channels}×{h}×{w} "
        "values whose Gaussian prior the global code predicts, range-coded. Sizes are of "
        "real files, headers included."
    )
