"""Pure, batched score functions behind the query strategies.

Every function works on whole tensors (never one candidate at a time), on any
device, and keeps the input dtype. The sampler classes (``uncertainty.py``,
``bayesian.py``, ``diversity.py``, ``dynamics.py``, ``reference.py``) only
validate the scoring context and call these; they import this module inside
their methods, so listing samplers never loads PyTorch.

Shapes: n = candidates, m = labeled, C = classes, d = embedding size,
T = MC-dropout passes or recorded epochs; ``probs`` is (n, C), ``mc_probs`` is
(n, C, T), tracked labels are (n, T).

References:
    Kye, Choi, Byun, Chang. "TiDAL: Learning Training Dynamics for Active
    Learning." ICCV 2023. arXiv:2210.06788 (TiDAL(H/M) scores).
    Zolfaghari Bengar, Raducanu, van de Weijer. "When Deep Learners Change Their
    Mind: Learning Dynamics for Active Learning." CAIP 2021, LNCS 13052, 403–413.
    arXiv:2107.14707 (label dispersion, §3.1, Eq. 1–2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor


def require_shape(x: Tensor, name: str, ndim: int, rows: int | None = None) -> None:
    """Raise ``ValueError`` unless ``x`` has ``ndim`` dimensions (and ``rows`` rows if given)."""
    if x.ndim != ndim or (rows is not None and x.shape[0] != rows):
        want = f"{ndim}-D" + ("" if rows is None else f" with {rows} rows")
        raise ValueError(f"{name} must be {want}, got shape {tuple(x.shape)}")


def entropy(probs: Tensor, dim: int = 1) -> Tensor:
    """Shannon entropy H(p) = −Σ_c p_c log p_c in nats, reduced over ``dim`` (the class axis).

    Uses ``torch.special.xlogy`` so that 0·log 0 = 0: a probability that
    underflowed to exactly 0 contributes nothing instead of NaN (TiDAL's code
    has no epsilon, so its NaN scores sort first; docs/methods.md lists its known bugs).

    Args:
        probs: class probabilities, e.g. (n, C) or (n, C, T) with classes on ``dim``.
        dim: the class axis.

    Returns:
        ``probs`` with ``dim`` removed, e.g. (n,) or (n, T).
    """
    return -torch.special.xlogy(probs, probs).sum(dim)


def margin(probs: Tensor) -> Tensor:
    """Best-versus-second-best margin p₍₁₎ − p₍₂₎ per row; small = uncertain.

    Args:
        probs: (n, C) class probabilities, C >= 2.

    Returns:
        (n,) margins in [0, 1].
    """
    require_shape(probs, "probs", 2)
    if probs.shape[1] < 2:
        raise ValueError(
            f"margin needs at least 2 classes, got probs of shape {tuple(probs.shape)}"
        )
    top2 = probs.topk(2, dim=1).values  # (n, 2), descending
    return top2[:, 0] - top2[:, 1]


def least_confidence(probs: Tensor) -> Tensor:
    """Least confidence 1 − max_c p_c per row; large = uncertain.

    Args:
        probs: (n, C) class probabilities.

    Returns:
        (n,) scores in [0, 1 − 1/C].
    """
    require_shape(probs, "probs", 2)
    return 1.0 - probs.amax(dim=1)


ROW_CHUNK_ELEMENTS = 1 << 22  # elements per row-chunked temporary (16 MiB in float32)


def rows_per_chunk(width: int, elements: int = ROW_CHUNK_ELEMENTS) -> int:
    """Rows of a ``width``-wide table that fit in ``elements`` elements (at least 1)."""
    return max(1, elements // max(1, width))


def entropy_rows(probs: Tensor, chunk_rows: int | None = None) -> Tensor:
    """:func:`entropy` of each row of (n, C) ``probs``, ``chunk_rows`` rows at a time.

    The same values as ``entropy(probs, dim=1)`` (each row is reduced on its own),
    but the ``xlogy`` temporary is one chunk, not a second (n, C) table: at
    iNaturalist scale (n = 100k, C = 8,142) that is 16 MiB instead of 3 GiB.
    """
    require_shape(probs, "probs", 2)
    chunk_rows = chunk_rows or rows_per_chunk(probs.shape[1])
    if len(probs) <= chunk_rows:
        return entropy(probs, dim=1)
    out = probs.new_empty(len(probs))
    for start in range(0, len(probs), chunk_rows):
        out[start : start + chunk_rows] = entropy(probs[start : start + chunk_rows], dim=1)
    return out  # (n,)


def mc_moments(passes: Iterable[Tensor], chunk_rows: int | None = None) -> tuple[Tensor, Tensor]:
    """Mean class probabilities and mean per-pass entropy of T stochastic passes.

    The two statistics BALD needs, as running sums over the passes: only the
    sum of probabilities (n, C), the current pass and an entropy chunk are live,
    so memory does not grow with T (stacking the passes into an (n, C, T) table
    and taking ``xlogy`` of it peaked at 2.1·n·C·T·4 bytes, ≈ 64 GiB on the
    iNaturalist preset). Sums run in pass order and are divided by T at the end.

    Args:
        passes: T >= 1 tensors of shape (n, C), e.g. :func:`mc_dropout_passes`
            output or ``mc_probs.unbind(2)``. Each is read once and may be freed.
        chunk_rows: rows per entropy temporary (default :func:`rows_per_chunk`).

    Returns:
        mean_probs (n, C) = (1/T) Σ_t p_t and mean_entropy (n,) = (1/T) Σ_t H(p_t).
    """
    sum_probs = sum_entropy = None
    count = 0
    for probs in passes:
        require_shape(probs, "MC pass probabilities", 2)
        h = entropy_rows(probs, chunk_rows)  # (n,)
        if sum_probs is None:
            sum_probs, sum_entropy = probs.clone(), h
        else:
            if probs.shape != sum_probs.shape:
                raise ValueError(
                    f"MC passes must share one shape, got {tuple(sum_probs.shape)} "
                    f"and {tuple(probs.shape)}"
                )
            sum_probs.add_(probs)
            sum_entropy.add_(h)
        count += 1
        del probs, h
    if sum_probs is None:
        raise ValueError("mc_moments needs at least one pass")
    return sum_probs.div_(count), sum_entropy.div_(count)


def bald_from_moments(
    mean_probs: Tensor, mean_entropy: Tensor, chunk_rows: int | None = None
) -> Tensor:
    """BALD mutual information H(p̄) − (1/T) Σ_t H(p_t) from :func:`mc_moments`' output.

    Args:
        mean_probs: (n, C) p̄, the mean over passes.
        mean_entropy: (n,) mean over passes of each pass's entropy.
        chunk_rows: rows per entropy temporary.

    Returns:
        (n,) mutual information in nats, unclamped (see :func:`bald_mutual_information`).
    """
    require_shape(mean_probs, "mc_mean_probs", 2)
    require_shape(mean_entropy, "mc_mean_entropy", 1, rows=len(mean_probs))
    return entropy_rows(mean_probs, chunk_rows) - mean_entropy  # (n,)


def bald_mutual_information(mc_probs: Tensor) -> Tensor:
    """BALD mutual information H(p̄) − (1/T) Σ_t H(p_t) between label and weights.

    p̄ is the mean of the T stochastic passes. The value is returned as computed,
    without clamping: mathematically it is >= 0 (Jensen), and identical passes
    give 0 up to floating-point rounding of the mean (≈1e-7 in float32, ≈1e-16
    in float64), which may be of either sign. Computed through
    :func:`mc_moments` (running sums over passes), so it equals, bit for bit,
    what the cycle computes without ever holding the (n, C, T) table.

    Args:
        mc_probs: (n, C, T) class probabilities of T MC-dropout passes.

    Returns:
        (n,) mutual information in nats.
    """
    require_shape(mc_probs, "mc_probs", 3)
    return bald_from_moments(*mc_moments(mc_probs.unbind(dim=2)))  # (n,)


def k_center_greedy(
    emb: Tensor, labeled_emb: Tensor, budget: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center selection (Gonzalez 1985; Sener & Savarese 2018).

    Keeps δ_i = min over centres of ‖x_i − c‖₂, starting with the labeled
    embeddings as centres; each step picks argmax_i δ_i (ties → lowest
    position), makes it a centre and lowers δ with its distances. Squared
    distances use ‖x‖² + ‖c‖² − 2 x·c clamped at 0; the initial δ is built over
    ``chunk`` labeled rows at a time, so memory is O(n · chunk), never O(n · m).

    With no labeled rows (m = 0) every δ starts at +inf, so the first pick is
    position 0 (the candidates are already in seeded random order) and its
    recorded distance is +inf.

    Args:
        emb: (n, d) candidate embeddings.
        labeled_emb: (m, d) labeled embeddings, the initial centres; m may be 0.
        budget: number of picks, 1 <= budget <= n.
        chunk: labeled rows per distance block.

    Returns:
        positions: (budget,) int64 positions into ``emb`` in pick order.
        distances: (budget,) float64 δ of each pick at the time it was picked.
    """
    require_shape(emb, "embeddings", 2)
    require_shape(labeled_emb, "labeled_embeddings", 2)
    n, d = emb.shape
    if labeled_emb.shape[1] != d:
        raise ValueError(
            f"labeled_embeddings have dimension {labeled_emb.shape[1]}, embeddings have {d}"
        )
    _check_budget(budget, n)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if not (torch.isfinite(emb).all() and torch.isfinite(labeled_emb).all()):
        raise FloatingPointError("k-center greedy got non-finite embeddings")
    labeled_emb = labeled_emb.to(device=emb.device, dtype=emb.dtype)

    sq = (emb * emb).sum(1)  # (n,)
    min_d2 = torch.full((n,), math.inf, dtype=emb.dtype, device=emb.device)  # (n,)
    for start in range(0, labeled_emb.shape[0], chunk):
        block = labeled_emb[start : start + chunk]  # (k, d)
        d2 = sq[:, None] + (block * block).sum(1)[None, :] - 2.0 * (emb @ block.T)  # (n, k)
        min_d2 = torch.minimum(min_d2, d2.clamp_min_(0.0).amin(dim=1))

    # The pick j stays on the device (a (1,) index tensor): reading it on the host would
    # stall a GPU once per pick. Same arithmetic as with a Python int j, so the same picks.
    picked = torch.empty(budget, dtype=torch.long, device=emb.device)
    picked_d2 = torch.empty(budget, dtype=emb.dtype, device=emb.device)
    for step in range(budget):
        j = torch.argmax(min_d2).view(1)  # first maximal value → lowest position
        picked[step : step + 1] = j
        picked_d2[step : step + 1] = min_d2.index_select(0, j)
        centre = emb.index_select(0, j).squeeze(0)  # (d,)
        d2 = (sq + sq.index_select(0, j) - 2.0 * (emb @ centre)).clamp_min_(0.0)  # (n,)
        min_d2 = torch.minimum(min_d2, d2).index_fill_(0, j, -math.inf)  # never picked again
    positions = picked.cpu().numpy()
    distances = picked_d2.sqrt().to("cpu", torch.float64).numpy()
    return positions, distances


