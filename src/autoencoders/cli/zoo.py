"""``autoencoders zoo``: the pretrained models shipped with the package."""

from __future__ import annotations

import json

import click

from autoencoders import zoo
from autoencoders.cli.app import cli


@cli.group("zoo")
def zoo_group() -> None:
    """Pretrained models: use `zoo:NAME` wherever a command takes RUN.

    \b
    Examples:
      autoencoders zoo list
      autoencoders zoo show mnist-conv
      autoencoders compress zoo:mnist-codec mnist --limit 10 -o digits.aec
      autoencoders sample zoo:mnist-vae-2d -n 16 -o samples/
    """


@zoo_group.command("list")
def list_models() -> None:
    """One line per model: name, what it does, its data and its test metrics."""
    for name in zoo.names():
        card = zoo.card(name)
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in card["test_metrics"].items())
        click.echo(f"zoo:{name:<16} {card['description']}")
        click.echo(f"    {'':<16}trained on {card['data']}; test: {metrics}")


@zoo_group.command("show")
@click.argument("name")
def show(name: str) -> None:
    """The whole model card of NAME as JSON (settings, command, metrics, hashes)."""
    click.echo(json.dumps({"path": str(zoo.path(name)), **zoo.card(name)}, indent=2))
