"""The main job: train a convolutional and a denoising autoencoder and report on both.

``autoencoders demo`` runs this on scikit-learn's bundled 8×8 digits (offline, under
two minutes on 2 CPU cores); ``--data mnist`` runs the same on MNIST.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

from autoencoders import generation
from autoencoders.applications import AnomalyDetector
from autoencoders.applications.embedding import knn_accuracy, pca_embedding
from autoencoders.data import load_dataset
from autoencoders.estimators import AutoEncoder, VariationalAutoEncoder
from autoencoders.persistence import staged_directory
from autoencoders.report import (
    Section,
    embedding_scatter,
    image_grid,
    image_row,
    loss_curves,
    reconstruction_scatter,
    write_report,
)
from autoencoders.report.anomaly import detection_figure, score_histogram
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
            anomaly_section(runs[0].estimator, train, test, staging, random_state),
            pca_section(staging, random_state),
            recirculation_section(train, staging, settings, random_state),
            vae_section(train, test, staging, settings, random_state),
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


def foreign_inputs(images: np.ndarray, random_state: int = 0) -> dict[str, np.ndarray]:
    """Inputs unlike the training images, made from ``images`` (in [0, 1]), a quarter each:
    uniform noise, digits turned 90°, shifted by a quarter of their width, and under 10%
    salt-and-pepper noise."""
    rng = np.random.default_rng(random_state)
    quarters = np.array_split(images, 4)
    salted = quarters[3].copy()
    hit = rng.random(salted.shape) < 0.1
    salted[hit] = rng.integers(0, 2, hit.sum())
    return {
        "uniform noise": rng.random(quarters[0].shape).astype(images.dtype),
        "turned 90°": np.rot90(quarters[1], axes=(-2, -1)).copy(),
        "shifted": np.roll(quarters[2], max(1, images.shape[-1] // 4), axis=-1),
        "salt and pepper": salted,
    }


def anomaly_section(estimator, train, test, folder: Path, random_state: int = 0) -> Section:
    """The conv model as an anomaly detector: threshold from the training images, then the
    held-out digits mixed with foreign inputs. No training: the model above is reused."""
    detector = AnomalyDetector(FrozenEstimator(estimator), contamination=0.05).fit(train.X)
    scale = estimator.input_scaler_
    clean = scale.transform(test.X)  # [0, 1]
    count = max(4, len(clean) // 10)
    foreign = foreign_inputs(clean[:count], random_state)
    mixed = scale.inverse_transform(np.concatenate([clean, *foreign.values()]))
    scores = -detector.score_samples(mixed)
    is_foreign = np.arange(len(mixed)) >= len(clean)
    detection_figure(detector, mixed, scores, folder / "anomalies.png")
    groups = {"test digits": scores[~is_foreign]}
    start = len(clean)
    for name, images in foreign.items():
        groups[name] = scores[start : start + len(images)]
        start += len(images)
    score_histogram(groups, detector.threshold_, folder / "anomaly_scores.png")
    flagged = scores > detector.threshold_
    return Section(
        title="Anomaly detection",
        text="The convolutional autoencoder above as an anomaly detector "
        "(autoencoders.applications.AnomalyDetector): an input's anomaly score is its mean "
        "squared reconstruction error, and the threshold is the 95th percentile of the "
        f"training images' scores (contamination 0.05). The {len(clean)} held-out test "
        f"digits are mixed with {is_foreign.sum()} inputs unlike any training image.",
        metrics={
            "ROC-AUC, foreign vs test digits": roc_auc_score(is_foreign, scores),
            "foreign inputs flagged": f"{flagged[is_foreign].mean():.1%}",
            "test digits flagged (false alarms)": f"{flagged[~is_foreign].mean():.1%}",
            "threshold (MSE)": detector.threshold_,
        }
        | {
            f"flagged: {name}": f"{(group > detector.threshold_).mean():.0%}"
            for name, group in groups.items()
            if name != "test digits"
        },
        figures=[
            (
                "The most anomalous inputs (top) and the least (bottom), each with its "
                "reconstruction and its error map (squared error per pixel, one colour scale); "
                "numbers are anomaly scores.",
                str(folder.absolute() / "anomalies.png"),
            ),
            (
                "Anomaly scores of the test digits and of each kind of foreign input; the "
                "dashed line is the threshold.",
                str(folder.absolute() / "anomaly_scores.png"),
            ),
        ],
    )


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


def vae_section(train, test, folder: Path, settings: dict, random_state: int = 0) -> Section:
    """A variational autoencoder with a 2-D code: samples, the manifold, an interpolation."""
    vae = VariationalAutoEncoder(
        "vae",
        latent_dim=2,
        epochs=min(settings["epochs"], 60),
        batch_size=settings["batch_size"],
        random_state=random_state,
    ).fit(train.X)

    def shown(outputs: np.ndarray) -> np.ndarray:  # decoded images, as the network sees them
        return vae.target_scaler_.transform(outputs)

    samples = shown(vae.sample(64, random_state=random_state))
    image_grid(samples.reshape(8, 8, *samples.shape[1:]), folder / "vae_samples.png")
    plane = generation.manifold(vae, n=15)
    image_grid(
        shown(plane.reshape(-1, *plane.shape[2:])).reshape(plane.shape),
        folder / "vae_manifold.png",
    )
    path = generation.interpolate(vae, test.X[0], test.X[1], steps=10, method="slerp")
    image_row(shown(path), folder / "vae_interpolation.png")
    sweep = generation.traverse(vae, test.X[0], steps=11)  # (2 units, 11 steps, C, H, W)
    image_grid(
        shown(sweep.reshape(-1, *sweep.shape[2:])).reshape(sweep.shape),
        folder / "vae_traversal.png",
    )
    codes = {"VAE code": vae.transform(test.X)}
    pca_train, codes["PCA"] = pca_embedding(train.X, test.X)
    embedding_scatter(codes, test.y, folder / "latent_scatter.png", class_names=test.class_names)
    accuracy = {
        f"5-NN accuracy in 2-D, {name}": knn_accuracy(train_codes, train.y, codes[name], test.y)
        for name, train_codes in (("VAE code", vae.transform(train.X)), ("PCA", pca_train))
    }
    return Section(
        title="Variational autoencoder (2-D code)",
        text="A VAE with a two-dimensional code: a Gaussian encoder, a standard normal prior "
        "and a Bernoulli decoder, trained on the ELBO. Because the prior says where codes "
        "live, decoding draws from it gives new digits, and a grid over the plane shows "
        "what the model learned (the figure of Kingma & Welling, 2014).",
        metrics={"test −ELBO (nats per image)": -vae.score(test.X)} | accuracy,
        figures=[
            (
                "The test images' codes (posterior means) beside their top two principal "
                "components, coloured by digit: the nonlinear code keeps the classes apart.",
                str(folder.absolute() / "latent_scatter.png"),
            ),
            ("64 samples from the prior, decoded.", str(folder.absolute() / "vae_samples.png")),
            (
                "The learned manifold: codes on a 15 × 15 grid of the prior's quantiles, decoded.",
                str(folder.absolute() / "vae_manifold.png"),
            ),
            (
                "Spherical interpolation between the codes of two test images.",
                str(folder.absolute() / "vae_interpolation.png"),
            ),
            (
                "Latent traversal: one code unit per row, swept from −3 to +3 prior standard "
                "deviations around the code of a test image, the other unit held fixed.",
                str(folder.absolute() / "vae_traversal.png"),
            ),
        ],
    )
