"""Random and oracle reference samplers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albench.samplers.base import Need, ScoringContext
from albench.samplers.reference import OracleSampler, RandomSampler

# predictions (argmax) 0,1,2,0,1,2,0,1 against truth: wrong at positions 1, 4, 6
PRED = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
TRUTH = torch.tensor([0, 2, 2, 0, 0, 2, 1, 1])
WRONG = {1, 4, 6}


def _oracle_ctx(seed: int) -> ScoringContext:
    probs = torch.full((8, 3), 0.1)
    probs[torch.arange(8), PRED] = 0.8  # (8, 3)
    return ScoringContext.build(
        candidates=np.arange(50, 58),
        labeled=np.arange(4),
        num_classes=3,
        seed=seed,
        probs=probs,
        true_labels=TRUTH,
    )


class TestOracle:
    def test_fewer_wrong_than_budget_all_wrong(self):
        sel = OracleSampler().select(_oracle_ctx(0), 2)
        assert set(sel.positions.tolist()) <= WRONG
        np.testing.assert_array_equal(sel.scores, [1.0, 1.0])

    def test_shortfall_filled_after_misclassified(self):
        sel = OracleSampler().select(_oracle_ctx(0), 5)
        assert set(sel.positions[:3].tolist()) == WRONG
        assert not set(sel.positions[3:].tolist()) & WRONG
        np.testing.assert_array_equal(sel.scores, [1, 1, 1, 0, 0])
        np.testing.assert_array_equal(sel.all_scores, [0, 1, 0, 0, 1, 0, 1, 0])

    def test_order_is_the_seeded_permutation(self):
        for seed in (0, 1, 2):
            perm = np.random.default_rng(seed).permutation(8).tolist()
            expected = [p for p in perm if p in WRONG] + [p for p in perm if p not in WRONG]
            sel = OracleSampler().select(_oracle_ctx(seed), 8)
            assert sel.positions.tolist() == expected

    def test_misclassified_subset_is_drawn_uniformly(self):
        counts = np.zeros(8)
        for seed in range(3000):
            counts[OracleSampler().select(_oracle_ctx(seed), 1).positions[0]] += 1
        assert counts[[0, 2, 3, 5, 7]].sum() == 0
        np.testing.assert_allclose(counts[[1, 4, 6]] / 3000, 1 / 3, atol=0.04)

    def test_true_labels_row_count_checked(self):
        ctx = _oracle_ctx(0)
        ctx.values[Need.TRUE_LABELS] = TRUTH[:5]
        with pytest.raises(ValueError, match="true_labels must be 1-D with 8 rows"):
            OracleSampler().select(ctx, 1)


class TestRandom:
    def _ctx(self, seed: int, n: int = 10) -> ScoringContext:
        return ScoringContext.build(
            candidates=np.arange(n), labeled=np.arange(0), num_classes=2, seed=seed
        )

    def test_scores_are_the_seeded_uniform_stream(self):
        got = RandomSampler().score(self._ctx(4))
        np.testing.assert_array_equal(got.numpy(), np.random.default_rng(4).random(10))

    def test_each_position_equally_likely(self):
        counts = np.zeros(10)
        for seed in range(1000):
            counts[RandomSampler().select(self._ctx(seed), 3).positions] += 1
        np.testing.assert_allclose(counts / 1000, 0.3, atol=0.05)

    def test_needs_nothing(self):
        assert RandomSampler.needs == frozenset()
