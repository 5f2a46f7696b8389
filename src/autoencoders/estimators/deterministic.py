"""Deterministic autoencoders: one code per sample, from dense, deep and conv networks."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

from sklearn.utils._param_validation import Interval, StrOptions

from autoencoders.data.streaming import ScaledArray
from autoencoders.errors import ParameterError
from autoencoders.estimators import fitting
from autoencoders.estimators.base import BaseAutoEncoder
from autoencoders.estimators.refinement import RefinedCodes
from autoencoders.models.base import Autoencoder
from autoencoders.models.config import ACTIVATIONS
from autoencoders.training import (
    ContractivePenalty,
    KLSparsity,
    L1Sparsity,
    NeighborEmbedding,
    NeighborGraph,
    Objective,
    ReconstructionLoss,
    TrainConfig,
    Trainer,
    recirculation,
)
from autoencoders.training.corruption import horizontal_flip
from autoencoders.training.objectives import STRUCTURAL

DEFAULT_SPARSITY = {"sparse": "l1"}
DEFAULT_SPARSITY_WEIGHT = {"l1": 1e-4, "kl": 0.1}  # l1: Keras's classic l1(10e-5)
DEFAULT_CONTRACTIVE = {"contractive": 1e-4}
REFINE_NEEDS_RECONSTRUCTION = (
    "refine_code fits each code to its own input's reconstruction; a denoising or "
    "paired model's target is not its input: set refine_code=0"
)


class AutoEncoder(BaseAutoEncoder):
    """A deterministic autoencoder with scikit-learn's contract.

    ``transform`` encodes (the encoder on its own), ``inverse_transform`` decodes (the
    decoder on its own), ``predict`` reconstructs and ``score_samples`` gives the
    negative reconstruction error of each sample (higher is more normal).

    Parameters
    ----------
    model : {"dense", "deep", "conv", "resnet", "pca-resnet", "sparse", "contractive", "linear"}
        ``dense`` with no ``hidden`` is the classic shallow 784-32-784; ``deep`` defaults
        to hidden sizes (128, 64); ``conv`` is the Conv+MaxPool ×2 / Conv+UpSampling ×2
        model of the Keras denoising tutorial; ``resnet`` is the model for photographs
        (strided convolutions, residual blocks with GroupNorm, upsampling decoder: see
        :mod:`autoencoders.models.residual`), with a flat code of ``latent_dim`` or a
        spatial one of ``code_channels``; ``pca-resnet`` starts as the training data's
        PCA with ``latent_dim`` components and learns residual corrections to its code
        and its reconstruction, so it begins where PCA ends (the model that beats PCA
        on held-out photographs: :mod:`autoencoders.models.principal`). ``sparse`` and
        ``contractive`` are dense models with that penalty on by default; ``linear`` has
        no nonlinearity at all (trained with MSE it spans the PCA subspace). Variational models are
        :class:`~autoencoders.VariationalAutoEncoder`, sequence models
        :class:`~autoencoders.SequenceAutoEncoder`.
    latent_dim : int or None
        Size of the code. None means 32 for dense models and, for ``conv``, the spatial
        feature map of the classic model (no dense bottleneck).
    hidden : tuple of int or None
        Hidden layer sizes of dense encoders (mirrored in the decoder).
    filters : tuple of int or None
        Channels of the conv encoder's blocks (mirrored in the decoder); None: (32, 32)
        for ``conv``, (64, 128) for ``resnet`` and ``pca-resnet``.
    code_channels : int or None
        ``resnet`` without ``latent_dim``: channels of its spatial code (None: 4), a map
        of 1/2^len(filters) the image's height and width.
    activation : str
        The hidden layers' nonlinearity.
    loss : {"auto", "bce", "cb", "mse", "psnr", "ssim", "ms-ssim"}
        ``auto`` is binary cross-entropy for data scaled to [0, 1], else MSE; ``cb`` is
        the continuous Bernoulli log-likelihood; ``psnr`` is −PSNR of each sample,
        averaged (every image's PSNR counts alike, as in a benchmark's mean PSNR);
        ``ssim`` and ``ms-ssim`` (images over 96 pixels a side) are 1 − the structural
        similarity of each image.
    noise : str or None
        Corruption for a denoising autoencoder: ``gaussian:σ``, ``salt-pepper:p``,
        ``mask:p``; drawn afresh for every batch.
    flip : bool
        Mirror a random half of every training batch left to right (each target with its
        input): the standard augmentation for photographs. Images only.
    sparsity : {"l1", "kl"} or None
        A sparse autoencoder's penalty on the code: ``l1`` adds ``sparsity_weight ·
        Σ|h|`` (default weight 1e-4, Keras's ``activity_regularizer=l1(10e-5)``); ``kl``
        adds ``sparsity_weight · Σ_j KL(ρ ‖ ρ̂_j)`` toward a mean activation
        ``sparsity_target`` = ρ, with a sigmoid code (default weight 0.1).
        ``model="sparse"`` defaults to ``l1``.
    sparsity_weight, sparsity_target : float
        See ``sparsity``.
    contractive : float or None
        Weight of the contractive penalty ‖∂h/∂x‖²_F (``model="contractive"`` defaults
        to 1e-4).
    neighbors : float or None
        Weight of a neighbourhood term on the code: UMAP's loss on the training data's
        15-nearest-neighbour graph (parametric UMAP, Sainburg et al., 2021), so that
        neighbours in the data stay neighbours in the code; what makes a 2-D code a
        good map (MNIST: 5-NN accuracy 0.80 without, 0.91 with; see
        benchmarks/results/embedding.md). The graph is found by exhaustive search (n²
        distances on at most 64 principal components); in-memory data only.
    trainer : {"backprop", "recirculation"}
        ``recirculation`` trains a dense, one-layer, sigmoid autoencoder without
        back-propagation (Hinton & McClelland, 1988), for comparison and teaching.
    init : {"auto", "pca", "random"}
        How the weights start. ``random``: Glorot-uniform (Keras's default), each ReLU
        unit's bias then set so it is active on 95% of a training sample, which keeps
        code units from dying (:func:`autoencoders.models.init_relu_biases_`). ``pca``:
        a model with one dense layer each side starts where PCA ends, both layers set in
        closed form from a training sample (:mod:`autoencoders.models.principal_start`);
        on MNIST's 784-32-784 it reaches in 5 epochs the validation BCE the random start
        reaches in 25. ``auto``: ``pca`` for such models whose code is no wider than
        their input and whose output layer is cheap to fit, ``random`` otherwise.
    refine_code : int
        Adam steps that refine each code against its own reconstruction when encoding,
        after the encoder's guess (iterative inference:
        :mod:`autoencoders.estimators.refinement`); ``transform``, ``predict``,
        ``score_samples`` and ``evaluate`` use the refined codes. The code keeps its
        size; each step costs a pass through the decoder and back. On held-out CIFAR-10
        photos 30 steps add 0.3 to 0.6 dB to a ``pca-resnet``. 0: the encoder's code.
        Only for models that reconstruct their input (not denoising or paired ones);
        ``module_.encoder`` and an exported ONNX encoder give the unrefined code.
    optimizer, learning_rate, batch_size, epochs, validation_split, early_stopping, \
lr_schedule, gradient_clip, precision, compile, shuffle, scaling, random_state, device, \
verbose
        How to train, shared by every family: see :ref:`training options
        <training-options>` in :mod:`autoencoders.estimators`.

    Attributes
    ----------
    module_ : autoencoders.models.Autoencoder
        The trained network; ``module_.encoder`` and ``module_.decoder`` are
        ``nn.Module`` objects usable on their own.
    history_ : list of dict
        Per epoch: ``loss``, ``val_loss`` (with validation data) and ``seconds``.
    loss_, sparsity_, contractive_ : the options in use (``auto`` and defaults resolved).

    Examples
    --------
    >>> from autoencoders import AutoEncoder
    >>> from autoencoders.data import load_dataset
    >>> X = load_dataset("digits").X                      # (1437, 1, 8, 8) in [0, 1]
    >>> ae = AutoEncoder("deep", latent_dim=8, epochs=2, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1437, 8)
    """

    models = ("dense", "deep", "conv", "resnet", "pca-resnet", "sparse", "contractive", "linear")
    losses = ("bce", "cb", "mse", "psnr", *STRUCTURAL)
    default_hidden: ClassVar[dict] = {"deep": (128, 64)}
    default_latent: ClassVar[dict] = dict.fromkeys(
        ("dense", "deep", "sparse", "contractive", "linear"), 32
    )
    _parameter_constraints: ClassVar[dict] = {
        **BaseAutoEncoder._parameter_constraints,
        "flip": ["boolean"],
        "model": [StrOptions(set(models))],
        "filters": [tuple, list, None],
        "code_channels": [Interval(Integral, 1, 4096, closed="both"), None],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "loss": [StrOptions({"auto", *losses})],
        "sparsity": [StrOptions({"l1", "kl"}), None],
        "sparsity_weight": [Interval(Real, 0, None, closed="left"), None],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "contractive": [Interval(Real, 0, None, closed="left"), None],
        "neighbors": [Interval(Real, 0, None, closed="neither"), None],
        "trainer": [StrOptions({"backprop", "recirculation"})],
        "init": [StrOptions({"auto", "pca", "random"})],
        "refine_code": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        model: str = "dense",
        *,
        latent_dim: int | None = None,
        hidden: tuple[int, ...] | None = None,
        filters: tuple[int, ...] | None = None,
        code_channels: int | None = None,
        activation: str = "relu",
        loss: str = "auto",
        noise: str | None = None,
        flip: bool = False,
        sparsity: str | None = None,
        sparsity_weight: float | None = None,
        sparsity_target: float = 0.05,
        contractive: float | None = None,
        neighbors: float | None = None,
        trainer: str = "backprop",
        init: str = "auto",
        refine_code: int = 0,
        optimizer: str = "adam",
        learning_rate: float | None = None,
        batch_size: int = 256,
        epochs: int = 50,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        lr_schedule: str = "cosine",
        gradient_clip: float | None = None,
        precision: str = "fp32",
        compile: bool = False,
        shuffle: bool = True,
        scaling: str = "auto",
        random_state: int | None = None,
        device: str = "auto",
        verbose: int = 0,
    ) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.filters = filters
        self.code_channels = code_channels
        self.activation = activation
        self.loss = loss
        self.noise = noise
        self.flip = flip
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive = contractive
        self.neighbors = neighbors
        self.trainer = trainer
        self.init = init
        self.refine_code = refine_code
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.precision = precision
        self.compile = compile
        self.shuffle = shuffle
        self.scaling = scaling
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _check_settings(self, *, paired: bool, bounded: bool, images: bool) -> None:
        fitting.check_flip(self.flip, images)
        if self.refine_code and (paired or self.noise):
            raise ParameterError(REFINE_NEEDS_RECONSTRUCTION)
        if self.loss_ in ("bce", "cb") and self.model == "linear":
            raise ParameterError("model='linear' has no output nonlinearity; use loss='mse'")
        if self.loss_ in STRUCTURAL and not (images and bounded):
            raise ParameterError(
                f"loss={self.loss_!r} compares images with values in [0, 1]; give images "
                "(n, C, H, W) scaled to [0, 1], or use loss='mse'"
            )
        if self.trainer == "recirculation":  # before the neighbour graph, which takes a while
            recirculation.check_settings(
                noise=bool(self.noise),
                flip=self.flip,
                binarize=False,
                neighbors=bool(self.neighbors),
                compile=self.compile,
            )

    def _resolve_options(self) -> None:
        self.sparsity_ = self.sparsity or DEFAULT_SPARSITY.get(self.model)
        self.contractive_ = (
            self.contractive
            if self.contractive is not None
            else DEFAULT_CONTRACTIVE.get(self.model)
        )

    def _resolved_options(self) -> dict:
        return {"sparsity": self.sparsity_, "contractive": self.contractive_}

    def _sigmoid_output(self, bounded: bool) -> bool:
        return bounded and self.model != "linear"

    def _default_loss(self, bounded: bool) -> str:
        return "bce" if self._sigmoid_output(bounded) else "mse"

    def _architecture(self) -> dict:
        activation = "linear" if self.model == "linear" else self.activation
        return {
            "filters": self._filters(),
            "activation": activation,
            "code_channels": self.code_channels if self.model == "resnet" else None,
        }

    def _code_activation(self) -> str | None:
        """KL sparsity needs codes in (0, 1); small codes stay linear (see the base)."""
        return "sigmoid" if self.sparsity_ == "kl" else super()._code_activation()

    def _init(self) -> str:
        return self.init

    def _inference_model(self) -> Autoencoder | RefinedCodes:
        if not self.refine_code:
            return self.module_
        if self.noise or self.paired_:
            raise ParameterError(REFINE_NEEDS_RECONSTRUCTION)
        # the reconstruction term that training lowered and score_samples reports
        return RefinedCodes(self.module_, self._objective().reconstruction, self.refine_code)

    def _regularised(self) -> bool:
        return bool(self.noise or self.sparsity_ or self.contractive_)

    def _objective(self) -> Objective:
        reconstruction = ReconstructionLoss(self.loss_, self.module_.decoder.output_activation)
        sparsity = None
        if self.sparsity_ is not None:
            weight = self.sparsity_weight
            weight = DEFAULT_SPARSITY_WEIGHT[self.sparsity_] if weight is None else weight
            sparsity = (
                L1Sparsity(weight)
                if self.sparsity_ == "l1"
                else KLSparsity(weight, self.sparsity_target)
            )
        contractive = None
        if self.contractive_:
            contractive = ContractivePenalty(self.contractive_, self.module_.encoder)
        return Objective(reconstruction, sparsity=sparsity, contractive=contractive)

    def _trainer(self, config: TrainConfig, x, seed: int, corruption) -> Trainer:
        if self.trainer == "recirculation":
            return recirculation.RecirculationTrainer(config, self._objective(), seed=seed)
        neighbors = self._neighbor_embedding(x, seed) if self.neighbors else None
        return Trainer(
            config,
            self._objective(),
            corruption=corruption,
            augment=horizontal_flip if self.flip else None,
            seed=seed,
            neighbors=neighbors,
        )

    def _neighbor_embedding(self, x, seed: int) -> NeighborEmbedding:
        if isinstance(x, ScaledArray):
            raise ParameterError(
                "neighbors needs the training data in memory (its neighbour graph compares "
                "every pair of samples); load the array without mmap_mode"
            )
        return NeighborEmbedding(NeighborGraph.build(x, seed=seed), self.neighbors)
