"""
Compressing images with a learned codec
=======================================

``ImageCodec`` is an autoencoder whose code is quantised and entropy-coded: the file is
the code, its length the rate, and λ trades rate against distortion (Ballé et al.).
The zoo's ``mnist-codec`` (λ = 0.03) compresses a digit into a few dozen bytes, header
included, where PNG needs about 265. The command line does the same::

    autoencoders compress zoo:mnist-codec digits/ -o compressed/
    autoencoders decompress zoo:mnist-codec compressed/*.aec -o restored/
"""

import io

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from autoencoders import zoo

codec = zoo.load("mnist-codec")
digits = zoo.sample("mnist-codec")["X"][:10]

# %%
# One file per digit: encode to bytes, decode back, and compare with PNG.
files = [codec.encode_bytes(digit[None]) for digit in digits]
decoded = np.concatenate([codec.decode_bytes(data) for data in files])


def png_bytes(image: np.ndarray) -> int:
    buffer = io.BytesIO()
    Image.fromarray(image[0]).save(buffer, format="PNG", optimize=True)
    return len(buffer.getvalue())


for data, digit in zip(files[:3], digits[:3], strict=True):
    print(f"{len(data)} bytes (PNG: {png_bytes(digit)} bytes)")
print("on these digits:", codec.evaluate(digits))

fig, axes = plt.subplots(2, len(digits), figsize=(len(digits), 2.4))
for j in range(len(digits)):
    axes[0, j].imshow(digits[j, 0], cmap="gray")
    axes[1, j].imshow(decoded[j, 0], cmap="gray")
    axes[1, j].set_title(f"{len(files[j])} B", fontsize=8)
    axes[0, j].axis("off")
    axes[1, j].axis("off")
axes[0, 0].set_title("original", fontsize=8, loc="left")
fig.tight_layout()
