"""The textbook facts about autoencoders and PCA, as experiments anyone can rerun.

1. A linear autoencoder trained with MSE spans the same subspace as PCA with as many
   components (Baldi & Hornik, 1989): its decoder's columns and PCA's components are
   at principal angles near 0°, and their reconstruction errors agree.
2. A nonlinear autoencoder is not tied to a subspace: on points near the curve
   y = x² a 1-D code reconstructs the curve, where one principal component can only
   give the best line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from autoencoders.estimators import AutoEncoder


@dataclass
class Comparison:
    """Reconstructions of the same data by an autoencoder and by PCA."""

    data: np.ndarray
    autoencoder: np.ndarray
    pca: np.ndarray
    autoencoder_mse: float
    pca_mse: float
    max_angle_degrees: float | None = None  # between the two subspaces (linear case)


def linear_autoencoder_vs_pca(
    X: np.ndarray, n_components: int, *, epochs: int = 200, random_state: int = 0
) -> Comparison:
    """Train a linear autoencoder with MSE and compare its subspace and error with PCA's."""
    ae = AutoEncoder(
        "linear",
        latent_dim=n_components,
        epochs=epochs,
        batch_size=64,
        learning_rate=1e-2,
        scaling="none",
        init="random",  # a PCA start would begin at the answer: gradient descent must find it
        random_state=random_state,
    ).fit(X)
    pca = PCA(n_components).fit(X)
    decoder_columns = decoder_matrix(ae)
    angles = np.degrees(subspace_angles(decoder_columns, pca.components_.T))
    return _compare(
        X,
        ae.predict(X),
        pca.inverse_transform(pca.transform(X)),
        max_angle_degrees=float(angles.max()),
    )


def curve_vs_pca(
    n: int = 1000, *, noise: float = 0.01, epochs: int = 200, random_state: int = 0
) -> Comparison:
    """Points y = x² + ε (ε ~ N(0, noise²)), x ~ U(-1, 1): a 1-D autoencoder against PCA(1)."""
    rng = np.random.default_rng(random_state)
    x = rng.uniform(-1, 1, n)
    points = np.stack([x, x**2 + rng.normal(0, noise, n)], axis=1)
    ae = AutoEncoder(
        "dense",
        latent_dim=1,
        hidden=(32, 32),
        activation="tanh",
        epochs=epochs,
        batch_size=32,
        learning_rate=3e-3,
        scaling="none",
        random_state=random_state,
    ).fit(points)
    pca = PCA(1).fit(points)
    return _compare(points, ae.predict(points), pca.inverse_transform(pca.transform(points)))


def decoder_matrix(ae: AutoEncoder) -> np.ndarray:
    """The (features × code) matrix of a linear autoencoder's decoder."""
    weight = next(m for m in ae.module_.decoder.modules() if hasattr(m, "weight")).weight
    return weight.detach().cpu().numpy()


def _compare(data, ae_recon, pca_recon, **extra) -> Comparison:
    return Comparison(
        data=data,
        autoencoder=ae_recon,
        pca=pca_recon,
        autoencoder_mse=float(np.mean((ae_recon - data) ** 2)),
        pca_mse=float(np.mean((pca_recon - data) ** 2)),
        **extra,
    )


# A learning rate that suits each trainer of the same small sigmoid network.
RECIRCULATION_RATES = {"recirculation": 1.0, "backprop": 1e-2}


def recirculation_vs_backprop(
    X: np.ndarray,
    *,
    latent_dim: int = 16,
    epochs: int = 50,
    batch_size: int = 32,
    random_state: int = 0,
) -> dict[str, list[float]]:
    """Loss per epoch of the same sigmoid autoencoder trained both ways (the objective,
    BCE, is measured the same way for both). Each gets a learning rate that suits it on
    digits: ε = 1 for recirculation, 1e-2 for Adam (chosen against 2e-3, the default then,
    which was slow for this small sigmoid network)."""
    curves = {}
    for trainer, rate in RECIRCULATION_RATES.items():
        ae = AutoEncoder(
            "dense",
            latent_dim=latent_dim,
            activation="sigmoid",
            trainer=trainer,
            learning_rate=rate,
            epochs=epochs,
            batch_size=batch_size,
            random_state=random_state,
        )
        ae.fit(X)
        curves[trainer] = [row["loss"] for row in ae.history_]
    return curves
