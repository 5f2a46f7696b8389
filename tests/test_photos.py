"""The photo family: residual models, SSIM losses, the image-folder cache, colourisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from autoencoders import AutoEncoder, VariationalAutoEncoder
from autoencoders.data import Dataset, hold_out
from autoencoders.data.image_folder import read_image_folder
from autoencoders.errors import DataError, ParameterError
from autoencoders.metrics import ms_ssim, ssim
from autoencoders.models import ModelConfig, build_model
from autoencoders.models.colour import rgb_to_chroma, ycbcr_to_rgb
from autoencoders.training.corruption import horizontal_flip


def smooth_images(n: int, channels: int = 3, size: int = 16, seed: int = 0) -> np.ndarray:
    """Photos in miniature: random smooth colour gradients."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(0, 1, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    a, b, c = (rng.random((n, channels, 1, 1), dtype=np.float32) for _ in range(3))
    return np.clip(a * yy + b * xx + 0.5 * c * (1 - yy), 0, 1).astype(np.float32) / 1.5


@pytest.mark.parametrize(
    ("settings", "code"),
    [({"code_channels": 2}, (2, 4, 4)), ({"latent_dim": 12}, (12,))],
)
def test_resnet_spatial_and_flat_codes(settings, code):
    X = smooth_images(32)
    ae = AutoEncoder("resnet", epochs=1, random_state=0, **settings).fit(X)
    assert ae.code_shape_ == code
    assert ae.predict(X).shape == X.shape
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape


def test_resnet_needs_sides_divisible_by_its_downsampling():
    config = ModelConfig("resnet", (3, 18, 18), (3, 18, 18), latent_dim=None)
    with pytest.raises(ValueError, match="multiples of 4"):
        build_model(config)


def test_resnet_learns_and_survives_a_save(tmp_path):
    X = smooth_images(256)
    short = AutoEncoder("resnet", code_channels=1, epochs=1, random_state=0).fit(X)
    ae = AutoEncoder("resnet", code_channels=1, epochs=15, random_state=0).fit(X)
    assert ae.evaluate(X)["psnr"] > short.evaluate(X)["psnr"] + 2  # seeds 0-3: +3.4 to +4.2
    loaded = AutoEncoder.load(ae.save(tmp_path / "run"))
    np.testing.assert_array_equal(loaded.predict(X), ae.predict(X))


def test_resnet_vae_samples_images():
    X = smooth_images(32, channels=1)
    vae = VariationalAutoEncoder("resnet-vae", latent_dim=4, epochs=1, random_state=0).fit(X)
    assert vae.sample(3, random_state=0).shape == (3, 1, 16, 16)


@pytest.mark.parametrize("loss", ["ssim", "psnr"])
def test_image_losses_train_and_report_ssim(loss):
    X = smooth_images(128)
    ae = AutoEncoder("resnet", loss=loss, code_channels=2, epochs=3, random_state=0).fit(X)
    assert ae.loss_ == loss
    metrics = ae.evaluate(X)
    assert 0 < metrics["ssim"] <= 1 and "psnr" in metrics
    assert np.all(np.isfinite(ae.score_samples(X)))


def test_ssim_loss_refuses_tables():
    with pytest.raises(ParameterError, match="compares images"):
        AutoEncoder("dense", loss="ssim", epochs=1).fit(np.random.rand(20, 5))


def test_ssim_is_one_for_identical_images_and_ms_ssim_needs_large_ones():
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    assert (ssim(x, (x + 0.2 * torch.randn_like(x)).clamp(0, 1)) < 0.9).all()
    with pytest.raises(ValueError, match="at least 97 pixels"):
        ms_ssim(x, x)


def test_ycbcr_round_trip_matches_pil_grey():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    rgb = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    grey = np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.float32) / 255
    luma = 0.299 * rgb[:, :1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:]
    np.testing.assert_allclose(luma[0, 0].numpy(), grey, atol=1 / 255)
    torch.testing.assert_close(ycbcr_to_rgb(luma, rgb_to_chroma(rgb)), rgb, atol=1e-5, rtol=0)


def test_resnet_colourises_keeping_the_grey_input_as_luminance(tmp_path):
    shade = smooth_images(64, channels=1)  # colour a function of brightness: learnable
    colour = np.concatenate([shade, shade**2, 0.6 * (1 - shade)], 1).astype(np.float32)
    grey = (0.299 * colour[:, :1] + 0.587 * colour[:, 1:2] + 0.114 * colour[:, 2:]).copy()
    ae = AutoEncoder("resnet", code_channels=4, epochs=20, batch_size=16, random_state=0)
    ae.fit(grey, colour)
    out = ae.predict(grey)
    assert out.shape == colour.shape
    luma = 0.299 * out[:, :1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:]
    inside = (out > 0.01).all(1, keepdims=True) & (out < 0.99).all(1, keepdims=True)
    np.testing.assert_allclose(luma[inside], grey[inside], atol=1e-4)
    grey_rgb = np.repeat(grey, 3, 1)
    assert ae.evaluate(grey, colour)["mse"] < np.mean((grey_rgb - colour) ** 2)
    np.testing.assert_array_equal(AutoEncoder.load(ae.save(tmp_path / "c")).predict(grey), out)


