"""The ``autoencoders`` command group and how it reports errors.

A user's mistake (bad file, bad option, bad model directory) is one line on stderr
and exit code 2, never a traceback; only bugs keep theirs.
"""

from __future__ import annotations

import os
import sys
import warnings

import click
from sklearn.utils._param_validation import InvalidParameterError

from autoencoders import __version__
from autoencoders.errors import EXIT_USAGE, AutoencodersError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="autoencoders")
def cli() -> None:
    """Train, apply and inspect autoencoders.

    \b
    Start with the demo, which trains two models on the bundled digits:
      autoencoders demo
    Then train your own:
      autoencoders train mnist --model conv --noise gaussian:0.5 --epochs 5 --out runs/denoiser
    """


def fail(message: str, *, every_process: bool = False) -> None:
    """Print the error and exit 2. Of the processes a launcher started on this machine
    (``--nproc``), which all meet the same bad input, only the first prints it."""
    if every_process or int(os.environ.get("LOCAL_RANK", "0")) == 0:
        click.echo(f"autoencoders: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        _run(argv)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"autoencoders: warning: {message}", err=True)


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="autoencoders", standalone_mode=False)
    except click.exceptions.Abort:
        fail("interrupted")
    except click.ClickException as error:
        fail(error.format_message())
    except (AutoencodersError, InvalidParameterError) as error:
        fail(str(error).strip().splitlines()[0])
    except KeyboardInterrupt:
        fail("interrupted")
    except MemoryError:
        fail("out of memory; use a smaller --batch-size or --limit the data", every_process=True)
