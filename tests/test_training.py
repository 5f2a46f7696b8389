"""Corruptions, losses and the trainer: what a training run must guarantee."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autoencoders.errors import ParameterError, TrainingError
from autoencoders.metrics import psnr
from autoencoders.models import ModelConfig, build_model, glorot_init_
from autoencoders.training import (
    Corruption,
    Objective,
    ReconstructionLoss,
    TrainConfig,
    Trainer,
)
from autoencoders.training.runtime import zero_tiny_state_
from autoencoders.training.trainer import lr_factor
from tests.quality import SEED, holds


def images(n=64, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_gaussian_noise_has_the_asked_sigma_and_is_fresh_each_call():
    x = torch.full((20000,), 0.5)
    rng = torch.Generator().manual_seed(0)
    corrupt = Corruption.parse("gaussian:0.3", clip=False)
    first, second = corrupt(x, rng), corrupt(x, rng)
    assert abs((first - x).std().item() - 0.3) < 0.01
    assert not torch.equal(first, second)


def test_gaussian_noise_is_clipped_to_unit_range_for_images():
    noisy = Corruption.parse("gaussian:0.5")(images(), torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1 and (noisy == 0).any() and (noisy == 1).any()


def test_salt_pepper_and_mask_touch_the_asked_fraction():
    x = torch.full((50000,), 0.5)
    rng = torch.Generator().manual_seed(0)
    salted = Corruption.parse("salt-pepper:0.2")(x, rng)
    assert abs((salted != 0.5).float().mean().item() - 0.2) < 0.01
    assert set(salted.unique().tolist()) == {0.0, 0.5, 1.0}
    masked = Corruption.parse("mask:0.3")(x, rng)
    assert abs((masked == 0).float().mean().item() - 0.3) < 0.01


@pytest.mark.parametrize("spec", ["gaussian", "gauss:0.1", "mask:1.5", "salt-pepper:-1", "mask:x"])
def test_bad_noise_specs_are_refused_with_the_accepted_forms(spec):
    with pytest.raises(ParameterError, match="gaussian:SIGMA"):
        Corruption.parse(spec)


def test_bce_from_logits_equals_bce_of_sigmoid_and_stays_finite():
    logits = torch.randn(8, 10)
    target = torch.rand(8, 10)
    loss = ReconstructionLoss("bce", nn.Sigmoid())
    expected = F.binary_cross_entropy(torch.sigmoid(logits), target)
    assert torch.allclose(loss(logits, target), expected, atol=1e-6)
    huge = loss(torch.full((2, 3), 200.0), torch.zeros(2, 3))
    assert math.isfinite(huge.item()) and huge.item() == pytest.approx(200, rel=1e-4)


def test_psnr_loss_is_minus_the_mean_psnr_of_the_samples():
    target = torch.rand(4, 3, 8, 8)
    output = target + 0.05 * torch.randn_like(target) * torch.arange(1, 5)[:, None, None, None]
    output = output.clamp(0.01, 0.99)
    loss = ReconstructionLoss("psnr", nn.Sigmoid())(torch.logit(output), target)
    assert loss.item() == pytest.approx(-psnr(output, target).mean().item(), rel=1e-4)
    # unlike MSE, halving an easy image's error counts as much as halving a hard one's
    easy, hard = torch.full((1, 4), 0.01), torch.full((1, 4), 0.1)
    per_sample = ReconstructionLoss("psnr", nn.Identity()).per_sample
    gain_easy = per_sample(easy / 2**0.5, torch.zeros(1, 4)) - per_sample(easy, torch.zeros(1, 4))
    gain_hard = per_sample(hard / 2**0.5, torch.zeros(1, 4)) - per_sample(hard, torch.zeros(1, 4))
    assert gain_easy.item() == pytest.approx(gain_hard.item(), abs=1e-3)
    assert gain_hard.item() == pytest.approx(-10 * math.log10(2), abs=1e-3)


def test_tiny_optimiser_state_is_zeroed_before_it_turns_subnormal():
    weight = nn.Parameter(torch.ones(4))
    optimizer = torch.optim.Adam([weight])
    weight.grad = torch.tensor([1.0, 1e-20, 0.0, -1e-3])
    optimizer.step()
    state = optimizer.state[weight]
    state["exp_avg"].copy_(torch.tensor([1e-31, -1e-39, 1e-29, -0.5]))
    zero_tiny_state_(optimizer)
    assert state["exp_avg"].tolist() == pytest.approx([0.0, 0.0, 1e-29, -0.5], rel=1e-6)
    assert state["exp_avg_sq"][2] == 0 and state["exp_avg_sq"][0] > 0
    assert state["step"].item() == 1  # a count, not a moment: untouched


def bce(model):
    return Objective(ReconstructionLoss("bce", model.decoder.output_activation))


def _model(seed=0):
    model = build_model(ModelConfig("dense", (1, 8, 8), (1, 8, 8), latent_dim=8))
    glorot_init_(model, torch.Generator().manual_seed(seed))
    return model


def _train(model, x, **config):
    objective = bce(model)
    settings = {"epochs": 5, "batch_size": 16, "verbose": 0} | config
    return Trainer(TrainConfig(**settings), objective, seed=0).fit(model, x, x)


@pytest.mark.parametrize("optimizer", ["adam", "adadelta", "sgd"])
def test_every_optimizer_lowers_the_loss(optimizer, digit_images):
    x = torch.from_numpy(digit_images)
    result = _train(_model(), x, optimizer=optimizer, epochs=8)
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < losses[0]
    assert result.stop_reason == "completed" and len(losses) == 8


def test_same_seed_gives_identical_weights_and_another_seed_does_not(digit_images):
    x = torch.from_numpy(digit_images)
    a, b, c = _model(), _model(), _model()
    _train(a, x)
    _train(b, x)
    objective = bce(c)
    Trainer(TrainConfig(epochs=5, batch_size=16, verbose=0), objective, seed=1).fit(c, x, x)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not all(
        torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )


def test_validation_loss_is_recorded(digit_images):
    x = torch.from_numpy(digit_images)
    model = _model()
    objective = bce(model)
    trainer = Trainer(TrainConfig(epochs=3, verbose=0), objective, seed=0)
    history = trainer.fit(model, x[:300], x[:300], validation=(x[300:], x[300:])).history
    assert all("val_loss" in row and row["val_loss"] > 0 for row in history)


class NaNAfter(nn.Module):
    """An objective that turns NaN from a given epoch on (counted in steps)."""

    def __init__(self, inner, bad_from_step):
        super().__init__()
        self.inner, self.bad_from_step, self.steps = inner, bad_from_step, 0

    def forward(self, outputs, target, inputs):
        self.steps += 1
        loss = self.inner(outputs, target, inputs)["loss"]
        return {"loss": loss * float("nan") if self.steps > self.bad_from_step else loss}


def test_nan_loss_stops_training_and_keeps_the_last_good_weights(digit_images):
    x = torch.from_numpy(digit_images)  # 400 samples, batch 100 → 4 steps per epoch
    model = _model()
    objective = NaNAfter(bce(model), 9)
    # A constant rate, so that the reference run of 2 epochs takes the very same steps.
    config = TrainConfig(epochs=10, batch_size=100, lr_schedule="constant", verbose=0)
    result = Trainer(config, objective, seed=0).fit(model, x, x)
    assert len(result.history) == 2  # epochs 1 and 2 were good; epoch 3 went NaN
    assert "nan" in result.stop_reason and "epoch 2" in result.stop_reason
    assert all(torch.isfinite(p).all() for p in model.parameters())

    reference = _model()
    Trainer(
        TrainConfig(epochs=2, batch_size=100, lr_schedule="constant", verbose=0),
        bce(reference),
        seed=0,
    ).fit(reference, x, x)
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), reference.parameters(), strict=True)
    )


def test_divergence_in_the_first_epoch_is_an_error(digit_images):
    x = torch.from_numpy(digit_images)
    model = _model()
    objective = NaNAfter(bce(model), 0)
    with pytest.raises(TrainingError, match="diverged in epoch 1"):
        Trainer(TrainConfig(epochs=3, verbose=0), objective, seed=0).fit(model, x, x)


def test_early_stopping_restores_the_best_weights(digit_images, monkeypatch):
    """Scripted epoch losses: best at epoch 2, then worse; patience 2 stops after epoch 4."""
    x = torch.from_numpy(digit_images)
    model = _model()
    scripted = iter([1.0, 0.5, 0.7, 0.8, 0.9, 1.0])

    def fake_epoch(self, model, *args):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)  # every epoch moves the weights, so we can tell them apart
        return next(scripted)

    monkeypatch.setattr(Trainer, "_train_epoch", fake_epoch)
    start = [p.clone() for p in model.parameters()]
    result = _train(model, x, epochs=6, early_stopping=2)
    assert result.stop_reason == "early_stopping"
    assert [row["loss"] for row in result.history] == [1.0, 0.5, 0.7, 0.8]
    for before, after in zip(start, model.parameters(), strict=True):
        assert torch.allclose(after, before + 2.0, atol=1e-5)  # the weights after epoch 2


def test_progress_in_a_log_shows_epoch_loss_and_val_loss(digit_images, capsys):
    x = torch.from_numpy(digit_images)
    model = _model()
    objective = bce(model)
    Trainer(TrainConfig(epochs=2, verbose=1), objective).fit(
        model, x[:300], x[:300], validation=(x[300:], x[300:])
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2 - loss ") and " - val_loss " in lines[0]


def test_cosine_schedule_anneals_to_zero(digit_images):
    x = torch.from_numpy(digit_images)
    model = _model()
    objective = bce(model)
    trainer = Trainer(TrainConfig(epochs=3, batch_size=100, verbose=0), objective)
    seen = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = spy
    try:
        trainer.fit(model, x, x)
    finally:
        torch.optim.Adam.step = original
    assert seen[0] == pytest.approx(4e-3) and len(seen) == 12
    assert all(a > b for a, b in itertools.pairwise(seen))
    assert seen[-1] < 0.05 * seen[0]


def test_cosine_warm_up_is_5_percent_of_the_steps_and_at_most_100():
    """A long run warms up no longer than a short one: the warm-up guards the first
    Adam steps, whose size does not depend on how many follow."""
    assert lr_factor("cosine", 0, 200) == pytest.approx(0.1)  # 10 warm-up steps
    assert lr_factor("cosine", 9, 200) == pytest.approx(1.0, abs=0.01)
    assert lr_factor("cosine", 49, 100_000) == pytest.approx(0.5, abs=0.01)
    assert lr_factor("cosine", 99, 100_000) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.quality
def test_bf16_autocast_trains_as_well_as_fp32(digit_images):
    """bf16 runs the matmuls in bfloat16 but keeps weights and losses in fp32."""
    x = torch.from_numpy(digit_images)
    losses = {}
    for precision in ("fp32", "bf16"):
        model = _model(SEED)
        result = _train(model, x, epochs=8, precision=precision)
        losses[precision] = result.history[-1]["loss"]
        assert all(p.dtype == torch.float32 for p in model.parameters())
    assert losses["bf16"] < result.history[0]["loss"]
    gap = abs(losses["bf16"] / losses["fp32"] - 1)
    assert holds("|loss bf16 / fp32 - 1|", gap, below=0.02)


def test_convolutions_are_channels_last_and_compute_what_the_default_layout_does():
    config = ModelConfig(model="conv", input_shape=(1, 8, 8), output_shape=(1, 8, 8))
    model = build_model(config)
    weight = model.encoder[3].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    reference = build_model(config).to(memory_format=torch.contiguous_format)
    reference.load_state_dict(model.state_dict())
    x = images(4)
    assert torch.allclose(model(x)["logits"], reference(x)["logits"], atol=1e-5)


def test_resumed_moments_take_their_parameters_layout(tmp_path):
    """Fused Adam walks a parameter and its moments in storage order: a checkpoint's
    (contiguous) moments must be given the parameter's channels-last layout again."""
    from autoencoders.training.checkpoint import _match_layouts

    param = nn.Parameter(torch.randn(4, 3, 2, 2).contiguous(memory_format=torch.channels_last))
    optimizer = torch.optim.Adam([param], fused=True)
    param.grad = torch.ones_like(param)
    optimizer.step()
    state = optimizer.state_dict()
    state["state"][0]["exp_avg"] = torch.arange(48.0).reshape(4, 3, 2, 2)  # contiguous
    optimizer.load_state_dict(state)
    _match_layouts(optimizer)
    moment = optimizer.state[param]["exp_avg"]
    assert moment.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(moment, torch.arange(48.0).reshape(4, 3, 2, 2))


