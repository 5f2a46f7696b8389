"""The smile part of benchmarks/photos.py: its judges (classifiers trained on the labelled
training faces that say whether a moved face smiles), its measurements and its figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from _common import RESULTS
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from autoencoders.generation import attribute_region, attribute_vector, shift
from autoencoders.metrics import ssim

STRENGTHS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0)
SSIM_LEVELS = (0.9, 0.8, 0.7)  # the bar: ≥ 80% called smiling at SSIM ≥ 0.8
FOCI = (0.0, 1.0, 2.0, 3.0)  # the attribute vector's focus values tried on validation faces


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


def smile_rows(name: str, move, unmoved: np.ndarray, judges: dict) -> list[dict]:
    """``move(strength)`` gives the moved faces; SSIM is taken against ``unmoved``."""
    rows = [{"method": name, "strength": 0.0, **called_smiling(judges, unmoved), "ssim": 1.0}]
    for strength in STRENGTHS:
        moved = np.clip(move(strength), 0, 1).astype(np.float32)
        similarity = ssim(torch.from_numpy(moved), torch.from_numpy(unmoved)).mean()
        rows.append(
            {
                "method": name,
                "strength": strength,
                **called_smiling(judges, moved),
                "ssim": float(similarity),
            }
        )
    return rows


def smiling_at(rows: list[dict], method: str, level: float) -> float:
    """The CNN's smiling fraction where the method's SSIM curve crosses ``level``
    (linear between strengths): the trade-off at one similarity."""
    curve = [r for r in rows if r["method"] == method]
    similarity = [r["ssim"] for r in curve][::-1]  # SSIM falls as the strength grows
    return float(np.interp(level, similarity, [r["smiling_cnn"] for r in curve][::-1]))


def smile_table(rows: list[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| method | strength | called smiling (CNN) | (linear) | SSIM to unmoved |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['method']} | {r['strength']:g} | {r['smiling_cnn']:.3f} "
        f"| {r['smiling_linear']:.3f} | {r['ssim']:.3f} |"
        for r in rows
    ]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines += [
        "",
        "Trade-off, called smiling by the CNN where the SSIM to the unmoved face is:",
        "",
        "| SSIM | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for level in SSIM_LEVELS:
        cells = " | ".join(trade_off_cell(rows, m, level) for m in methods)
        lines.append(f"| {level:g} | {cells} |")
    lines += [
        "",
        "In brackets: the strongest move kept the SSIM above that level; the fraction at it.",
    ]
    return "\n".join(lines) + "\n"


def trade_off_cell(rows: list[dict], method: str, level: float) -> str:
    value = f"{smiling_at(rows, method, level):.3f}"
    reached = min(r["ssim"] for r in rows if r["method"] == method) <= level
    return value if reached else f"({value})"


def choose_foci(model, train, smiling, judges) -> dict[bool, tuple[float, str]]:
    """For the plain move (``False``) and the move within the region (``True``): the
    attribute vector's ``focus`` that the CNN calls smiling most often at SSIM 0.8, and
    what each focus scored. Measured on a seeded tenth of the training faces (non-smiling
    ones moved by vectors and a region from the other nine tenths): held-out faces play
    no part in it. Each focus's vector is computed once and serves both moves."""
    order = np.random.default_rng(1).permutation(len(train))
    val, fit = order[: len(train) // 10], order[len(train) // 10 :]
    plain = train[val][smiling[val] == 0]
    without, with_ = train[fit][smiling[fit] == 0], train[fit][smiling[fit] == 1]
    regions = {False: None, True: attribute_region(without, with_)}
    unmoved = model.predict(plain)
    found: dict[bool, dict[float, float]] = {False: {}, True: {}}
    for focus in FOCI:
        vector = attribute_vector(model, without, with_, focus=focus)
        for regional, region in regions.items():
            rows = smile_rows(
                "v",
                lambda s, v=vector, r=region: shift(model, plain, v, strength=s, region=r),
                unmoved,
                judges,
            )
            found[regional][focus] = smiling_at(rows, "v", 0.8)
    return {
        regional: (
            max(scores, key=scores.get),
            ", ".join(f"{f:g} → {v:.3f}" for f, v in scores.items()),
        )
        for regional, scores in found.items()
    }


def smile_figure(model, plain: np.ndarray, vector, pixel_vector, region) -> None:
    """Each face moved by the code (within the region) and by the pixel difference."""
    strengths = (0.0, *STRENGTHS)
    ours = [shift(model, plain, vector, strength=s, region=region) for s in strengths]
    pixels = [plain + s * pixel_vector for s in strengths]
    fig, axes = plt.subplots(
        2 * len(plain), len(strengths), figsize=(1.3 * len(strengths), 2.6 * len(plain))
    )
    for j, strength in enumerate(strengths):
        axes[0, j].set_title(f"{strength:g}", fontsize=9)
        for i in range(len(plain)):
            for k, row in enumerate((ours, pixels)):
                axis = axes[2 * i + k, j]
                axis.imshow(np.clip(row[j][i, 0], 0, 1), cmap="gray", vmin=0, vmax=1)
                axis.set_xticks([])
                axis.set_yticks([])
                if j == 0:
                    axis.set_ylabel("code" if k == 0 else "pixels", fontsize=8)
    fig.suptitle("smile vector at increasing strength (code: within the region)", fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "photos-smile.png", dpi=90)
    plt.close(fig)
