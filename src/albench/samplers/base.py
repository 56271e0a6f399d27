"""The sampler contract: declare what you need from training, return scores or a selection.

Convention (as in scikit-activeml): **higher score = more informative**, always.
Samplers that rank "smallest first" (margin, TiDAL(M)) return the negated
quantity. Selection is owned by :meth:`Sampler.select`: a stable descending
sort over the scored subset, whose order is itself a seeded random permutation
of the unlabeled pool, so ties are broken by that seeded order and the same
config and seed give byte-identical selections.

Shapes used throughout: n = candidates (the scored subset), m = labeled,
C = classes, d = embedding size, T = MC passes or recorded epochs.
"""

from __future__ import annotations

import enum
from abc import ABC
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor


class Need(enum.StrEnum):
    """Quantities a sampler can ask the cycle to compute on the scored subset."""

    PROBS = "probs"  # (n, C) softmax of the classifier, eval mode, clean view
    LOGITS = "logits"  # (n, C)
    EMBEDDINGS = "embeddings"  # (n, d) penultimate features
    LABELED_EMBEDDINGS = "labeled_embeddings"  # (m, d)
    MC_PROBS = "mc_probs"  # (n, C, T) softmax under MC dropout on the embedding
    TRUE_LABELS = "true_labels"  # (n,) ground truth; oracle only
    TRACKED_LABELS = "tracked_labels"  # (n, T) predicted label at each recorded epoch
    TRACKED_PROBS = "tracked_probs"  # (n, C) running mean of recorded softmax (actual TD)
    TD_PROBS = "td_probs"  # (n, C) TiDAL module's predicted training dynamics
    PREDICTED_LOSS = "predicted_loss"  # (n,) LL4AL module output
    IMAGES = "images"  # (n, C_in, H, W) float candidates and (m, ...) labeled; VAAL


@dataclass(frozen=True)
class TrainingNeeds:
    """What a sampler needs *during* training.

    Attributes:
        aux_module: name of an auxiliary module trained jointly with the
            classifier (``"tidal"`` or ``"ll4al"``), or None.
        track_candidates: record predictions on the scored subset during training
            (label dispersion, actual training dynamics).
    """

    aux_module: str | None = None
    track_candidates: bool = False


@dataclass
class ScoringContext:
    """Everything a sampler may read. Fields a sampler did not declare stay None."""

    candidates: np.ndarray  # (n,) pool indices of the scored subset, in seeded random order
    labeled: np.ndarray  # (m,) pool indices of the labeled set
    num_classes: int
    seed: int  # the sampler's own random stream (random, oracle, BADGE draws)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    probs: Tensor | None = None
    logits: Tensor | None = None
    embeddings: Tensor | None = None
    labeled_embeddings: Tensor | None = None
    mc_probs: Tensor | None = None
    true_labels: Tensor | None = None
    tracked_labels: Tensor | None = None
    tracked_probs: Tensor | None = None
    td_probs: Tensor | None = None
    predicted_loss: Tensor | None = None
    images: Tensor | None = None
    labeled_images: Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.candidates)

    def require(self, need: Need) -> Tensor:
        value = getattr(self, need.value)
        if value is None:
            raise RuntimeError(
                f"scoring context has no {need.value!r}: the sampler must declare "
                f"Need.{need.name} in its `needs`"
            )
        return value


@dataclass(frozen=True)
class Selection:
    """Picked candidates in pick order.

    Attributes:
        positions: (b,) positions into ``ScoringContext.candidates``.
        scores: (b,) the score each pick had when it was picked (float64).
        all_scores: (n,) scores of every candidate, or None for samplers without
            a per-candidate score (k-center greedy, BADGE).
    """

    positions: np.ndarray
    scores: np.ndarray
    all_scores: np.ndarray | None = None


class Sampler(ABC):
    """A query strategy. Subclass, set the class attributes, implement :meth:`score`
    (or override :meth:`select` for batch-aware methods), and decorate with
    :func:`albench.samplers.register`.

    Class attributes:
        name: registry key.
        summary: one line for ``albench samplers``.
        needs: :class:`Need` values the cycle computes before scoring.
        training: :class:`TrainingNeeds`.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[frozenset[Need]] = frozenset()
    training: ClassVar[TrainingNeeds] = TrainingNeeds()

    def __init__(self, **params: Any) -> None:
        if params:
            raise TypeError(
                f"sampler {self.name!r} takes no parameters, got {', '.join(sorted(params))}"
            )

    def score(self, ctx: ScoringContext) -> Tensor:
        """(n,) scores, higher = more informative."""
        raise NotImplementedError(f"sampler {self.name!r} implements neither score nor select")

    def select(self, ctx: ScoringContext, budget: int) -> Selection:
        check_budget(budget, ctx.n, self.name)
        scores = self.score(ctx).detach().to("cpu", torch.float64).numpy()
        if scores.shape != (ctx.n,):
            raise ValueError(
                f"sampler {self.name!r} returned scores of shape {scores.shape}, "
                f"expected ({ctx.n},)"
            )
        if not np.isfinite(scores).all():
            bad = int((~np.isfinite(scores)).sum())
            raise FloatingPointError(f"sampler {self.name!r} produced {bad} non-finite scores")
        positions = top_k(scores, budget)
        return Selection(positions=positions, scores=scores[positions], all_scores=scores)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores; ties keep candidate order (stable sort)."""
    return np.argsort(-scores, kind="stable")[:k].astype(np.int64)


def check_budget(budget: int, n: int, sampler: str) -> None:
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    if budget > n:
        raise ValueError(
            f"sampler {sampler!r}: budget {budget} exceeds the {n} candidates in the scored subset"
        )