def badge_gradient_factor(probs: Tensor) -> Tensor:
    """a = p − e_ŷ with ŷ = argmax p: the class factor of BADGE's gradient embedding.

    The last-layer cross-entropy gradient at the pseudo-label ŷ is g = a ⊗ h
    (block c = (p_c − 1[c = ŷ])·h); the official code stores −g, which leaves
    all distances unchanged.

    Args:
        probs: (n, C) class probabilities.

    Returns:
        (n, C) tensor a.
    """
    require_shape(probs, "probs", 2)
    a = probs.clone()  # (n, C)
    rows = torch.arange(probs.shape[0], device=probs.device)
    a[rows, probs.argmax(dim=1)] -= 1.0
    return a


def badge_pairwise_sq_dist(a: Tensor, h: Tensor, i: Tensor, j: Tensor) -> Tensor:
    """Squared distances ‖g_x − g_y‖² between gradient embeddings g = a ⊗ h, unmaterialised.

    ‖g_x − g_y‖² = ‖a_x‖²‖h_x‖² + ‖a_y‖²‖h_y‖² − 2 (a_x·a_y)(h_x·h_y), since
    ⟨a_x ⊗ h_x, a_y ⊗ h_y⟩ = (a_x·a_y)(h_x·h_y); clamped at 0 against rounding.

    Args:
        a: (n, C) gradient factors from :func:`badge_gradient_factor`.
        h: (n, d) penultimate embeddings.
        i: (k,) row indices x.
        j: (l,) row indices y.

    Returns:
        (k, l) squared distances.
    """
    ai, aj, hi, hj = a[i], a[j], h[i], h[j]  # (k, C), (l, C), (k, d), (l, d)
    ni = (ai * ai).sum(1) * (hi * hi).sum(1)  # (k,)
    nj = (aj * aj).sum(1) * (hj * hj).sum(1)  # (l,)
    cross = (ai @ aj.T) * (hi @ hj.T)  # (k, l)
    return (ni[:, None] + nj[None, :] - 2.0 * cross).clamp_min(0.0)


