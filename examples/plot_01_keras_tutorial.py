"""
The Keras autoencoder tutorial, step by step
============================================

François Chollet's "Building Autoencoders in Keras" trains three models on MNIST: a
shallow 784-32-784 network, a deep stack 784-128-64-32-64-128-784 and a convolutional
denoiser. Here are the same three, as the :doc:`model zoo </zoo>` ships them, trained by::

    autoencoders train mnist --model dense --latent-dim 32 --epochs 50 --batch-size 256
    python benchmarks/zoo.py mnist-dense mnist-deep mnist-conv   # what the zoo ran

or in Python, ``AutoEncoder("dense", latent_dim=32, epochs=50, batch_size=256).fit(X)``.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from autoencoders import zoo
from autoencoders.data import load_dataset

# %%
# The test digits: all 10 000 when the MNIST files are at hand, else the 256 shipped
# with the zoo.
if os.environ.get("AUTOENCODERS_DATA"):
    digits = load_dataset("mnist", "test").X
else:
    digits = zoo.sample("mnist-dense")["X"]
print(digits.shape, digits.dtype)

# %%
# The shallow autoencoder
# -----------------------
# The encoder and the decoder are usable on their own: ``transform`` maps each digit to
# its 32 numbers, ``inverse_transform`` maps 32 numbers back to a digit.
shallow = zoo.load("mnist-dense")
codes = shallow.transform(digits)
decoded = shallow.inverse_transform(codes)
print("codes:", codes.shape, "decoded:", decoded.shape)
print("test metrics:", {k: round(v, 4) for k, v in shallow.evaluate(digits).items()})


def show_rows(rows: dict, n: int = 10) -> None:
    """One row of images per entry of ``rows``, labelled on the left."""
    fig, axes = plt.subplots(len(rows), n, figsize=(n, 1.1 * len(rows)))
    for i, (label, images) in enumerate(rows.items()):
        for j in range(n):
            axes[i, j].imshow(np.squeeze(images[j]), cmap="gray")
            axes[i, j].axis("off")
        axes[i, 0].set_title(label, fontsize=9, loc="left")
    fig.tight_layout()


show_rows({"original": digits, "784-32-784": decoded})

# %%
# The deep stack
# --------------
# Three layers each way reconstruct the same digits with less error, from a code of the
# same size.
deep = zoo.load("mnist-deep")
print("deep test metrics:", {k: round(v, 4) for k, v in deep.evaluate(digits).items()})
show_rows({"original": digits, "shallow": decoded, "deep": deep.predict(digits)})

# %%
# The convolutional denoiser
# --------------------------
# Trained on digits with Gaussian noise (σ = 0.5, clipped to [0, 1]) against the clean
# ones, it restores digits it has never seen under noise it has never seen.
denoiser = zoo.load("mnist-conv")
noisy = denoiser.corrupt(digits)  # the same corruption, seeded
metrics = denoiser.evaluate(digits, noise=denoiser.noise)
print(f"PSNR: noisy {metrics['noisy_psnr']:.2f} dB, denoised {metrics['psnr']:.2f} dB")
show_rows({"noisy": noisy, "denoised": denoiser.predict(noisy), "clean": digits})
