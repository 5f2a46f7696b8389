"""Autoencoder networks, built from a :class:`ModelConfig` by one registry."""

# Importing the model modules registers their builders.
from autoencoders.models import (  # noqa: F401
    conv,
    dense,
    hierarchical,
    principal,
    recurrent,
    residual,
    variational,
)
from autoencoders.models.base import (
    Autoencoder,
    Decoder,
    code_shape,
    glorot_init_,
    init_output_bias_,
    init_relu_biases_,
)
from autoencoders.models.config import ModelConfig
from autoencoders.models.hierarchical import HierarchicalVAE
from autoencoders.models.registry import available_models, build_model, register_model
from autoencoders.models.variational import GaussianEncoder, VampPrior, VariationalAutoencoder

__all__ = [
    "Autoencoder",
    "Decoder",
    "GaussianEncoder",
    "HierarchicalVAE",
    "ModelConfig",
    "VampPrior",
    "VariationalAutoencoder",
    "available_models",
    "build_model",
    "code_shape",
    "glorot_init_",
    "init_output_bias_",
    "init_relu_biases_",
    "register_model",
]
