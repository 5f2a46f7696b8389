"""
Anomalies among images, with their error maps
=============================================

An autoencoder trained on normal images rebuilds them well and fails on what it has never
seen, and its per-pixel error shows where. Here the zoo's deep MNIST autoencoder, trained
on clean digits only, checks a batch of test digits of which one in eight has a defect, a
scratch or a blot, as a part on a production line might. The model is used as it is
(``FrozenEstimator``): the detector only sets its threshold, on a few clean digits. (The
one-class benchmark, training on one MNIST digit and finding the other nine, gives a
mean ROC-AUC of 0.968.)
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

from autoencoders import zoo
from autoencoders.applications import AnomalyDetector

digits = zoo.sample("mnist-deep")["X"]  # 256 MNIST test digits: uint8, (256, 1, 28, 28)
clean, batch = digits[:96], digits[96:].copy()

rng = np.random.default_rng(0)
defective = rng.choice(len(batch), len(batch) // 8, replace=False)
for k, i in enumerate(defective):
    if k % 2:  # a blot: a bright square
        r, c = rng.integers(4, 18, size=2)
        batch[i, 0, r : r + 6, c : c + 6] = 255
    else:  # a scratch: a bright diagonal line
        r = rng.integers(0, 14)
        for step in range(14):
            batch[i, 0, r + step, 7 + step : 9 + step] = 255
labels = np.isin(np.arange(len(batch)), defective)

detector = AnomalyDetector(FrozenEstimator(zoo.load("mnist-deep")), contamination=0.02)
detector.fit(clean)
scores = -detector.score_samples(batch)
flagged = detector.predict(batch) == -1
print(f"ROC-AUC of the {labels.sum()} defective digits among {len(batch)}: ", end="")
print(f"{roc_auc_score(labels, scores):.3f}")
print(f"flagged {flagged.sum()}, {(flagged & labels).sum()} of them defective")

# %%
# The six most anomalous digits (top), what the model rebuilds (middle: the digit it
# knows, without the defect) and where the error is (bottom, brighter = worse).
worst = np.argsort(scores)[::-1][:6]
reconstructions = detector.model_.predict(batch[worst])
errors = detector.error_map(batch[worst])
fig, axes = plt.subplots(3, 6, figsize=(7, 3.8))
for j, i in enumerate(worst):
    for row, image in enumerate((batch[i], reconstructions[j], errors[j])):
        axes[row, j].imshow(np.squeeze(image), cmap="magma" if row == 2 else "gray")
        axes[row, j].axis("off")
    axes[0, j].set_title("defect" if labels[i] else "clean", fontsize=9)
for row, label in enumerate(("input", "rebuilt", "error")):
    axes[row, 0].text(-3, 14, label, ha="right", va="center", fontsize=9)
fig.tight_layout()
