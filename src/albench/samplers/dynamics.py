"""Samplers built on training dynamics: TiDAL(H/M), label dispersion, actual-TD ablations.

* ``tidal_entropy`` / ``tidal_margin``: entropy / margin of TiDAL's *predicted*
  TD q. Declaring :attr:`Need.TD_PROBS` makes the cycle train TiDAL's prediction
  module jointly with the classifier (``albench.training.objectives``).
* ``dispersion``: label dispersion of the predicted labels recorded on the
  candidates during training.
* ``td_entropy`` / ``td_margin`` / ``td_margin_anchored``: entropy, plain top-2
  margin and TiDAL(M)'s classifier-anchored margin on the *actual* TD of the
  candidates (running mean of their recorded softmax, in a chosen view): the
  ablations that tell whether TiDAL's module is needed or tracking suffices.
* ``tidal_random``: TiDAL's module trained exactly as for TiDAL(H/M), random
  query: the control that separates TiDAL's selection effect from its training
  effect (the module's loss also trains the backbone).

References:
    Kye, Choi, Byun, Chang, "TiDAL: Learning Training Dynamics for Active
    Learning", ICCV 2023, arXiv:2210.06788.
    Zolfaghari Bengar, Raducanu, van de Weijer, "When Deep Learners Change Their
    Mind: Learning Dynamics for Active Learning", CAIP 2021, arXiv:2107.14707.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from albench import checks
from albench.config import TRACK_VIEWS
from albench.samplers.base import TRACKED, Need, Sampler, ScoringContext
from albench.samplers.registry import register

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "DispersionSampler",
    "TDEntropySampler",
    "TDMarginAnchoredSampler",
    "TDMarginSampler",
    "TiDALEntropySampler",
    "TiDALMarginSampler",
    "TiDALRandomSampler",
]


@register
class TiDALEntropySampler(Sampler):
    """TiDAL(H): highest entropy of the predicted training dynamics q first.

    Score H(q) = −Σ_c q_c log q_c of the module's prediction q = softmax(m(x)),
    computed with ``xlogy`` (the official code has no epsilon, and its NaN scores
    would be selected first).

    Args:
        none (the module's hyperparameters are ``sampler_params.tidal_module``).

    References:
        Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. TiDAL: Learning
        Training Dynamics for Active Learning. ICCV, 2023. arXiv:2210.06788
        (``-q Entropy`` in the official code).
    """

    name = "tidal_entropy"
    summary = "TiDAL(H): entropy of the TD predicted by TiDAL's module (Kye et al. 2023)"
    needs = frozenset({Need.TD_PROBS})
    diagnostic = True
    control = "tidal_random"

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers import scores

        q = ctx.require(Need.TD_PROBS)  # (n, C)
        scores.require_shape(q, "td_probs", 2, rows=ctx.n)
        return scores.entropy(q)  # (n,)


@register
class TiDALMarginSampler(Sampler):
    """TiDAL(M): smallest margin q_ŷ − max_{c≠ŷ} q_c first, ŷ from the classifier logits.

    Args:
        none (the module's hyperparameters are ``sampler_params.tidal_module``).

    References:
        Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. TiDAL: Learning
        Training Dynamics for Active Learning. ICCV, 2023. arXiv:2210.06788
        (``-q AUM`` in the official code).
    """

    name = "tidal_margin"
    summary = "TiDAL(M): margin of the predicted TD at the classifier's label (Kye et al. 2023)"
    needs = frozenset({Need.TD_PROBS, Need.LOGITS})
    diagnostic = True
    control = "tidal_random"

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import tidal_margin_scores

        return tidal_margin_scores(ctx.require(Need.TD_PROBS), ctx.require(Need.LOGITS))


@register
@dataclass(frozen=True)
class DispersionSampler(Sampler):
    """Label Dispersion (Dispersion): candidates whose predicted label changed most in training.

    Dispersion(x) = 1 − fₓ/T, fₓ the number of recorded epochs that predicted the
    modal label, over the T epochs recorded by the candidate tracker.

    Args:
        window: use only the last K recorded epochs (None = all T, the paper).
        mode_window: research-code variant: the modal label is taken over the
            last K epochs, its count over all (None = the paper's form).
        view: what the tracker records: ``"clean"`` (test transform, the paper),
            ``"train_aug"`` (training augmentation, the research code) or
            ``"train"`` (train mode and training augmentation). The
            research code's form is ``view="train_aug", mode_window=25`` with
            100 epochs (mode over epochs 76–100).

    References:
        Javad Zolfaghari Bengar, Bogdan Raducanu, Joost van de Weijer. When Deep
        Learners Change Their Mind: Learning Dynamics for Active Learning. CAIP,
        2021. arXiv:2107.14707.
    """

    name = "dispersion"
    summary = "label dispersion of predicted labels over epochs (Zolfaghari Bengar et al. 2021)"

    window: int | None = None
    mode_window: int | None = None
    view: str = "clean"

    def __post_init__(self) -> None:
        checks.check_choice(self.view, "view", TRACK_VIEWS)
        checks.check_optional_int(self.window, "window", minimum=1)
        checks.check_optional_int(self.mode_window, "mode_window", minimum=1)

    @property
    def needs(self) -> frozenset[Need]:  # type: ignore[override]
        return frozenset({TRACKED[self.view][0]})

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import label_dispersion

        labels = ctx.require(TRACKED[self.view][0])  # (n, T)
        return label_dispersion(labels, window=self.window, mode_window=self.mode_window)


@register
class TiDALRandomSampler(Sampler):
    """TiDAL Random Control (TiDAL-R): TiDAL's module trained as for TiDAL(H/M), random query.

    Declaring :attr:`Need.TD_PROBS` trains the prediction module jointly with the
    classifier exactly as TiDAL does (same objective, seeds and schedule, so the
    same cycle-0 weights); the query is the uniform draw of ``random`` (the same
    scores from the same sampler stream). TiDAL − this control is TiDAL's
    selection effect; this control − random is the effect of the module's loss
    on the backbone.

    Args:
        none (the module's hyperparameters are ``sampler_params.tidal_module``).

    References:
        Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. TiDAL: Learning
        Training Dynamics for Active Learning. ICCV, 2023. arXiv:2210.06788.
    """

    name = "tidal_random"
    summary = "control: TiDAL's module trained as for TiDAL, random query"
    needs = frozenset({Need.TD_PROBS})
    role = "control"

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.reference import RandomSampler

        return RandomSampler().score(ctx)


@dataclass(frozen=True)
class _TrackedSampler(Sampler):
    """Shared by the actual-TD ablations: the tracker view is a hyperparameter and a need."""

    view: str = "clean"

    def __post_init__(self) -> None:
        checks.check_choice(self.view, "view", TRACK_VIEWS)

    @property
    def needs(self) -> frozenset[Need]:  # type: ignore[override]
        return frozenset({TRACKED[self.view][1]})

    def tracked_probs(self, ctx: ScoringContext) -> Tensor:
        return ctx.require(TRACKED[self.view][1])  # (n, C)


@register
@dataclass(frozen=True)
class TDEntropySampler(_TrackedSampler):
    """Actual-TD Entropy (TD-H): H of the running-mean softmax recorded on the candidates.

    The ablation of TiDAL(H) with the tracked TD in place of the module's prediction.

    Args:
        view: where the candidates' TD is recorded: ``"clean"`` (eval mode, test
            view), ``"train_aug"`` (eval mode, training augmentation) or ``"train"``
            (train mode and training augmentation: the view of TiDAL's target).

    References:
        Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. TiDAL: Learning
        Training Dynamics for Active Learning. ICCV, 2023. arXiv:2210.06788
        (the actual TD the module learns to predict).
    """

    name = "td_entropy"
    summary = "entropy of the candidates' actual (tracked) training dynamics; TiDAL ablation"
    role = "reference"
    diagnostic = True

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import entropy

        return entropy(self.tracked_probs(ctx))  # (n,)


@register
@dataclass(frozen=True)
class TDMarginSampler(_TrackedSampler):
    """Actual-TD Margin (TD-M): smallest p̄₍₁₎ − p̄₍₂₎ of the tracked running-mean softmax first.

    The plain top-2 margin of the tracked TD (not TiDAL(M)'s classifier-anchored
    form: that is ``td_margin_anchored``).

    Args:
        view: where the candidates' TD is recorded (see ``td_entropy``).

    References:
        Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. TiDAL: Learning
        Training Dynamics for Active Learning. ICCV, 2023. arXiv:2210.06788.
    """

    name = "td_margin"
    summary = "top-2 margin of the candidates' actual (tracked) training dynamics; TiDAL ablation"
    role = "reference"
    diagnostic = True

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import margin

        return -margin(self.tracked_probs(ctx))  # (n,) −(p̄₍₁₎ − p̄₍₂₎)


@register
@dataclass(frozen=True)
class TDMarginAnchoredSampler(_TrackedSampler):
    """Actual-TD Anchored Margin (TD-MA): TiDAL(M)'s margin on the tracked TD.

    −(p̄_ŷ − max_{c≠ŷ} p̄_c) with ŷ the classifier's argmax: TiDAL(M) with the
    candidates' actual TD in place of the module's prediction.

    Args:
        view: where the candidates' TD is recorded (see ``td_entropy``).

    References:
        Seong Min Kye, Kwanghee Choi, Hyeongmin Byun, Buru Chang. TiDAL: Learning
        Training Dynamics for Active Learning. ICCV, 2023. arXiv:2210.06788.
    """

    name = "td_margin_anchored"
    summary = "TiDAL(M)'s classifier-anchored margin of the actual (tracked) TD; TiDAL ablation"
    role = "reference"
    diagnostic = True

    @property
    def needs(self) -> frozenset[Need]:  # type: ignore[override]
        return super().needs | {Need.LOGITS}

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import tidal_margin_scores

        return tidal_margin_scores(self.tracked_probs(ctx), ctx.require(Need.LOGITS))
