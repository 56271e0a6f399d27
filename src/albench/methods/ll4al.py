"""Learning Loss for Active Learning (LL4AL): a module that predicts the classifier's loss.

A small head on the backbone's per-stage feature maps (LL4AL's "LossNet")
predicts each sample's cross-entropy; it is trained jointly with the classifier
by a pairwise margin-ranking loss, and the query takes the candidates with the
highest predicted loss. The same head with C outputs is TiDAL's training-dynamics
predictor (:mod:`albench.methods.tidal`).

References:
    Donggeun Yoo, In So Kweon. "Learning Loss for Active Learning." CVPR 2019.
    arXiv:1905.03677. Re-implementation followed:
    ``Mephisto405/Learning-Loss-for-Active-Learning`` (``main.py``, ``models/lossnet.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import torch
from torch import Tensor, nn

from albench.models.base import ModelOutput
from albench.training.aux import AuxBatch, AuxiliaryObjective

__all__ = [
    "LossPredictionModule",
    "LossPredictionObjective",
    "StagePoolingHead",
    "detach_epoch",
    "loss_prediction_ranking_loss",
]


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


def loss_prediction_ranking_loss(predicted: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    """LL4AL's margin-ranking loss on the pairs (i, B−1−i) of a batch.

    With P = ⌊B/2⌋ pairs (i, j = B−1−i), i < P, and s_ij = +1 if l_i > l_j else −1
    (ties count as −1, as in the re-implementation's ``2·sign(clamp(l_i−l_j, 0))−1``),

        L = (1/P) Σ_i max(0, ξ − s_ij (l̂_i − l̂_j)) = (2/B') Σ_i …,  B' = 2P.

    If B is odd the middle sample is unpaired and dropped, so B' (the paired count)
    replaces the paper's B; for even B this is exactly the paper's loss. The
    target losses are detached. A batch with fewer than two samples has no pair
    and gives a zero loss that is still connected to ``predicted``'s graph.

    Args:
        predicted: (B,) predicted losses l̂.
        target: (B,) actual per-sample losses l.
        margin: ξ (1.0 in the paper).

    Returns:
        Scalar loss.
    """
    if predicted.dim() != 1 or predicted.shape != target.shape:
        raise ValueError(
            f"predicted and target must both be (B,), got {tuple(predicted.shape)} "
            f"and {tuple(target.shape)}"
        )
    pairs = predicted.shape[0] // 2
    if pairs == 0:
        return predicted.sum() * 0.0
    target = target.detach()
    diff_pred = (predicted - predicted.flip(0))[:pairs]  # (P,) l̂_i − l̂_{B−1−i}
    diff_true = (target - target.flip(0))[:pairs]  # (P,) l_i − l_{B−1−i}
    sign = torch.where(diff_true > 0, 1.0, -1.0).to(diff_pred.dtype)  # (P,)
    return torch.clamp(margin - sign * diff_pred, min=0).sum() / pairs


def detach_epoch(num_epochs: int, fraction: float = 0.6) -> int:
    """First 0-based epoch whose features are detached: ⌈fraction · num_epochs⌉.

    Exact rational arithmetic on ``str(fraction)`` avoids float rounding
    (0.6·5 = 3.0000000000000004 in floating point would give 4 instead of 3).
    200 epochs → 120, as in the paper's "after 120 epochs".
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"detach fraction must be in [0, 1], got {fraction}")
    return math.ceil(Fraction(str(fraction)) * num_epochs)


class LossPredictionObjective(AuxiliaryObjective):
    """LL4AL as an auxiliary objective: L = λ · ranking loss(l̂, CE), name ``"ll4al"``.

    The per-stage features feed the module undetached until epoch
    ⌈``detach_fraction`` · num_epochs⌉ (0-based; 120 of 200, the paper's "after
    120 epochs"), so the ranking loss also shapes the backbone; from that epoch
    on they are detached and only the module learns. (The re-implementation
    tests ``epoch > 120``, i.e. detaches one epoch later; albench follows the
    paper's wording.) The target is the classifier's per-sample cross-entropy,
    detached.

    The official TiDAL code's LL4AL baseline replaced the hinge with
    BCE(sigmoid(l̂_i − l̂_j), 1[l_i > l_j]) and ignored its ``margin`` argument;
    albench does not copy that and uses the paper's hinge.

    Args:
        stage_channels: C_k of the backbone stages.
        weight: λ (1.0 in the paper).
        margin: ξ (1.0 in the paper).
        detach_fraction: fraction of the epochs after which features are detached (0.6).
        hidden: per-stage projection width (128).

    References:
        Yoo & Kweon, "Learning Loss for Active Learning", CVPR 2019, arXiv:1905.03677.
    """

    name = "ll4al"

    def __init__(
        self,
        stage_channels: Sequence[int],
        weight: float = 1.0,
        margin: float = 1.0,
        detach_fraction: float = 0.6,
        hidden: int = 128,
    ):
        super().__init__()
        detach_epoch(1, detach_fraction)  # validates the fraction
        self.module = LossPredictionModule(stage_channels, hidden=hidden)
        self.weight = float(weight)
        self.margin = float(margin)
        self.detach_fraction = float(detach_fraction)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Per-stage feature maps → (B,) predicted loss."""
        return self.module(features)

    def features_detached(self, epoch: int, num_epochs: int) -> bool:
        """Whether the features are detached in 0-based ``epoch`` of ``num_epochs``."""
        return epoch >= detach_epoch(num_epochs, self.detach_fraction)

    def loss(self, batch: AuxBatch) -> Tensor:
        features = list(batch.output.features)
        if self.features_detached(batch.epoch, batch.num_epochs):
            features = [f.detach() for f in features]
        predicted = self.module(features)  # (B,)
        return self.weight * loss_prediction_ranking_loss(
            predicted, batch.per_sample_ce.detach(), self.margin
        )

    def predict(self, output: ModelOutput) -> Tensor:
        """(n,) predicted loss l̂ from an eval-mode forward pass."""
        return self.module(output.features)
