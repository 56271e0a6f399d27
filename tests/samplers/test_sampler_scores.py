"""Hand-computed values for the uncertainty and BALD score functions and samplers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.samplers import scores
from albench.samplers.base import ScoringContext
from albench.samplers.bayesian import BALDSampler
from albench.samplers.uncertainty import EntropySampler, LeastConfidenceSampler, MarginSampler

# rows: one-hot, two-way tie with an exact zero, uniform over 3, a skewed distribution
PROBS = torch.tensor(
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.7, 0.2, 0.1]],
    dtype=torch.float64,
)
# −(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.24967 + 0.32189 + 0.23026
H_SKEWED = 0.8018186


def _ctx(**fields) -> ScoringContext:
    n = len(next(iter(fields.values())))
    return ScoringContext.build(
        candidates=np.arange(100, 100 + n), labeled=np.arange(3), num_classes=3, seed=0, **fields
    )


class TestEntropy:
    def test_hand_values(self):
        got = scores.entropy(PROBS)
        expected = torch.tensor([0.0, math.log(2), math.log(3), H_SKEWED], dtype=torch.float64)
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)

    def test_exact_zero_probability_is_finite(self):
        probs = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float32)
        got = scores.entropy(probs)
        assert torch.isfinite(got).all()
        assert got[1].item() == 0.0
        assert got[0].item() == pytest.approx(math.log(2), abs=1e-6)

    def test_underflowed_softmax_is_finite(self):
        probs = torch.softmax(torch.tensor([[0.0, -200.0, -200.0]]), dim=1)  # (1, 3), exp → 0
        assert probs[0, 1].item() == 0.0
        assert scores.entropy(probs).item() == 0.0

    def test_class_axis_of_mc_tensor(self):
        mc = torch.stack([PROBS[1], PROBS[2]], dim=1)[None]  # (1, 3, 2)
        got = scores.entropy(mc, dim=1)  # (1, 2)
        torch.testing.assert_close(
            got, torch.tensor([[math.log(2), math.log(3)]], dtype=torch.float64)
        )


class TestMarginAndLeastConfidence:
    def test_margin_hand_values(self):
        torch.testing.assert_close(
            scores.margin(PROBS), torch.tensor([1.0, 0.0, 0.0, 0.5], dtype=torch.float64)
        )

    def test_least_confidence_hand_values(self):
        torch.testing.assert_close(
            scores.least_confidence(PROBS),
            torch.tensor([0.0, 0.5, 2 / 3, 0.3], dtype=torch.float64),
        )

    def test_margin_uses_sorted_top_two_not_first_two_columns(self):
        probs = torch.tensor([[0.1, 0.3, 0.6]])
        assert scores.margin(probs).item() == pytest.approx(0.3)

    def test_margin_needs_two_classes(self):
        with pytest.raises(ValueError, match="at least 2 classes"):
            scores.margin(torch.ones(4, 1))

    def test_wrong_rank_names_shape(self):
        with pytest.raises(ValueError, match=r"probs must be 2-D, got shape \(3,\)"):
            scores.least_confidence(torch.ones(3))


class TestBALD:
    def test_identical_passes_give_zero(self):
        p = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
        mc = p[:, :, None].expand(3, 3, 10)  # (3, 3, 10)
        got = scores.bald_mutual_information(mc)
        assert got.abs().max().item() < 1e-12
        got32 = scores.bald_mutual_information(mc.float())
        assert got32.abs().max().item() < 1e-6

    def test_opposite_certain_passes_give_ln2(self):
        mc = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # (1, C=2, T=2): passes [1,0] and [0,1]
        assert scores.bald_mutual_information(mc).item() == pytest.approx(math.log(2), abs=1e-6)

    def test_three_class_hand_example(self):
        # passes [0.6,0.3,0.1] and [0.2,0.3,0.5]; mean [0.4,0.3,0.3]
        # H(mean) = 1.088900, H(p1) = 0.897946, H(p2) = 1.029653 → 1.088900 − 0.963800
        mc = torch.tensor([[0.6, 0.2], [0.3, 0.3], [0.1, 0.5]], dtype=torch.float64)[None]
        assert scores.bald_mutual_information(mc).item() == pytest.approx(0.125100, abs=1e-5)

    def test_rank_check(self):
        with pytest.raises(ValueError, match="mc_probs must be 3-D"):
            scores.bald_mutual_information(torch.ones(2, 3))

    def test_sampler_ranks_disagreement_first(self):
        agree = torch.tensor([[0.6, 0.6], [0.3, 0.3], [0.1, 0.1]])  # identical passes
        hand = torch.tensor([[0.6, 0.2], [0.3, 0.3], [0.1, 0.5]])  # MI 0.1251
        opposite = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # MI ln 2
        mean_probs, mean_entropy = scores.mc_moments(torch.stack([agree, hand, opposite]).unbind(2))
        ctx = _ctx(mc_mean_probs=mean_probs, mc_mean_entropy=mean_entropy)  # from (3, 3, 2)
        sel = BALDSampler().select(ctx, 3)
        assert sel.positions.tolist() == [2, 1, 0]
        np.testing.assert_allclose(sel.scores, [math.log(2), 0.125100, 0.0], atol=1e-5)


class TestUncertaintySamplerRankings:
    def test_entropy_ranking(self):
        sel = EntropySampler().select(_ctx(probs=PROBS), 4)
        assert sel.positions.tolist() == [2, 3, 1, 0]
        np.testing.assert_allclose(sel.scores, [math.log(3), H_SKEWED, math.log(2), 0.0], atol=1e-6)

    def test_margin_ranking_smallest_margin_first_ties_in_candidate_order(self):
        sel = MarginSampler().select(_ctx(probs=PROBS), 4)
        assert sel.positions.tolist() == [1, 2, 3, 0]
        np.testing.assert_allclose(sel.scores, [0.0, 0.0, -0.5, -1.0], atol=1e-12)

    def test_least_confidence_ranking(self):
        sel = LeastConfidenceSampler().select(_ctx(probs=PROBS), 2)
        assert sel.positions.tolist() == [2, 1]
        np.testing.assert_allclose(sel.all_scores, [0.0, 0.5, 2 / 3, 0.3], atol=1e-12)

    def test_probs_row_count_must_match_candidates(self):
        ctx = ScoringContext.build(
            candidates=np.arange(5), labeled=np.arange(2), num_classes=3, seed=0, probs=PROBS
        )
        with pytest.raises(ValueError, match="probs must be 2-D with 5 rows"):
            EntropySampler().select(ctx, 2)

    def test_missing_need_is_reported(self):
        ctx = ScoringContext.build(
            candidates=np.arange(4), labeled=np.arange(2), num_classes=3, seed=0
        )
        with pytest.raises(RuntimeError, match="no 'probs'"):
            MarginSampler().select(ctx, 1)


class TestBaldRunningSums:
    def test_mc_moments_by_hand(self):
        passes = [torch.tensor([[0.6, 0.3, 0.1]]), torch.tensor([[0.2, 0.3, 0.5]])]
        mean, mean_h = scores.mc_moments(p.double() for p in passes)
        torch.testing.assert_close(mean, torch.tensor([[0.4, 0.3, 0.3]], dtype=torch.float64))
        assert mean_h.item() == pytest.approx((0.897946 + 1.029653) / 2, abs=1e-6)

    def test_the_stacked_and_the_streamed_forms_agree_bit_for_bit(self):
        g = torch.Generator().manual_seed(0)
        passes = [(torch.randn(50, 7, generator=g) * 3).softmax(1) for _ in range(10)]
        streamed = scores.bald_from_moments(*scores.mc_moments(iter(passes), chunk_rows=8))
        assert torch.equal(scores.bald_mutual_information(torch.stack(passes, dim=2)), streamed)

    def test_chunked_entropy_equals_the_whole_table(self):
        probs = torch.rand(37, 11, generator=torch.Generator().manual_seed(1)).softmax(1)
        for chunk in (1, 5, 37, 100):
            assert torch.equal(scores.entropy_rows(probs, chunk), scores.entropy(probs, dim=1))

    def test_the_caller_s_passes_are_not_modified(self):
        mc = torch.rand(4, 3, 2).softmax(1)
        before = mc.clone()
        scores.bald_mutual_information(mc)
        assert torch.equal(mc, before)

    def test_errors(self):
        with pytest.raises(ValueError, match="at least one pass"):
            scores.mc_moments([])
        with pytest.raises(ValueError, match="share one shape"):
            scores.mc_moments([torch.ones(2, 3), torch.ones(2, 4)])
        with pytest.raises(ValueError, match="mc_mean_entropy must be 1-D with 2 rows"):
            scores.bald_from_moments(torch.ones(2, 3), torch.ones(3))
