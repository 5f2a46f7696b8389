"""The ``autoencoders`` command line (see ``autoencoders --help``)."""

from autoencoders.cli import (
    commands,  # noqa: F401  (evaluate, encode, decode, reconstruct, demo)
    compression,  # noqa: F401  (train-codec, compress, decompress)
    detect,  # noqa: F401  (anomaly scores)
    ecosystem,  # noqa: F401  (export, serve, explorer)
    embedding,  # noqa: F401  (embed)
    features,  # noqa: F401  (features)
    generate,  # noqa: F401  (sample, interpolate, traverse, arithmetic, manifold)
    series,  # noqa: F401  (detect-series)
    train,  # noqa: F401  (train)
    zoo,  # noqa: F401  (zoo list, zoo show)
)
from autoencoders.cli.app import cli, main

__all__ = ["cli", "main"]
