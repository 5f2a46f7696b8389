"""The scikit-learn contract of AutoEncoder, and what each kind of model is for."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from autoencoders import AutoEncoder, DataError
from tests.conftest import curved_table
from tests.quality import SEED, holds


def quick(model="dense", **params):
    return AutoEncoder(model, **({"epochs": 15, "batch_size": 32, "random_state": SEED} | params))


def test_transform_and_inverse_transform_are_encoder_and_decoder(digit_images):
    ae = quick(latent_dim=6).fit(digit_images)
    codes = ae.transform(digit_images)
    assert codes.shape == (len(digit_images), 6)
    decoded = ae.inverse_transform(codes)
    assert decoded.shape == digit_images.shape
    np.testing.assert_allclose(decoded, ae.predict(digit_images), atol=1e-6)
    assert ae.module_.encoder is not None and ae.module_.decoder is not None


@pytest.mark.quality
def test_fit_learns_something(digits):
    train, test = digits
    ae = quick("conv", epochs=20).fit(train.X)
    trained = ae.evaluate(test.X)
    baseline = np.mean((test.X - train.X.mean(0)) ** 2)  # predicting the mean image
    assert holds("MSE / mean-image MSE", trained["mse"] / baseline, below=0.5)
    assert holds("PSNR", trained["psnr"], above=18)
    assert holds("BCE", trained["bce"], above=0, below=0.4)


def test_conv_code_is_flattened_and_decodable(digit_images):
    ae = quick("conv", epochs=2).fit(digit_images)
    assert ae.code_shape_ == (32, 2, 2)
    codes = ae.transform(digit_images[:5])
    assert codes.shape == (5, 128)
    assert ae.inverse_transform(codes).shape == (5, 1, 8, 8)


def test_bf16_inference_gives_float32_codes_close_to_fp32(digit_images):
    ae = quick("conv", epochs=2, precision="bf16").fit(digit_images)
    codes = ae.transform(digit_images)
    assert codes.dtype == np.float32
    exact = ae.set_params(precision="fp32").transform(digit_images)
    assert not np.array_equal(codes, exact)  # bf16 really ran
    np.testing.assert_allclose(codes, exact, atol=0.05 * np.abs(exact).max())


def test_get_params_set_params_clone():
    ae = AutoEncoder("deep", latent_dim=16, noise="mask:0.2", epochs=3)
    params = ae.get_params()
    assert params["model"] == "deep" and params["latent_dim"] == 16 and params["epochs"] == 3
    copy = clone(ae)
    assert copy is not ae and copy.get_params() == params
    copy.set_params(epochs=7)
    assert copy.epochs == 7 and ae.epochs == 3


@pytest.mark.quality
def test_runs_inside_a_pipeline_and_ignores_class_labels(digits):
    train, test = digits
    flat = train.X.reshape(len(train.X), -1)
    pipe = Pipeline(
        [("ae", quick(latent_dim=16, epochs=20)), ("clf", LogisticRegression(max_iter=2000))]
    )
    pipe.fit(flat, train.y)  # the 1-D labels reach the classifier, not the autoencoder
    accuracy = pipe.score(test.X.reshape(len(test.X), -1), test.y)
    assert holds("accuracy", accuracy, above=0.85)


@pytest.mark.quality
def test_score_samples_ranks_outliers_lower(digit_images):
    ae = quick("conv", epochs=20).fit(digit_images)
    noise = np.random.default_rng(0).random((50, 1, 8, 8)).astype(np.float32)
    normal, odd = ae.score_samples(digit_images[:50]), ae.score_samples(noise)
    assert normal.shape == (50,) and (normal <= 0).all()
    assert np.median(normal) > np.max(odd)
    assert ae.score(digit_images[:50]) == pytest.approx(normal.mean())


@pytest.mark.quality
def test_denoising_model_cleans_noisy_inputs(digits):
    train, test = digits
    ae = quick("conv", noise="gaussian:0.3", epochs=25).fit(train.X)
    metrics = ae.evaluate(test.X, noise="gaussian:0.3")
    gain = metrics["psnr"] - metrics["noisy_psnr"]  # 8×8 digits leave little context
    assert holds("PSNR gain (dB)", gain, above=2.5)  # measured 3.20-3.50
    noisy = ae.corrupt(test.X[:10])
    assert noisy.shape == test.X[:10].shape and not np.allclose(noisy, test.X[:10])


@pytest.mark.quality
def test_paired_training_maps_gray_to_color(digits):
    gray = digits[0].X
    tint = np.array([1.0, 0.5, 0.2], dtype=np.float32)[None, :, None, None]
    color = gray * tint  # (n, 3, 8, 8)
    ae = quick("conv", epochs=15).fit(gray, color)
    out = ae.predict(gray[:20])
    assert out.shape == (20, 3, 8, 8)
    error = np.mean((out - color[:20]) ** 2)
    baseline = np.mean((color[:20] - color.mean(0)) ** 2)
    assert holds("MSE / mean-image MSE", error / baseline, below=0.5)  # measured 0.316-0.369
    ratio = out[:, 2].mean() / out[:, 0].mean()  # the tint: blue is 0.2 of red
    assert holds("|blue / red - 0.2|", abs(ratio - 0.2), below=0.1)
    with pytest.raises(DataError, match="reconstructs its input"):
        ae.score_samples(gray[:3])


@pytest.mark.quality
def test_tables_are_standardised_and_use_mse():
    X = curved_table()
    ae = quick(latent_dim=2, hidden=(16,), epochs=60).fit(X)
    assert ae.loss_ == "mse" and ae.model_config_.output_activation == "linear"
    assert ae.n_features_in_ == 5
    recon = ae.predict(X)
    assert recon.shape == X.shape
    relative = np.mean((recon - X) ** 2) / X.var(0).mean()  # back in the original units
    assert holds("MSE / variance", relative, below=0.15)  # measured 0.003-0.072


def test_uint8_images_come_back_in_their_units(digit_images):
    as_bytes = (digit_images * 255).round().astype(np.uint8)
    ae = quick("conv", epochs=3).fit(as_bytes)
    assert ae.loss_ == "bce"
    out = ae.predict(as_bytes[:5])
    assert out.max() > 1.5 and out.min() >= 0 and out.max() <= 255


def test_validation_data_and_split_give_val_loss(digit_images):
    ae = quick(epochs=2).fit(digit_images[:300], validation_data=digit_images[300:])
    assert all("val_loss" in row for row in ae.history_)
    ae = quick(epochs=2, validation_split=0.25).fit(digit_images)
    assert all("val_loss" in row for row in ae.history_)


def test_early_stopping_stops(digit_images):
    ae = quick(epochs=500, early_stopping=1, validation_split=0.3).fit(digit_images)
    assert ae.stop_reason_ == "early_stopping" and len(ae.history_) < 500


def test_random_state_makes_fits_reproducible(digit_images):
    a = quick(epochs=3).fit(digit_images).transform(digit_images)
    b = quick(epochs=3).fit(digit_images).transform(digit_images)
    c = quick(epochs=3, random_state=1).fit(digit_images).transform(digit_images)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.full((5, 4), np.nan), "NaN"),
        (np.zeros((0, 4)), "empty"),
        (np.array(["a", "b"]).reshape(2, 1), "numeric"),
        (np.zeros(5), "2 to 4 dimensions"),
    ],
)
def test_bad_training_data_is_refused(X, message):
    with pytest.raises(DataError, match=message):
        quick().fit(X)


def test_wrong_shape_for_a_fitted_model_is_refused(digit_images):
    ae = quick(epochs=1).fit(digit_images)
    with pytest.raises(DataError, match="expects"):
        ae.predict(np.zeros((3, 1, 9, 9), dtype=np.float32))
    with pytest.raises(DataError, match="code"):
        ae.inverse_transform(np.zeros((3, 5)))


@pytest.mark.parametrize(
    "params", [{"epochs": 0}, {"batch_size": -1}, {"model": "nope"}, {"loss": "l1"}]
)
def test_bad_parameters_are_refused_when_fit_starts(params, digit_images):
    with pytest.raises(InvalidParameterError):
        AutoEncoder(**params).fit(digit_images)


def test_bce_on_unbounded_targets_is_refused():
    with pytest.raises(DataError, match="bce"):
        quick(loss="bce").fit(curved_table())
