"""Shared fixtures: an isolated dataset cache per test session, and the real data when present."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("workflow_support", "slurm_cluster")

REPO = Path(__file__).resolve().parents[1]
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's data/cache environment variables."""
    monkeypatch.delenv("ALBENCH_DATA_DIR", raising=False)
    monkeypatch.delenv("ALBENCH_CACHE_DIR", raising=False)
    monkeypatch.delenv("ALBENCH_DEVICE", raising=False)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache root shared by the whole session (preparing FashionMNIST takes ~1 s)."""
    return tmp_path_factory.mktemp("albench-cache")


@pytest.fixture(scope="session")
def digits(session_cache: Path):
    from albench.data import prepare_dataset

    return prepare_dataset("digits", root=session_cache)


@pytest.fixture(scope="session")
def fashion_mnist(session_cache: Path):
    if not FASHION_MNIST_DEBIAN.is_dir():
        pytest.skip(
            "real FashionMNIST needs `apt-get install dataset-fashion-mnist` (.ci/run does it)"
        )
    from albench.data import prepare_dataset

    return prepare_dataset("fashion_mnist", root=session_cache)


# ----------------------------------------------------------------------------- a tiny backbone


# Imported lazily by the fixtures below, so collecting the suite does not need torch.
def _toy_backbone_class():
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

    return ToyBackbone


@pytest.fixture
def toy_backbone():
    import torch

    torch.manual_seed(0)
    return _toy_backbone_class()()


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a training-heavy test on one thread (2-thread CPU contention makes tiny ops slow)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
