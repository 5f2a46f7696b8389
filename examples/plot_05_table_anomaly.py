"""
Anomalies in a table
====================

An autoencoder trained on mostly normal rows reconstructs normal rows well and unusual
ones badly, so the reconstruction error is an anomaly score. Here: scikit-learn's
breast-cancer table (30 measurements per tumour), with the 357 benign tumours as the
normal class and 20 malignant ones mixed in, unlabelled, as the anomalies to find.
``AnomalyDetector`` follows scikit-learn's outlier API (``predict`` gives +1 / -1).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from autoencoders.applications import AnomalyDetector

X, y = load_breast_cancer(return_X_y=True)
rng = np.random.default_rng(0)
benign, malignant = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
rows = np.concatenate([benign, rng.choice(malignant, 20, replace=False)])
X, is_anomaly = X[rows], (y[rows] == 0).astype(int)

# %%
# No labels are used to fit: the detector sees the 377 rows as they are, drops the
# worst-reconstructed fifth after two quick screening fits, and trains on the rest.
detector = AnomalyDetector(contamination=0.05, random_state=0).fit(X)
scores = -detector.score_samples(X)  # high = anomalous
flagged = detector.predict(X) == -1
print(f"ROC-AUC {roc_auc_score(is_anomaly, scores):.3f}")
print(f"flagged {flagged.sum()} rows, {is_anomaly[flagged].sum()} of them malignant")

# %%
# The scores of the two groups: the malignant tumours sit mostly to the right of the
# threshold.
bins = np.linspace(scores.min(), np.quantile(scores, 0.995), 40)
plt.figure(figsize=(7, 3.5))
plt.hist(scores[is_anomaly == 0], bins=bins, alpha=0.7, label="benign (normal)")
plt.hist(scores[is_anomaly == 1], bins=bins, alpha=0.7, label="malignant (anomalies)")
plt.axvline(detector.threshold_, color="k", linestyle="--", label="threshold")
plt.xlabel("anomaly score (reconstruction error)")
plt.ylabel("rows")
plt.legend()
