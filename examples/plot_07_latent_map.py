"""
A 2-D map of the data beside PCA
================================

PCA's best plane is linear; an autoencoder with a 2-unit code bends its plane to the
data. With the neighbour term (``neighbors=w``, UMAP's loss on the training data's
nearest-neighbour graph), neighbours stay neighbours in the code, which is what makes a
2-D code a readable map. Both maps below are of scikit-learn's 8 × 8 digits; the numbers
are the 5-nearest-neighbour accuracy of each map on held-out digits. On MNIST the same
recipe reaches 0.906 against PCA's 0.424 (the embedding benchmark).
"""

import matplotlib.pyplot as plt

from autoencoders import AutoEncoder
from autoencoders.applications.embedding import knn_accuracy, pca_embedding
from autoencoders.data import load_dataset

train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
ae = AutoEncoder(
    "deep", hidden=(128, 64), latent_dim=2, neighbors=10, epochs=60, random_state=0
).fit(train.X)

maps = {
    "PCA": pca_embedding(train.X, test.X),
    "autoencoder (deep, neighbour term)": (ae.transform(train.X), ae.transform(test.X)),
}
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for axis, (name, (train_map, test_map)) in zip(axes, maps.items(), strict=True):
    accuracy = knn_accuracy(train_map, train.y, test_map, test.y)
    points = axis.scatter(test_map[:, 0], test_map[:, 1], c=test.y, cmap="tab10", s=8)
    axis.set_title(f"{name}: 5-NN accuracy {accuracy:.3f}", fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
fig.colorbar(points, ax=axes, label="digit")
