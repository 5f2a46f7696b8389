"""
Anomalies in a time series
==========================

``SeriesAnomalyDetector`` gives one anomaly score per time step with nothing to pick:
the series is standardised, cut into windows as long as its own period (found by
autocorrelation), a small dense autoencoder learns to rebuild the windows, and each step
is scored by the errors of the windows that cover it. Here a noisy daily-like cycle with
two faults: a sensor stuck at one value, and a burst at twice the frequency.
"""

import matplotlib.pyplot as plt
import numpy as np

from autoencoders.applications import SeriesAnomalyDetector

rng = np.random.default_rng(0)
t = np.arange(3000)
series = np.sin(2 * np.pi * t / 80) + 0.1 * rng.normal(size=t.size)
series[1800:1860] = series[1800]  # stuck for 60 steps
series[2500:2580] = np.sin(2 * np.pi * t[2500:2580] / 40)  # a frequency burst
labels = np.zeros(t.size, int)
labels[1800:1860] = labels[2500:2580] = 1

# %%
# The first 1 200 steps are known to be normal (``train_size``): one model learns from
# them, a second from the whole series, and their scores are averaged. (``epochs``
# is left to pick itself in real use; 20 keeps this page quick to build.)
detector = SeriesAnomalyDetector(train_size=1200, epochs=20, random_state=0).fit(series)
scores = -detector.score_samples(series)
flagged = detector.predict(series) == -1
print(f"window length {detector.window_} (the period is 80)")
print(f"flagged {flagged.sum()} steps, {labels[flagged].sum()} of them in the two faults")

fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 4.5), sharex=True)
top.plot(t, series, linewidth=0.6)
bottom.plot(t, scores, linewidth=0.8, color="C3")
bottom.axhline(detector.threshold_, color="k", linestyle="--", linewidth=0.8)
for axis in (top, bottom):
    axis.fill_between(
        t,
        0,
        1,
        where=labels == 1,
        color="green",
        alpha=0.2,
        transform=axis.get_xaxis_transform(),
        label="true anomaly",
    )
top.set_ylabel("series")
bottom.set_ylabel("anomaly score")
bottom.set_xlabel("step")
top.legend(loc="upper left")
fig.tight_layout()
