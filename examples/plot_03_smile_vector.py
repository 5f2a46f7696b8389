"""
Making a face smile: the smile vector
=====================================

White (2016, "Sampling Generative Networks") takes the mean code of smiling faces minus
the mean code of non-smiling ones and adds it, with a strength, to the code of any face.
The zoo's ``faces`` model is a residual autoencoder with an 8 × 8 × 2 code trained on
11 000 face photographs (SMILEsmileD, 64 × 64 grey); its smile vector was measured on
the same training faces, with the *region* where smiling and non-smiling faces differ on
average (the mouth and cheeks): the move is kept there, and the rest of each face stays
its unmoved reconstruction. These faces were held out of both. The same from the command
line, on a model of your own::

    autoencoders train smiles/ --model resnet --code-channels 2 --filters 32,64,96 \\
        --holdout 0.1 --epochs 8 --out runs/faces
    autoencoders arithmetic runs/faces smiles/ --without not_smiling --with smiling \\
        --strength 0,1,2,3 --region -o smile.png
"""

import matplotlib.pyplot as plt
import numpy as np

from autoencoders import generation, zoo

faces = zoo.load("faces")
extras = zoo.extras("faces")
smile = extras["smile"]  # mean smiling code - mean non-smiling code
region = extras["smile_region"]  # where the mean smiling and non-smiling faces differ
sample = zoo.sample("faces")
plain = sample["X"][sample["y"] == 0][:5]  # held-out faces that do not smile
print("code shape:", faces.code_shape_, "smile vector:", smile.shape)

# %%
# Each row is one face; the columns add the smile vector at strength 0 (the face as the
# model reconstructs it), 1, 2 and 3.
strengths = [0.0, 1.0, 2.0, 3.0]
moved = [generation.shift(faces, plain, smile, strength=s, region=region) for s in strengths]
fig, axes = plt.subplots(len(plain), len(strengths) + 1, figsize=(6.5, 1.4 * len(plain)))
for i in range(len(plain)):
    row = [plain[i], *(m[i] for m in moved)]
    for j, image in enumerate(row):
        axes[i, j].imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=255)
        axes[i, j].axis("off")
for j, title in enumerate(["photo", *(f"+{s:g} smile" for s in strengths)]):
    axes[0, j].set_title(title, fontsize=9)
fig.tight_layout()

# %%
# Interpolating between two faces: decoding the codes on the straight line between
# them morphs one face into the other.
a, b = sample["X"][0], sample["X"][sample["y"] == 1][0]
path = generation.interpolate(faces, a, b, steps=8)
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for axis, image in zip(axes, path, strict=True):
    axis.imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=255)
    axis.axis("off")
fig.suptitle("from one held-out face to another", fontsize=10)
