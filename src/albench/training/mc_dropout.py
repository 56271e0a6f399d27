"""MC-dropout passes on the penultimate embedding, one pass at a time (BALD's input).

:func:`albench.training.evaluate.mc_dropout_probs` stacks all T passes into one
(n, C, T) table; at iNaturalist scale (n = 100k, C = 8,142, T = 10) that is
30 GiB before BALD's ``xlogy`` doubles it. :func:`mc_dropout_passes` yields the
same passes one by one (the same masks from the same generator, in the same
order), so a consumer such as :func:`albench.samplers.scores.mc_moments` keeps
only running sums.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from albench.models.base import Backbone


def mc_dropout_passes(
    model: Backbone,
    embeddings: Tensor,
    passes: int = 10,
    p: float = 0.5,
    generator: torch.Generator | None = None,
) -> Iterator[Tensor]:
    """Yield T softmax tables (n, C) under MC dropout on the embedding, as in TiDAL's code.

    The embeddings are computed once (eval mode); each pass applies a fresh
    Bernoulli mask with drop probability ``p`` (survivors scaled by 1/(1−p), as
    ``nn.Dropout`` does) and re-runs only the classifier head. Pass t equals
    ``mc_dropout_probs(...)[:, :, t]`` for the same generator state.

    Args:
        model: supplies :meth:`Backbone.classify`.
        embeddings: (n, d).
        passes: T >= 1.
        p: drop probability in [0, 1).
        generator: seeds the masks; on the embeddings' device (or moved there).

    Yields:
        (n, C) float32 probabilities, one pass at a time; the generator keeps no
        reference to a yielded table, so the consumer decides when it is freed.

    References:
        Gal, Islam, Ghahramani. "Deep Bayesian Active Learning with Image Data."
        ICML 2017. arXiv:1703.02910.
    """
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
    for _ in range(passes):
        yield _one_pass(model, embeddings, p, generator)  # not held here while the consumer runs


@torch.no_grad()
def _one_pass(
    model: Backbone, embeddings: Tensor, p: float, generator: torch.Generator | None
) -> Tensor:
    # A plain function, not a no_grad-decorated generator: that wrapper keeps the last
    # yielded table alive while the next pass is computed (one (n, C) table more).
    draw_device = generator.device if generator is not None else embeddings.device
    keep = torch.rand(embeddings.shape, generator=generator, device=draw_device) >= p  # (n, d)
    dropped = embeddings * keep.to(embeddings.device) / (1.0 - p)  # (n, d)
    del keep
    return model.classify(dropped).float().softmax(dim=1)  # (n, C)


__all__ = ["mc_dropout_passes"]
