"""Deeper variational models: two stochastic layers and the VampPrior."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import distributions as D
from torch import nn

from autoencoders import VariationalAutoEncoder
from autoencoders.errors import ModelFileError
from autoencoders.models import (
    Decoder,
    GaussianEncoder,
    HierarchicalVAE,
    ModelConfig,
    VampPrior,
    VariationalAutoencoder,
)
from autoencoders.models.variational import mixture_log_prob
from autoencoders.training.variational import importance_sampled_log_likelihood
from tests.quality import SEED, holds
from tests.test_cli import assert_one_line_error, run
from tests.test_variational import assert_bounds_order


def set_gaussian(layer: GaussianEncoder, gain: torch.Tensor, bias: torch.Tensor, var) -> None:
    """Make ``layer`` the Gaussian N(gain · input + bias, diag var), whatever its input."""
    with torch.no_grad():
        layer.mean.weight.copy_(gain)
        layer.mean.bias.copy_(bias)
        layer.log_var.weight.zero_()
        layer.log_var.bias.copy_(torch.log(var))


def linear_gaussian_hierarchy() -> tuple[HierarchicalVAE, D.MultivariateNormal]:
    """z2 ~ N(0, I), z1 = A z2 + a + N(0, D), x = W z1 + b + N(0, I): p(x) is Gaussian.

    The proposals are the exact posteriors' means with variances 1.5× their diagonals:
    q(z1|x) under the marginal p(z1) = N(a, A Aᵀ + D), and q(z2|z1).
    """
    torch.manual_seed(0)
    n_x, n_1, n_2 = 5, 3, 2
    W, b = torch.randn(n_x, n_1), torch.randn(n_x)
    A, a, d = torch.randn(n_1, n_2), torch.randn(n_1), torch.rand(n_1) + 0.3
    model = HierarchicalVAE(
        GaussianEncoder(nn.Identity(), n_x, n_1),
        Decoder(nn.Linear(n_1, n_x), "linear"),
        (n_x,),
        upper=GaussianEncoder(nn.Identity(), n_1, n_2),
        lower=GaussianEncoder(nn.Identity(), n_2, n_1),
    )
    with torch.no_grad():
        model.decoder.body.weight.copy_(W)
        model.decoder.body.bias.copy_(b)
    set_gaussian(model.lower, A, a, d)
    S = A @ A.T + torch.diag(d)
    P = W.T @ W + torch.linalg.inv(S)  # posterior precision of z1 given x
    gain = torch.linalg.solve(P, W.T)
    set_gaussian(
        model.encoder,
        gain,
        torch.linalg.solve(P, torch.linalg.solve(S, a)) - gain @ b,
        1.5 * torch.linalg.inv(P).diag(),
    )
    Q = A.T @ torch.diag(1 / d) @ A + torch.eye(n_2)  # posterior precision of z2 given z1
    gain2 = torch.linalg.solve(Q, A.T @ torch.diag(1 / d))
    set_gaussian(model.upper, gain2, -gain2 @ a, 1.5 * torch.linalg.inv(Q).diag())
    marginal = D.MultivariateNormal(W @ a + b, W @ S @ W.T + torch.eye(n_x))
    return model, marginal


@pytest.mark.quality
def test_two_layer_likelihood_recovers_the_exact_one():
    """k = 5000 draws of (z1, z2) give log p(x) within 0.1 nats, and the bounds order:
    ELBO ≤ IWAE_50 ≤ log p(x)."""
    model, marginal = linear_gaussian_hierarchy()
    x = marginal.sample((64,))
    exact = marginal.log_prob(x)
    rng = torch.Generator().manual_seed(SEED)
    estimate = importance_sampled_log_likelihood(model, "mse", x, 5000, generator=rng)
    assert holds("max |estimate - exact| (nats)", (estimate - exact).abs().max(), below=0.1)
    assert_bounds_order(model, x, exact)


def test_vamp_mixture_matches_torch():
    means, log_vars = torch.randn(7, 3), torch.randn(7, 3)
    h = torch.randn(4, 5, 3)
    mixture = D.MixtureSameFamily(
        D.Categorical(logits=torch.zeros(7)),
        D.Independent(D.Normal(means, (0.5 * log_vars).exp()), 1),
    )
    assert torch.allclose(mixture_log_prob(h, means, log_vars), mixture.log_prob(h), atol=1e-4)


def test_vamp_prior_is_the_posterior_mixture_at_the_pseudo_inputs():
    torch.manual_seed(0)
    encoder = GaussianEncoder(nn.Identity(), 4, 2)
    model = VariationalAutoencoder(
        encoder, Decoder(nn.Linear(2, 4), "sigmoid"), (4,), vamp=VampPrior(3, (4,))
    )
    model.init_pseudo_inputs_(torch.eye(4))
    np.testing.assert_array_equal(model.vamp.pseudo_inputs.detach(), torch.eye(4)[:3])
    h = torch.randn(6, 2)
    with torch.no_grad():
        mean, log_var = encoder.distribution(torch.eye(4)[:3])
        per_component = torch.stack(
            [
                D.Normal(m, (0.5 * v).exp()).log_prob(h).sum(-1)
                for m, v in zip(mean, log_var, strict=True)
            ]
        )
        expected = torch.logsumexp(per_component, 0) - np.log(3)
        assert torch.allclose(model.log_prior(h), expected, atol=1e-5)
    drawn = model.sample_codes(4000, torch.Generator().manual_seed(0))
    assert torch.allclose(drawn.mean(0), mean.mean(0), atol=0.1)  # a uniform mixture


@pytest.mark.parametrize(
    "settings",
    [
        {"model": "hvae", "latent_dim": 6, "top_latent_dim": 3},
        {"model": "vae", "latent_dim": 4, "prior": "vamp", "pseudo_inputs": 20},
        {"model": "hvae", "latent_dim": 6, "prior": "vamp", "pseudo_inputs": 20, "iwae_samples": 3},
    ],
    ids=["hvae", "vae-vamp", "hvae-vamp-iwae"],
)
def test_deeper_vaes_train_score_sample_and_round_trip(digits, tmp_path, settings):
    train, test = digits
    vae = VariationalAutoEncoder(
        **settings, hidden=(64,), epochs=8, batch_size=64, binarize=True, random_state=SEED
    ).fit(train.X)
    history = [row["loss"] for row in vae.history_]
    assert history[-1] < history[0]
    assert vae.transform(test.X[:5]).shape == (5, settings["latent_dim"])
    elbo = vae.score_samples(test.X[:50])
    log_px = vae.log_likelihood(test.X[:50], samples=200)
    assert np.isfinite(log_px).all() and log_px.mean() > elbo.mean() - 0.5
    samples = vae.sample(8, random_state=3)
    assert samples.shape == (8, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    loaded = VariationalAutoEncoder.load(vae.save(tmp_path / "run"))
    np.testing.assert_allclose(loaded.sample(8, random_state=3), samples, rtol=1e-5)
    np.testing.assert_allclose(loaded.log_likelihood(test.X[:50], samples=200), log_px, rtol=1e-5)


def test_the_vamp_prior_trains_its_pseudo_inputs(digits):
    """The pseudo-inputs are parameters the bound's gradient reaches (through the prior)."""
    vae = VariationalAutoEncoder(
        "vae",
        latent_dim=4,
        hidden=(32,),
        prior="vamp",
        pseudo_inputs=10,
        epochs=1,
        random_state=0,
    ).fit(digits[0].X)
    assert vae.model_config_.pseudo_inputs == 10
    x = torch.as_tensor(digits[0].X[:32] / 16, dtype=torch.float32)
    vae.module_.zero_grad()
    vae._objective()(vae.module_(x), x, x)["loss"].backward()
    assert vae.module_.vamp.pseudo_inputs.grad.abs().sum() > 0


