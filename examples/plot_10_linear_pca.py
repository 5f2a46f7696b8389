"""
A linear autoencoder is PCA
===========================

A linear encoder and decoder trained with squared error span the same subspace as the
first k principal components (Baldi & Hornik, 1989), though not with the same basis:
the principal angles between the two subspaces are near zero, and so is the difference
in reconstruction error. Here on the 64 pixels of scikit-learn's 8 × 8 digits, k = 8.
"""

import matplotlib.pyplot as plt
from sklearn.decomposition import PCA

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset
from autoencoders.theory import decoder_matrix, linear_autoencoder_vs_pca

X = load_dataset("digits", "train").X.reshape(-1, 64) / 16.0
comparison = linear_autoencoder_vs_pca(X, n_components=8, epochs=200, random_state=0)
print(f"largest principal angle between the subspaces: {comparison.max_angle_degrees:.2f}°")
print(f"MSE: linear autoencoder {comparison.autoencoder_mse:.5f}, PCA {comparison.pca_mse:.5f}")

# %%
# The decoder's 8 columns (top) are a basis of PCA's subspace, not PCA's own basis
# (bottom): any rotation of it reconstructs as well.
ae = AutoEncoder(
    "linear",
    latent_dim=8,
    epochs=200,
    batch_size=64,
    learning_rate=1e-2,
    scaling="none",
    random_state=0,
).fit(X)
bases = {"decoder columns": decoder_matrix(ae).T, "principal components": PCA(8).fit(X).components_}
fig, axes = plt.subplots(2, 8, figsize=(9, 2.6))
for row, (name, basis) in enumerate(bases.items()):
    for j in range(8):
        axes[row, j].imshow(basis[j].reshape(8, 8), cmap="RdBu")
        axes[row, j].axis("off")
    axes[row, 0].set_title(name, fontsize=9, loc="left")
fig.tight_layout()
