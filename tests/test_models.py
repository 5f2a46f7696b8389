"""Architectures: the classic shapes, any image size, initialisation and configs."""

import math

import pytest
import torch
from torch import nn

from autoencoders.errors import ModelFileError
from autoencoders.models import (
    ModelConfig,
    available_models,
    build_model,
    code_shape,
    glorot_init_,
    init_output_bias_,
)


def linear_sizes(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_shallow_dense_is_the_classic_784_32_784():
    model = build_model(ModelConfig("dense", (784,), (784,), latent_dim=32))
    assert linear_sizes(model.encoder) == [(784, 32)]
    assert linear_sizes(model.decoder) == [(32, 784)]
    assert isinstance(model.encoder[-1][-1], nn.ReLU)  # ReLU code
    assert isinstance(model.decoder.output_activation, nn.Sigmoid)
    assert sum(p.numel() for p in model.parameters()) == 784 * 32 + 32 + 32 * 784 + 784


def test_deep_dense_mirrors_its_hidden_layers():
    model = build_model(ModelConfig("deep", (784,), (784,), latent_dim=32, hidden=(128, 64)))
    sizes = linear_sizes(model)
    assert [a for a, _ in sizes] + [sizes[-1][1]] == [784, 128, 64, 32, 64, 128, 784]


def test_dense_reshapes_images_back():
    model = build_model(ModelConfig("dense", (1, 8, 8), (3, 8, 8), latent_dim=4))
    out = model(torch.rand(5, 1, 8, 8))
    assert out["code"].shape == (5, 4)
    assert out["logits"].shape == (5, 3, 8, 8)


def test_conv_is_the_classic_keras_denoiser():
    model = build_model(ModelConfig("conv", (1, 28, 28), (1, 28, 28), latent_dim=None))
    convs = [m for m in model.encoder if isinstance(m, nn.Conv2d)]
    pools = [m for m in model.encoder if isinstance(m, nn.MaxPool2d)]
    ups = [m for m in model.decoder.modules() if isinstance(m, nn.Upsample)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(32, (3, 3))] * 2
    assert len(pools) == 2 and len(ups) == 2
    assert code_shape(model, (1, 28, 28)) == (32, 7, 7)
    assert isinstance(model.decoder.output_activation, nn.Sigmoid)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 32, 32), (3, 30, 17), (1, 7, 9)])
def test_conv_handles_any_image_size(shape):
    model = build_model(ModelConfig("conv", shape, shape, latent_dim=None))
    x = torch.rand(2, *shape)
    assert model.reconstruct(x).shape == x.shape
    assert (model.reconstruct(x) >= 0).all() and (model.reconstruct(x) <= 1).all()


def test_conv_with_latent_dim_has_a_flat_code():
    model = build_model(ModelConfig("conv", (1, 28, 28), (1, 28, 28), latent_dim=10))
    assert model(torch.rand(3, 1, 28, 28))["code"].shape == (3, 10)


def test_glorot_init_matches_keras_bounds_and_is_seeded():
    model = build_model(ModelConfig("dense", (784,), (784,), latent_dim=32))
    glorot_init_(model, torch.Generator().manual_seed(0))
    weight = model.encoder[1][0].weight
    bound = math.sqrt(6 / (784 + 32))
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound
    assert all((m.bias == 0).all() for m in model.modules() if isinstance(m, nn.Linear))
    again = build_model(ModelConfig("dense", (784,), (784,), latent_dim=32))
    glorot_init_(again, torch.Generator().manual_seed(0))
    assert torch.equal(again.encoder[1][0].weight, weight)


def test_output_bias_init_starts_a_dense_model_at_the_mean_target():
    config = ModelConfig("dense", (1, 8, 8), (1, 8, 8), latent_dim=3)
    net = build_model(config)
    glorot_init_(net, torch.Generator().manual_seed(0))
    x = torch.rand(256, 1, 8, 8, generator=torch.Generator().manual_seed(0)) ** 3  # mean ≈ ¼
    init_output_bias_(net, x, x)
    with torch.no_grad():
        logits = net(x)["logits"].mean(0)
    assert torch.allclose(logits, torch.logit(x.mean(0)), atol=1e-4)


@pytest.mark.parametrize(
    ("model", "input_shape", "output_shape", "options"),
    [
        ("conv", (1, 8, 8), (1, 8, 8), {}),
        ("dense", (5,), (5,), {"latent_dim": 2, "output_activation": "linear"}),
        ("resnet", (1, 8, 8), (3, 8, 8), {"filters": (8,), "code_channels": 2}),
    ],
)
def test_output_bias_init_leaves_conv_linear_and_composed_outputs_alone(
    model, input_shape, output_shape, options
):
    net = build_model(ModelConfig(model, input_shape, output_shape, **options))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    init_output_bias_(net, torch.rand(4, *input_shape), torch.rand(4, *output_shape))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_registry_lists_models_and_rejects_unknown_ones():
    assert {"dense", "deep", "conv"} <= set(available_models())
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model(ModelConfig("nope", (4,), (4,)))


def test_config_round_trips_through_json_dict():
    config = ModelConfig("conv", (3, 16, 16), (3, 16, 16), latent_dim=None, filters=(8, 4))
    assert ModelConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latent_dim": -1}, "latent_dim"),
        ({"latent_dim": "32"}, "latent_dim"),
        ({"hidden": [0]}, "hidden"),
        ({"input_shape": [10**9]}, "input_shape"),
        ({"activation": "swish"}, "activation"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_config_validation_names_the_bad_field(change, field):
    data = ModelConfig("dense", (4,), (4,)).to_dict() | change
    with pytest.raises(ModelFileError, match=field):
        ModelConfig.from_dict(data)
