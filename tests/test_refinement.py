"""Codes refined at inference (``refine_code``): better reconstructions, the same code
size, used by every method that encodes, independent of the batch."""

from __future__ import annotations

import numpy as np
import pytest

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset
from autoencoders.errors import ParameterError
from tests.test_cli import run
from tests.test_principal import blobs


@pytest.fixture(scope="module")
def digits_model():
    X = load_dataset("digits").X[:400]
    return AutoEncoder("deep", latent_dim=8, loss="mse", epochs=3, random_state=0).fit(X), X


def test_refined_codes_reconstruct_better_with_the_same_size(digits_model):
    ae, X = digits_model
    plain_codes, plain_error = ae.transform(X), ((ae.predict(X) - X) ** 2).mean()
    ae.set_params(refine_code=20)
    try:
        codes, output = ae.transform(X), ae.predict(X)
        score = ae.score_samples(X)
        metrics = ae.evaluate(X)
    finally:
        ae.set_params(refine_code=0)
    assert codes.shape == plain_codes.shape
    assert not np.allclose(codes, plain_codes)
    error = ((output - X) ** 2).reshape(len(X), -1).mean(1)
    # Adam on each code lowers the very loss it is measured by: by 8–9% here (seeds
    # 0–4, 1 and 2 threads: ratios 0.914–0.920), so 0.97 leaves a margin.
    assert error.mean() < 0.97 * plain_error
    # Every method sees the same refined codes.
    np.testing.assert_allclose(ae.inverse_transform(codes), output, atol=1e-5)
    np.testing.assert_allclose(-score, error, rtol=1e-4, atol=1e-7)
    assert metrics["mse"] == pytest.approx(error.mean(), rel=1e-4)


def test_a_code_is_refined_alike_in_any_batch(digits_model):
    ae, X = digits_model
    ae.set_params(refine_code=5)
    try:
        np.testing.assert_allclose(ae.transform(X[:37]), ae.transform(X)[:37], rtol=1e-4, atol=1e-4)
    finally:
        ae.set_params(refine_code=0)


def test_pca_resnet_codes_are_refined_and_reload_with_the_setting(tmp_path):
    X = blobs(96)
    ae = AutoEncoder(
        "pca-resnet", latent_dim=4, filters=(8, 16), epochs=1, refine_code=10, random_state=0
    ).fit(X)
    loaded = AutoEncoder.load(ae.save(tmp_path / "run"))
    assert loaded.refine_code == 10
    np.testing.assert_allclose(loaded.transform(X), ae.transform(X), atol=1e-6)
    unrefined = ae.set_params(refine_code=0).predict(X)
    assert ((loaded.predict(X) - X) ** 2).mean() < ((unrefined - X) ** 2).mean()


@pytest.mark.parametrize(
    "settings, y",
    [({"noise": "gaussian:0.3"}, None), ({}, "paired")],
    ids=["denoiser", "paired"],
)
def test_models_whose_target_is_not_their_input_refuse_it(settings, y):
    X = load_dataset("digits").X[:64]
    ae = AutoEncoder("dense", latent_dim=4, epochs=1, refine_code=5, **settings)
    with pytest.raises(ParameterError, match="refine_code"):
        ae.fit(X, X[::-1].copy() if y else None)


def test_refinement_set_after_a_paired_fit_is_refused_too(tmp_path):
    X = load_dataset("digits").X[:64]
    ae = AutoEncoder("dense", latent_dim=4, epochs=1, random_state=0).fit(X, X[::-1].copy())
    loaded = AutoEncoder.load(ae.save(tmp_path / "paired"))
    for estimator in (ae, loaded):  # same shapes in and out: only the fit knows it was paired
        estimator.set_params(refine_code=5)
        with pytest.raises(ParameterError, match="refine_code"):
            estimator.predict(X)


def test_command_line_option(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "digits", "--model", "deep", "--epochs", "1", "--refine-code", "5"]
    code, _, err = run([*args, "--out", out], capsys)
    assert code == 0, err
    assert AutoEncoder.load(out).refine_code == 5
