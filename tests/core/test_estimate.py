"""Job resource estimates: hand-computed from the formula in albench.estimate."""

from __future__ import annotations

from albench.config import DatasetConfig, TrainConfig
from albench.estimate import BASE_MEM_MB, images_trained, job_estimate


def test_images_trained_counts_epochs_times_labeled():
    assert images_trained(TrainConfig(epochs=200, batch_size=128), 1000) == 200_000
    assert images_trained(TrainConfig(epochs=3, batch_size=64), 10) == 30


def test_estimate_grows_with_the_preset_size():
    settings = DatasetConfig.from_dict("cifar10", {"budget": 1000, "model": "resnet18"})
    train = TrainConfig(epochs=200)
    small = job_estimate(settings, train, 1_000, 10_000, (32, 32, 3))
    large = job_estimate(settings, train, 10_000, 10_000, (32, 32, 3))
    # 2 × 200,000 images at 1,500/s = 267 s; scoring 20,000 at 6,000/s = 3 s → 5 min + 5
    assert small.runtime_min == 10 and large.runtime_min > 3 * small.runtime_min
    # (1,000 + 10,000) images of 3,072 B × 9 copies ≈ 290 MB, × 2 margin
    assert small.mem_mb == int(BASE_MEM_MB + 2 * 11_000 * 3072 * 9 / 2**20)
    assert large.mem_mb > small.mem_mb
