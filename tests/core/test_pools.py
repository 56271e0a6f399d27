"""Long-tailed pools and initial sets against the formula and the TiDAL code's published sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from albench.config import PoolConfig
from albench.pools import (
    LabeledSet,
    Pool,
    build_pool,
    initial_labeled_set,
    long_tailed_counts,
)


def balanced_labels(num_classes: int, per_class: int) -> np.ndarray:
    return np.repeat(np.arange(num_classes), per_class)


@pytest.mark.parametrize(
    ("num_classes", "ratio", "pool_size", "head", "tail"),
    [  # the TiDAL code's make_imbalance: 50,000 samples, one seed per class removed first
        (10, 10, 20_436, 4_999, 499),
        (10, 100, 12_413, 4_999, 49),
        (100, 10, 19_641, 499, 49),
        (100, 100, 10_929, 499, 4),
    ],
)
def test_exp_pool_sizes_match_the_tidal_code(num_classes, ratio, pool_size, head, tail):
    labels = balanced_labels(num_classes, 50_000 // num_classes)
    pool = build_pool(labels, num_classes=num_classes, imbalance_ratio=ratio, seed=3)
    assert pool.size == pool_size
    without_seed = np.asarray(pool.class_counts) - 1
    assert without_seed[0] == head and without_seed[-1] == tail
    assert pool.n_max == head


def test_exp_counts_follow_the_formula_class_by_class():
    n_max, num_classes, ratio = 4_999, 10, 10
    expected = [math.floor(n_max * ratio ** (-i / (num_classes - 1))) for i in range(num_classes)]
    assert long_tailed_counts(n_max, num_classes, ratio, "exp") == expected
    assert expected[0] == 4_999 and expected[4] == 1_796 and expected[9] == 499


def test_step_profile_halves_the_classes():
    assert long_tailed_counts(5_000, 10, 10, "step") == [5_000] * 5 + [500] * 5
    assert long_tailed_counts(5_000, 3, 100, "step") == [5_000, 50, 50]


def test_ratio_one_keeps_the_whole_training_set():
    labels = balanced_labels(10, 100)
    pool = build_pool(labels, num_classes=10, imbalance_ratio=1, seed=0)
    assert pool.size == 1_000
    assert sorted(pool.indices.tolist()) == list(range(1_000))


def test_head_order_chooses_the_head_classes():
    labels = balanced_labels(4, 101)
    pool = build_pool(
        labels,
        num_classes=4,
        imbalance_ratio=100,
        config=PoolConfig(head_order=[3, 2, 1, 0]),
        seed=0,
    )
    counts = np.asarray(pool.class_counts) - 1
    assert counts.tolist() == [1, 4, 21, 100]  # int(100 * 0.01 ** (i/3)) for i = 3, 2, 1, 0


def test_pool_members_have_the_recorded_counts_and_no_duplicates():
    labels = np.random.default_rng(0).integers(0, 5, size=2_000)
    pool = build_pool(labels, num_classes=5, imbalance_ratio=10, seed=1)
    assert len(np.unique(pool.indices)) == pool.size
    assert np.bincount(labels[pool.indices], minlength=5).tolist() == pool.class_counts
    assert np.array_equal(pool.indices[: len(pool.reserved)], pool.reserved)


def test_same_seed_gives_byte_identical_pool_and_initial_files(tmp_path):
    labels = balanced_labels(10, 300)
    blobs = []
    for run in range(2):
        pool = build_pool(labels, num_classes=10, imbalance_ratio=10, seed=7)
        initial = initial_labeled_set(pool, labels, size=50, seed=7)
        pool.save(tmp_path / f"pool{run}.json")
        initial.save(tmp_path / f"initial{run}.json")
        blobs.append(
            (
                (tmp_path / f"pool{run}.json").read_bytes(),
                (tmp_path / f"initial{run}.json").read_bytes(),
            )
        )
    assert blobs[0] == blobs[1]
    other = build_pool(labels, num_classes=10, imbalance_ratio=10, seed=8)
    assert not np.array_equal(other.indices, Pool.load(tmp_path / "pool0.json").indices)


def test_initial_seed_is_independent_of_the_pool_draw():
    labels = balanced_labels(10, 300)
    pool = build_pool(labels, num_classes=10, imbalance_ratio=10, seed=0)
    a = initial_labeled_set(pool, labels, size=60, seed=1)
    b = initial_labeled_set(pool, labels, size=60, seed=2)
    assert not np.array_equal(a.indices, b.indices)
    assert build_pool(labels, num_classes=10, imbalance_ratio=10, seed=0).indices.tolist() == (
        pool.indices.tolist()
    )


def test_random_initial_set_starts_with_one_seed_per_class():
    labels = balanced_labels(10, 300)
    pool = build_pool(labels, num_classes=10, imbalance_ratio=100, seed=0)
    initial = initial_labeled_set(pool, labels, size=40, strategy="random", seed=0)
    assert len(initial.indices) == 40 and len(np.unique(initial.indices)) == 40
    assert set(labels[initial.indices[:10]].tolist()) == set(range(10))
    assert set(initial.indices.tolist()) <= set(pool.indices.tolist())


def test_balanced_initial_set_and_fraction():
    labels = balanced_labels(4, 50)
    pool = build_pool(labels, num_classes=4, imbalance_ratio=1, seed=0)
    initial = initial_labeled_set(pool, labels, fraction=0.11, strategy="balanced", seed=0)
    assert len(initial.indices) == 22  # round(0.11 * 200)
    assert np.bincount(labels[initial.indices]).tolist() == [6, 6, 5, 5]


def test_labeled_set_round_trip_and_duplicate_rejection(tmp_path):
    labeled = LabeledSet(indices=np.array([5, 1, 9]), cycle=2, seed=0, origin={"kind": "x"})
    labeled.save(tmp_path / "l.json")
    again = LabeledSet.load(tmp_path / "l.json")
    assert again.indices.tolist() == [5, 1, 9] and again.cycle == 2
    data = labeled.to_json()
    data["indices"] = [1, 1]
    with pytest.raises(ValueError, match="duplicate"):
        LabeledSet.from_json(data)


@pytest.mark.parametrize("ratio", [0.5, 0, -3, float("nan"), "10"])
def test_ratio_below_one_is_an_error(ratio):
    with pytest.raises(ValueError, match="imbalance ratio"):
        build_pool(balanced_labels(2, 10), num_classes=2, imbalance_ratio=ratio)


def test_budget_larger_than_the_pool_is_an_error_not_a_clip():
    labels = balanced_labels(10, 20)
    pool = build_pool(labels, num_classes=10, imbalance_ratio=10, seed=0)
    with pytest.raises(
        ValueError, match=rf"size 10000 is larger than the pool \({pool.size} samples\)"
    ):
        initial_labeled_set(pool, labels, size=10_000)


def test_other_bad_inputs_name_the_value():
    labels = balanced_labels(3, 10)
    with pytest.raises(ValueError, match="profile: 'linear' is not one of exp, step"):
        PoolConfig(profile="linear")
    with pytest.raises(ValueError, match="head_order must be a permutation"):
        build_pool(
            labels, num_classes=3, imbalance_ratio=2, config=PoolConfig(head_order=[0, 0, 1])
        )
    with pytest.raises(ValueError, match="n_max"):
        build_pool(labels, num_classes=3, imbalance_ratio=2, config=PoolConfig(n_max=50))
    pool = build_pool(labels, num_classes=3, imbalance_ratio=1)
    with pytest.raises(ValueError, match="unknown initial-set strategy 'greedy'"):
        initial_labeled_set(pool, labels, size=5, strategy="greedy")
    with pytest.raises(ValueError, match="smaller than the 3 reserved seeds"):
        initial_labeled_set(pool, labels, size=2)