def badge_kmeanspp(
    probs: Tensor, emb: Tensor, budget: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ seeding on BADGE gradient embeddings, without materialising them.

    First pick: the largest ‖g‖ (ties → lowest position). Then each pick is
    drawn from ``rng`` with probability ∝ D², the squared distance to the nearest
    chosen centre, and D² of every candidate is updated against the new centre
    in one batched op. Chosen candidates have weight 0, so nothing repeats. If
    every unchosen D² is 0 (only duplicates of centres are left), the pick is
    uniform among the unchosen.

    The inner products use the same elementwise-product-and-sum as the norms, so
    a duplicate of a centre (and the centre itself) gets D² = 0 exactly.

    Args:
        probs: (n, C) class probabilities.
        emb: (n, d) penultimate embeddings.
        budget: number of picks, 1 <= budget <= n.
        rng: the sampler's random stream.

    Returns:
        positions: (budget,) int64 positions in pick order.
        sq_dists: (budget,) float64 D² of each pick when it was picked; for the
            first pick ‖g‖² (its distance to the origin).
    """
    require_shape(probs, "probs", 2)
    n = probs.shape[0]
    require_shape(emb, "embeddings", 2, rows=n)
    _check_budget(budget, n)
    emb = emb.to(device=probs.device, dtype=probs.dtype)
    a = badge_gradient_factor(probs)  # (n, C)
    na = (a * a).sum(1)  # (n,)
    nh = (emb * emb).sum(1)  # (n,)
    sq_norm = na * nh  # (n,) ‖g‖²
    if not torch.isfinite(sq_norm).all():
        raise FloatingPointError("BADGE got non-finite probabilities or embeddings")

    positions = np.empty(budget, dtype=np.int64)
    sq_dists = np.empty(budget, dtype=np.float64)
    chosen = np.zeros(n, dtype=bool)
    c = int(torch.argmax(sq_norm))
    positions[0], sq_dists[0], chosen[c] = c, float(sq_norm[c]), True
    d2 = torch.full_like(sq_norm, math.inf)  # (n,)
    for step in range(1, budget):
        dot = (a * a[c]).sum(1) * (emb * emb[c]).sum(1)  # (n,) (a_x·a_c)(h_x·h_c)
        d2 = torch.minimum(d2, (sq_norm + sq_norm[c] - 2.0 * dot).clamp_min_(0.0))
        weights = d2.to("cpu", torch.float64).numpy().copy()  # (n,)
        weights[chosen] = 0.0
        total = weights.sum()
        if total > 0.0:
            c = int(rng.choice(n, p=weights / total))
        else:  # only duplicates of centres remain
            c = int(rng.choice(np.flatnonzero(~chosen)))
        assert not chosen[c], "k-means++ drew an already chosen candidate"
        positions[step], sq_dists[step], chosen[c] = c, weights[c], True
    return positions, sq_dists


def _check_budget(budget: int, n: int) -> None:
    if not 1 <= budget <= n:
        raise ValueError(f"budget must be between 1 and the {n} candidates, got {budget}")


# ----------------------------------------------------------------------------- TiDAL


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


# ----------------------------------------------------------------------------- label dispersion
#
# For each candidate the cycle records the predicted label yᵗ at every recorded
# epoch t = 1…T (an (n, T) integer table). With c* the most frequent label and fₓ
# its count, Dispersion(x) = 1 − fₓ / T: 0 for a label held at every epoch and
# 1 − 1/T for a label that changed at every epoch. Ties for the mode do not change
# fₓ. Variants: ``window=K`` uses only the last K recorded epochs; ``mode_window=K``
# is the research code's form (``Javadzb/Class-Balanced-AL``,
# ``query_strategies/dispersion.py``): c* is the mode of the last K epochs while fₓ
# counts over all epochs (ties → lowest label). The research code divided by
# ``n_epoch + 1``; albench divides by T (the paper's Eq. 1), so a constant label
# scores exactly 0.


def _check_window(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None, got {value!r}")


def _check_labels(labels: Tensor) -> None:
    if labels.dim() != 2 or labels.shape[1] < 1:
        raise ValueError(
            f"tracked labels must be (n, T) with T >= 1, got shape {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise ValueError(f"tracked labels must be an integer tensor, got dtype {labels.dtype}")


def _modal_run(labels: Tensor) -> tuple[Tensor, Tensor]:
    """(n, T) labels → (mode (n,), count of the mode (n,)), ties → lowest label.

    Sort each row; the mode is the value of the longest run of equal values.
    Run length at t = t − (start of the run containing t) + 1, where the start
    is the running maximum of the positions at which a new run begins.
    """
    ordered = labels.sort(dim=1).values  # (n, T) ascending
    n, t_len = ordered.shape
    positions = torch.arange(t_len, device=labels.device).expand(n, t_len)  # (n, T)
    new_run = torch.ones_like(ordered, dtype=torch.bool)  # (n, T)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    run_start = torch.where(new_run, positions, 0).cummax(dim=1).values  # (n, T)
    run_length = positions - run_start + 1  # (n, T)
    # argmax returns the first maximal position: the lowest label among tied modes.
    best = run_length.argmax(dim=1, keepdim=True)  # (n, 1)
    return ordered.gather(1, best).squeeze(1), run_length.gather(1, best).squeeze(1)


def modal_label_count(labels: Tensor, mode_window: int | None = None) -> Tensor:
    """fₓ: how many recorded epochs carry the modal label c*.

    Args:
        labels: (n, T) integer predicted labels, one column per recorded epoch.
        mode_window: take c* over the last K columns only (count still over all
            T); None → c* over all T. K ≥ T means all T.

    Returns:
        (n,) int64 counts in [1, T].
    """
    _check_labels(labels)
    _check_window("mode_window", mode_window)
    if labels.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=labels.device)
    if mode_window is None or mode_window >= labels.shape[1]:
        return _modal_run(labels)[1].to(torch.int64)
    mode, _ = _modal_run(labels[:, -mode_window:])  # (n,)
    return (labels == mode.unsqueeze(1)).sum(dim=1).to(torch.int64)  # (n,)


def label_dispersion(
    labels: Tensor, window: int | None = None, mode_window: int | None = None
) -> Tensor:
    """Dispersion(x) = 1 − fₓ / T over the recorded predicted labels (paper Eq. 1–2).

    Args:
        labels: (n, T) integer predicted labels, column t = recorded epoch t
            (oldest first).
        window: use only the last K recorded epochs (T → K); None → all. K ≥ T
            means all T.
        mode_window: research-code variant, c* over the last K (windowed) epochs
            while fₓ counts over all of them; None → the paper's form.

    Returns:
        (n,) float32 dispersion in [0, 1 − 1/T].
    """
    _check_labels(labels)
    _check_window("window", window)
    if window is not None and window < labels.shape[1]:
        labels = labels[:, -window:]  # (n, K)
    counts = modal_label_count(labels, mode_window)  # (n,)
    return 1.0 - counts.to(torch.float32) / labels.shape[1]
