"""Shared fixtures: an isolated dataset cache per test session, and the real data when present."""

from __future__ import annotations

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
