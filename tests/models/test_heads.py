"""The stage-pooling heads: TiDAL's TD predictor and LL4AL's loss predictor."""

from __future__ import annotations

import pytest
import torch

from albench.models.heads import LossPredictionModule, TDPredictionModule


def test_td_module_shapes_on_toy_backbone(toy_backbone) -> None:
    out = toy_backbone(torch.randn(7, 3, 8, 8))
    module = TDPredictionModule(toy_backbone.stage_channels, num_classes=5)
    assert [tuple(f.shape) for f in out.features] == [(7, 4, 4, 4), (7, 6, 2, 2)]
    assert module(out.features).shape == (7, 5)
    # GAP → Linear(C_k, 128) per stage, then Linear(128·K, C).
    assert [tuple(p.weight.shape) for p in module.projections] == [(128, 4), (128, 6)]
    assert tuple(module.out.weight.shape) == (5, 256)


def test_td_module_rejects_wrong_stage_count(toy_backbone) -> None:
    module = TDPredictionModule((4, 6, 8), num_classes=5)
    out = toy_backbone(torch.randn(2, 3, 8, 8))
    with pytest.raises(ValueError, match="expected 3 stage feature maps"):
        module(out.features)


def test_loss_module_predicts_one_value_per_sample(toy_backbone) -> None:
    out = toy_backbone(torch.randn(3, 3, 8, 8))
    assert LossPredictionModule(toy_backbone.stage_channels)(out.features).shape == (3,)
