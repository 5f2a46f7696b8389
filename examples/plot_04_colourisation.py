"""
Black-and-white to colour
=========================

Trained on pairs (grey photograph → colour photograph), the zoo's ``cifar-colour``
model keeps the grey input as the luminance and predicts only the two chroma channels,
so its output never loses the grey image's detail. These photographs come from the
CIFAR-10 test images the model never saw. Trained with::

    python benchmarks/zoo.py cifar-colour
    # in Python: AutoEncoder("resnet", code_channels=8).fit(grey_images, colour_images)

It learns plausible colours for sky, grass and skin, and stays grey where it cannot
tell (a red car and a blue one look the same in grey): measured against the originals
it beats the grey image itself only a little (see the photographs benchmark).
"""

import matplotlib.pyplot as plt
import numpy as np

from autoencoders import zoo
from autoencoders.data.image_folder import luminance

model = zoo.load("cifar-colour")
photos = zoo.sample("cifar-colour")["X"][:8]  # uint8 (8, 3, 32, 32)
grey = luminance(photos)  # ITU-R BT.601 grey, (8, 1, 32, 32)
coloured = model.predict(grey)
print("PSNR / SSIM against the originals:", zoo.evaluate(model, "colourise", photos))

rows = {"grey input": np.repeat(grey, 3, 1), "colourised": coloured, "original": photos}
fig, axes = plt.subplots(3, len(photos), figsize=(len(photos) * 1.2, 3.9))
for i, (label, images) in enumerate(rows.items()):
    for j, image in enumerate(images):
        axes[i, j].imshow(np.clip(image.transpose(1, 2, 0), 0, 255).astype(np.uint8))
        axes[i, j].axis("off")
    axes[i, 0].set_title(label, fontsize=9, loc="left")
fig.tight_layout()
