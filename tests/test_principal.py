"""pca-resnet: an autoencoder that starts as PCA and learns what PCA misses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from autoencoders import AutoEncoder
from autoencoders.estimators import fitting
from autoencoders.metrics import psnr
from autoencoders.models import ModelConfig
from tests.quality import SEED, holds
from tests.test_cli import run


def blobs(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    """A bright Gaussian spot at a random place: two numbers describe each image, but
    the images span many principal components (a curved manifold, where PCA is weak)."""
    rng = np.random.default_rng(seed)
    axis = np.arange(size, dtype=np.float32)
    centres = rng.uniform(3, size - 4, size=(n, 2, 1, 1)).astype(np.float32)
    rows = (axis[:, None] - centres[:, 0]) ** 2
    cols = (axis[None, :] - centres[:, 1]) ** 2
    return np.exp(-(rows + cols) / 8)[:, None].astype(np.float32)


def pca_reconstruction(train: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    pca = PCA(k, random_state=0).fit(train.reshape(len(train), -1))
    return pca.inverse_transform(pca.transform(test.reshape(len(test), -1))).reshape(test.shape)


def test_untrained_model_is_the_training_data_s_pca():
    X = blobs(300)
    x = torch.from_numpy(X)
    config = ModelConfig("pca-resnet", X.shape[1:], X.shape[1:], latent_dim=6, filters=(8, 16))
    module = fitting.new_module(config, x, x, seed=0)
    with torch.no_grad():
        codes = module.encoder(x).numpy()
        recon = module.reconstruct(x).numpy()
    expected = pca_reconstruction(X, X, 6)
    np.testing.assert_allclose(recon, np.clip(expected, 1e-3, 1 - 1e-3), atol=1e-4)
    # A whitened code: each unit has unit variance, and the units are uncorrelated.
    np.testing.assert_allclose(np.cov(codes.T), np.eye(6), atol=1e-3)


def test_trains_saves_and_reloads_with_its_principal_axes(tmp_path):
    X = blobs(128)
    ae = AutoEncoder("pca-resnet", latent_dim=4, filters=(8, 16), epochs=1, random_state=0)
    ae.fit(X)
    assert ae.code_shape_ == (4,)
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape
    loaded = AutoEncoder.load(ae.save(tmp_path / "run"))
    np.testing.assert_array_equal(loaded.predict(X), ae.predict(X))
    np.testing.assert_array_equal(loaded.module_.encoder.axes.axes, ae.module_.encoder.axes.axes)


@pytest.mark.quality
def test_beats_pca_on_held_out_images_of_a_curved_manifold():
    train, test = blobs(512, seed=SEED), blobs(256, seed=SEED + 100)
    k = 2
    ae = AutoEncoder(
        "pca-resnet",
        latent_dim=k,
        filters=(8, 16),
        epochs=8,
        batch_size=32,
        loss="mse",
        random_state=SEED,
    ).fit(train)
    ours = psnr(torch.from_numpy(ae.predict(test)), torch.from_numpy(test)).mean()
    pca = psnr(
        torch.from_numpy(np.clip(pca_reconstruction(train, test, k), 0, 1)), torch.from_numpy(test)
    ).mean()
    # seeds 0-3, 1 thread: +13.2 to +13.8 dB
    assert holds("pca-resnet PSNR gain over PCA-2, dB", ours - pca, above=3.0)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"latent_dim": 500}, "principal axes need at least 500 samples"),
        ({"latent_dim": None}, "flat code: give latent_dim"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        AutoEncoder("pca-resnet", filters=(8, 16), epochs=1, **settings).fit(blobs(64))


def test_refuses_grey_to_colour():
    grey = blobs(64)
    with pytest.raises(ValueError, match="for grey → colour use the resnet model"):
        AutoEncoder("pca-resnet", latent_dim=4, epochs=1).fit(grey, np.repeat(grey, 3, 1))


def test_command_line_trains_one_and_refuses_a_bad_one(tmp_path, capsys):
    np.save(tmp_path / "blobs.npy", blobs(64))
    args = ["train", str(tmp_path / "blobs.npy"), "--model", "pca-resnet", "--filters", "8,16"]
    args += ["--epochs", "1", "--out", str(tmp_path / "run")]
    code, _, _ = run([*args, "--latent-dim", "4"], capsys)
    assert code == 0
    assert (tmp_path / "run" / "model.safetensors").exists()
    code, _, err = run([*args, "--latent-dim", "100", "--out", tmp_path / "bad"], capsys)
    assert code == 2 and err.count("\n") == 1 and "lower latent_dim" in err
    assert "Traceback" not in err and not (tmp_path / "bad").exists()
