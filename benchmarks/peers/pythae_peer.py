"""pythae's AE (or VAE) for benchmarks/speed.py: run inside benchmarks/.venv-pythae.

The networks are the toolkit's (torch_nets.py) wrapped as pythae's ``BaseEncoder`` /
``BaseDecoder``, trained by pythae's own ``BaseTrainer`` (its DataLoader over a
``BaseDataset``, Adam at lr 1e-3, no scheduler). pythae's ``AE`` has one objective, the
per-image *sum* of squared errors; its ``VAE`` is run with ``reconstruction_loss="bce"``.
Epoch times come from a training callback (epoch begin → epoch end), so they include
what pythae does every epoch (its progress bars, a copy of the best model).
"""

from __future__ import annotations

import copy
import tempfile
import time
from importlib.metadata import version

import torch
from peer_common import bce, load_images, parser, reply
from pythae.data.datasets import BaseDataset
from pythae.models import AE, VAE, AEConfig, VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.trainers import BaseTrainer, BaseTrainerConfig
from pythae.trainers.training_callbacks import TrainingCallback
from torch import nn
from torch_nets import LATENT, input_shape, networks

EVAL_BATCH = 2000


class Encoder(BaseEncoder):
    """The AE's encoder; for the VAE, its last layer becomes two heads (mean, log-variance)."""

    def __init__(self, body: nn.Sequential, *, variational: bool) -> None:
        super().__init__()
        self.variational = variational
        if variational:  # body ends in Linear → ReLU: keep the trunk, duplicate the Linear
            self.body, head = body[:-2], body[-2]
            self.mean, self.log_var = head, copy.deepcopy(head)
            self.log_var.reset_parameters()
        else:
            self.body = body

    def forward(self, x: torch.Tensor) -> ModelOutput:
        h = self.body(x)
        if not self.variational:
            return ModelOutput(embedding=h)
        return ModelOutput(embedding=self.mean(h), log_covariance=self.log_var(h))


class Decoder(BaseDecoder):
    def __init__(self, body: nn.Sequential) -> None:
        super().__init__()
        self.body = body

    def forward(self, z: torch.Tensor) -> ModelOutput:
        return ModelOutput(reconstruction=torch.sigmoid(self.body(z)))


class EpochTimer(TrainingCallback):
    """Seconds of every epoch, and the training loss pythae logs after it."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.losses: list[float] = []

    def on_epoch_begin(self, training_config, **kwargs) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, training_config, **kwargs) -> None:
        self.seconds.append(time.perf_counter() - self.started)

    def on_log(self, training_config, logs, **kwargs) -> None:
        self.losses.append(float(logs["train_epoch_loss"]))


def main() -> None:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--variant", choices=("ae", "vae"), default="ae")
    args = options.parse_args()
    if args.variant == "vae" and args.model == "conv":
        raise SystemExit("the VAE variant is only built for the dense models")
    torch.manual_seed(args.seed)
    shape = input_shape(args.model)
    x = torch.from_numpy(load_images(args.data_dir, "train", args.limit)).reshape(-1, *shape)
    x_test = torch.from_numpy(load_images(args.data_dir, "test", args.limit)).reshape(-1, *shape)

    encoder_body, decoder_body = networks(args.model)
    variational = args.variant == "vae"
    encoder = Encoder(encoder_body, variational=variational)
    decoder = Decoder(decoder_body)
    if variational:
        config = VAEConfig(input_dim=shape, latent_dim=LATENT, reconstruction_loss="bce")
        model = VAE(config, encoder=encoder, decoder=decoder)
    else:
        model = AE(AEConfig(input_dim=shape, latent_dim=LATENT), encoder=encoder, decoder=decoder)

    timer = EpochTimer()
    with tempfile.TemporaryDirectory(prefix="pythae-speed-") as output_dir:
        trainer = BaseTrainer(
            model=model,
            train_dataset=BaseDataset(x, torch.zeros(len(x))),
            training_config=BaseTrainerConfig(
                output_dir=output_dir,
                num_epochs=args.epochs,
                learning_rate=1e-3,
                per_device_train_batch_size=args.batch_size,
                seed=args.seed,
                no_cuda=True,
            ),
            callbacks=[timer],
        )
        started = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - started

    trained = trainer.model.eval()
    with torch.inference_mode():
        reconstruction = torch.cat(  # the VAE decodes its mean code
            [
                trained.decoder(trained.encoder(chunk).embedding).reconstruction
                for chunk in torch.split(x_test, EVAL_BATCH)
            ]
        )
    reply(
        {
            "versions": {"pythae": version("pythae"), "torch": torch.__version__},
            "threads": torch.get_num_threads(),
            "epoch_seconds": timer.seconds,
            "train_losses": timer.losses,
            "train_seconds": train_seconds,
            "test_bce": bce(reconstruction.numpy(), x_test.numpy()),
        }
    )


if __name__ == "__main__":
    main()
