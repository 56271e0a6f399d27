"""Fixtures for the method tests: a tiny two-stage backbone and a single-thread torch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import Tensor, nn

from albench.models.base import Backbone


class ToyBackbone(Backbone):
    """Two conv stages: (B, 3, 8, 8) → stage maps (B, 4, 4, 4) and (B, 6, 2, 2); 5 classes."""

    num_classes = 5
    embedding_dim = 6
    stage_channels = (4, 6)

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.stage2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.head = nn.Linear(6, 5)

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        f1 = torch.relu(self.stage1(x))  # (B, 4, 4, 4)
        f2 = torch.relu(self.stage2(f1))  # (B, 6, 2, 2)
        return f2.mean(dim=(2, 3)), [f1, f2]


@pytest.fixture
def toy_backbone() -> ToyBackbone:
    torch.manual_seed(0)
    return ToyBackbone()


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a training-heavy test on one thread (2-thread CPU contention makes tiny ops slow)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
