"""Samplers built on training dynamics: TiDAL(H/M), label dispersion, actual-TD ablations.

* ``tidal_entropy`` / ``tidal_margin``: entropy / margin of TiDAL's *predicted*
  TD q (the module trained jointly with the classifier).
* ``dispersion``: label dispersion of the predicted labels recorded on the
  candidates during training.
* ``td_entropy`` / ``td_margin``: the same entropy / margin on the *actual*
  TD of the candidates (running mean of their recorded softmax), the ablation
  that tells whether TiDAL's module is needed or tracking suffices.

References:
    Kye, Choi, Byun, Chang, "TiDAL: Learning Training Dynamics for Active
    Learning", ICCV 2023, arXiv:2210.06788.
    Zolfaghari Bengar, Raducanu, van de Weijer, "When Deep Learners Change Their
    Mind: Learning Dynamics for Active Learning", CAIP 2021, arXiv:2107.14707.
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from albench.methods.dispersion import label_dispersion
from albench.methods.tidal import tidal_entropy_scores, tidal_margin_scores
from albench.samplers.base import Need, Sampler, ScoringContext, TrainingNeeds
from albench.samplers.registry import register
from albench.samplers.scores import entropy, margin
from albench.training.config import TRACK_VIEWS

__all__ = [
    "DispersionSampler",
    "TDEntropySampler",
    "TDMarginSampler",
    "TiDALEntropySampler",
    "TiDALMarginSampler",
]

DISPERSION_VIEWS = TRACK_VIEWS  # ("clean", "train_aug"): what the candidate tracker records


@register
class TiDALEntropySampler(Sampler):
    """TiDAL(H): highest entropy of the predicted training dynamics q first.

    References:
        Kye et al., ICCV 2023, arXiv:2210.06788 (``-q Entropy`` in the official code).
    """

    name = "tidal_entropy"
    summary = "TiDAL(H): entropy of the TD predicted by TiDAL's module (Kye et al. 2023)"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.TD_PROBS})
    training = TrainingNeeds(aux_module="tidal")

    def score(self, ctx: ScoringContext) -> Tensor:
        return tidal_entropy_scores(ctx.require(Need.TD_PROBS))


@register
class TiDALMarginSampler(Sampler):
    """TiDAL(M): smallest margin q_ŷ − max_{c≠ŷ} q_c first, ŷ from the classifier logits.

    References:
        Kye et al., ICCV 2023, arXiv:2210.06788 (``-q AUM`` in the official code).
    """

    name = "tidal_margin"
    summary = "TiDAL(M): margin of the predicted TD at the classifier's label (Kye et al. 2023)"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.TD_PROBS, Need.LOGITS})
    training = TrainingNeeds(aux_module="tidal")

    def score(self, ctx: ScoringContext) -> Tensor:
        return tidal_margin_scores(ctx.require(Need.TD_PROBS), ctx.require(Need.LOGITS))


@register
class DispersionSampler(Sampler):
    """Label dispersion: candidates whose predicted label changed most during training.

    Parameters:
        window: use only the last K recorded epochs (None = all T, the paper).
        mode_window: research-code variant — the modal label is taken over the
            last K epochs, its count over all (None = the paper's form).
        view: which view of the candidates the tracker records, read by the
            cycle through :attr:`view`: ``"clean"`` (test transform, the paper)
            or ``"train_aug"`` (training augmentation, the research code).

    The research code's form is ``view="train_aug", mode_window=25`` with 100
    epochs (mode over epochs 76–100).

    References:
        Zolfaghari Bengar, Raducanu, van de Weijer, CAIP 2021, arXiv:2107.14707.
    """

    name = "dispersion"
    summary = "label dispersion of predicted labels over epochs (Zolfaghari Bengar et al. 2021)"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.TRACKED_LABELS})
    training = TrainingNeeds(track_candidates=True)

    def __init__(
        self, window: int | None = None, mode_window: int | None = None, view: str = "clean"
    ) -> None:
        if view not in DISPERSION_VIEWS:
            raise ValueError(
                f"unknown dispersion view {view!r}; valid views: {', '.join(DISPERSION_VIEWS)}"
            )
        for key, value in (("window", window), ("mode_window", mode_window)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"dispersion {key} must be a positive int or None, got {value!r}")
        self.window = window
        self.mode_window = mode_window
        self.view = view

    def score(self, ctx: ScoringContext) -> Tensor:
        labels = ctx.require(Need.TRACKED_LABELS)  # (n, T)
        return label_dispersion(labels, window=self.window, mode_window=self.mode_window)


@register
class TDEntropySampler(Sampler):
    """Actual-TD entropy: H of the running-mean softmax recorded on the candidates.

    The ablation of TiDAL(H) with the tracked TD in place of the module's prediction.
    """

    name = "td_entropy"
    summary = "entropy of the candidates' actual (tracked) training dynamics; TiDAL ablation"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.TRACKED_PROBS})
    training = TrainingNeeds(track_candidates=True)

    def score(self, ctx: ScoringContext) -> Tensor:
        return entropy(ctx.require(Need.TRACKED_PROBS))  # (n,)


@register
class TDMarginSampler(Sampler):
    """Actual-TD margin: smallest p̄₍₁₎ − p̄₍₂₎ of the tracked running-mean softmax first."""

    name = "td_margin"
    summary = "top-2 margin of the candidates' actual (tracked) training dynamics; TiDAL ablation"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.TRACKED_PROBS})
    training = TrainingNeeds(track_candidates=True)

    def score(self, ctx: ScoringContext) -> Tensor:
        return -margin(ctx.require(Need.TRACKED_PROBS))  # (n,) −(p̄₍₁₎ − p̄₍₂₎)
