"""Batched eval-mode inference and accuracy metrics.

Everything here runs in eval mode (BatchNorm running statistics, no
augmentation: the test/selection transform of the official code is
normalisation only) and restores the model's previous mode.

:func:`predict` keeps the device busy: its loop reads nothing back to the host (the
results stay on the device and are concatenated once), the forward passes run under
``torch.inference_mode``, and on CUDA each batch is copied from the host through pinned
memory with ``non_blocking=True`` (:func:`upload_batch`), so the copy of the next batch
overlaps the forward pass of this one instead of blocking the host.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import overload

import numpy as np
import torch
from torch import Tensor, nn

from albench.models.base import Backbone, ModelOutput
from albench.training.augment import Normalization, as_uint8_tensor
from albench.training.mc_dropout import mc_dropout_passes

Callback = Callable[[ModelOutput], Tensor]


@overload
def predict(
    model: Backbone,
    images: np.ndarray | Tensor,
    norm: Normalization,
    batch_size: int = 256,
    *,
    device: torch.device | str | None = None,
    callbacks: None = None,
) -> tuple[Tensor, Tensor]: ...


@overload
def predict(
    model: Backbone,
    images: np.ndarray | Tensor,
    norm: Normalization,
    batch_size: int = 256,
    *,
    device: torch.device | str | None = None,
    callbacks: Mapping[str, Callback],
) -> tuple[Tensor, Tensor, dict[str, Tensor]]: ...


def predict(
    model: Backbone,
    images: np.ndarray | Tensor,
    norm: Normalization,
    batch_size: int = 256,
    *,
    device: torch.device | str | None = None,
    callbacks: Mapping[str, Callback] | None = None,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Logits and embeddings of uint8 images, one eval-mode forward per batch.

    Args:
        model: the backbone.
        images: (n, H, W, C_in) uint8 (NumPy, memory map or tensor); moved to the
            device one batch at a time.
        norm: channel statistics.
        batch_size: images per forward pass.
        device: defaults to the model's device.
        callbacks: optional ``{name: fn}``; each ``fn`` maps a batch's
            :class:`ModelOutput` to a tensor (e.g. an auxiliary module's
            ``predict``), concatenated over batches.

    Returns:
        logits (n, C) float32 and embeddings (n, d) float32 on the device, plus
        ``{name: (n, ...)}`` when ``callbacks`` is given. They are ordinary tensors
        (concatenated outside inference mode), so callers may modify them or use them
        in autograd.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device) if device is not None else model_device(model)
    logits, embeddings = [], []
    extra: dict[str, list[Tensor]] = {name: [] for name in callbacks or {}}
    with _eval_mode(model, *_callback_modules(callbacks)), torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = norm.apply(
                upload_batch(images[start : start + batch_size], device)
            )  # (B, C_in, H, W)
            output = model(x)
            logits.append(output.logits.float())  # (B, C)
            embeddings.append(output.embedding.float())  # (B, d)
            for name, fn in (callbacks or {}).items():
                extra[name].append(fn(output))
    if not logits:
        raise ValueError("predict needs at least one image")
    result = torch.cat(logits), torch.cat(embeddings)
    if callbacks is None:
        return result
    return (*result, {name: torch.cat(parts) for name, parts in extra.items()})


@torch.no_grad()
def mc_dropout_probs(
    model: Backbone,
    embeddings: Tensor,
    passes: int = 10,
    p: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Softmax under MC dropout on the penultimate embedding (BALD, as in TiDAL's code).

    The embeddings are computed once (eval mode); each pass applies a fresh
    Bernoulli mask with drop probability ``p`` (survivors scaled by 1/(1−p), as
    ``nn.Dropout`` does) and re-runs only the classifier head.

    Args:
        model: supplies :meth:`Backbone.classify`.
        embeddings: (n, d).
        passes: T.
        p: drop probability in [0, 1).
        generator: seeds the masks; on the embeddings' device (or moved there).

    Returns:
        (n, C, T) probabilities.

    References:
        Gal, Islam, Ghahramani. "Deep Bayesian Active Learning with Image Data."
        ICML 2017. arXiv:1703.02910.
    """
    # The passes of albench.training.mc_dropout (same masks, same order), stacked: BALD
    # itself keeps only running sums; this table is for samplers that declare MC_PROBS.
    return torch.stack(list(mc_dropout_passes(model, embeddings, passes, p, generator)), dim=2)


