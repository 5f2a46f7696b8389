"""The honest floor of benchmarks/speed.py: the obvious hand-written PyTorch training loop.

Data as one tensor sliced by a random permutation, Adam (lr 1e-3), ``BCEWithLogitsLoss``,
PyTorch's default init; no DataLoader, no schedule, no tricks. Runs in the toolkit's venv.
"""

from __future__ import annotations

import time

import torch
from peer_common import Curve, bce, best_encoding, load_images, parser, reply
from torch import nn
from torch_nets import input_shape, networks

EVAL_BATCH = 2000


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.manual_seed(args.seed)
    shape = input_shape(args.model)
    x = torch.from_numpy(load_images(args.data_dir, "train", args.limit)).reshape(-1, *shape)
    x_test = torch.from_numpy(load_images(args.data_dir, "test", args.limit)).reshape(-1, *shape)

    encoder, decoder = networks(args.model)
    net = nn.Sequential(encoder, decoder)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    epoch_seconds, losses = [], []

    @torch.inference_mode()
    def test_bce() -> float:
        net.eval()
        logits = torch.cat([net(chunk) for chunk in torch.split(x_test, EVAL_BATCH)])
        return bce(torch.sigmoid(logits).numpy(), x_test.numpy())

    curve = Curve(test_bce, args.target_bce)
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        net.train()
        total = 0.0
        order = torch.randperm(len(x))
        for start in range(0, len(x), args.batch_size):
            xb = x[order[start : start + args.batch_size]]
            loss = loss_fn(net(xb), xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        epoch_seconds.append(time.perf_counter() - started)
        losses.append(total / len(x))
        if args.curve and curve.check(epoch):
            break

    net.eval()
    with torch.inference_mode():
        reconstruction = torch.cat(
            [torch.sigmoid(net(chunk)) for chunk in torch.split(x_test, EVAL_BATCH)]
        )
    result = {
        "versions": {"torch": torch.__version__},
        "threads": torch.get_num_threads(),
        "epoch_seconds": epoch_seconds,
        "train_losses": losses,
        "test_bce": bce(reconstruction.numpy(), x_test.numpy()),
    }
    if args.curve:
        result["curve"] = curve.points
    if args.encode:

        @torch.inference_mode()
        def encode(images: torch.Tensor, batch_size: int) -> list:
            return [encoder(chunk) for chunk in torch.split(images, batch_size)]

        result["encode"] = best_encoding(encode, x_test)
    reply(result)


if __name__ == "__main__":
    main()
