"""One template run over every classic sampler: contract, determinism, needs, docs."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
import torch

from albench.samplers import registry
from albench.samplers.base import Need, Sampler, ScoringContext
from albench.samplers.bayesian import BALDSampler
from albench.samplers.diversity import BADGESampler, CoreSetSampler
from albench.samplers.reference import OracleSampler, RandomSampler
from albench.samplers.uncertainty import EntropySampler, LeastConfidenceSampler, MarginSampler

SAMPLERS: dict[str, type[Sampler]] = {
    "random": RandomSampler,
    "oracle": OracleSampler,
    "entropy": EntropySampler,
    "margin": MarginSampler,
    "least_confidence": LeastConfidenceSampler,
    "bald": BALDSampler,
    "coreset": CoreSetSampler,
    "badge": BADGESampler,
}
N, M, C, D, T = 40, 15, 5, 8, 4


def full_context(seed: int = 3) -> ScoringContext:
    """Every field filled from small seeded random tensors."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(N, C, generator=g) * 2  # (n, C)
    mc_logits = logits[:, :, None] + torch.randn(N, C, T, generator=g)  # (n, C, T)
    tracked_labels = torch.randint(0, C, (N, 6), generator=g)  # (n, 6)
    return ScoringContext(
        candidates=np.random.default_rng(1).permutation(100)[:N],
        labeled=np.arange(100, 100 + M),
        num_classes=C,
        seed=seed,
        probs=logits.softmax(1),
        logits=logits,
        embeddings=torch.relu(torch.randn(N, D, generator=g)),
        labeled_embeddings=torch.relu(torch.randn(M, D, generator=g)),
        mc_probs=mc_logits.softmax(1),
        true_labels=torch.randint(0, C, (N,), generator=g),
        tracked_labels=tracked_labels,
        tracked_probs=torch.rand(N, C, generator=g).softmax(1),
        td_probs=torch.rand(N, C, generator=g).softmax(1),
        predicted_loss=torch.rand(N, generator=g),
        images=torch.rand(N, 1, 4, 4, generator=g),
        labeled_images=torch.rand(M, 1, 4, 4, generator=g),
    )


def only_needed(ctx: ScoringContext, needs: frozenset[Need]) -> ScoringContext:
    """A copy with every tensor field the sampler did not declare set to None."""
    keep = {need.value for need in needs}
    cleared = {
        f.name: None
        for f in dataclasses.fields(ctx)
        if isinstance(getattr(ctx, f.name), torch.Tensor) and f.name not in keep
    }
    return dataclasses.replace(ctx, **cleared)


def test_all_registered_under_their_names():
    for name, cls in SAMPLERS.items():
        assert cls.name == name
        assert registry._REGISTRY[name] is cls


def test_unknown_sampler_error_lists_valid_names(monkeypatch):
    monkeypatch.setattr(registry, "_load_builtin", lambda: None)  # builtin.py is the lead's
    with pytest.raises(ValueError, match="unknown sampler 'nope'") as err:
        registry.get_sampler("nope")
    listed = str(err.value).split("valid samplers: ")[1].split(", ")
    assert set(SAMPLERS) <= set(listed)
    assert isinstance(registry.get_sampler("coreset", chunk=7), CoreSetSampler)
    assert registry.get_sampler("coreset", chunk=7).chunk == 7


@pytest.mark.parametrize("name", sorted(SAMPLERS))
class TestSamplerTemplate:
    def test_selection_contract(self, name):
        ctx = full_context()
        sel = SAMPLERS[name]().select(ctx, 10)
        assert sel.positions.dtype == np.int64 and sel.positions.shape == (10,)
        assert len(set(sel.positions.tolist())) == 10
        assert sel.positions.min() >= 0 and sel.positions.max() < N
        assert sel.scores.dtype == np.float64 and sel.scores.shape == (10,)
        assert np.isfinite(sel.scores).all()
        if sel.all_scores is not None:
            assert sel.all_scores.shape == (N,) and np.isfinite(sel.all_scores).all()
            np.testing.assert_array_equal(sel.scores, sel.all_scores[sel.positions])
            assert np.all(np.diff(sel.scores) <= 0)  # best first

    def test_whole_pool_is_a_permutation(self, name):
        sel = SAMPLERS[name]().select(full_context(), N)
        assert sorted(sel.positions.tolist()) == list(range(N))

    def test_same_seed_same_selection(self, name):
        first = SAMPLERS[name]().select(full_context(seed=5), 12)
        again = SAMPLERS[name]().select(full_context(seed=5), 12)
        np.testing.assert_array_equal(first.positions, again.positions)
        np.testing.assert_array_equal(first.scores, again.scores)

    def test_declared_needs_suffice(self, name):
        cls = SAMPLERS[name]
        ctx = full_context()
        full = cls().select(ctx, 8)
        lean = cls().select(only_needed(ctx, cls.needs), 8)
        np.testing.assert_array_equal(full.positions, lean.positions)

    @pytest.mark.parametrize("budget", [0, N + 1])
    def test_bad_budget(self, name, budget):
        with pytest.raises(ValueError, match="budget"):
            SAMPLERS[name]().select(full_context(), budget)

    def test_unknown_kwarg_is_named(self, name):
        with pytest.raises(TypeError, match="bogus_param"):
            SAMPLERS[name](bogus_param=1)

    def test_documentation(self, name):
        cls = SAMPLERS[name]
        doc = inspect.getdoc(cls)
        assert doc and doc.splitlines()[0].strip()
        assert "\nArgs:\n" in doc and "\nReferences:\n" in doc
        refs = doc.split("\nReferences:\n")[1]
        assert any(str(year) in refs for year in range(1940, 2030))
        assert cls.summary and "\n" not in cls.summary
        assert all(isinstance(need, Need) for need in cls.needs)
