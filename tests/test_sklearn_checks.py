"""scikit-learn's own estimator checks, run on every public estimator of the package.

A check that cannot apply is declared below with its reason (scikit-learn's way:
``expected_failed_checks``), and what it would have checked is tested here in the form
that does hold.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)

from autoencoders import AutoEncoder, SequenceAutoEncoder, VariationalAutoEncoder
from autoencoders.applications import AnomalyDetector
from autoencoders.compression import ImageCodec

QUICK = {"epochs": 2, "batch_size": 32, "random_state": 0, "device": "cpu"}
ESTIMATORS = [
    AutoEncoder("deep", hidden=(8,), latent_dim=2, **QUICK),
    VariationalAutoEncoder(hidden=(8,), latent_dim=2, **QUICK),
    SequenceAutoEncoder(hidden=(8,), latent_dim=2, **QUICK),
    AnomalyDetector(AutoEncoder("dense", hidden=(8,), latent_dim=2, **QUICK), random_state=0),
]
FLOAT32_BATCHES = (
    "float32 matrix products of one sample and of twenty differ in the last bit (~1e-7 "
    "relative), past the check's atol=1e-7; test_outputs_do_not_depend_on_the_batch checks 1e-5"
)
POSTERIOR_DRAW = (
    "score_samples is a one-draw Monte-Carlo ELBO: a sample's draw depends on its place "
    "in the batch (transform and predict, which use the posterior mean, are invariant)"
)


def expected_failed_checks(estimator) -> dict[str, str]:
    failures = {"check_methods_subset_invariance": FLOAT32_BATCHES}
    if isinstance(estimator, VariationalAutoEncoder):
        failures |= {
            "check_methods_subset_invariance": POSTERIOR_DRAW,
            "check_methods_sample_order_invariance": POSTERIOR_DRAW,
        }
    return failures


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_outputs_do_not_depend_on_the_batch(estimator):
    X = 3 * np.random.default_rng(0).uniform(size=(20, 3))
    estimator = estimator.fit(X)
    methods = ["transform", "predict", "decision_function"]
    if not isinstance(estimator, VariationalAutoEncoder):
        methods.append("score_samples")
    for method in filter(lambda m: hasattr(estimator, m), methods):
        whole = getattr(estimator, method)(X)
        one_by_one = np.concatenate([getattr(estimator, method)(X[i : i + 1]) for i in range(20)])
        np.testing.assert_allclose(whole, one_by_one, rtol=1e-5, atol=1e-6, err_msg=method)


def test_codes_have_feature_names_and_a_pandas_output():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 5)), columns=list("abcde"))
    ae = AutoEncoder("dense", latent_dim=3, **QUICK).set_output(transform="pandas").fit(X)
    codes = ae.transform(X)
    assert list(codes.columns) == ["autoencoder0", "autoencoder1", "autoencoder2"]
    assert list(ae.get_feature_names_out()) == list(codes.columns)
    assert list(ae.feature_names_in_) == list("abcde")


# ImageCodec takes images (n, C, H, W) alone, so it declares ``two_d_array=False`` and
# scikit-learn yields none of its table checks for it; the checks that need no data run
# as they are, and the fitting contract runs here on images.
CODEC = ImageCodec(
    epochs=1, filters=4, global_dim=4, latent_channels=2, levels=1, batch_size=8, random_state=0
)
CODEC_API_CHECKS = [
    check_estimator_cloneable,
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_mixin_order,
    check_get_params_invariance,
    check_set_params,
    check_parameters_default_constructible,
]


@pytest.mark.parametrize("check", CODEC_API_CHECKS, ids=lambda check: check.__name__)
def test_the_image_codec_passes_the_checks_that_take_no_table(check):
    check(type(CODEC).__name__, CODEC)


def test_the_image_codec_keeps_the_fitting_contract_on_images(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (12, 1, 8, 8), dtype=np.uint8)
    codec = clone(CODEC)
    with pytest.raises(NotFittedError):
        codec.reconstruct(images)
    params = codec.get_params()
    assert codec.fit(images) is codec  # check_estimators_fit_returns_self
    assert codec.get_params() == params  # check_dont_overwrite_parameters
    np.save(tmp_path / "images.npy", images)
    read_only = np.load(tmp_path / "images.npy", mmap_mode="r")  # check_readonly_memmap_input
    again = clone(CODEC).fit(read_only)
    assert again.model_id_ == codec.model_id_  # check_fit_idempotent: the same seeded weights
    np.testing.assert_array_equal(again.reconstruct(read_only), codec.reconstruct(images))