def test_image_folder_is_decoded_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "photos"
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for i in range(3):
            pixels = np.random.default_rng(i).integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / label / f"{i}.png")
    X, y, names = read_image_folder(folder)
    cached = list((tmp_path / "autoencoders" / "images").glob("*.npy"))
    assert len(cached) == 1
    X2, y2, names2 = read_image_folder(folder)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert names == names2 == ("a", "b")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a" / "0.png")  # changed
    X3, _, _ = read_image_folder(folder)
    assert X3[0].max() == 0 and len(list((tmp_path / "autoencoders" / "images").glob("*.npy"))) == 2


def test_cli_trains_resnet_on_a_folder_and_colourises(tmp_path, capsys):
    from tests.test_cli import run

    colour, grey = tmp_path / "colour", tmp_path / "grey"
    colour.mkdir(), grey.mkdir()
    for i, image in enumerate(smooth_images(12)):
        pixels = Image.fromarray((image.transpose(1, 2, 0) * 255).astype(np.uint8))
        pixels.save(colour / f"{i}.png"), pixels.convert("L").save(grey / f"{i}.png")
    code, _, err = run(
        [
            "train",
            colour,
            "--model",
            "resnet",
            "--code-channels",
            "2",
            "--loss",
            "ssim",
            "--epochs",
            "1",
            "--out",
            tmp_path / "photos",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    assert AutoEncoder.load(tmp_path / "photos").code_shape_ == (2, 4, 4)
    code, _, err = run(
        [
            "train",
            grey,
            "--target",
            colour,
            "--holdout",
            "0.25",
            "--model",
            "resnet",
            "--epochs",
            "1",
            "--out",
            tmp_path / "colouriser",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "colouriser" / "metrics.json").read_text())
    assert metrics["n_train"] == 9 and metrics["n_evaluated"] == 3
    assert metrics["evaluated_on"].endswith("(paired, held out)")
    colouriser = AutoEncoder.load(tmp_path / "colouriser")
    assert colouriser.predict(np.zeros((1, 1, 16, 16), np.float32)).shape == (1, 3, 16, 16)


def test_hold_out_is_seeded_disjoint_and_keeps_pairs_aligned():
    X = np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1)
    inputs, targets = Dataset(X, None, "in", "image"), Dataset(-X, None, "out", "image")
    train, test, train_target, test_target = hold_out(inputs, 0.2, 3, paired=targets)
    assert len(test) == 4 and len(train) == 16
    assert not set(train.X.ravel()) & set(test.X.ravel())
    np.testing.assert_array_equal(test_target.X, -test.X)
    np.testing.assert_array_equal(train_target.X, -train.X)
    np.testing.assert_array_equal(hold_out(inputs, 0.2, 3)[1].X, test.X)
    assert not np.array_equal(hold_out(inputs, 0.2, 4)[1].X, test.X)
    with pytest.raises(DataError, match="no test or no training sample"):
        hold_out(inputs, 0.01, 0)


def test_holdout_is_refused_where_the_data_has_a_test_split(tmp_path, capsys):
    from tests.test_cli import run

    code, _, err = run(["train", "digits", "--holdout", "0.1", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "own test split" in err and "Traceback" not in err


def test_flip_mirrors_each_target_with_its_input():
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 1, 3, 4).repeat(16, 1, 1, 1)
    target = 10 + x
    flipped, flipped_target = horizontal_flip(x, target, torch.Generator().manual_seed(0))
    mirrored = (flipped != x).flatten(1).any(1)
    assert 0 < mirrored.sum() < len(x)  # some, not all
    torch.testing.assert_close(flipped[mirrored], x[mirrored].flip(-1))
    torch.testing.assert_close(flipped_target, 10 + flipped)
    same, again = horizontal_flip(x, x, torch.Generator().manual_seed(0))
    assert again is same


def test_flip_trains_images_and_refuses_tables():
    images = smooth_images(32, channels=1)
    settings = {"filters": (8,), "code_channels": 2, "epochs": 1, "random_state": 0}
    flipped = AutoEncoder("resnet", flip=True, **settings).fit(images).history_[-1]["loss"]
    plain = AutoEncoder("resnet", **settings).fit(images).history_[-1]["loss"]
    assert np.isfinite(flipped) and flipped != plain
    with pytest.raises(ParameterError, match="flip=True mirrors images"):
        AutoEncoder(flip=True, epochs=1).fit(np.zeros((8, 4), np.float32))
    with pytest.raises(ParameterError, match="drop the noise, flip"):
        AutoEncoder(trainer="recirculation", flip=True, epochs=1).fit(images)
