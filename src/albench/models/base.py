"""What every backbone returns, so auxiliary modules (TiDAL, LL4AL) attach to any of them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ModelOutput:
    """One forward pass.

    Attributes:
        logits: (B, C) classifier logits.
        embedding: (B, d) penultimate features (input of the final linear layer).
        features: per-stage feature maps, each (B, C_k, H_k, W_k), shallow to deep;
            ``len(features) == len(model.stage_channels)``.
    """

    logits: Tensor
    embedding: Tensor
    features: list[Tensor]


class Backbone(nn.Module):
    """Base class: subclasses set the attributes below and implement ``forward_features``.

    Attributes:
        num_classes: C.
        embedding_dim: d, the size of :attr:`ModelOutput.embedding`.
        stage_channels: C_k of each stage feature map, shallow to deep.
    """

    num_classes: int
    embedding_dim: int
    stage_channels: tuple[int, ...]
    head: nn.Linear

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(B, C_in, H, W) float → (embedding (B, d), stage feature maps)."""
        raise NotImplementedError

    def classify(self, embedding: Tensor) -> Tensor:
        """Apply the final linear layer; used for MC dropout on the embedding (BALD)."""
        return self.head(embedding)

    def forward(self, x: Tensor) -> ModelOutput:
        embedding, features = self.forward_features(x)
        return ModelOutput(logits=self.classify(embedding), embedding=embedding, features=features)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["Backbone", "ModelOutput", "count_parameters", "torch"]
