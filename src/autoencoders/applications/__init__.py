"""What autoencoders are used for, each built on the estimators of :mod:`autoencoders`."""

from autoencoders.applications.anomaly import AnomalyDetector, default_model
from autoencoders.applications.series import SeriesAnomalyDetector

__all__ = ["AnomalyDetector", "SeriesAnomalyDetector", "default_model"]
