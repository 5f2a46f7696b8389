"""What autoencoders are used for, each built on the :class:`~autoencoders.AutoEncoder`."""

from autoencoders.applications.anomaly import AnomalyDetector, default_model

__all__ = ["AnomalyDetector", "default_model"]
