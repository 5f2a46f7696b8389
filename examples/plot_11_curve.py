"""
A nonlinear autoencoder beats PCA on a curve
============================================

Points near the parabola y = x² lie on a 1-D curve that no straight line follows. One
principal component projects them onto a line; a nonlinear autoencoder with a 1-unit
code learns the curve itself, and its reconstruction error is far smaller.
"""

import matplotlib.pyplot as plt

from autoencoders.theory import curve_vs_pca

comparison = curve_vs_pca(n=1000, noise=0.01, epochs=200, random_state=0)
ratio = comparison.pca_mse / comparison.autoencoder_mse
print(
    f"MSE: PCA(1) {comparison.pca_mse:.5f}, 1-D autoencoder {comparison.autoencoder_mse:.6f} "
    f"({ratio:.0f}× lower)"
)

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for axis, (name, rebuilt) in zip(
    axes,
    {
        "PCA, 1 component": comparison.pca,
        "autoencoder, 1-unit code": comparison.autoencoder,
    }.items(),
    strict=True,
):
    axis.scatter(*comparison.data.T, s=4, color="0.7", label="data")
    axis.scatter(*rebuilt.T, s=4, color="C3", label="reconstruction")
    axis.set_title(name)
    axis.set_xlabel("x")
axes[0].set_ylabel("y")
axes[0].legend()
fig.tight_layout()