def upload_batch(images: np.ndarray | Tensor, device: torch.device) -> Tensor:
    """A uint8 (B, H, W, C_in) batch (B×H×W gets C_in = 1) on ``device``.

    On CUDA a host batch is copied once into pinned memory and sent with
    ``non_blocking=True``: a copy from pageable memory would block the host until the
    GPU has it. PyTorch's pinned-memory cache keeps the staging block until the copy
    has finished, so freeing it right away is safe. Elsewhere: :func:`as_uint8_tensor`.
    """
    on_host = isinstance(images, np.ndarray) or images.device.type == "cpu"
    if device.type != "cuda" or not on_host:
        return as_uint8_tensor(images, device)
    if isinstance(images, np.ndarray) and images.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {images.dtype}")
    if isinstance(images, Tensor):
        images = as_uint8_tensor(images)  # checks the dtype and shape; no copy
    staging = pinned_empty(tuple(images.shape), torch.uint8)
    if isinstance(images, np.ndarray):
        staging.numpy()[...] = images  # one copy, also out of a memory map
    else:
        staging.copy_(images)
    return as_uint8_tensor(staging.to(device, non_blocking=True))


def pinned_empty(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """An uninitialised page-locked host tensor (needs a CUDA runtime)."""
    return torch.empty(shape, dtype=dtype, pin_memory=True)


def _as_predictions(predictions: Tensor | np.ndarray) -> Tensor:
    predictions = torch.as_tensor(predictions)
    return predictions.argmax(dim=1) if predictions.ndim == 2 else predictions  # (n,)


def accuracy(predictions: Tensor | np.ndarray, labels: Tensor | np.ndarray) -> float:
    """Top-1 accuracy in [0, 1]; ``predictions`` are labels (n,) or logits/probs (n, C)."""
    pred = _as_predictions(predictions)
    target = torch.as_tensor(labels, device=pred.device)
    if pred.shape != target.shape or len(pred) == 0:
        raise ValueError(
            f"need equally many predictions and labels (>0), got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )
    return float((pred == target).double().mean())


def per_class_accuracy(
    predictions: Tensor | np.ndarray, labels: Tensor | np.ndarray, num_classes: int
) -> Tensor:
    """(C,) float64 recall of each class; NaN for classes absent from ``labels``."""
    pred = _as_predictions(predictions)
    target = torch.as_tensor(labels, device=pred.device).long()
    if pred.shape != target.shape:
        raise ValueError(f"predictions {tuple(pred.shape)} and labels {tuple(target.shape)} differ")
    totals = torch.bincount(target, minlength=num_classes).double()  # (C,)
    hits = torch.bincount(target[pred == target], minlength=num_classes).double()  # (C,)
    if len(totals) > num_classes:
        raise ValueError(f"labels go up to {len(totals) - 1}, beyond num_classes={num_classes}")
    return torch.where(totals > 0, hits / totals.clamp(min=1), torch.nan)


def balanced_accuracy(
    predictions: Tensor | np.ndarray, labels: Tensor | np.ndarray, num_classes: int
) -> float:
    """Mean per-class recall over the classes present in ``labels``."""
    return float(per_class_accuracy(predictions, labels, num_classes).nanmean())


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters (the CPU for a parameter-free module)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _callback_modules(callbacks: Mapping[str, Callback] | None) -> list[nn.Module]:
    """Modules behind bound-method callbacks (``aux.predict``), so they run in eval mode too."""
    owners = (getattr(fn, "__self__", None) for fn in (callbacks or {}).values())
    return [owner for owner in owners if isinstance(owner, nn.Module)]


@contextlib.contextmanager
def _eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Eval mode for ``modules`` inside the block; their previous modes are restored after."""
    modes = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for module, mode in zip(modules, modes, strict=True):
            module.train(mode)
