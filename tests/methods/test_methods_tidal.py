"""TiDAL: module shapes, the KL(p̄ ‖ q) loss, and the entropy / margin scores on hand-computed q."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.methods import (
    TDPredictionModule,
    TiDALObjective,
    build_aux_module,
    td_kl_loss,
    tidal_entropy_scores,
    tidal_margin_scores,
)
from albench.samplers.base import Need, ScoringContext, TrainingNeeds
from albench.samplers.training_dynamics import TiDALEntropySampler, TiDALMarginSampler
from albench.training.aux import AuxBatch

# Asymmetric example: p̄ = [0.7, 0.2, 0.1], q = [0.4, 0.4, 0.2].
# KL(p̄‖q) = 0.7 ln(7/4) + 0.2 ln(1/2) + 0.1 ln(1/2) = 0.3917311 − 0.2079442 = 0.1837869
# KL(q‖p̄) = 0.4 ln(4/7) + 0.4 ln 2 + 0.2 ln 2 = −0.2238463 + 0.4158883 = 0.1920420
KL_PQ = 0.7 * math.log(0.7 / 0.4) + 0.3 * math.log(0.5)
KL_QP = 0.4 * math.log(0.4 / 0.7) + 0.6 * math.log(2.0)


def _ctx(n: int, **fields) -> ScoringContext:
    return ScoringContext(
        candidates=np.arange(n), labeled=np.arange(100, 102), num_classes=3, seed=0, **fields
    )


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


@pytest.mark.parametrize(
    ("name", "in_channels", "size", "stages"),
    [("resnet18", 3, 32, [64, 128, 256, 512]), ("small_cnn", 1, 28, None)],
)
def test_td_and_loss_modules_on_real_backbones(name, in_channels, size, stages) -> None:
    registry = pytest.importorskip("albench.models.registry")
    torch.manual_seed(0)
    model = registry.build_model(name, in_channels, 10, size).eval()
    if stages is not None:
        assert list(model.stage_channels) == stages
    with torch.no_grad():
        out = model(torch.randn(2, in_channels, size, size))
        tidal = build_aux_module("tidal", model.stage_channels, 10).eval()
        ll4al = build_aux_module("ll4al", model.stage_channels, 10).eval()
        q = tidal.predict(out)
        loss = ll4al.predict(out)
    assert q.shape == (2, 10)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(2))
    assert loss.shape == (2,)


def test_kl_loss_is_kl_of_target_to_module_not_reverse() -> None:
    p_bar = torch.tensor([[0.7, 0.2, 0.1]])
    q = torch.tensor([[0.4, 0.4, 0.2]])
    loss = td_kl_loss(q.log(), p_bar)
    assert loss.item() == pytest.approx(KL_PQ, abs=1e-6)
    assert abs(KL_PQ - KL_QP) > 5e-3  # the example is asymmetric enough to tell them apart
    assert loss.item() != pytest.approx(KL_QP, abs=1e-4)


def test_kl_loss_batch_mean_with_zero_target_entries() -> None:
    # Row 2: p̄ = [1, 0, 0], q = [0.5, 0.25, 0.25] → KL = ln 2 (0·log 0 = 0).
    p_bar = torch.tensor([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    q = torch.tensor([[0.4, 0.4, 0.2], [0.5, 0.25, 0.25]])
    loss = td_kl_loss(q.log() + 3.0, p_bar)  # logits are defined up to a constant
    assert loss.item() == pytest.approx((KL_PQ + math.log(2.0)) / 2, abs=1e-6)
    assert torch.isfinite(loss)
    # Same as the official KLDivLoss("batchmean")(log q, p̄).
    reference = torch.nn.functional.kl_div(
        torch.log_softmax(q.log() + 3.0, dim=1), p_bar, reduction="batchmean"
    )
    assert loss.item() == pytest.approx(reference.item(), abs=1e-6)


def test_objective_loss_is_weighted_kl_and_trains_the_features(toy_backbone) -> None:
    torch.manual_seed(1)
    objective = TiDALObjective(toy_backbone.stage_channels, num_classes=5, weight=2.0)
    out = toy_backbone(torch.randn(4, 3, 8, 8))
    for f in out.features:
        f.retain_grad()
    p_bar = torch.softmax(torch.randn(4, 5), dim=1)
    batch = AuxBatch(
        output=out,
        targets=torch.zeros(4, dtype=torch.long),
        per_sample_ce=torch.ones(4),
        td_target=p_bar,
        epoch=199,
        num_epochs=200,
    )
    loss = objective.loss(batch)
    log_q = torch.log_softmax(objective(out.features), dim=1).double()
    p64 = p_bar.double()
    direct = (p64 * (p64.log() - log_q)).sum(dim=1).mean()  # (1/B) Σ Σ p̄ (log p̄ − log q)
    assert loss.item() == pytest.approx(2.0 * direct.item(), rel=1e-5)
    loss.backward()
    # Not detached, even in the last epoch: the TD loss reaches the backbone's features.
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in out.features)
    assert objective.name == "tidal"


def test_predict_returns_probabilities(toy_backbone) -> None:
    objective = TiDALObjective(toy_backbone.stage_channels, num_classes=5)
    q = objective.predict(toy_backbone(torch.randn(3, 3, 8, 8)))
    assert q.shape == (3, 5)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(3))


def test_tidal_entropy_hand_values_and_exact_zeros() -> None:
    q = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    h = tidal_entropy_scores(q)
    expected = [
        math.log(2.0),
        0.0,
        -(0.2 * math.log(0.2) + 0.5 * math.log(0.5) + 0.3 * math.log(0.3)),
    ]
    assert h.tolist() == pytest.approx(expected, abs=1e-6)  # 1.0296530 for the last row
    assert not torch.isnan(h).any()


def test_tidal_margin_uses_classifier_argmax() -> None:
    q = torch.tensor([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.6, 0.3]])
    logits = torch.tensor(
        [
            [3.0, 1.0, 0.0],  # ŷ = 0: M = 0.2 − 0.5 = −0.3 → score 0.3
            [0.0, 2.0, 1.0],  # ŷ = 1: M = 0.5 − 0.3 = 0.2 → score −0.2
            [5.0, 0.0, 0.0],  # ŷ = 0: M = 1 − 0 = 1 → score −1
            [0.0, 0.0, 9.0],
        ]
    )  # ŷ = 2: M = 0.3 − 0.6 = −0.3 → score 0.3
    scores = tidal_margin_scores(q, logits)
    assert scores.tolist() == pytest.approx([0.3, -0.2, -1.0, 0.3], abs=1e-6)


def test_tidal_samplers_declare_needs_and_select() -> None:
    q = torch.tensor([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.6, 0.3]])
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 9.0]])
    margin_sel = TiDALMarginSampler().select(_ctx(4, td_probs=q, logits=logits), budget=2)
    assert margin_sel.positions.tolist() == [0, 3]  # tie at 0.3 keeps candidate order
    entropy_sel = TiDALEntropySampler().select(_ctx(4, td_probs=q), budget=1)
    assert entropy_sel.positions.tolist() == [0]  # rows 0 and 1 tie at H = 1.0297; first wins
    assert TiDALEntropySampler.needs == frozenset({Need.TD_PROBS})
    assert TiDALMarginSampler.needs == frozenset({Need.TD_PROBS, Need.LOGITS})
    assert TiDALEntropySampler.training == TrainingNeeds(aux_module="tidal")
    assert TiDALMarginSampler.training == TrainingNeeds(aux_module="tidal")
    with pytest.raises(RuntimeError, match="td_probs"):
        TiDALEntropySampler().score(_ctx(4))


def test_build_aux_module_names_and_errors() -> None:
    assert isinstance(build_aux_module("tidal", (4, 6), 5, weight=0.5), TiDALObjective)
    assert build_aux_module("tidal", (4, 6), 5, weight=0.5).weight == 0.5
    assert build_aux_module("ll4al", (4, 6), 5).name == "ll4al"
    with pytest.raises(ValueError, match=r"unknown auxiliary module 'vaal'; valid: ll4al, tidal"):
        build_aux_module("vaal", (4, 6), 5)
