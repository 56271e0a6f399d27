"""k-center greedy (CoreSet) and BADGE: hand-drawn toys and brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.samplers import SamplerError, get_sampler, scores
from albench.samplers.base import ScoringContext
from albench.samplers.diversity import BADGESampler, CoreSetSampler

# Candidates on a 2-D grid, labeled point at the origin:
#
#   y=3  2
#   y=2        4
#   y=0  L  0        1  3        (L = labeled at (0,0))
#        x=0 1  2    4  5
CANDIDATES = torch.tensor([[1.0, 0.0], [4.0, 0.0], [0.0, 3.0], [5.0, 0.0], [2.0, 2.0]])
ORIGIN = torch.zeros(1, 2)


def _brute_force_k_center(emb: np.ndarray, labeled: np.ndarray, budget: int) -> list[int]:
    """The definition, literally: argmax over candidates of min distance to all centres."""
    centres = list(labeled)
    picked: list[int] = []
    for _ in range(budget):
        best, best_d = -1, -1.0
        for i in range(len(emb)):
            if i in picked:
                continue
            d = min((float(np.linalg.norm(emb[i] - c)) for c in centres), default=math.inf)
            if d > best_d:
                best, best_d = i, d
        picked.append(best)
        centres.append(emb[best])
    return picked


class TestKCenterGreedy:
    def test_hand_drawn_pick_order(self):
        # δ to L: [1, 4, 3, 5, √8] → pick 3 (5); δ: [1, 1, 3, -, √8] → pick 2 (3);
        # δ: [1, 1, -, -, √5] → pick 4 (√5); δ: [1, 1] tie → lowest position 0, then 1.
        pos, dist = scores.k_center_greedy(CANDIDATES, ORIGIN, budget=5)
        assert pos.tolist() == [3, 2, 4, 0, 1]
        np.testing.assert_allclose(dist, [5.0, 3.0, math.sqrt(5), 1.0, 1.0], atol=1e-6)
        assert pos.dtype == np.int64 and dist.dtype == np.float64

    def test_no_labeled_starts_at_position_zero(self):
        # centre (1,0): δ [-, 3, √10, 4, √5] → 3 (4); then [-, 1, √10, -, √5] → 2; → 4; → 1
        pos, dist = scores.k_center_greedy(CANDIDATES, torch.zeros(0, 2), budget=5)
        assert pos.tolist() == [0, 3, 2, 4, 1]
        assert math.isinf(dist[0])
        np.testing.assert_allclose(dist[1:], [4.0, math.sqrt(10), math.sqrt(5), 1.0], atol=1e-6)

    def test_candidate_on_a_labeled_point_is_picked_last(self):
        emb = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
        pos, dist = scores.k_center_greedy(emb, ORIGIN, budget=3)
        assert pos.tolist() == [2, 1, 0]
        np.testing.assert_allclose(dist, [2.0, math.sqrt(2), 0.0], atol=1e-6)

    @pytest.mark.parametrize("chunk", [1, 3, 7, 1024])
    def test_chunked_equals_unchunked_and_brute_force(self, chunk):
        g = torch.Generator().manual_seed(0)
        emb = torch.randn(40, 6, generator=g, dtype=torch.float64)
        labeled = torch.randn(23, 6, generator=g, dtype=torch.float64)
        pos, dist = scores.k_center_greedy(emb, labeled, budget=12, chunk=chunk)
        ref_pos, ref_dist = scores.k_center_greedy(emb, labeled, budget=12, chunk=10_000)
        assert pos.tolist() == ref_pos.tolist()
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-10)
        assert pos.tolist() == _brute_force_k_center(emb.numpy(), labeled.numpy(), 12)

    def test_distances_are_exact_min_distances_and_non_increasing(self):
        g = torch.Generator().manual_seed(1)
        emb = torch.randn(30, 4, generator=g, dtype=torch.float64)
        labeled = torch.randn(5, 4, generator=g, dtype=torch.float64)
        pos, dist = scores.k_center_greedy(emb, labeled, budget=10, chunk=2)
        centres = labeled
        for p, d in zip(pos, dist, strict=True):
            assert d == pytest.approx(torch.cdist(emb[p : p + 1], centres).min().item(), abs=1e-9)
            centres = torch.cat([centres, emb[p : p + 1]])
        assert np.all(np.diff(dist) <= 1e-12)

    def test_errors(self):
        with pytest.raises(ValueError, match="budget must be between 1 and the 5 candidates"):
            scores.k_center_greedy(CANDIDATES, ORIGIN, budget=6)
        with pytest.raises(ValueError, match="chunk must be >= 1"):
            scores.k_center_greedy(CANDIDATES, ORIGIN, budget=1, chunk=0)
        with pytest.raises(ValueError, match="dimension 3, embeddings have 2"):
            scores.k_center_greedy(CANDIDATES, torch.zeros(1, 3), budget=1)
        with pytest.raises(FloatingPointError):
            scores.k_center_greedy(torch.tensor([[math.nan, 0.0]]), ORIGIN, budget=1)


class TestCoreSetSampler:
    def _ctx(self, labeled_emb: torch.Tensor) -> ScoringContext:
        return ScoringContext.build(
            candidates=np.array([40, 11, 7, 23, 5]),
            labeled=np.arange(len(labeled_emb)),
            num_classes=2,
            seed=0,
            embeddings=CANDIDATES,
            labeled_embeddings=labeled_emb,
        )

    def test_select_matches_hand_order(self):
        sel = CoreSetSampler(chunk=1).select(self._ctx(ORIGIN), 3)
        assert sel.positions.tolist() == [3, 2, 4]
        np.testing.assert_allclose(sel.scores, [5.0, 3.0, math.sqrt(5)], atol=1e-6)
        assert sel.all_scores is None

    def test_labeled_rows_must_match_labeled_set(self):
        ctx = self._ctx(ORIGIN)
        ctx.labeled = np.arange(4)
        with pytest.raises(ValueError, match="labeled_embeddings must be 2-D with 4 rows"):
            CoreSetSampler().select(ctx, 1)

    @pytest.mark.parametrize("chunk", [0, -3, 2.5, True, "8"])
    def test_invalid_chunk(self, chunk):
        with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
            CoreSetSampler(chunk=chunk)

    def test_unknown_parameter_lists_valid(self):
        with pytest.raises(
            SamplerError, match=r"unknown parameter.*metric; valid parameters: chunk"
        ):
            get_sampler("coreset", metric="cosine")


def _materialised_g(probs: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    """g = (p − e_ŷ) ⊗ h built explicitly, (n, C·d)."""
    onehot = torch.nn.functional.one_hot(probs.argmax(1), probs.shape[1]).to(probs.dtype)
    return torch.einsum("nc,nd->ncd", probs - onehot, emb).reshape(len(probs), -1)


def _random_case(seed: int, n: int = 12, c: int = 4, d: int = 5):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(torch.randn(n, c, generator=g, dtype=torch.float64) * 2, dim=1)
    emb = torch.relu(torch.randn(n, d, generator=g, dtype=torch.float64))
    return probs, emb


class TestBADGE:
    def test_gradient_factor_by_hand(self):
        a = scores.badge_gradient_factor(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
        torch.testing.assert_close(a, torch.tensor([[-0.3, 0.2, 0.1], [0.1, 0.3, -0.4]]))

    def test_factorised_distance_equals_materialised(self):
        probs, emb = _random_case(0)
        a = scores.badge_gradient_factor(probs)
        idx = torch.arange(len(probs))
        got = scores.badge_pairwise_sq_dist(a, emb, idx, idx)  # (n, n)
        g = _materialised_g(probs, emb)
        torch.testing.assert_close(got, torch.cdist(g, g) ** 2, atol=1e-10, rtol=1e-10)
        sub = scores.badge_pairwise_sq_dist(a, emb, idx[[3, 0]], idx[[5, 1, 2]])  # (2, 3)
        torch.testing.assert_close(sub, (torch.cdist(g, g) ** 2)[[3, 0]][:, [5, 1, 2]])

    def test_first_pick_is_largest_gradient_norm(self):
        for seed in range(5):
            probs, emb = _random_case(seed)
            pos, sq = scores.badge_kmeanspp(probs, emb, 3, np.random.default_rng(seed))
            norms = _materialised_g(probs, emb).norm(dim=1)
            assert pos[0] == int(norms.argmax())
            assert sq[0] == pytest.approx(norms.max().item() ** 2, rel=1e-12)

    def test_pick_time_scores_are_min_sq_dist_to_chosen(self):
        probs, emb = _random_case(3, n=20)
        pos, sq = scores.badge_kmeanspp(probs, emb, 20, np.random.default_rng(7))
        assert sorted(pos.tolist()) == list(range(20))  # budget = n: a permutation, no repeats
        g = _materialised_g(probs, emb)
        d2 = torch.cdist(g, g) ** 2  # (n, n)
        for step in range(1, 20):
            expected = d2[pos[step], pos[:step]].min().item()
            assert sq[step] == pytest.approx(expected, abs=1e-10)

    def test_draws_proportional_to_squared_distance(self):
        # C=2, ŷ=0, a = (−q, q) with q=0.25, so ‖g_x − g_y‖² = 2(q h_x − q h_y)²;
        # h = 12, 8, 4 → s = q h = 3, 2, 1: first pick 0, then D² = 2 and 8 → P(1) = 0.2
        # (∝ D would give 1/3).
        probs = torch.tensor([[0.75, 0.25]] * 3, dtype=torch.float64)
        emb = torch.tensor([[12.0], [8.0], [4.0]], dtype=torch.float64)
        seconds = [
            int(scores.badge_kmeanspp(probs, emb, 2, np.random.default_rng(s))[0][1])
            for s in range(2000)
        ]
        assert {int(scores.badge_kmeanspp(probs, emb, 1, np.random.default_rng(0))[0][0])} == {0}
        assert np.mean(np.array(seconds) == 1) == pytest.approx(0.2, abs=0.035)
        _, sq = scores.badge_kmeanspp(probs, emb, 2, np.random.default_rng(0))
        assert sq[1] in (pytest.approx(2.0), pytest.approx(8.0))

    def test_duplicates_fall_back_to_uniform_without_repeats(self):
        probs = torch.tensor([[0.9, 0.1]] * 3 + [[0.2, 0.8]])
        emb = torch.tensor([[1.0, 2.0]] * 3 + [[3.0, 0.5]])
        seen_orders = set()
        for seed in range(20):
            pos, sq = scores.badge_kmeanspp(probs, emb, 4, np.random.default_rng(seed))
            assert sorted(pos.tolist()) == [0, 1, 2, 3]
            assert sq[2] == 0.0 and sq[3] == 0.0  # duplicates of a chosen centre: exactly 0
            seen_orders.add(tuple(pos.tolist()))
        assert len(seen_orders) > 1  # the fallback is a random draw, not a fixed order

    def test_seeded_determinism(self):
        probs, emb = _random_case(5, n=40)
        ctx = ScoringContext.build(
            candidates=np.arange(40),
            labeled=np.arange(0),
            num_classes=4,
            seed=11,
            probs=probs,
            embeddings=emb,
        )
        first = BADGESampler().select(ctx, 15)
        again = BADGESampler().select(ctx, 15)
        np.testing.assert_array_equal(first.positions, again.positions)
        np.testing.assert_array_equal(first.scores, again.scores)
        assert len(set(first.positions.tolist())) == 15
        others = set()
        for seed in range(6):
            ctx.seed = seed
            others.add(tuple(BADGESampler().select(ctx, 15).positions.tolist()))
        assert len(others) > 1

    def test_embeddings_row_count_checked(self):
        probs, emb = _random_case(0)
        with pytest.raises(ValueError, match="embeddings must be 2-D with 12 rows"):
            scores.badge_kmeanspp(probs, emb[:5], 2, np.random.default_rng(0))
