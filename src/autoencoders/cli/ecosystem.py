"""Commands that connect a saved model to other tools: export, serve, explorer."""

from __future__ import annotations

from pathlib import Path

import click

from autoencoders.cli.app import cli
from autoencoders.cli.options import RUN
from autoencoders.errors import ParameterError
from autoencoders.estimators import load as load_model

DATA = click.option(
    "--data",
    help="Reference DATA: the explorer's points and the normal data that calibrates the "
    "anomaly threshold [default: the data the run was trained on].",
)
DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Folder holding MNIST / Fashion-MNIST files (else $AUTOENCODERS_DATA or the cache).",
)
THRESHOLD = click.option(
    "--threshold",
    type=float,
    help="Anomaly score above which /score flags a sample [default: the threshold of an "
    "AnomalyDetector saved in RUN, else the 99th percentile of the reference data's "
    "training scores].",
)


@cli.command(
    epilog="""\b
Examples:
  autoencoders export runs/conv -o model.onnx     (also model.encoder.onnx, model.decoder.onnx)
  autoencoders export runs/conv --format pt2 -o model.pt2      (torch.export programs)
"""
)
@RUN
@click.option(
    "--format",
    "format_",
    type=click.Choice(["onnx", "pt2"]),
    default="onnx",
    show_default=True,
    help="onnx (needs the onnx extra) or pt2 (a torch.export program, for PyTorch runtimes).",
)
@click.option("-o", "--output", required=True, type=click.Path(), help="File for the full model.")
def export(run, format_, output) -> None:
    """Export a saved model, its encoder and its decoder, with a dynamic batch axis.

    The graphs include the model's scaling: they take float32 data in the training
    data's units and give what predict, transform and inverse_transform give.
    """
    from autoencoders.export import export_model

    for path in export_model(load_model(run, device="cpu"), output, format=format_):
        click.echo(f"wrote {path}")


@cli.command(
    epilog="""\b
Examples:
  autoencoders serve runs/conv                      (http://127.0.0.1:8000: the explorer)
  autoencoders serve runs/conv --port 9000 --threshold 0.2
  curl -s localhost:8000/health
  curl -s -H 'Content-Type: image/png' --data-binary @digit.png localhost:8000/score
  curl -s -F images=@digit.png 'localhost:8000/reconstruct?format=png' -o out.png
"""
)
@RUN
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@DATA
@DATA_DIR
@THRESHOLD
@click.option(
    "--max-batch",
    type=click.IntRange(1, 100_000),
    default=256,
    show_default=True,
    help="Most samples in one request.",
)
@click.option(
    "--max-request-mb",
    type=click.FloatRange(0.001, 1024),
    default=8.0,
    show_default=True,
    help="Largest request body, in MiB.",
)
def serve(run, host, port, data, data_dir, threshold, max_batch, max_request_mb) -> None:
    """Serve a saved model over HTTP, with the latent-space explorer at /.

    POST /encode, /decode, /reconstruct, /score and (variational models) /sample take
    JSON or PNG images and answer JSON, or PNG with ?format=png; GET /health describes
    the model; the schema is at /openapi.json. Needs the serve extra
    (pip install 'autoencoders[serve]'). Binds to localhost unless told otherwise.
    """
    try:
        import uvicorn
    except ImportError:
        raise ParameterError(
            "serving needs the serve extra: pip install 'autoencoders[serve]'"
        ) from None
    from autoencoders.serving.server import build_app
    from autoencoders.serving.service import Limits

    limits = Limits(max_batch=max_batch, max_request_bytes=int(max_request_mb * 2**20))
    app = build_app(run, data=data, data_dir=data_dir, threshold=threshold, limits=limits)
    click.echo(
        f"serving {run} on http://{host}:{port} (explorer at /, API schema at /openapi.json)"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


@cli.command(
    epilog="""\b
Examples:
  autoencoders explorer runs/conv                   (writes runs/conv/explorer.html)
  autoencoders explorer runs/shallow --data mnist -o shallow.html
"""
)
@RUN
@DATA
@DATA_DIR
@THRESHOLD
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="[default: RUN/explorer.html; for zoo:NAME, NAME-explorer.html here]",
)
def explorer(run, data, data_dir, threshold, output) -> None:
    """Write the latent-space explorer as one static HTML page (no server needed).

    Without a server, clicks on the plane show the nearest of a grid of precomputed
    decodings and drawing is off; `autoencoders serve RUN` decodes and encodes live.
    """
    from autoencoders.serving.explorer import write_explorer
    from autoencoders.serving.server import load_scoring, reference_data

    reference = reference_data(run, data, data_dir=data_dir)
    estimator, anomaly = load_scoring(run, reference, threshold)
    from autoencoders import zoo

    # A zoo model's folder is the installed package's: its page goes to the working folder.
    default = (
        Path(f"{Path(run).name}-explorer.html") if zoo.is_zoo(run) else Path(run) / "explorer.html"
    )
    path = write_explorer(estimator, reference.shown, anomaly, output or default)
    click.echo(f"wrote {path}")