def test_compiled_steps_train_as_the_eager_ones_do(digit_images):
    """compile=True changes how the step runs (generated kernels), not what it computes."""
    x = torch.from_numpy(digit_images)
    eager, compiled = _model(), _model()
    expected = _train(eager, x, epochs=3).history
    got = _train(compiled, x, epochs=3, compile=True).history
    for a, b in zip(expected, got, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-4)


def test_a_failing_compiler_backend_is_one_clear_error(monkeypatch, digit_images):
    def compile_without_backend(function):
        def call(*args):
            raise torch._dynamo.exc.BackendCompilerFailed(
                function, RuntimeError("no C++ compiler found"), None
            )

        return call

    monkeypatch.setattr(torch, "compile", compile_without_backend)
    with pytest.raises(TrainingError, match=r"^torch.compile failed .*no C\+\+ compiler"):
        _train(_model(), torch.from_numpy(digit_images), epochs=1, compile=True)


def test_auto_precision_times_the_hardware_once_and_trains():
    from autoencoders.training.runtime import autocast, bf16_is_faster

    bf16_is_faster.cache_clear()
    choice = bf16_is_faster("cpu")
    assert isinstance(choice, bool) and bf16_is_faster.cache_info().misses == 1
    with autocast(torch.device("cpu"), "auto"):
        assert torch.is_autocast_enabled("cpu") == choice
    assert bf16_is_faster.cache_info().misses == 1  # measured once, not per batch
    import numpy as np

    from autoencoders import AutoEncoder

    X = np.random.default_rng(0).random((64, 12)).astype(np.float32)
    model = AutoEncoder(latent_dim=3, precision="auto", epochs=2, random_state=0).fit(X)
    assert np.isfinite(model.history_[-1]["loss"]) and model.precision == "auto"
