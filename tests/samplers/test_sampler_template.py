"""The sampler contract, run over every registered sampler (plugins included).

Nothing here lists sampler names: a new sampler is tested as soon as it is
registered. Each sampler is built with its default hyperparameters and must
return a valid, seed-deterministic selection from the quantities it declared,
and document itself (Full Name (ACRONYM) / Args / References).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from albench.samplers import SamplerError, get_sampler, get_sampler_class, registry, sampler_names
from albench.samplers.base import ROLES, Need, ScoringContext
from albench.samplers.scores import mc_moments

N, M, C, D, T = 40, 15, 5, 8, 4


def full_context(seed: int = 3) -> ScoringContext:
    """Every need filled from small seeded random tensors (a new Need must be added here)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(N, C, generator=g) * 2  # (n, C)
    mc_logits = logits[:, :, None] + torch.randn(N, C, T, generator=g)  # (n, C, T)
    mc_mean_probs, mc_mean_entropy = mc_moments(mc_logits.softmax(1).unbind(2))
    values = {
        Need.PROBS: logits.softmax(1),
        Need.LOGITS: logits,
        Need.EMBEDDINGS: torch.relu(torch.randn(N, D, generator=g)),
        Need.LABELED_EMBEDDINGS: torch.relu(torch.randn(M, D, generator=g)),
        Need.MC_PROBS: mc_logits.softmax(1),
        Need.MC_MEAN_PROBS: mc_mean_probs,
        Need.MC_MEAN_ENTROPY: mc_mean_entropy,
        Need.TRUE_LABELS: torch.randint(0, C, (N,), generator=g),
        Need.TRACKED_LABELS: torch.randint(0, C, (N, 6), generator=g),
        Need.TRACKED_PROBS: torch.rand(N, C, generator=g).softmax(1),
        Need.TRACKED_LABELS_AUG: torch.randint(0, C, (N, 6), generator=g),
        Need.TRACKED_PROBS_AUG: torch.rand(N, C, generator=g).softmax(1),
        Need.TRACKED_LABELS_TRAIN: torch.randint(0, C, (N, 6), generator=g),
        Need.TRACKED_PROBS_TRAIN: torch.rand(N, C, generator=g).softmax(1),
        Need.TD_PROBS: torch.rand(N, C, generator=g).softmax(1),
        Need.PREDICTED_LOSS: torch.rand(N, generator=g),
        Need.IMAGES: torch.rand(N, 1, 4, 4, generator=g),
        Need.LABELED_IMAGES: torch.rand(M, 1, 4, 4, generator=g),
    }
    assert set(values) == set(Need)
    candidates = np.random.default_rng(1).permutation(100)[:N]
    return ScoringContext(candidates, np.arange(100, 100 + M), C, seed, "cpu", values)


def quick(name: str, **params):
    """The sampler with its cheap test hyperparameters (``Sampler.quick_params``)."""
    return get_sampler(name, **{**get_sampler_class(name).quick_params, **params})


@pytest.fixture(scope="module")
def contexts() -> dict[int, ScoringContext]:
    return {seed: full_context(seed) for seed in (3, 5)}


def test_the_registry_is_not_empty_and_every_name_resolves():
    names = sampler_names()
    assert len(names) >= 15
    for name in names:
        assert get_sampler_class(name).name == name


def test_unknown_sampler_error_lists_the_valid_names():
    with pytest.raises(SamplerError, match="unknown sampler 'nope'") as err:
        get_sampler("nope")
    listed = str(err.value).split("valid samplers: ")[1].split(" (or")[0].split(", ")
    assert listed == sampler_names()


@pytest.mark.parametrize("name", sampler_names())
class TestSamplerContract:
    def test_selection_contract(self, name, contexts):
        sel = quick(name).select(contexts[3].restricted(quick(name).needs), 10)
        assert sel.positions.dtype == np.int64 and sel.positions.shape == (10,)
        assert len(set(sel.positions.tolist())) == 10
        assert sel.positions.min() >= 0 and sel.positions.max() < N
        assert sel.scores.dtype == np.float64 and sel.scores.shape == (10,)
        assert np.isfinite(sel.scores).all()
        if sel.all_scores is not None:
            assert sel.all_scores.shape == (N,) and np.isfinite(sel.all_scores).all()
            np.testing.assert_array_equal(sel.scores, sel.all_scores[sel.positions])
            assert np.all(np.diff(sel.scores) <= 0)  # best first

    def test_declared_needs_suffice_and_seed_determines_the_selection(self, name, contexts):
        sampler = quick(name)
        full = sampler.select(contexts[5], 12)
        lean = sampler.select(contexts[5].restricted(sampler.needs), 12)
        again = quick(name).select(contexts[5].restricted(sampler.needs), 12)
        np.testing.assert_array_equal(full.positions, lean.positions)
        np.testing.assert_array_equal(lean.positions, again.positions)
        np.testing.assert_array_equal(lean.scores, again.scores)

    def test_budget_equal_to_the_pool_is_a_permutation(self, name, contexts):
        sel = quick(name).select(contexts[3], N)
        assert sorted(sel.positions.tolist()) == list(range(N))

    @pytest.mark.parametrize("budget", [0, N + 1])
    def test_bad_budget(self, name, contexts, budget):
        with pytest.raises(ValueError, match="budget"):
            quick(name).select(contexts[3], budget)

    def test_unknown_parameter_is_named(self, name):
        with pytest.raises(SamplerError, match="bogus_param"):
            quick(name, bogus_param=1)

    def test_documentation(self, name):
        cls = get_sampler_class(name)
        doc = inspect.getdoc(cls)
        assert doc and doc.splitlines()[0].strip()
        assert "\nArgs:\n" in doc and "\nReferences:\n" in doc
        refs = doc.split("\nReferences:\n")[1]
        assert any(str(year) in refs for year in range(1940, 2030))
        assert cls.summary and "\n" not in cls.summary
        assert cls.role in ROLES
        assert all(isinstance(need, Need) for need in quick(name).needs)


def test_built_in_samplers_and_the_planning_modules_import_without_torch():
    # The workflow lists and validates samplers while parsing; PyTorch must not load then.
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any `import torch` now raises ImportError\n"
        "import albench.config, albench.plan, albench.layout\n"
        "from albench.samplers import get_sampler, sampler_names\n"
        "for name in sampler_names():\n"
        "    get_sampler(name)\n"
        "print(' '.join(sampler_names()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    built_in = {name for name in sampler_names() if registry.origin(name) == "albench"}
    assert built_in <= set(proc.stdout.split())
