"""Variation Ratios on hand-computed MC passes, and its registration through the entry point."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albench.samplers import ScoringContext, get_sampler_class, registry
from albench_variation_ratios import VariationRatiosSampler, variation_ratios


def _passes(labels: list[list[int]], num_classes: int = 3) -> torch.Tensor:
    """(n, C, T) one-hot 'probabilities' whose argmax per pass is ``labels[i][t]``."""
    votes = torch.tensor(labels)  # (n, T)
    return torch.nn.functional.one_hot(votes, num_classes).permute(0, 2, 1).float() * 0.9 + 0.05


def test_hand_computed_scores():
    mc = _passes([[0, 0, 0, 0], [0, 1, 0, 1], [0, 1, 2, 0], [2, 2, 2, 1]])
    # modal counts 4, 2, 2, 3 of T = 4 → 1 − f/T
    assert variation_ratios(mc).tolist() == pytest.approx([0.0, 0.5, 0.5, 0.25])


def test_selection_ties_keep_the_candidate_order():
    mc = _passes([[0, 0, 0, 0], [0, 1, 0, 1], [0, 1, 2, 0], [2, 2, 2, 1]])
    ctx = ScoringContext.build(np.arange(4), np.arange(4, 6), 3, seed=0, mc_probs=mc)
    assert VariationRatiosSampler().select(ctx, 3).positions.tolist() == [1, 2, 3]


def test_registered_through_the_entry_point():
    assert get_sampler_class("variation_ratios") is VariationRatiosSampler
    assert registry.origin("variation_ratios").startswith("entry point albench-variation-ratios")
