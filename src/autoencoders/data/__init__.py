"""Data: built-in datasets, user files and the scaling a model remembers.

>>> from autoencoders.data import load_dataset
>>> train = load_dataset("digits", "train")
>>> train.X.shape, train.kind
((1437, 1, 8, 8), 'image')
"""

from autoencoders.data.datasets import BUILTIN_DATASETS, Dataset, hold_out, load_dataset
from autoencoders.data.scaling import Scaler, fit_scaler, scaler_from_dict
from autoencoders.data.sequences import sliding_windows, windowed

__all__ = [
    "BUILTIN_DATASETS",
    "Dataset",
    "Scaler",
    "fit_scaler",
    "hold_out",
    "load_dataset",
    "scaler_from_dict",
    "sliding_windows",
    "windowed",
]
