"""Heads that read a backbone's per-stage features: TiDAL's TD predictor and LL4AL's loss predictor.

Both are LL4AL's "LossNet" shape (:class:`StagePoolingHead`): each stage map is
pooled, projected and rectified, and the concatenation is mapped to the output.
The objectives that train them jointly with the classifier are in
:mod:`albench.training.objectives`.

References:
    Donggeun Yoo, In So Kweon. "Learning Loss for Active Learning." CVPR 2019.
    arXiv:1905.03677 (``Mephisto405/Learning-Loss-for-Active-Learning``,
    ``models/lossnet.py``).
    Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. "TiDAL: Learning
    Training Dynamics for Active Learning." ICCV 2023. arXiv:2210.06788
    (``hyperconnect/TiDAL``, ``models/query_models.py`` TDNet).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["LossPredictionModule", "StagePoolingHead", "TDPredictionModule"]


class StagePoolingHead(nn.Module):
    """LL4AL's LossNet with ``out_features`` outputs: pooled per-stage features → linear.

    For every stage k: global average pooling of the (B, C_k, H_k, W_k) map →
    Linear(C_k, hidden) → ReLU; the K results are concatenated (B, hidden·K) and
    mapped by Linear(hidden·K, out_features). The official LossNet's unused
    BatchNorm layers are omitted. Inputs are used as given: whether gradients
    reach the backbone is decided by the caller (detach or not).

    Args:
        stage_channels: C_k of each stage, shallow to deep (``Backbone.stage_channels``).
        out_features: size of the output (1 for LL4AL, C for TiDAL).
        hidden: width of each per-stage projection (128 in both official codes).
    """

    def __init__(self, stage_channels: Sequence[int], out_features: int, hidden: int = 128):
        super().__init__()
        channels = [int(c) for c in stage_channels]
        if not channels or any(c < 1 for c in channels):
            raise ValueError(
                f"stage_channels must be a non-empty list of positive ints, got "
                f"{list(stage_channels)}"
            )
        if out_features < 1:
            raise ValueError(f"out_features must be >= 1, got {out_features}")
        if hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden}")
        self.stage_channels = tuple(channels)
        self.projections = nn.ModuleList(nn.Linear(c, hidden) for c in channels)
        self.out = nn.Linear(hidden * len(channels), out_features)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Per-stage maps (each (B, C_k, H_k, W_k), or already pooled (B, C_k)) → (B, out)."""
        if len(features) != len(self.projections):
            raise ValueError(
                f"expected {len(self.projections)} stage feature maps "
                f"(stage_channels={list(self.stage_channels)}), got {len(features)}"
            )
        pooled = []
        for k, (fmap, proj) in enumerate(zip(features, self.projections, strict=True)):
            if fmap.shape[1] != self.stage_channels[k]:
                raise ValueError(
                    f"stage {k} has {fmap.shape[1]} channels, expected {self.stage_channels[k]}"
                )
            gap = fmap.flatten(2).mean(dim=2) if fmap.dim() > 2 else fmap  # (B, C_k)
            pooled.append(torch.relu(proj(gap)))  # (B, hidden)
        return self.out(torch.cat(pooled, dim=1))  # (B, out)


class LossPredictionModule(StagePoolingHead):
    """LL4AL's loss-prediction module: per-stage features → (B,) predicted loss l̂."""

    def __init__(self, stage_channels: Sequence[int], hidden: int = 128):
        super().__init__(stage_channels, out_features=1, hidden=hidden)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        return super().forward(features).squeeze(1)  # (B,)


class TDPredictionModule(StagePoolingHead):
    """TiDAL's TD prediction module (the official ``TDNet``): per-stage features → (B, C) logits.

    Per stage: global average pooling → Linear(C_k, hidden) → ReLU; concatenate
    (B, hidden·K) → Linear(hidden·K, C) = logits m(x); q = softmax(m(x)). The
    inputs are NOT detached: the TD loss trains the backbone in every epoch
    (unlike LL4AL there is no cut-off epoch).

    Args:
        stage_channels: C_k of each backbone stage, shallow to deep.
        num_classes: C.
        hidden: per-stage projection width (128 in the official code).
    """

    def __init__(self, stage_channels: Sequence[int], num_classes: int, hidden: int = 128):
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        super().__init__(stage_channels, out_features=num_classes, hidden=hidden)
        self.num_classes = num_classes
