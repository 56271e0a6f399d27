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


def test_gpu_estimate_by_hand_for_a_tiny_setting():
    from albench.estimate import gpu_estimate

    settings = DatasetConfig.from_dict("digits", {"budget": 10, "model": "small_cnn"})
    train = TrainConfig(epochs=2, batch_size=32, eval_batch_size=256)
    got = gpu_estimate(settings, train, 100, 50, (8, 8, 1), 10, frozenset({"mc_mean_probs"}), 2)
    params = 93_472 + 128 * 10 + 10  # backbone, head weight, head bias
    act = 2**18 // 16  # small_cnn's 256 KiB per 32x32 image, at 8x8
    train_bytes = 4 * params * 4 + 100 * 1 * 12 * 12 * 4 + 32 * act
    score_bytes = (
        params * 4
        + 50 * (2 * 40 + 128 * 4)  # logits, softmax, embeddings
        + 3 * 50 * 40  # BALD's running sums: independent of T
        + 50_000 * 40  # test logits
        + 256 * act // 3
    )
    assert (got.train, got.score) == (train_bytes, score_bytes)
    assert got.peak == int((score_bytes + 2**30) * 1.25)


def test_bald_running_sums_fit_where_the_stacked_passes_did_not():
    from albench.estimate import gpu_estimate

    settings = DatasetConfig.from_dict("inat2018", {"budget": 20_000, "model": "resnet18"})
    args = (settings, TrainConfig(), 100_000, 100_000, (64, 64, 3), 8_142)
    stacked = gpu_estimate(*args, frozenset({"mc_probs"}), 8)
    streamed = gpu_estimate(*args, frozenset({"mc_mean_probs", "mc_mean_entropy"}), 8)
    assert (
        streamed.score + int(2.1 * 100_000 * 8_142 * 4 * 10)
        == stacked.score + 3 * 100_000 * 8_142 * 4
    )
    assert stacked.peak_gb > 80 > streamed.peak_gb
