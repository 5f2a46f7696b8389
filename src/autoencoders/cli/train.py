"""The train command: options for every family, one process or several, a run written."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import click

from autoencoders.cli.app import cli
from autoencoders.cli.options import data_options, int_list, noise, read_data, summary
from autoencoders.data import BUILTIN_DATASETS, hold_out
from autoencoders.errors import ParameterError
from autoencoders.estimators import (
    MODELS,
    AutoEncoder,
    BaseAutoEncoder,
    VariationalAutoEncoder,
    estimator_for,
)
from autoencoders.runs import train_run
from autoencoders.training import distributed


class _RelaunchableCommand(click.Command):
    """Remembers its own arguments, so that ``--nproc`` can rerun it in N processes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["autoencoders.argv"] = [ctx.info_name, *args]
        return super().parse_args(ctx, args)


@cli.command(
    cls=_RelaunchableCommand,
    epilog="""\b
Examples:
  autoencoders train digits --model conv --epochs 100 --out runs/conv
  autoencoders train mnist --model dense --latent-dim 32 --epochs 50 --out runs/shallow
  autoencoders train mnist --model deep --out runs/deep
  autoencoders train mnist --model conv --noise gaussian:0.5 --batch-size 128 --out runs/denoise
  autoencoders train table.csv --label-column class --hidden 16 --latent-dim 4 --out runs/tab
  autoencoders train gray/ --target color/ --model conv --out runs/colorize
  autoencoders train mnist --model sparse --out runs/sparse
  autoencoders train mnist --model dense --latent-dim 64 --sparsity kl --out runs/kl
  autoencoders train mnist --model conv --epochs 20 --resume runs/conv   (after a crash)
  autoencoders train mnist --model vae --binarize --epochs 100 --out runs/vae
  autoencoders train mnist --model vae --latent-dim 2 --out runs/vae2d
  autoencoders train mnist --model conv --log tensorboard --out runs/conv
  autoencoders train big.npy --model dense --nproc 2 --out runs/big   (data-parallel)
  torchrun --nnodes 2 --nproc-per-node 8 --node-rank R --rdzv-endpoint HOST:29500 \\
    -m autoencoders train big.npy --model conv --batch-size 1024 --out runs/cluster
""",
)
@click.argument("data")
@click.option(
    "--model",
    type=click.Choice(list(MODELS)),
    default="dense",
    show_default=True,
    help="dense (784-32-784 by default), deep (128-64-32), conv, sparse (L1 code penalty), "
    "contractive (Jacobian penalty), linear (no nonlinearity: PCA's subspace), "
    "vae (512-256-32, variational), hvae (two stochastic layers), conv-vae, resnet and "
    "resnet-vae (for photographs), pca-resnet (photographs: starts as PCA with --latent-dim "
    "components and learns residual corrections).",
)
@click.option(
    "--latent-dim",
    type=click.IntRange(1, 1_000_000),
    help="Code size [default: 32 for dense models; conv keeps its spatial code].",
)
@click.option("--hidden", callback=int_list, help="Hidden sizes of a dense encoder, e.g. 128,64.")
@click.option(
    "--filters",
    callback=int_list,
    help="Channels of the conv encoder's blocks [default: 32,32 for conv, 64,128 for resnet "
    "and pca-resnet].",
)
@click.option(
    "--code-channels",
    type=click.IntRange(1, 4096),
    help="resnet without --latent-dim: channels of its spatial code [default: 4].",
)
@click.option(
    "--activation",
    default="relu",
    show_default=True,
    type=click.Choice(["relu", "tanh", "sigmoid", "elu", "gelu", "linear"]),
)
@click.option(
    "--loss",
    type=click.Choice(
        list(dict.fromkeys(["auto", *AutoEncoder.losses, *VariationalAutoEncoder.losses]))
    ),
    default="auto",
    show_default=True,
    help="auto: BCE for data in [0, 1], else MSE; cb: continuous Bernoulli; psnr: −PSNR "
    "of each image, averaged; gaussian: a learned decoder variance (variational models).",
)
@click.option(
    "--beta",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="Weight of a VAE's KL term (β-VAE).",
)
@click.option(
    "--iwae-samples",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    metavar="K",
    help="Train a VAE on the importance-weighted bound with K samples (IWAE).",
)
@click.option(
    "--prior",
    type=click.Choice(["normal", "vamp"]),
    default="normal",
    show_default=True,
    help="A VAE's prior: N(0, I), or the VampPrior (a mixture of posteriors at learned "
    "pseudo-inputs).",
)
@click.option(
    "--pseudo-inputs",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    metavar="K",
    help="Components of the VampPrior.",
)
@click.option(
    "--top-latent-dim",
    type=click.IntRange(1, 1_000_000),
    help="hvae: size of the second stochastic layer [default: half of --latent-dim].",
)
@click.option(
    "--binarize",
    is_flag=True,
    help="Dynamic binarisation: a fresh Bernoulli draw of the [0, 1] data every batch.",
)
@click.option(
    "--flip",
    is_flag=True,
    help="Augment images: mirror a random half of every batch left to right.",
)
@click.option(
    "--noise", callback=noise, help="Train a denoiser: gaussian:SIGMA, salt-pepper:P or mask:P."
)
@click.option(
    "--sparsity",
    type=click.Choice(["l1", "kl"]),
    help="Sparse code penalty: l1 (Keras's l1(10e-5)) or kl (toward --sparsity-target).",
)
@click.option("--sparsity-weight", type=click.FloatRange(0), help="Weight of that penalty.")
@click.option(
    "--sparsity-target",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Target mean activation ρ of the kl penalty.",
)
@click.option(
    "--contractive",
    type=click.FloatRange(0),
    metavar="WEIGHT",
    help="Weight of the contractive penalty ‖∂h/∂x‖² [default for --model contractive: 1e-4].",
)
@click.option(
    "--neighbors",
    type=click.FloatRange(0, min_open=True),
    metavar="WEIGHT",
    help="Weight of a term that keeps the data's 15 nearest neighbours near in the code "
    "(parametric UMAP): for 2-D maps, e.g. --latent-dim 2 --neighbors 1.",
)
@click.option(
    "--optimizer", type=click.Choice(["adam", "adadelta", "sgd"]), default="adam", show_default=True
)
@click.option(
    "--trainer",
    type=click.Choice(["backprop", "recirculation"]),
    default="backprop",
    show_default=True,
    help="recirculation: Hinton & McClelland's (1988) learning without back-propagation, "
    "for a dense model with one sigmoid code layer (--activation sigmoid).",
)
@click.option(
    "--init",
    type=click.Choice(["auto", "pca", "random"]),
    default="auto",
    show_default=True,
    help="How the weights start. pca: a one-layer dense model starts where PCA ends "
    "(fitted in closed form; MNIST's 784-32-784 gets in 5 epochs where random gets in 25); "
    "auto: pca where it applies; random: Glorot-uniform.",
)
@click.option(
    "--refine-code",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    metavar="STEPS",
    help="Adam steps that refine each code against its own reconstruction when encoding "
    "(the report's scores, transform, predict): +0.3 to +0.6 dB on photographs at 30.",
)
@click.option(
    "--lr",
    "learning_rate",
    type=click.FloatRange(0, 10, min_open=True),
    help="Learning rate [default: adam 4e-3, adadelta 1.0, sgd 1e-2].",
)
@click.option(
    "--lr-schedule",
    type=click.Choice(["cosine", "constant"]),
    default="cosine",
    show_default=True,
    help="cosine anneals the learning rate to 0 by the last epoch.",
)
@click.option(
    "--gradient-clip",
    type=click.FloatRange(0, min_open=True),
    metavar="NORM",
    help="Clip the gradient norm at every step (against exploding gradients).",
)
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16", "auto"]),
    default="fp32",
    show_default=True,
    help="bf16: bfloat16 autocast, faster on CPUs with AVX512-BF16/AMX and recent GPUs; "
    "auto: bf16 where a matmul timed at start-up says it is faster.",
)
@click.option(
    "--compile",
    is_flag=True,
    help="torch.compile the training step: faster steps after seconds of compiling "
    "(on CPU a C++ compiler is needed).",
)
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=256, show_default=True)
@click.option("--epochs", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option(
    "--validation-split",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    help="Fraction of the training data held out to report val_loss.",
)
@click.option(
    "--early-stopping",
    type=click.IntRange(1),
    metavar="PATIENCE",
    help="Stop after PATIENCE epochs without improvement; keep the best weights.",
)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--target", help="Paired training: the DATA to reconstruct (same samples).")
@click.option(
    "--test",
    "test_spec",
    help="Held-out DATA for the metrics [default: the "
    "test split of a built-in dataset, else the training data].",
)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="For DATA without a test split: hold out this fraction (drawn with --seed) "
    "for the metrics, e.g. 0.1.",
)
@click.option("--out", type=click.Path(), help="Run directory to create.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option(
    "--resume",
    type=click.Path(),
    metavar="RUN",
    help="Continue the interrupted run RUN from its last checkpoint (same settings).",
)
@click.option(
    "--log",
    type=click.Choice(["csv", "tensorboard"]),
    default="csv",
    show_default=True,
    help="history.csv is always written; tensorboard adds event files (losses, metrics, "
    "reconstructions, the codes for the projector) in --log-dir. Needs the tensorboard extra.",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False),
    help="TensorBoard folder for this run [default: tensorboard/NAME beside the run].",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--nproc",
    type=click.IntRange(1, 1024),
    default=1,
    show_default=True,
    metavar="N",
    help="Data-parallel training in N processes on this machine (torch.distributed; one "
    "GPU each on CUDA). --batch-size is the global batch, split over them.",
)
@data_options
def train(
    data, target, test_spec, out, overwrite, resume, log, log_dir, quiet, nproc, **options
) -> None:
    """Train an autoencoder on DATA and write a run directory with model and report.

    DATA is digits, mnist, fashion-mnist, a .npy/.npz/.csv file or a folder of images.
    A .npy file is memory-mapped and read a batch at a time, so it may be larger than
    memory. Training is checkpointed every epoch in RUN.partial until the run is
    complete; if it is interrupted, the same command with --resume RUN continues where
    it stopped. Under torchrun (or with --nproc) each process trains on its shard of
    every epoch and the first one alone writes the run.
    """
    if resume and out and Path(out) != Path(resume):
        raise click.UsageError(f"--out {out} and --resume {resume} name different runs")
    out = out or resume
    if not out:
        raise click.UsageError("Missing option '--out' (the run directory to create)")
    if nproc > 1 and options["batch_size"] % nproc:
        raise click.UsageError(
            f"--batch-size {options['batch_size']} does not split evenly over --nproc {nproc}; "
            f"use a multiple of {nproc}"
        )
    if distributed.launched():
        if nproc > 1 and os.environ.get("LOCAL_WORLD_SIZE") != str(nproc):
            raise click.UsageError(
                "under torchrun, leave out --nproc (torchrun starts the processes)"
            )
    elif nproc > 1:
        distributed.launch(nproc, click.get_current_context().meta["autoencoders.argv"])
        return
    with distributed.process_group(options["device"]):
        _train(data, target, test_spec, out, overwrite, resume, log, log_dir, quiet, options)


