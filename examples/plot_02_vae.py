"""
A variational autoencoder: its manifold, samples and latent space
=================================================================

A VAE's encoder gives a Gaussian over codes, its decoder a distribution over images, and
its prior is a standard normal, so decoding draws from the prior generates new digits.
With a 2-D code the whole learned manifold fits on one page (Kingma & Welling, 2014,
figure 4). The zoo's ``mnist-vae-2d`` (784-256-2, 50 epochs) was trained by::

    python benchmarks/zoo.py mnist-vae-2d
    # or: autoencoders train mnist --model vae --latent-dim 2 --hidden 256 --epochs 50
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from autoencoders import generation, zoo
from autoencoders.data import load_dataset

vae = zoo.load("mnist-vae-2d")
if os.environ.get("AUTOENCODERS_DATA"):
    test = load_dataset("mnist", "test")
    digits, labels = test.X, test.y
else:
    sample = zoo.sample("mnist-vae-2d")
    digits, labels = sample["X"], sample["y"]

# %%
# The manifold: a 20 × 20 grid over the prior's 5%–95% quantiles, decoded.
grid = generation.manifold(vae, n=20)  # (20, 20, 1, 28, 28)
tiles = grid[:, :, 0].transpose(0, 2, 1, 3).reshape(20 * 28, 20 * 28)
plt.figure(figsize=(7, 7))
plt.imshow(tiles, cmap="gray")
plt.axis("off")
plt.title("decoded grid over the 2-D latent plane")

# %%
# Samples: codes drawn from the prior N(0, I), decoded.
samples = vae.sample(32, random_state=0)
fig, axes = plt.subplots(4, 8, figsize=(8, 4))
for axis, image in zip(axes.flat, samples, strict=True):
    axis.imshow(np.squeeze(image), cmap="gray")
    axis.axis("off")

# %%
# Where the test digits land: the posterior means, coloured by digit.
codes = vae.transform(digits)
plt.figure(figsize=(6, 5))
points = plt.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=6)
plt.colorbar(points, label="digit")
plt.xlabel("code 1")
plt.ylabel("code 2")
plt.title(f"{len(digits)} test digits in the VAE's latent plane")
