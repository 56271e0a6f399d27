"""TiDAL: a module that predicts each sample's training dynamics, and the scores on it.

During training, every labeled sample x carries its training dynamics (TD)
p̄ₓ, the running mean of the classifier's softmax over the epochs so far
(tracked by the trainer, handed over as ``AuxBatch.td_target``). A prediction
module on the backbone's per-stage features learns q(x) ≈ p̄ₓ with the loss
λ·KL(p̄ ‖ q); at query time q is computed for unlabeled candidates, which have
no tracked TD, and scored by its entropy (TiDAL(H)) or margin (TiDAL(M)).

References:
    Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. "TiDAL: Learning
    Training Dynamics for Active Learning." ICCV 2023. arXiv:2210.06788.
    Official code: ``hyperconnect/TiDAL`` (``models/query_models.py`` TDNet,
    ``train_test/train_test.py``, ``methods/selection_methods.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from albench.methods.ll4al import StagePoolingHead
from albench.models.base import ModelOutput
from albench.training.aux import AuxBatch, AuxiliaryObjective

__all__ = [
    "TDPredictionModule",
    "TiDALObjective",
    "td_kl_loss",
    "tidal_entropy_scores",
    "tidal_margin_scores",
]


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


def td_kl_loss(module_logits: Tensor, td_target: Tensor) -> Tensor:
    """KL(p̄ ‖ q) averaged over the batch, q = softmax(module_logits), p̄ = TD target.

    Equals (1/B) Σₓ Σ_c p̄_c (log p̄_c − log q_c) with 0·log 0 = 0; the target is
    detached. This is the official ``KLDivLoss(reduction="batchmean")(log q, p̄)``:
    the target p̄ is the first argument of the KL, so the loss is mass-covering
    in p̄ (not KL(q ‖ p̄)).

    Args:
        module_logits: (B, C) logits of the TD prediction module.
        td_target: (B, C) running-mean softmax p̄ (rows sum to 1).

    Returns:
        Scalar loss.
    """
    if module_logits.shape != td_target.shape or module_logits.dim() != 2:
        raise ValueError(
            f"module logits and TD target must both be (B, C), got "
            f"{tuple(module_logits.shape)} and {tuple(td_target.shape)}"
        )
    log_q = F.log_softmax(module_logits, dim=1)  # (B, C)
    target = td_target.detach().to(log_q.dtype)  # (B, C)
    # Written out rather than via F.kl_div so 0·log 0 = 0 is explicit (xlogy).
    per_sample = (torch.xlogy(target, target) - target * log_q).sum(dim=1)  # (B,)
    return per_sample.mean()


def tidal_entropy_scores(q: Tensor) -> Tensor:
    """TiDAL(H): entropy H(q) = −Σ_c q_c log q_c of the predicted TD, higher first.

    Uses xlogy, so exact zeros contribute 0 and no NaN can appear (the official
    code has no epsilon, and NaNs would be selected first by numpy's argsort).

    Args:
        q: (n, C) predicted TD probabilities.

    Returns:
        (n,) scores.
    """
    if q.dim() != 2:
        raise ValueError(f"q must be (n, C), got shape {tuple(q.shape)}")
    return -torch.xlogy(q, q).sum(dim=1)  # (n,)


def tidal_margin_scores(q: Tensor, classifier_logits: Tensor) -> Tensor:
    """TiDAL(M): −M with M = q_ŷ − max_{c≠ŷ} q_c, ŷ = argmax of the CLASSIFIER logits.

    ŷ comes from the classifier f(x), not from q, so M ∈ [−1, 1] is negative when
    the predicted TD disagrees with the classifier; smallest M is most
    informative, hence the negation (higher score first). Ties in the
    classifier's argmax take the lowest class index (``torch.argmax``).

    Args:
        q: (n, C) predicted TD probabilities, C ≥ 2.
        classifier_logits: (n, C) logits (or probabilities) of the classifier.

    Returns:
        (n,) scores −M.
    """
    if q.dim() != 2 or q.shape != classifier_logits.shape:
        raise ValueError(
            f"q and classifier logits must both be (n, C), got {tuple(q.shape)} "
            f"and {tuple(classifier_logits.shape)}"
        )
    if q.shape[1] < 2:
        raise ValueError(f"a margin needs at least 2 classes, got C={q.shape[1]}")
    y_hat = classifier_logits.argmax(dim=1, keepdim=True)  # (n, 1)
    q_y = q.gather(1, y_hat).squeeze(1)  # (n,)
    others = q.scatter(1, y_hat, float("-inf"))  # (n, C)
    margin = q_y - others.max(dim=1).values  # (n,)
    return -margin


class TiDALObjective(AuxiliaryObjective):
    """TiDAL as an auxiliary objective: L = λ · KL(p̄ ‖ q), name ``"tidal"``.

    ``loss`` runs the TD prediction module on the training forward pass's stage
    features (not detached) and compares q with ``AuxBatch.td_target``;
    ``predict`` returns q = softmax(m(x)) for an eval-mode forward pass.

    Args:
        stage_channels: C_k of the backbone stages.
        num_classes: C.
        weight: λ (``WEIGHT`` = 1.0 in the official code).
        hidden: per-stage projection width (128).

    References:
        Kye, Choi, Byun, Chang, "TiDAL: Learning Training Dynamics for Active
        Learning", ICCV 2023, arXiv:2210.06788.
    """

    name = "tidal"

    def __init__(
        self,
        stage_channels: Sequence[int],
        num_classes: int,
        weight: float = 1.0,
        hidden: int = 128,
    ):
        super().__init__()
        self.module = TDPredictionModule(stage_channels, num_classes, hidden=hidden)
        self.weight = float(weight)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Per-stage feature maps → (B, C) module logits m(x)."""
        return self.module(features)

    def loss(self, batch: AuxBatch) -> Tensor:
        logits = self.module(batch.output.features)  # (B, C)
        return self.weight * td_kl_loss(logits, batch.td_target)

    def predict(self, output: ModelOutput) -> Tensor:
        """(n, C) predicted TD q = softmax(m(x))."""
        return F.softmax(self.module(output.features), dim=1)