def _estimator(options: dict, quiet: bool) -> BaseAutoEncoder:
    """The estimator of ``--model``'s family; an option given on the command line that
    the family does not have is refused, one left at its default is dropped."""
    model = options.pop("model")
    params = {"random_state": options.pop("seed"), "verbose": 0 if quiet else 1}
    family = MODELS[model]._get_param_names()
    source = click.get_current_context().get_parameter_source
    for name, value in options.items():
        if name in family or source(name) is not click.core.ParameterSource.DEFAULT:
            params[name] = value
    try:
        return estimator_for(model, **params)
    except ParameterError as error:  # name the options as they were typed
        raise click.UsageError(str(error).replace("_", "-")) from None


def _train(data, target, test_spec, out, overwrite, resume, log, log_dir, quiet, options) -> None:
    """The train command in this process (one rank of several, or the only one)."""
    main = distributed.is_main()
    if not main:  # the other ranks train alongside rank 0, quietly
        warnings.simplefilter("ignore")
    data_args = {k: options.pop(k) for k in ("data_dir", "label_column", "image_size", "limit")}
    holdout, seed = options.pop("holdout"), options["seed"]
    if holdout and (test_spec or data in BUILTIN_DATASETS):
        raise click.UsageError(
            "--holdout is for data without a test split; drop it, or drop --test"
            if test_spec
            else f"--holdout: {data} has its own test split, which the metrics use; drop it"
        )
    estimator = _estimator(options, quiet)
    train_data = read_data(data, "train", dict(data_args))
    target_data = read_data(target, "train", dict(data_args)) if target else None
    test_target = None
    if holdout:
        train_data, test_data, target_data, test_target = hold_out(
            train_data, holdout, seed, paired=target_data
        )
    elif test_spec:
        test_data = read_data(test_spec, "test", dict(data_args))
    elif data in BUILTIN_DATASETS:
        test_data = read_data(data, "test", dict(data_args))
    else:
        test_data = None
    shown = test_data if test_data is not None else train_data
    logger = None
    if log == "tensorboard" and main:
        from autoencoders.training.tensorboard import TensorBoardLogger

        log_dir = Path(log_dir or Path(out).parent / "tensorboard" / Path(out).name)
        images = shown.X[:8] if shown.kind == "image" else None
        logger = TensorBoardLogger(log_dir, estimator, images=images)
    run = train_run(
        estimator,
        train_data,
        out,
        test=test_data,
        target=target_data,
        test_target=test_target,
        overwrite=overwrite,
        resume=bool(resume),
        callbacks=[logger] if logger else (),
    )
    if run is None:  # not rank 0: it wrote nothing
        return
    if logger:
        logger.finish(run.metrics, shown)
    metrics = run.metrics
    click.echo(f"evaluated on {metrics['evaluated_on']}: {summary(metrics['reconstruction'])}")
    if "denoising" in metrics:
        click.echo(
            f"denoising ({estimator.noise}): {summary(metrics['denoising'])} "
            f"(noisy input PSNR {metrics['denoising'].get('noisy_psnr', float('nan')):.4g})"
        )
    click.echo(f"report: {Path(out) / 'report.html'}")
    if logger:
        click.echo(f"tensorboard: tensorboard --logdir {logger.log_dir.parent}")
