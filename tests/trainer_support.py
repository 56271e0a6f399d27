"""Shared pieces of the trainer tests: learnable toy images, a tiny model, a probe objective."""

from __future__ import annotations

import numpy as np
import torch

from albench.models.small_cnn import SmallCNN
from albench.training.objectives import AuxBatch, AuxiliaryObjective


def quadrant_data(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8×8 noise images whose class (0..3) is the bright quadrant: easy to learn."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.integers(0, 60, (n, 8, 8, 1))
    for i, label in enumerate(labels):
        r, c = divmod(int(label), 2)
        images[i, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] += 180
    return images.astype(np.uint8), labels


def small_model(seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    return SmallCNN(in_channels=1, num_classes=4, widths=(8, 16, 16))


class QuadraticAux(AuxiliaryObjective):
    """loss = ½ w² with one scalar parameter; keeps every batch it receives."""

    name = "quadratic"

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(1.0))
        self.batches: list[AuxBatch] = []

    @property
    def seen(self) -> list[tuple[int, int]]:
        """(epoch, num_epochs) of every batch received."""
        return [(batch.epoch, batch.num_epochs) for batch in self.batches]

    def loss(self, batch: AuxBatch) -> torch.Tensor:
        self.batches.append(batch)
        return 0.5 * self.w**2
