"""Variational autoencoders: the bounds against closed forms, the estimator, generation."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import distributions as D
from torch import nn

from autoencoders import AutoEncoder, VariationalAutoEncoder, estimator_for, generation
from autoencoders.data import load_dataset
from autoencoders.errors import DataError, ParameterError
from autoencoders.models import Decoder, GaussianEncoder, VariationalAutoencoder
from autoencoders.report import image_grid
from autoencoders.training.objectives import continuous_bernoulli_log_norm
from autoencoders.training.variational import (
    ELBO,
    gaussian_kl,
    importance_sampled_log_likelihood,
    log_likelihood,
)
from tests.quality import SEED, holds
from tests.test_cli import assert_one_line_error, run


@pytest.fixture(scope="module")
def vae2d(digits):
    """A VAE with a 2-D code on the digits (quick, not converged)."""
    return VariationalAutoEncoder(
        "vae", latent_dim=2, hidden=(64,), epochs=15, batch_size=64, random_state=0
    ).fit(digits[0].X)


def assert_bounds_order(model, x: torch.Tensor, exact: torch.Tensor) -> None:
    """ELBO < IWAE_50 < log p(x), each averaged over seeded draws (Gaussian decoder, σ = 1)."""
    outputs = model(x)
    torch.manual_seed(1)
    with torch.no_grad():
        elbo = np.mean([-ELBO(model, "mse")(outputs, x, x)["loss"] for _ in range(200)])
        iwae = np.mean([-ELBO(model, "mse", samples=50)(outputs, x, x)["loss"] for _ in range(20)])
    assert elbo < iwae - 0.01 and iwae < exact.mean()


def linear_gaussian_vae(latent: int = 2, features: int = 5) -> VariationalAutoencoder:
    """x = W h + b + ε with ε ~ N(0, I): p(x) = N(b, W Wᵀ + I) in closed form."""
    torch.manual_seed(0)
    encoder = GaussianEncoder(nn.Identity(), features, latent)
    decoder = Decoder(nn.Linear(latent, features), "linear")
    return VariationalAutoencoder(encoder, decoder, (features,))


def test_continuous_bernoulli_matches_torch():
    logits = torch.tensor([-30.0, -3.0, -0.5, -1e-3, 0.0, 2e-3, 0.7, 4.0, 25.0])
    x = torch.linspace(0, 1, len(logits))
    ours = -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    ours = ours + continuous_bernoulli_log_norm(logits)
    expected = D.ContinuousBernoulli(logits=logits.double()).log_prob(x.double())
    assert torch.allclose(ours.double(), expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["bce", "cb", "mse", "gaussian"])
def test_log_likelihood_matches_torch_distributions(kind):
    model = linear_gaussian_vae()
    with torch.no_grad():
        model.log_scale.copy_(torch.linspace(-1, 1, 5))
    logits = torch.randn(3, 5)
    target = torch.rand(3, 5)
    ours = log_likelihood(kind, model, logits, target)
    if kind == "bce":
        expected = -nn.functional.binary_cross_entropy_with_logits(
            logits, target, reduction="none"
        ).sum(1)
    elif kind == "cb":
        expected = D.ContinuousBernoulli(logits=logits).log_prob(target).sum(1)
    else:
        scale = model.log_scale.exp() if kind == "gaussian" else torch.ones(5)
        expected = D.Normal(logits, scale).log_prob(target).sum(1)
    assert torch.allclose(ours, expected, atol=1e-4)


def test_kl_matches_torch():
    mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
    q = D.Normal(mean, (0.5 * log_var).exp())
    expected = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(gaussian_kl(mean, log_var), expected, atol=1e-5)


@pytest.mark.quality
def test_importance_sampling_recovers_the_exact_likelihood():
    """On a linear Gaussian model, k = 5000 draws give log p(x) within 0.05 nats, and the
    bound tightens with k: ELBO ≤ IWAE_50 ≤ log p(x)."""
    model = linear_gaussian_vae()
    x = torch.randn(64, 5) * 1.5
    weight, bias = model.decoder.body.weight.detach(), model.decoder.body.bias.detach()
    # q: the exact posterior's mean with a wider diagonal variance, a fair proposal.
    precision = weight.T @ weight + torch.eye(2)
    gain = torch.linalg.solve(precision, weight.T)
    with torch.no_grad():
        model.encoder.mean.weight.copy_(gain)
        model.encoder.mean.bias.copy_(-gain @ bias)
        model.encoder.log_var.weight.zero_()
        model.encoder.log_var.bias.copy_(torch.log(1.5 * torch.linalg.inv(precision).diag()))
    exact = D.MultivariateNormal(bias, weight @ weight.T + torch.eye(5)).log_prob(x)
    rng = torch.Generator().manual_seed(SEED)
    estimate = importance_sampled_log_likelihood(model, "mse", x, 5000, generator=rng)
    assert holds("max |estimate - exact| (nats)", (estimate - exact).abs().max(), below=0.05)
    assert_bounds_order(model, x, exact)


@pytest.mark.quality
def test_vae_estimator_scores_samples_and_round_trips(digits, tmp_path):
    train, test = digits
    vae = VariationalAutoEncoder(
        "vae", latent_dim=4, hidden=(64,), epochs=10, batch_size=64, random_state=SEED
    )
    vae.fit(train.X)
    elbo = vae.score_samples(test.X)
    log_px = vae.log_likelihood(test.X[:50], samples=200)
    assert elbo.shape == (len(test.X),) and np.isfinite(elbo).all()
    # Both estimate log p(x) (the bound is tight here); the inequality itself is checked
    # exactly on the linear Gaussian model above.
    assert holds("|log p(x) - ELBO| (nats)", abs(log_px.mean() - elbo[:50].mean()), below=1.0)
    np.testing.assert_array_equal(vae.score_samples(test.X), elbo)  # seeded, repeatable
    samples = vae.sample(16, random_state=3)
    assert samples.shape == (16, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.sample(16, random_state=3))
    loaded = VariationalAutoEncoder.load(vae.save(tmp_path / "vae"))
    np.testing.assert_allclose(loaded.score_samples(test.X), elbo, rtol=1e-6)
    np.testing.assert_allclose(loaded.sample(16, random_state=3), samples, rtol=1e-6)


def test_fits_are_reproducible_and_losses_train(digits):
    X = digits[0].X
    fits = [
        VariationalAutoEncoder(
            "vae", latent_dim=4, loss=loss, epochs=3, random_state=1, **extra
        ).fit(X)
        for loss, extra in [
            ("bce", {}),
            ("bce", {}),
            ("cb", {}),
            ("gaussian", {}),
            ("bce", {"iwae_samples": 4, "binarize": True}),
        ]
    ]
    np.testing.assert_array_equal(fits[0].transform(X), fits[1].transform(X))
    for fit in fits:
        history = [row["loss"] for row in fit.history_]
        assert history[-1] < history[0], (fit.loss, fit.iwae_samples, history)
    assert fits[3].module_.log_scale.abs().sum() > 0  # the Gaussian σ was learned


def test_compiled_vae_draws_what_the_eager_one_does(digits):
    """The reparameterised draw traces with a symbolic batch size: batches of 100 leave a
    smaller last one, which makes torch.compile generalise the batch dimension."""
    X = digits[0].X
    settings = {"latent_dim": 4, "iwae_samples": 2, "epochs": 2, "batch_size": 100}
    eager = VariationalAutoEncoder("vae", random_state=0, **settings).fit(X)
    compiled = VariationalAutoEncoder("vae", random_state=0, compile=True, **settings).fit(X)
    for a, b in zip(eager.history_, compiled.history_, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)


def test_conv_vae_on_images(digit_images):
    images = digit_images.reshape(-1, 1, 8, 8)
    vae = VariationalAutoEncoder(
        "conv-vae", latent_dim=3, filters=(8, 8), epochs=2, random_state=0
    ).fit(images)
    assert vae.transform(images[:5]).shape == (5, 3)
    assert vae.sample(4).shape == (4, 1, 8, 8)
    assert vae.predict(images[:5]).shape == (5, 1, 8, 8)


def test_each_family_takes_only_its_own_parameters(digits):
    X = digits[0].X[:100]
    dense = AutoEncoder("dense", epochs=1, random_state=0).fit(X)
    assert not hasattr(dense, "sample") and not hasattr(dense, "log_likelihood")
    with pytest.raises(TypeError, match="beta"):
        AutoEncoder("dense", beta=4.0)
    with pytest.raises(TypeError, match="sparsity"):
        VariationalAutoEncoder("vae", sparsity="l1")
    with pytest.raises(InvalidParameterError, match="loss"):
        AutoEncoder("dense", loss="gaussian").fit(X)
    with pytest.raises(ParameterError, match=r"model='vae' is a VariationalAutoEncoder"):
        AutoEncoder("vae").fit(X)
    with pytest.raises(ParameterError, match="beta does not apply to model='dense'"):
        estimator_for("dense", beta=4.0)
    assert isinstance(estimator_for("conv-vae", beta=2.0), VariationalAutoEncoder)
    with pytest.raises(DataError, match="binarize"):
        VariationalAutoEncoder("vae", binarize=True).fit(
            np.random.default_rng(0).normal(size=(50, 4))
        )


def test_a_focused_attribute_vector_moves_the_elements_that_separate_the_groups():
    class Identity:  # attribute_vector only encodes: codes are the inputs themselves
        def transform(self, X):
            return np.asarray(X, np.float32)

    rng = np.random.default_rng(0)
    spread = np.array([0.1, 10.0], np.float32)  # the same mean shift, a clear one and a lost one
    without = rng.normal(0, 1, (500, 2)).astype(np.float32) * spread
    with_ = without + 1.0
    plain = generation.attribute_vector(Identity(), without, with_)
    focused = generation.attribute_vector(Identity(), without, with_, focus=1)
    np.testing.assert_allclose(plain, [1, 1], atol=1e-5)
    assert np.isclose(np.linalg.norm(focused), np.linalg.norm(plain))
    assert focused[0] > 50 * focused[1] > 0  # effect sizes 10 and 0.1


def test_interpolation_traversal_and_arithmetic(vae2d, digits):
    X, y = digits[1].X, digits[1].y
    codes = vae2d.transform(X[:2])
    path = generation.interpolate(vae2d, X[0], X[1], steps=7)
    np.testing.assert_allclose(path[[0, -1]], vae2d.inverse_transform(codes), atol=1e-5)
    arc = generation.interpolate(vae2d, X[0], X[1], steps=7, method="slerp")
    np.testing.assert_allclose(arc[[0, -1]], path[[0, -1]], atol=1e-5)
    assert not np.allclose(arc[3], path[3])
    grid = generation.traverse(vae2d, X[0], steps=5)
    assert grid.shape == (2, 5, 1, 8, 8)
    np.testing.assert_allclose(grid[0, 2], vae2d.predict(X[:1])[0], atol=1e-5)
    vector = generation.attribute_vector(vae2d, X[y == 1], X[y == 7])
    np.testing.assert_allclose(
        vector, vae2d.transform(X[y == 7]).mean(0) - vae2d.transform(X[y == 1]).mean(0)
    )
    np.testing.assert_allclose(
        generation.shift(vae2d, X[:3], vector, strength=0.0), vae2d.predict(X[:3]), atol=1e-6
    )
    focused = generation.attribute_vector(vae2d, X[y == 1], X[y == 7], focus=2)
    assert np.isclose(np.linalg.norm(focused), np.linalg.norm(vector), rtol=1e-5)
    assert np.all(np.sign(focused) == np.sign(vector))
    with pytest.raises(ParameterError, match="focus must be"):
        generation.attribute_vector(vae2d, X[y == 1], X[y == 7], focus=-1)
    assert generation.manifold(vae2d, n=4).shape == (4, 4, 1, 8, 8)
    with pytest.raises(ParameterError, match="code unit 9"):
        generation.traverse(vae2d, X[0], units=[9])


def test_a_region_keeps_the_change_where_the_groups_differ(vae2d, digits):
    X, y = digits[1].X, digits[1].y
    without, with_ = X[y == 1], X[y == 7]
    region = generation.attribute_region(without, with_, quantile=0.9)
    difference = np.abs(with_.mean(0) - without.mean(0))
    assert region.shape == X.shape[1:] and region.min() >= 0 and region.max() == 1
    assert np.mean(region == 1) == pytest.approx(0.1, abs=0.05)  # the top tenth
    assert region[difference == difference.max()] == 1
    assert np.all(region[difference == 0] == 0)
    vector = generation.attribute_vector(vae2d, without, with_)
    unmoved, moved = vae2d.predict(X[:3]), generation.shift(vae2d, X[:3], vector)
    kept = generation.shift(vae2d, X[:3], vector, region=region)
    np.testing.assert_allclose(kept, unmoved + region * (moved - unmoved), atol=1e-6)
    assert np.abs(kept - unmoved).max() > 0.01  # the move shows, but only in the region
    with pytest.raises(DataError, match="region has shape"):
        generation.shift(vae2d, X[:3], vector, region=region[:, :4])
    with pytest.raises(ParameterError, match="quantile must be"):
        generation.attribute_region(without, with_, quantile=0)
    with pytest.raises(DataError, match="mean inputs are the same"):
        generation.attribute_region(without, without)
    with pytest.raises(DataError, match="'with' group is empty"):
        generation.attribute_region(without, with_[:0])


def test_manifold_needs_a_2d_code(digits):
    dense = AutoEncoder("dense", latent_dim=3, epochs=1, random_state=0).fit(digits[0].X[:100])
    with pytest.raises(ParameterError, match="2-D code"):
        generation.manifold(dense)


def test_image_grid_draws_a_mosaic(tmp_path):
    grid = np.random.default_rng(0).uniform(size=(3, 4, 1, 8, 8))
    path = image_grid(grid, tmp_path / "grid.png", title="t", row_labels=["a", "b", "c"])
    assert path.stat().st_size > 500
    with pytest.raises(DataError, match="rows, columns"):
        image_grid(grid[0], tmp_path / "bad.png")


def test_generation_commands(tmp_path, capsys):
    run_dir = tmp_path / "vae"
    code, _, err = run(
        [
            "train",
            "digits",
            "--model",
            "conv-vae",
            "--latent-dim",
            "2",
            "--filters",
            "8,8",
            "--epochs",
            "2",
            "--out",
            run_dir,
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    commands = {
        "sample.png": ["sample", run_dir, "-n", "12"],
        "samples.npy": ["sample", run_dir, "-n", "5"],
        "manifold.png": ["manifold", run_dir, "-n", "6"],
        "path.png": [
            "interpolate",
            run_dir,
            "digits",
            "--from",
            "0",
            "--to",
            "1",
            "--method",
            "slerp",
        ],
        "traversal.png": ["traverse", run_dir, "digits", "--index", "2", "--steps", "5"],
        "arithmetic.png": [
            "arithmetic",
            run_dir,
            "digits",
            "--without",
            "1",
            "--with",
            "7",
            "-n",
            "4",
        ],
    }
    commands["strengths.png"] = [*commands["arithmetic.png"][:-1], "3", "--strength", "0,1,2"]
    commands["focused.png"] = [*commands["arithmetic.png"], "--focus", "2"]
    for name, args in commands.items():
        code, _, err = run([*args, "-o", tmp_path / name], capsys)
        assert code == 0, (name, err)
        assert (tmp_path / name).exists(), name
    assert np.load(tmp_path / "samples.npy").shape == (5, 1, 8, 8)
    code, _, err = run(
        [*commands["strengths.png"][:-1], "0,1,2", "-o", tmp_path / "strengths.npy"], capsys
    )
    assert code == 0, err
    moved = np.load(tmp_path / "strengths.npy").reshape(3, 3, 1, 8, 8)  # a row per sample
    test = load_dataset("digits", "test")
    ones = test.X[test.y == 1][:3]  # the --without group is moved, strength 0 first
    np.testing.assert_allclose(
        moved[:, 0], VariationalAutoEncoder.load(run_dir).predict(ones), atol=1e-5
    )
    assert not np.allclose(moved[:, 2], moved[:, 0])
    code, _, err = run(
        [*commands["strengths.png"][:-1], "0,2", "--region", "-o", tmp_path / "region.npy"],
        capsys,
    )
    assert code == 0, err
    kept = np.load(tmp_path / "region.npy").reshape(3, 2, 1, 8, 8)
    region = generation.attribute_region(test.X[test.y == 1], test.X[test.y == 7])
    np.testing.assert_allclose(kept[:, 0], moved[:, 0], atol=1e-5)
    np.testing.assert_allclose(
        kept[:, 1], moved[:, 0] + region * (moved[:, 2] - moved[:, 0]), atol=1e-5
    )
    code, _, err = run([*commands["strengths.png"][:-1], "1,x", "-o", tmp_path / "s.png"], capsys)
    assert_one_line_error(code, err, "not a comma-separated list of numbers")
    code, _, err = run(
        [*commands["arithmetic.png"], "--focus", "-1", "-o", tmp_path / "f.png"], capsys
    )
    assert_one_line_error(code, err, "--focus")
    code, _, err = run(
        [
            "arithmetic",
            run_dir,
            "digits",
            "--without",
            "1",
            "--with",
            "cat",
            "-o",
            tmp_path / "x.png",
        ],
        capsys,
    )
    assert_one_line_error(code, err, "no sample has label 'cat'")
    code, _, err = run(
        ["traverse", run_dir, "digits", "--units", "5", "-o", tmp_path / "t.png"], capsys
    )
    assert_one_line_error(code, err, "code unit 5")
    code, _, err = run(
        [
            "interpolate",
            run_dir,
            "digits",
            "--from",
            "0",
            "--to",
            "99999",
            "-o",
            tmp_path / "i.png",
        ],
        capsys,
    )
    assert_one_line_error(code, err, "--to 99999 is out of range")
