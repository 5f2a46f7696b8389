"""Data in other units than the training data's: answered in the caller's units, or refused.

Image code has two conventions, uint8 levels (0–255) and floats in [0, 1]; a model takes
either, whichever it was trained on, and answers in the one it was given. A table that is
plainly in other units (already standardised, or raw where the model was trained on
standardised columns) is refused with one line, never answered silently wrong.
"""

import numpy as np
import pytest

from autoencoders import AutoEncoder, DataError, SequenceAutoEncoder, load
from autoencoders.cli import main
from tests.conftest import curved_table
from tests.test_cli import assert_one_line_error, run


@pytest.fixture(scope="module")
def levels(digits):
    """The digits as uint8 levels, the way MNIST's files and image folders come."""
    return np.round(digits[0].X[:300] * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def trained_on_levels(levels, tmp_path_factory):
    """`autoencoders train` on a uint8 .npy, then loaded in Python, as the issue did."""
    folder = tmp_path_factory.mktemp("units")
    np.save(folder / "levels.npy", levels)
    args = ["train", folder / "levels.npy", "--model", "dense", "--latent-dim", "8"]
    try:
        main([str(a) for a in [*args, "--epochs", "3", "-q", "--out", folder / "run"]])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    return load(folder / "run")


def test_floats_in_0_1_get_answers_in_0_1_from_a_model_trained_on_levels(trained_on_levels, levels):
    floats = levels.astype("float32") / 255.0  # the Keras tutorial's x_test
    from_floats = trained_on_levels.predict(floats)
    from_levels = trained_on_levels.predict(levels)
    assert from_floats.min() >= 0 and from_floats.max() <= 1  # not 4.9 to 89.7
    assert from_levels.max() > 1
    np.testing.assert_allclose(from_floats * 255, from_levels, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(
        trained_on_levels.transform(floats), trained_on_levels.transform(levels), atol=1e-5
    )
    np.testing.assert_allclose(
        trained_on_levels.score_samples(floats), trained_on_levels.score_samples(levels), rtol=1e-5
    )
    noisy = trained_on_levels.corrupt(floats, "gaussian:0.2")
    assert noisy.max() <= 1.0 and noisy.dtype == np.float32


def test_levels_get_answers_in_levels_from_a_model_trained_on_floats(digits, levels):
    ae = AutoEncoder("dense", latent_dim=8, epochs=3, random_state=0).fit(digits[0].X[:300])
    np.testing.assert_allclose(
        ae.predict(levels), 255 * ae.predict(levels / 255.0), rtol=1e-4, atol=1e-3
    )
    float_levels = levels.astype(np.float64)  # x.astype(float) without the / 255
    np.testing.assert_allclose(ae.predict(float_levels), ae.predict(levels), rtol=1e-5, atol=1e-3)


def test_images_in_neither_convention_are_refused_in_one_line(trained_on_levels, levels):
    unclipped = levels / 255.0 * 5  # reaches 5: neither [0, 1] nor 0–255
    with pytest.raises(DataError, match=r"up to 5: neither floats in \[0, 1\] nor levels") as e:
        trained_on_levels.predict(unclipped)
    assert "\n" not in str(e.value)


def test_a_table_in_other_units_than_the_training_data_is_refused():
    raw = curved_table(300, seed=0) * 50 + 1000  # columns around 1000, sd ~ 200-500
    ae = AutoEncoder("dense", latent_dim=2, epochs=3, random_state=0).fit(raw)
    ae.predict(curved_table(50, seed=1) * 50 + 1000)  # new rows in the same units: fine
    standardised = (raw - raw.mean(0)) / raw.std(0)
    with pytest.raises(DataError, match="other units than the data the model was trained on"):
        ae.predict(standardised)
    trained_standardised = AutoEncoder("dense", latent_dim=2, epochs=3, random_state=0)
    trained_standardised.fit(standardised)
    with pytest.raises(DataError, match="training standard deviations from its centre"):
        trained_standardised.score_samples(raw[:1])  # even one raw row
    with pytest.raises(DataError, match="varies"):
        trained_standardised.transform(standardised * 1000)


def test_series_in_other_units_are_refused_too():
    t = np.linspace(0, 30, 40 * 32).reshape(40, 32)
    ae = SequenceAutoEncoder(hidden=(8,), latent_dim=2, epochs=2, random_state=0)
    ae.fit(100 + 20 * np.sin(t))
    with pytest.raises(DataError, match="other units"):
        ae.score_steps(np.sin(t))


def test_the_cli_says_the_same_in_one_line(trained_on_levels, levels, tmp_path, capsys):
    np.save(tmp_path / "unclipped.npy", levels / 255.0 * 5)
    path = tmp_path / "run"
    trained_on_levels.save(path)
    code, _, err = run(
        ["reconstruct", path, tmp_path / "unclipped.npy", "-o", tmp_path / "o.npy"], capsys
    )
    assert_one_line_error(code, err, "neither floats in [0, 1] nor levels")
