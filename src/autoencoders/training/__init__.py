"""Training: objectives, corruptions and the minibatch trainer."""

from autoencoders.training.checkpoint import Checkpoint, TrainState
from autoencoders.training.corruption import Corruption
from autoencoders.training.neighbors import NeighborEmbedding, NeighborGraph
from autoencoders.training.objectives import (
    ContractivePenalty,
    KLSparsity,
    L1Sparsity,
    Objective,
    ReconstructionLoss,
)
from autoencoders.training.trainer import OPTIMIZERS, TrainConfig, Trainer, TrainResult

__all__ = [
    "OPTIMIZERS",
    "Checkpoint",
    "ContractivePenalty",
    "Corruption",
    "KLSparsity",
    "L1Sparsity",
    "NeighborEmbedding",
    "NeighborGraph",
    "Objective",
    "ReconstructionLoss",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "Trainer",
]
