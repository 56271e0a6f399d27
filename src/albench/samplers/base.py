"""The sampler contract: declare what you need, return scores (or a selection).

Convention (as in scikit-activeml): **higher score = more informative**, always.
Samplers that rank "smallest first" (margin, TiDAL(M)) return the negated
quantity. Selection is owned by :meth:`Sampler.select`: a stable descending
sort over the scored subset, whose order is itself a seeded random permutation
of the unlabeled pool, so ties are broken by that seeded order and the same
config and seed give byte-identical selections.

A sampler says what it needs in exactly one place, :attr:`Sampler.needs`: a set
of :class:`Need` values. The cycle computes each of them with the provider
registered for it (``albench.cycle.context``), and a need that an auxiliary
training objective provides (TiDAL's predicted dynamics, LL4AL's predicted loss)
makes the cycle train that objective jointly with the classifier
(``albench.training.objectives``). Nothing else about a sampler changes what
the cycle does.

Shapes used throughout: n = candidates (the scored subset), m = labeled,
C = classes, d = embedding size, T = MC passes or recorded epochs.

Sampler modules do not import torch at module level (they import their tensor
code inside ``score``/``select``), so the workflow can list and validate samplers
without loading PyTorch; ``tests/samplers`` checks it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import Tensor


class Need(enum.StrEnum):
    """Quantities a sampler can ask the cycle to compute on the scored subset."""

    PROBS = "probs"  # (n, C) softmax of the classifier, eval mode, clean view
    LOGITS = "logits"  # (n, C)
    EMBEDDINGS = "embeddings"  # (n, d) penultimate features
    LABELED_EMBEDDINGS = "labeled_embeddings"  # (m, d)
    MC_PROBS = "mc_probs"  # (n, C, T) softmax under MC dropout on the embedding (n·C·T memory)
    MC_MEAN_PROBS = "mc_mean_probs"  # (n, C) mean over the T MC-dropout passes' softmax
    MC_MEAN_ENTROPY = "mc_mean_entropy"  # (n,) mean over the T passes of each pass's entropy
    TRUE_LABELS = "true_labels"  # (n,) ground truth; oracle only
    TRACKED_LABELS = "tracked_labels"  # (n, T) predicted label at each recorded epoch, clean view
    TRACKED_PROBS = "tracked_probs"  # (n, C) running mean of recorded softmax (actual TD), clean
    TRACKED_LABELS_AUG = "tracked_labels_aug"  # (n, T) as TRACKED_LABELS, training augmentation
    TRACKED_PROBS_AUG = "tracked_probs_aug"  # (n, C) as TRACKED_PROBS, training augmentation
    TRACKED_LABELS_TRAIN = "tracked_labels_train"  # (n, T) train mode + augmentation (TiDAL's view)
    TRACKED_PROBS_TRAIN = "tracked_probs_train"  # (n, C) train mode + augmentation (TiDAL's view)
    TD_PROBS = "td_probs"  # (n, C) TiDAL module's predicted training dynamics
    PREDICTED_LOSS = "predicted_loss"  # (n,) LL4AL module output
    IMAGES = "images"  # (n, C_in, H, W) normalised candidate images
    LABELED_IMAGES = "labeled_images"  # (m, C_in, H, W) normalised labeled images


# The tracked quantities of each candidate-tracker view: (labels, running-mean probs).
TRACKED = {
    "clean": (Need.TRACKED_LABELS, Need.TRACKED_PROBS),
    "train_aug": (Need.TRACKED_LABELS_AUG, Need.TRACKED_PROBS_AUG),
    "train": (Need.TRACKED_LABELS_TRAIN, Need.TRACKED_PROBS_TRAIN),
}

# Needs provided by an auxiliary objective trained jointly with the classifier, and that
# objective's name (its hyperparameters are ``sampler_params.<name>_module``). The objective
# classes register under these names in ``albench.training.objectives``; this table is here,
# torch-free, so that the workflow can tell which runs train which objective.
OBJECTIVES = {Need.TD_PROBS: "tidal", Need.PREDICTED_LOSS: "ll4al"}


def objectives_of(needs: frozenset[Need]) -> tuple[str, ...]:
    """Names of the objectives a set of needs makes the cycle train, sorted."""
    return tuple(sorted({OBJECTIVES[need] for need in needs if need in OBJECTIVES}))


def tracked_views(needs: frozenset[Need]) -> tuple[str, ...]:
    """Candidate-tracker views a set of needs asks for, sorted."""
    return tuple(sorted(view for view, tracked in TRACKED.items() if set(tracked) & needs))


def diagnostic_only(views: tuple[str, ...], scored: list[frozenset[Need]]) -> tuple[str, ...]:
    """The tracker ``views`` that no set of sampler needs in ``scored`` reads."""
    read = {view for needs in scored for view in tracked_views(needs)}
    return tuple(view for view in views if view not in read)


@dataclass
class ScoringContext:
    """Everything a sampler may read: the candidates and the quantities it declared.

    ``values`` holds exactly the sampler's declared needs (plus what the
    diagnostics use); :meth:`require` is how a sampler reads one.
    """

    candidates: np.ndarray  # (n,) pool indices of the scored subset, in seeded random order
    labeled: np.ndarray  # (m,) pool indices of the labeled set
    num_classes: int
    seed: int  # the sampler's own random stream (random, oracle, BADGE, VAAL draws)
    device: torch.device | str = "cpu"
    values: dict[Need, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        candidates: Any,
        labeled: Any,
        num_classes: int,
        seed: int,
        device: torch.device | str = "cpu",
        **values: Any,
    ) -> ScoringContext:
        """A context from keyword values named after the needs (``probs=…``); handy in tests."""
        needs = {Need(name): value for name, value in values.items()}
        return cls(np.asarray(candidates), np.asarray(labeled), num_classes, seed, device, needs)

    @property
    def n(self) -> int:
        return len(self.candidates)

    def require(self, need: Need) -> Tensor:
        """The computed value of ``need``; an error says to declare it if it is missing."""
        value = self.values.get(need)
        if value is None:
            raise RuntimeError(
                f"scoring context has no {need.value!r}: the sampler must declare "
                f"Need.{need.name} in its `needs`"
            )
        return value

    def has(self, *needs: Need) -> bool:
        return all(self.values.get(need) is not None for need in needs)

    def restricted(self, needs: frozenset[Need]) -> ScoringContext:
        """A copy holding only ``needs`` (what a sampler that declared them may read)."""
        kept = {need: value for need, value in self.values.items() if need in needs}
        return ScoringContext(
            self.candidates, self.labeled, self.num_classes, self.seed, self.device, kept
        )


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


ROLES = ("method", "control", "reference")


@dataclass(frozen=True)
class Sampler:
    """A query strategy.

    Subclass it, set the class attributes below, implement :meth:`score` (or
    override :meth:`select` for batch-aware methods) and decorate the class with
    :func:`albench.samplers.register` (built-ins) or expose it through an
    ``albench.samplers`` entry point or a ``module:Class`` reference (plugins).
    Hyperparameters are dataclass fields: decorate a subclass that has any with
    ``@dataclass(frozen=True)`` and validate them in ``__post_init__``.

    Class attributes:
        name: registry key (letters, digits, underscores; it becomes a folder name).
        summary: one line for ``albench samplers``.
        needs: :class:`Need` values the cycle computes before scoring. A sampler
            whose needs depend on its hyperparameters overrides it as a property.
        role: ``"method"`` (a query strategy that competes), ``"control"`` (the
            same training as a method with a random query, to isolate its
            selection effect) or ``"reference"`` (an oracle or ablation that
            brackets the methods); controls and references are kept out of
            ranks and significance matrices.
        diagnostic: score this sampler on every cycle's candidates whenever its
            needs are available, for the tail-AUROC and informativeness
            analyses; only for cheap, deterministic scores.
        quick_params: hyperparameters that make the sampler cheap on tiny inputs
            (the contract tests in ``tests/samplers`` build it with them).
        control: the name of this method's own random control (a sampler with role
            ``"control"`` that trains exactly as this one and queries at random), so
            the report can separate the selection effect from the training effect.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[frozenset[Need]] = frozenset()
    role: ClassVar[str] = "method"
    diagnostic: ClassVar[bool] = False
    quick_params: ClassVar[dict[str, Any]] = {}
    control: ClassVar[str | None] = None

    def score(self, ctx: ScoringContext) -> Tensor:
        """(n,) scores, higher = more informative."""
        raise NotImplementedError(f"sampler {self.name!r} implements neither score nor select")

    @classmethod
    def has_score(cls) -> bool:
        """Whether the sampler ranks candidates by a per-candidate score."""
        return cls.score is not Sampler.score

    def select(self, ctx: ScoringContext, budget: int) -> Selection:
        import torch

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
