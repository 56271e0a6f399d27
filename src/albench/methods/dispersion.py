"""Label dispersion: how often a sample's predicted label changed during training.

For each candidate the cycle records the predicted label yᵗ at every recorded
epoch t = 1…T (``Need.TRACKED_LABELS``, an (n, T) integer table). With c* the
most frequent label and fₓ its count,

    Dispersion(x) = 1 − fₓ / T,

0 for a label held at every epoch and 1 − 1/T for a label that changed at every
epoch. Highest dispersion is most informative. Ties for the mode do not change
fₓ (both modes have the same count).

Variants (all batched; no loop over samples):

* ``window=K``: only the last K recorded epochs are used (T becomes K).
* ``mode_window=K``: the research code's form — c* is the mode of the last K
  epochs only, while fₓ counts c* over all (windowed) epochs. Here ties for the
  mode matter; they are broken towards the lowest label index. The research
  code (``Javadzb/Class-Balanced-AL``, ``query_strategies/dispersion.py``) used
  ``torch.mode`` over epochs 76–100 of 100 (``mode_window=25``) and divided by
  ``n_epoch + 1`` instead of the number of recorded epochs; albench divides by T
  (the paper's Eq. 1), so a constant label scores exactly 0.

References:
    Javad Zolfaghari Bengar, Bogdan Raducanu, Joost van de Weijer. "When Deep
    Learners Change Their Mind: Learning Dynamics for Active Learning." CAIP 2021,
    LNCS 13052, 403–413. arXiv:2107.14707 (§3.1, Eq. 1–2).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["label_dispersion", "modal_label_count"]


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
