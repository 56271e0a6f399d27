"""Eval-mode prediction, accuracy metrics and MC dropout on the embedding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.models.small_cnn import SmallCNN
from albench.training.augment import Normalization
from albench.training.evaluate import (
    accuracy,
    balanced_accuracy,
    mc_dropout_probs,
    per_class_accuracy,
    predict,
)


def _model() -> SmallCNN:
    torch.manual_seed(0)
    model = SmallCNN(1, 3, widths=(4, 8, 8))
    model.train()
    with torch.no_grad():  # non-trivial running statistics, so eval and train mode differ
        model(torch.randn(16, 1, 8, 8) * 3 + 1)
    return model


def test_predict_equals_an_eval_forward_on_normalised_images() -> None:
    model = _model()
    images = np.random.default_rng(0).integers(0, 256, (7, 8, 8, 1), dtype=np.uint8)
    norm = Normalization((0.4,), (0.3,))
    logits, embeddings = predict(model, images, norm, batch_size=3)
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - 0.4) / 0.3
        out = model(x)
    torch.testing.assert_close(logits, out.logits)
    torch.testing.assert_close(embeddings, out.embedding)
    assert logits.shape == (7, 3) and embeddings.shape == (7, 8)

    extra_logits, _, extra = predict(
        model, images, norm, batch_size=4, callbacks={"norm": lambda o: o.embedding.norm(dim=1)}
    )
    torch.testing.assert_close(extra_logits, out.logits)
    torch.testing.assert_close(extra["norm"], out.embedding.norm(dim=1))


def test_accuracy_metrics_by_hand() -> None:
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    preds = torch.tensor([0, 0, 0, 1, 1, 0, 2, 2])
    assert accuracy(preds, labels) == pytest.approx(6 / 8)
    per_class = per_class_accuracy(preds, labels, num_classes=4)
    assert per_class[:3].tolist() == pytest.approx([3 / 4, 1 / 2, 1.0])
    assert math.isnan(per_class[3])  # class 3 absent from the labels
    assert balanced_accuracy(preds, labels, num_classes=4) == pytest.approx((0.75 + 0.5 + 1) / 3)
    logits = torch.nn.functional.one_hot(preds, 4).float()  # (n, C) input → argmax
    assert accuracy(logits, labels.numpy()) == pytest.approx(6 / 8)
    with pytest.raises(ValueError, match="equally many"):
        accuracy(preds[:3], labels)


def test_mc_dropout_reuses_the_embedding_and_matches_manual_masks() -> None:
    model = _model()
    embeddings = torch.rand(5, 8) + 0.1
    probs = mc_dropout_probs(
        model, embeddings, passes=4, p=0.5, generator=torch.Generator().manual_seed(9)
    )
    assert probs.shape == (5, 3, 4)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(5, 4))
    generator = torch.Generator().manual_seed(9)
    for t in range(4):
        keep = torch.rand(5, 8, generator=generator) >= 0.5
        expected = model.classify(embeddings * keep / 0.5).softmax(dim=1)
        torch.testing.assert_close(probs[:, :, t], expected.detach())
    assert not torch.allclose(probs[:, :, 0], probs[:, :, 1])
    no_drop = mc_dropout_probs(model, embeddings, passes=2, p=0.0)
    plain = model.classify(embeddings).softmax(dim=1).detach()
    torch.testing.assert_close(no_drop, plain.unsqueeze(2).expand(5, 3, 2))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1.0"):
        mc_dropout_probs(model, embeddings, p=1.0)


def test_mc_dropout_passes_are_the_stacked_passes_one_at_a_time() -> None:
    from albench.training.mc_dropout import mc_dropout_passes

    model, embeddings = _model(), torch.rand(6, 8) + 0.1
    stacked = mc_dropout_probs(
        model, embeddings, passes=3, generator=torch.Generator().manual_seed(4)
    )
    streamed = list(
        mc_dropout_passes(model, embeddings, passes=3, generator=torch.Generator().manual_seed(4))
    )
    assert torch.equal(torch.stack(streamed, dim=2), stacked)  # same masks, same order
    assert not any(t.requires_grad for t in streamed)
    with pytest.raises(ValueError, match="passes must be >= 1, got 0"):
        next(mc_dropout_passes(model, embeddings, passes=0))
