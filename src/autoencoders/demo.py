"""The main job: train a convolutional and a denoising autoencoder and report on both.

``autoencoders demo`` runs this on scikit-learn's bundled 8×8 digits (offline, under
two minutes on 2 CPU cores); ``--data mnist`` runs the same on MNIST.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autoencoders.data import load_dataset
from autoencoders.estimator import AutoEncoder
from autoencoders.persistence import staged_directory
from autoencoders.report import Section, loss_curves, reconstruction_scatter, write_report
from autoencoders.runs import Run, train_run
from autoencoders.theory import (
    curve_vs_pca,
    linear_autoencoder_vs_pca,
    recirculation_vs_backprop,
)

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
        # Fewer filters than the denoiser: with (32, 32) the plain model's code would be
        # larger than its input (32×2×2 > 8×8), free to learn the identity.
        "conv": (
            "Convolutional autoencoder",
            AutoEncoder(
                "conv", filters=(16, 8), **settings, random_state=random_state, verbose=verbose
            ),
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
        if verbose:
            print("comparing a linear and a nonlinear autoencoder with PCA")
        sections = [run.section for run in runs] + [
            pca_section(staging, random_state),
            recirculation_section(train, staging, settings, random_state),
        ]
        write_report(
            staging / "report.html",
            f"autoencoders demo on {data}",
            sections,
            subtitle=f"{len(train.X)} training and {len(test.X)} held-out test images; "
            "metrics are on the test images.",
        )
    for run in runs:
        run.path = out / run.path.name
    return runs


def pca_section(folder: Path, random_state: int = 0) -> Section:
    """The PCA connection: a linear autoencoder finds PCA's subspace, a nonlinear one
    follows a curve that PCA can only approximate by a line."""
    rng = np.random.default_rng(random_state)
    cloud = rng.normal(size=(500, 2)) @ np.array([[2.0, 1.2], [0.0, 0.5]])
    linear = linear_autoencoder_vs_pca(cloud, 1, random_state=random_state)
    reconstruction_scatter(
        linear.data,
        {"linear autoencoder": linear.autoencoder, "PCA (1 component)": linear.pca},
        folder / "pca_linear.png",
    )
    curve = curve_vs_pca(random_state=random_state)
    reconstruction_scatter(
        curve.data,
        {"autoencoder (1-D code)": curve.autoencoder, "PCA (1 component)": curve.pca},
        folder / "pca_curve.png",
    )
    return Section(
        title="Autoencoders and PCA",
        text="A linear autoencoder trained with MSE learns the same subspace as PCA (its "
        "reconstructions fall on PCA's line); a nonlinear one with a 1-D code follows the "
        "curve y = x² that PCA can only approximate by a line.",
        metrics={
            "linear: max angle to PCA subspace (°)": linear.max_angle_degrees,
            "linear: autoencoder MSE": linear.autoencoder_mse,
            "linear: PCA MSE": linear.pca_mse,
            "curve: autoencoder MSE": curve.autoencoder_mse,
            "curve: PCA MSE": curve.pca_mse,
            "curve: PCA MSE / autoencoder MSE": curve.pca_mse / curve.autoencoder_mse,
        },
        figures=[
            (
                "A 2-D Gaussian cloud reconstructed from a 1-D code: linear autoencoder and "
                "PCA agree.",
                str(folder.absolute() / "pca_linear.png"),
            ),
            (
                "Points near y = x² reconstructed from a 1-D code: the autoencoder follows the "
                "curve, PCA gives the best line.",
                str(folder.absolute() / "pca_curve.png"),
            ),
        ],
    )


def recirculation_section(train, folder: Path, settings: dict, random_state: int = 0) -> Section:
    """Recirculation (Hinton & McClelland, 1988) against back-propagation, same network."""
    epochs = min(settings["epochs"], 50)
    curves = recirculation_vs_backprop(
        train.X, epochs=epochs, batch_size=settings["batch_size"], random_state=random_state
    )
    loss_curves(
        {f"{name} loss": values for name, values in curves.items()}, folder / "recirculation.png"
    )
    return Section(
        title="Recirculation: learning without back-propagation",
        text="The same one-layer sigmoid autoencoder (16 code units) trained by "
        "Hinton & McClelland's recirculation, which learns from the difference between "
        "two passes around the loop with local updates only, and by back-propagation "
        "(Adam, learning rate 1e-2). The loss is the same BCE for both.",
        metrics={f"{name}: final loss": values[-1] for name, values in curves.items()},
        figures=[
            (
                "Training loss per epoch, recirculation and back-propagation.",
                str(folder.absolute() / "recirculation.png"),
            )
        ],
    )
