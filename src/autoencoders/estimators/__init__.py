"""The scikit-learn estimators, one per model family, and the table from model names to them.

.. _training-options:

Every family shares how it trains: ``optimizer`` (``adam``, ``adadelta``, ``sgd``),
``learning_rate`` (None: 4e-3 for Adam, 1.0 for Adadelta, 1e-2 for SGD), ``batch_size``,
``epochs``, ``validation_split``, ``early_stopping`` (patience in epochs on the
validation loss, or the training loss without validation data; the best weights are
restored), ``lr_schedule`` (``cosine``: a warm-up over 5% of the steps, at most 100,
then annealing to zero; measured to end lower than a constant rate on the classic MNIST
models, benchmarks/results/classics.md), ``gradient_clip``, ``precision`` (``bf16``:
bfloat16 autocast, faster where the hardware multiplies bf16 natively, slower where it
does not; ``auto``: bf16 where a matmul timed once per process says it is faster, else
fp32), ``compile`` (``torch.compile`` the training step), ``shuffle``, ``scaling``
(``auto``: images and data in [0, 1] or uint8 to [0, 1], other tables standardised;
remembered, so new data is treated the same), ``random_state`` (bit-for-bit reproducible
CPU runs), ``device`` and ``verbose``."""

from __future__ import annotations

from pathlib import Path

from autoencoders.errors import ParameterError
from autoencoders.estimators.base import BaseAutoEncoder
from autoencoders.estimators.deterministic import AutoEncoder
from autoencoders.estimators.fitting import OvercompleteWarning, TrainingWarning
from autoencoders.estimators.sequence import SequenceAutoEncoder
from autoencoders.estimators.variational import VariationalAutoEncoder

FAMILIES: tuple[type[BaseAutoEncoder], ...] = (
    AutoEncoder,
    VariationalAutoEncoder,
    SequenceAutoEncoder,
)
MODELS: dict[str, type[BaseAutoEncoder]] = {
    model: family for family in FAMILIES for model in family.models
}


def estimator_for(model: str, **params) -> BaseAutoEncoder:
    """The estimator of the family that builds ``model`` (what ``--model NAME`` means).

    Parameters the family does not have are refused with one line naming them.
    """
    try:
        family = MODELS[model]
    except KeyError:
        raise ParameterError(
            f"unknown model {model!r}; choose one of {', '.join(MODELS)}"
        ) from None
    unknown = sorted(set(params) - set(family._get_param_names()))
    if unknown:
        raise ParameterError(
            f"{', '.join(unknown)} do{'es' if len(unknown) == 1 else ''} not apply to "
            f"model={model!r} (a {family.__name__})"
        )
    return family(model, **params)


def load(path: str | Path, *, device: str = "auto") -> BaseAutoEncoder:
    """Rebuild a saved model of any family from its directory; never unpickles."""
    return BaseAutoEncoder.load(path, device=device)


__all__ = [
    "FAMILIES",
    "MODELS",
    "AutoEncoder",
    "BaseAutoEncoder",
    "OvercompleteWarning",
    "SequenceAutoEncoder",
    "TrainingWarning",
    "VariationalAutoEncoder",
    "estimator_for",
    "load",
]
