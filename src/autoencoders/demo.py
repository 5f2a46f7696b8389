"""The main job: train a convolutional and a denoising autoencoder and report on both.

``autoencoders demo`` runs this on scikit-learn's bundled 8×8 digits (offline, under
two minutes on 2 CPU cores); ``--data mnist`` runs the same on MNIST.
"""

from __future__ import annotations

from pathlib import Path

from autoencoders.data import load_dataset
from autoencoders.estimator import AutoEncoder
from autoencoders.persistence import staged_directory
from autoencoders.report import write_report
from autoencoders.runs import Run, train_run

# Digits are tiny (1 437 training images of 8×8), so they need many short epochs;
# MNIST's 60 000 images give good reconstructions within a few.
SETTINGS = {
    "digits": {"epochs": 150, "batch_size": 32},
    "mnist": {"epochs": 5, "batch_size": 128},
    "fashion-mnist": {"epochs": 5, "batch_size": 128},
}
DENOISING_NOISE = "gaussian:0.5"  # the classic tutorial's corruption


def run_demo(
    data: str = "digits",
    out: str | Path = "runs/demo",
    *,
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    random_state: int = 0,
    verbose: int = 1,
) -> list[Run]:
    """Train both models, evaluate them on the held-out split and write ``out/report.html``."""
    train = load_dataset(data, "train", data_dir=data_dir)
    test = load_dataset(data, "test", data_dir=data_dir)
    settings = SETTINGS.get(data, SETTINGS["mnist"]) | ({"epochs": epochs} if epochs else {})
    models = {
        "conv": (
            "Convolutional autoencoder",
            AutoEncoder("conv", **settings, random_state=random_state, verbose=verbose),
        ),
        "denoising": (
            "Denoising convolutional autoencoder",
            AutoEncoder(
                "conv",
                noise=DENOISING_NOISE,
                **settings,
                random_state=random_state,
                verbose=verbose,
            ),
        ),
    }
    out = Path(out)
    with staged_directory(out, overwrite=True) as staging:
        runs = []
        for name, (title, estimator) in models.items():
            if verbose:
                print(f"training the {title.lower()} on {data} ({settings['epochs']} epochs)")
            runs.append(train_run(estimator, train, staging / name, test=test, title=title))
        write_report(
            staging / "report.html",
            f"autoencoders demo on {data}",
            [run.section for run in runs],
            subtitle=f"{len(train.X)} training and {len(test.X)} held-out test images; "
            "metrics are on the test images.",
        )
    for run in runs:
        run.path = out / run.path.name
    return runs
