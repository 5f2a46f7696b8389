"""The ``autoencoders`` command line (see ``autoencoders --help``)."""

from autoencoders.cli import commands  # noqa: F401  (registers the commands)
from autoencoders.cli.app import cli, main

__all__ = ["cli", "main"]
