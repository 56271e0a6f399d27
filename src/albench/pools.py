"""Long-tailed training pools and initial labeled sets.

The imbalance is applied to the *training pool* only; the test set stays as
published (Cao et al., 2019; the TiDAL code). Construction, following TiDAL's
``make_imbalance`` (``utils/make_imbalance.py``; docs/methods.md):

1. Reserve ``reserve_per_class`` random samples of every class (TiDAL: 1, its
   ``init_dist=random`` seeds). They belong to the pool and open every initial set.
2. ``n_max = ⌊|rest| / C⌋`` (capped by the head class's size when classes
   are unequal, as in digits or SVHN) unless set explicitly.
3. Class ``head_order[i]`` keeps ``n_i`` randomly drawn samples:
   ``exp``: ``n_i = int(n_max · (1/IR)^(i/(C−1)))`` (the exact float expression of
   the official code, so the published pool sizes are reproduced);
   ``step``: the first ``⌊C/2⌋`` classes keep ``n_max``, the rest ``int(n_max/IR)``.
4. The pool is the reserved samples followed by the drawn ones, shuffled.

``IR = 1`` keeps the whole training set (the balanced, published pool). All
randomness comes from the ``pool`` stream of the experiment seed, and the
initial set from the separate ``initial`` stream (Ji et al., 2023).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from albench.io import read_json, write_json
from albench.seeding import derive_seed

if TYPE_CHECKING:
    from albench.config import PoolConfig

PROFILES = ("exp", "step")
INITIAL_STRATEGIES = ("random", "balanced")
POOL_FORMAT = 1


def long_tailed_counts(
    n_max: int, num_classes: int, ratio: float, profile: str = "exp"
) -> list[int]:
    """Samples kept per class, in head-to-tail order."""
    validate_ratio(ratio)
    if profile not in PROFILES:
        raise ValueError(
            f"unknown imbalance profile {profile!r}; valid profiles: {', '.join(PROFILES)}"
        )
    if num_classes < 1 or n_max < 0:
        raise ValueError(f"need num_classes >= 1 and n_max >= 0, got {num_classes} and {n_max}")
    if ratio == 1 or num_classes == 1:
        return [n_max] * num_classes
    if profile == "exp":
        factor = 1.0 / ratio
        return [int(n_max * factor ** (i / (num_classes - 1.0))) for i in range(num_classes)]
    head = num_classes // 2
    return [n_max] * head + [int(n_max / ratio)] * (num_classes - head)


def validate_ratio(ratio: float) -> None:
    if not isinstance(ratio, int | float) or isinstance(ratio, bool) or not math.isfinite(ratio):
        raise ValueError(f"imbalance ratio must be a number >= 1, got {ratio!r}")
    if ratio < 1:
        raise ValueError(
            f"imbalance ratio must be >= 1 (1 = balanced, 10 = head/tail 10:1), got {ratio}"
        )


@dataclass(frozen=True)
class Pool:
    """An unlabeled training pool. ``indices`` are positions in the dataset's train split."""

    dataset: str
    imbalance_ratio: float
    profile: str
    seed: int
    head_order: list[int]
    reserve_per_class: int
    n_max: int
    num_classes: int
    class_counts: list[int]  # per class label, seeds included
    reserved: np.ndarray = field(repr=False)  # (C·reserve,) seeds, in class order
    indices: np.ndarray = field(repr=False)  # (|pool|,) reserved first, then the shuffled draw
    data_hash: str = ""

    @property
    def size(self) -> int:
        return len(self.indices)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = POOL_FORMAT
        data["reserved"] = self.reserved.tolist()
        data["indices"] = self.indices.tolist()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Pool:
        if not isinstance(data, dict) or data.get("format") != POOL_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a pool file (format {found!r}, expected {POOL_FORMAT})")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(names - set(data) - {"data_hash"})
        unknown = sorted(set(data) - names - {"format"})
        if missing or unknown:
            raise ValueError(f"pool file with missing key(s) {missing} / unknown key(s) {unknown}")
        fields = {k: v for k, v in data.items() if k != "format"}
        fields["reserved"] = _index_array(fields["reserved"], "reserved")
        fields["indices"] = _index_array(fields["indices"], "indices")
        if not set(fields["reserved"].tolist()) <= set(fields["indices"].tolist()):
            raise ValueError("pool file: reserved seeds that are not in the pool's indices")
        return cls(**fields)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Pool:
        return _load(cls, path, "pool file (albench pool build)")