def test_bad_deeper_settings_are_refused():
    with pytest.raises(InvalidParameterError, match="prior"):
        VariationalAutoEncoder(prior="gaussian-mixture").fit(np.random.rand(20, 4))
    with pytest.raises(InvalidParameterError, match="pseudo_inputs"):
        VariationalAutoEncoder(prior="vamp", pseudo_inputs=0).fit(np.random.rand(20, 4))
    base = {"model": "hvae", "input_shape": [4], "output_shape": [4]}
    with pytest.raises(ModelFileError, match="pseudo_inputs"):
        ModelConfig.from_dict({**base, "pseudo_inputs": -1})
    with pytest.raises(ModelFileError, match="top_hidden"):
        ModelConfig.from_dict({**base, "top_hidden": [0]})


def test_cli_trains_a_two_layer_vamp_vae_and_samples_from_it(tmp_path, capsys):
    out = tmp_path / "hvae"
    code, _, err = run(
        [
            "train",
            "digits",
            "--model",
            "hvae",
            "--prior",
            "vamp",
            "--pseudo-inputs",
            "20",
            "--top-latent-dim",
            "4",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            out,
        ],
        capsys,
    )
    assert code == 0, err
    config = VariationalAutoEncoder.load(out).model_config_
    assert (config.model, config.pseudo_inputs, config.top_latent_dim) == ("hvae", 20, 4)
    code, _, err = run(["sample", out, "--count", "4", "-o", tmp_path / "s.png"], capsys)
    assert code == 0 and (tmp_path / "s.png").exists(), err
    code, _, err = run(
        ["train", "digits", "--model", "dense", "--prior", "vamp", "--out", tmp_path / "x"], capsys
    )
    assert_one_line_error(code, err, "prior")
