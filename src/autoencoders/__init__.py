"""autoencoders: build, train, apply and understand autoencoders with PyTorch.

>>> from autoencoders import AutoEncoder
>>> from autoencoders.data import load_dataset
>>> digits = load_dataset("digits")
>>> ae = AutoEncoder("conv", latent_dim=16, epochs=2, random_state=0).fit(digits.X)
>>> codes = ae.transform(digits.X)          # the encoder on its own: (1437, 16)
>>> images = ae.inverse_transform(codes)    # the decoder on its own
"""

__version__ = "0.1.0"

from autoencoders.errors import AutoencodersError, DataError, ModelFileError, TrainingError
from autoencoders.estimators import (
    AutoEncoder,
    SequenceAutoEncoder,
    VariationalAutoEncoder,
    estimator_for,
    load,
)

__all__ = [
    "AutoEncoder",
    "AutoencodersError",
    "DataError",
    "ModelFileError",
    "SequenceAutoEncoder",
    "TrainingError",
    "VariationalAutoEncoder",
    "__version__",
    "estimator_for",
    "load",
]