def pool_class_sizes(
    available: list[int],
    *,
    imbalance_ratio: float = 1,
    profile: str = "exp",
    reserve_per_class: int = 1,
    head_order: list[int] | None = None,
    n_max: int | None = None,
) -> tuple[list[int], list[int], int]:
    """How many samples of each class a pool keeps, from the per-class train counts.

    Returns ``(reserved, drawn, n_max)`` per class label. Needs no data, so the
    workflow can check budgets against the pool size before any job runs.
    """
    validate_ratio(imbalance_ratio)
    if profile not in PROFILES:
        raise ValueError(
            f"unknown imbalance profile {profile!r}; valid profiles: {', '.join(PROFILES)}"
        )
    num_classes = len(available)
    order = list(range(num_classes)) if head_order is None else [int(c) for c in head_order]
    if sorted(order) != list(range(num_classes)):
        raise ValueError(
            f"head_order must be a permutation of 0..{num_classes - 1} (head class first), got {order}"
        )
    if reserve_per_class < 0:
        raise ValueError(f"reserve_per_class must be >= 0, got {reserve_per_class}")
    for c, count in enumerate(available):
        if count < reserve_per_class:
            raise ValueError(
                f"class {c} has {count} training samples, fewer than "
                f"reserve_per_class={reserve_per_class}"
            )
    rest = [count - reserve_per_class for count in available]
    if n_max is None:  # the official ⌊|rest|/C⌋, capped by what the head class has
        n_max = min(sum(rest) // num_classes, rest[order[0]])
    if imbalance_ratio == 1:
        return [reserve_per_class] * num_classes, rest, n_max  # the whole published set
    drawn = [0] * num_classes
    targets = long_tailed_counts(n_max, num_classes, imbalance_ratio, profile)
    for rank, c in enumerate(order):
        if targets[rank] > rest[c]:
            raise ValueError(
                f"class {c} needs {targets[rank]} samples for IR={imbalance_ratio} ({profile}) "
                f"but has {rest[c]} after reserving seeds; set pool.n_max <= {rest[c]}"
            )
        drawn[c] = targets[rank]
    return [reserve_per_class] * num_classes, drawn, n_max


def build_pool(
    labels: np.ndarray,
    *,
    num_classes: int,
    imbalance_ratio: float = 1,
    seed: int = 0,
    config: PoolConfig | None = None,
    dataset: str = "",
    data_hash: str = "",
) -> Pool:
    """Draw a (long-tailed) pool from the train labels; deterministic given ``seed``.

    ``config`` (:class:`albench.config.PoolConfig`) sets the profile, the
    reserved seeds per class, the head order and ``n_max``; default: ``exp``,
    one seed per class, label order, ⌊|rest|/C⌋.
    """
    from albench.config import PoolConfig

    config = config or PoolConfig()
    profile, reserve_per_class = config.profile, config.reserve_per_class
    head_order, n_max = config.head_order, config.n_max
    labels = np.asarray(labels, dtype=np.int64)
    by_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    _, drawn_counts, n_max = pool_class_sizes(
        [len(m) for m in by_class],
        imbalance_ratio=imbalance_ratio,
        profile=profile,
        reserve_per_class=reserve_per_class,
        head_order=head_order,
        n_max=n_max,
    )
    order = list(range(num_classes)) if head_order is None else [int(c) for c in head_order]
    gen = np.random.default_rng(derive_seed(seed, "pool"))
    reserved, kept = [], []
    for members, count in zip(by_class, drawn_counts, strict=True):
        members = gen.permutation(members)
        reserved.append(members[:reserve_per_class])
        kept.append(members[reserve_per_class : reserve_per_class + count])
    drawn = gen.permutation(np.concatenate(kept)) if kept else np.empty(0, dtype=np.int64)
    seeds = np.concatenate(reserved).astype(np.int64)
    indices = np.concatenate([seeds, drawn]).astype(np.int64)
    counts = np.bincount(labels[indices], minlength=num_classes)
    return Pool(
        dataset=dataset,
        imbalance_ratio=float(imbalance_ratio),
        profile=profile,
        seed=int(seed),
        head_order=order,
        reserve_per_class=int(reserve_per_class),
        n_max=int(n_max),
        num_classes=num_classes,
        class_counts=counts.tolist(),
        reserved=seeds,
        indices=indices,
        data_hash=data_hash,
    )


def resolve_size(size: int | None, fraction: float | None, total: int, what: str) -> int:
    """A count given directly or as a fraction of ``total``; never silently clipped."""
    if (size is None) == (fraction is None):
        raise ValueError(f"{what}: give exactly one of a size or a fraction")
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise ValueError(f"{what}: fraction must be in (0, 1], got {fraction}")
        size = round(fraction * total)
    assert size is not None
    if size < 1:
        raise ValueError(f"{what}: size must be >= 1, got {size}")
    if size > total:
        raise ValueError(f"{what}: size {size} is larger than the pool ({total} samples)")
    return size


@dataclass(frozen=True)
class LabeledSet:
    """Indices (into the train split) of labeled samples, with how they got there."""

    indices: np.ndarray
    cycle: int
    seed: int
    origin: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "seed": self.seed,
            "origin": self.origin,
            "size": len(self.indices),
            "indices": self.indices.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabeledSet:
        required = ("indices", "cycle", "seed", "origin")
        if not isinstance(data, dict) or any(key not in data for key in required):
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a labeled-set file: expected keys {list(required)}, got {found}")
        try:
            cycle, seed = int(data["cycle"]), int(data["seed"])
        except (TypeError, ValueError):
            raise ValueError(
                f"cycle and seed must be integers, got {data['cycle']!r}, {data['seed']!r}"
            ) from None
        return cls(
            indices=_index_array(data["indices"], "indices"),
            cycle=cycle,
            seed=seed,
            origin=dict(data["origin"]),
        )

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> LabeledSet:
        return _load(cls, path, "labeled-set file (initial.json or labeled_next.json)")


def _index_array(values: Any, key: str) -> np.ndarray:
    """Train-split indices: a list of distinct non-negative integers."""
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{key} must be a list of integers, got {str(values)[:60]}")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError(f"{key} holds negative index {int(array.min())}; indices are >= 0")
    if len(np.unique(array)) != len(array):
        duplicated = int(len(array) - len(np.unique(array)))
        raise ValueError(f"{key} holds {duplicated} duplicated index(es); each sample appears once")
    return array


def _load(cls, path: str | Path, what: str):
    data = read_json(path)
    try:
        return cls.from_json(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc} (expected a {what})") from None


def initial_labeled_set(
    pool: Pool,
    labels: np.ndarray,
    *,
    size: int | None = None,
    fraction: float | None = None,
    strategy: str = "random",
    seed: int = 0,
) -> LabeledSet:
    """The cycle-0 labeled set, drawn from ``pool`` with the ``initial`` seed stream.

    ``random``: the pool's reserved seeds, then uniformly drawn pool samples up
    to ``size`` (TiDAL's ``init_dist=random``). ``balanced``: ``size // C``
    samples per class (the first ``size % C`` classes in head order get one
    more), reserved seeds counted first.
    """
    if strategy not in INITIAL_STRATEGIES:
        raise ValueError(
            f"unknown initial-set strategy {strategy!r}; valid: {', '.join(INITIAL_STRATEGIES)}"
        )
    n = resolve_size(size, fraction, pool.size, "initial labeled set")
    labels = np.asarray(labels, dtype=np.int64)
    gen = np.random.default_rng(derive_seed(seed, "initial"))
    seeds = pool.reserved
    if n < len(seeds):
        raise ValueError(
            f"initial labeled set: size {n} is smaller than the {len(seeds)} reserved seeds "
            f"(reserve_per_class={pool.reserve_per_class} × {pool.num_classes} classes)"
        )
    rest = pool.indices[len(seeds) :]
    if strategy == "random":
        chosen = gen.choice(rest, size=n - len(seeds), replace=False)
    else:
        per_class = [n // pool.num_classes] * pool.num_classes
        for rank in range(n % pool.num_classes):
            per_class[pool.head_order[rank]] += 1
        chosen_parts = []
        for c in range(pool.num_classes):
            have = int((labels[seeds] == c).sum())
            candidates = rest[labels[rest] == c]
            need = per_class[c] - have
            if need > len(candidates):
                raise ValueError(
                    f"initial labeled set: balanced strategy needs {per_class[c]} samples of class "
                    f"{c} but the pool has {len(candidates) + have}"
                )
            chosen_parts.append(gen.choice(candidates, size=max(need, 0), replace=False))
        chosen = np.concatenate(chosen_parts)
    indices = np.concatenate([seeds, np.sort(chosen)]).astype(np.int64)
    origin = {
        "kind": "initial",
        "strategy": strategy,
        "dataset": pool.dataset,
        "imbalance_ratio": pool.imbalance_ratio,
        "pool_seed": pool.seed,
    }
    return LabeledSet(indices=indices, cycle=0, seed=int(seed), origin=origin)


def describe_pool(pool: Pool, class_names: list[str] | None = None) -> str:
    """A human-readable summary: size, per-class counts, head/tail ratio."""
    names = class_names or [str(c) for c in range(pool.num_classes)]
    counts = pool.class_counts
    lines = [
        f"pool {pool.dataset or '?'}  IR={pool.imbalance_ratio:g} ({pool.profile})  "
        f"seed={pool.seed}  size={pool.size}  reserved seeds={len(pool.reserved)}",
        f"  largest class {max(counts)}, smallest {min(counts)}, "
        f"observed ratio {max(counts) / max(min(counts), 1):.1f}",
    ]
    width = max(len(n) for n in names)
    for rank, c in enumerate(pool.head_order):
        bar = "#" * max(1, round(40 * counts[c] / max(counts))) if counts[c] else ""
        lines.append(f"  {rank:>3} {names[c]:<{width}} {counts[c]:>7}  {bar}")
    return "\n".join(lines)
