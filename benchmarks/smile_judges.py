"""The smile judges of benchmarks/photos.py: classifiers trained on the labelled training
faces that say whether a (moved) face smiles."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline


def linear_judge(train: np.ndarray, smiling: np.ndarray) -> Pipeline:
    """Logistic regression on whitened principal components of the pixels."""
    judge = make_pipeline(
        PCA(128, whiten=True, random_state=0), LogisticRegression(C=0.1, max_iter=2000)
    )
    return judge.fit(train.reshape(len(train), -1), smiling)


class CNNJudge:
    """A small CNN smile classifier (conv-BatchNorm-ReLU-pool ×4, random flips, 8 epochs
    of cosine-annealed Adam): a judge that, unlike a linear one on pixels, is not moved
    simply by adding the pixels' class difference."""

    def __init__(self, train: np.ndarray, smiling: np.ndarray, epochs: int = 8) -> None:
        torch.manual_seed(0)
        layers, width = [], 1
        for out in (16, 32, 64, 64):
            layers += [torch.nn.Conv2d(width, out, 3, 1, 1), torch.nn.BatchNorm2d(out)]
            layers += [torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            width = out
        head = [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Dropout(0.3)]
        self.net = torch.nn.Sequential(*layers, *head, torch.nn.Linear(width, 1))
        optimiser = torch.optim.Adam(self.net.parameters(), 2e-3)
        X, y = torch.from_numpy(train), torch.from_numpy(smiling).float()
        steps = epochs * -(-len(X) // 64)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
        self.net.train()
        for _ in range(epochs):
            for batch in torch.randperm(len(X)).split(64):
                x = X[batch]
                x = torch.where(torch.rand(len(x), 1, 1, 1) < 0.5, x.flip(-1), x)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    self.net((x - 0.5) / 0.25)[:, 0], y[batch]
                )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        self.net.eval()

    @torch.no_grad()
    def predict(self, X: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(X, np.float32)).reshape(-1, 1, 64, 64)
        logits = torch.cat([self.net((b - 0.5) / 0.25)[:, 0] for b in x.split(512)])
        return (logits > 0).numpy().astype(int)


def verdicts(judges: dict, faces: np.ndarray) -> dict[str, np.ndarray]:
    """Each judge's 0/1 smiling verdict on each face."""
    faces = np.clip(faces, 0, 1).astype(np.float32)
    flat = faces.reshape(len(faces), -1)
    return {
        name: judge.predict(flat if name == "linear" else faces) for name, judge in judges.items()
    }


def called_smiling(judges: dict, faces: np.ndarray) -> dict:
    return {f"smiling_{name}": float(v.mean()) for name, v in verdicts(judges, faces).items()}
