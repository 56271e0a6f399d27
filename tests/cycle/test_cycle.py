"""One AL cycle end to end on digits: outputs, determinism, chaining, warm start, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from albench.config import Config
from albench.cycle import (
    CycleRequest,
    ReferenceRequest,
    load_checkpoint,
    run_cycle,
    run_reference,
    save_checkpoint_bytes,
)
from albench.models.registry import build_model
from albench.pools import LabeledSet, Pool, build_pool, initial_labeled_set
from albench.samplers import get_sampler_class, sampler_names


def make_config(cache: Path, **dataset_overrides) -> Config:
    entry = {
        "imbalance_ratios": [1, 10],
        "initial": {"size": 30},
        "model": "small_cnn",
        "cycles": 3,
        "budget": 10,
        "subset": 200,
        "train": {"epochs": 2, "batch_size": 16, "lr": 0.05, "milestones": [1]},
    }
    entry.update(dataset_overrides)
    return Config.from_dict(
        {
            "experiment": "t",
            "seeds": [0],
            "cache_dir": str(cache),
            "device": "cpu",
            "datasets": {"digits": entry},
            "sampler_params": {
                name: get_sampler_class(name).quick_params
                for name in sampler_names()
                if get_sampler_class(name).quick_params
            },
        }
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory, session_cache):
    from albench.data import prepare_dataset

    work = tmp_path_factory.mktemp("cycle")
    data = prepare_dataset("digits", root=session_cache)
    pool = build_pool(
        data.train_labels,
        num_classes=10,
        imbalance_ratio=10,
        seed=0,
        dataset="digits",
        data_hash=data.data_hash,
    )
    initial = initial_labeled_set(pool, data.train_labels, size=30, seed=0)
    pool.save(work / "pool.json")
    initial.save(work / "initial.json")
    return work, make_config(session_cache), data


def request(setup, sampler: str, out: Path, cycle: int = 0, labeled: Path | None = None, **kw):
    work, config, _ = setup
    return CycleRequest(
        config=kw.pop("config", config),
        dataset="digits",
        imbalance_ratio=10.0,
        sampler=sampler,
        seed=0,
        cycle=cycle,
        pool_path=work / "pool.json",
        labeled_path=labeled or work / "initial.json",
        out_dir=out,
        progress=False,
        **kw,
    )


@pytest.mark.parametrize("sampler", sampler_names())
def test_every_sampler_runs_a_cycle_and_writes_all_outputs(setup, tmp_path, sampler):
    _, _, data = setup
    metrics = run_cycle(request(setup, sampler, tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "candidates.csv",
        "labeled_next.json",
        "metrics.json",
        "model.safetensors",
        "selected.csv",
    ]
    candidates = pd.read_csv(tmp_path / "candidates.csv")  # cycle 0: per-candidate analysis table
    assert len(candidates) == 200 and candidates["selected"].sum() == 10
    assert (candidates["correct"] == (candidates["label"] == candidates["predicted"])).all()
    assert {"entropy", "margin", "least_confidence"} <= set(candidates.columns)
    assert metrics["num_labeled"] == 30 and metrics["selection"]["num_selected"] == 10
    assert sum(metrics["labeled_class_histogram"]) == 30
    assert (
        0 <= metrics["test"]["accuracy"] <= 1 and len(metrics["test"]["per_class_accuracy"]) == 10
    )
    nxt = LabeledSet.load(tmp_path / "labeled_next.json")
    pool = Pool.load(setup[0] / "pool.json")
    assert nxt.cycle == 1 and len(nxt.indices) == 40 and len(np.unique(nxt.indices)) == 40
    assert set(nxt.indices.tolist()) <= set(pool.indices.tolist())
    rows = (tmp_path / "selected.csv").read_text().strip().splitlines()
    assert rows[0] == "rank,index,label,score" and len(rows) == 11
    assert [int(r.split(",")[1]) for r in rows[1:]] == nxt.indices[30:].tolist()
    assert all(int(r.split(",")[2]) == data.train_labels[int(r.split(",")[1])] for r in rows[1:])
    prov = metrics["provenance"]
    assert prov["data_hash"] == data.data_hash and len(prov["config_hash"]) == 64
    assert prov["device"] == "cpu" and prov["libraries"]["torch"].startswith("2.14.1")
    assert "tail_auroc" in metrics["diagnostics"]  # IR 10: tail separation is recorded


def _stable(metrics_path: Path) -> dict:
    metrics = json.loads(metrics_path.read_text())
    metrics.pop("run")
    return metrics


@pytest.mark.parametrize("sampler", ["badge", "tidal_margin", "dispersion"])
def test_rerun_gives_byte_identical_outputs_on_cpu(setup, tmp_path, sampler):
    run_cycle(request(setup, sampler, tmp_path / "a"))
    run_cycle(request(setup, sampler, tmp_path / "b"))
    for name in ("selected.csv", "labeled_next.json", "model.safetensors"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert _stable(tmp_path / "a" / "metrics.json") == _stable(tmp_path / "b" / "metrics.json")


def test_chained_cycles_and_the_final_cycle_selects_nothing(setup, tmp_path):
    labeled = None
    for cycle in range(3):
        metrics = run_cycle(request(setup, "random", tmp_path / f"c{cycle}", cycle, labeled))
        labeled = tmp_path / f"c{cycle}" / "labeled_next.json"
        assert metrics["num_labeled"] == 30 + 10 * cycle
    assert metrics["final_cycle"] and metrics["selection"]["num_selected"] == 0
    assert (tmp_path / "c2" / "selected.csv").read_text() == "rank,index,label,score\n"
    assert len(LabeledSet.load(labeled).indices) == 50


def test_tidal_cycle_reports_kl_diagnostics(setup, tmp_path):
    diagnostics = run_cycle(request(setup, "tidal_entropy", tmp_path))["diagnostics"]
    assert diagnostics["tracked_epochs"] == 2
    assert diagnostics["kl_actual_vs_predicted"] >= 0 and diagnostics["kl_actual_vs_snapshot"] >= 0
    assert diagnostics["kl_actual_train_vs_predicted"] >= 0
    assert diagnostics["kl_actual_train_vs_snapshot"] >= 0
    assert {"tidal_entropy", "tidal_margin", "td_entropy", "entropy"} <= set(
        diagnostics["tail_auroc"]
    )


def test_warm_start_needs_and_loads_the_previous_checkpoint(setup, tmp_path):
    config = make_config(Path(setup[1].cache_dir), warm_start=True)
    run_cycle(request(setup, "entropy", tmp_path / "c0", config=config))
    labeled = tmp_path / "c0" / "labeled_next.json"
    with pytest.raises(ValueError, match="needs --checkpoint"):
        run_cycle(request(setup, "entropy", tmp_path / "c1", 1, labeled, config=config))
    warm = run_cycle(
        request(
            setup,
            "entropy",
            tmp_path / "c1",
            1,
            labeled,
            config=config,
            checkpoint_path=tmp_path / "c0" / "model.safetensors",
        )
    )
    cold = run_cycle(request(setup, "entropy", tmp_path / "cold", 1, labeled))
    assert warm["test"]["accuracy"] != cold["test"]["accuracy"]


def test_safetensors_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("small_cnn", 1, 10, 8)
    metadata = {"format": "albench-checkpoint-1", "cycle": "3", "dataset": "digits"}
    path = tmp_path / "m.safetensors"
    path.write_bytes(save_checkpoint_bytes(model, [], metadata))
    torch.manual_seed(1)
    other = build_model("small_cnn", 1, 10, 8)
    meta = load_checkpoint(path, other, expected={"cycle": "3", "dataset": "digits"})
    assert meta["cycle"] == "3"
    for key, value in model.state_dict().items():
        assert torch.equal(value, other.state_dict()[key]), key
    assert b"pickle" not in path.read_bytes()[:8]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "not a readable albench checkpoint"),
        ("garbage", "not a readable albench checkpoint"),
        ("other_dataset", "checkpoint dataset is 'digits', expected 'cifar10'"),
        ("other_model", "the checkpoint's tensors do not fit this model"),
    ],
)
def test_bad_checkpoints_are_named_errors(tmp_path, damage, message):
    torch.manual_seed(0)
    metadata = {"format": "albench-checkpoint-1", "dataset": "digits"}
    good = save_checkpoint_bytes(build_model("small_cnn", 1, 10, 8), [], metadata)
    path = tmp_path / "model.safetensors"
    path.write_bytes(
        {"truncate": good[: len(good) // 2], "garbage": b"not a checkpoint"}.get(damage, good)
    )
    expected = {"dataset": "cifar10" if damage == "other_dataset" else "digits"}
    target = build_model("resnet18" if damage == "other_model" else "small_cnn", 1, 10, 8)
    with pytest.raises(ValueError, match=message) as info:
        load_checkpoint(path, target, expected=expected)
    assert str(path) in str(info.value)


def test_crash_while_writing_leaves_no_completion_marker(setup, tmp_path, monkeypatch):
    run_cycle(request(setup, "entropy", tmp_path))
    assert (tmp_path / "metrics.json").exists()
    import albench.cycle.outputs as cycle_module

    def crash(path, obj):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(cycle_module, "write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        run_cycle(request(setup, "entropy", tmp_path))
    assert not (tmp_path / "metrics.json").exists()  # the stale marker was removed first
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_bad_inputs_are_rejected_before_training(setup, tmp_path):
    with pytest.raises(ValueError, match="labeled set is for cycle 0, not 1"):
        run_cycle(request(setup, "entropy", tmp_path, cycle=1))
    with pytest.raises(ValueError, match=r"cycle must be in \[0, 2\]"):
        run_cycle(request(setup, "entropy", tmp_path, cycle=3))
    with pytest.raises(ValueError, match="unknown sampler 'entropi'; valid samplers: badge"):
        run_cycle(request(setup, "entropi", tmp_path))
    wrong = CycleRequest(**{**request(setup, "entropy", tmp_path).__dict__, "imbalance_ratio": 1.0})
    with pytest.raises(ValueError, match=r"pool imbalance_ratio is 10\.0, expected 1\.0"):
        run_cycle(wrong)
    big = make_config(Path(setup[1].cache_dir), budget=500)
    with pytest.raises(ValueError, match="budget 500 exceeds the 200 unlabeled candidates"):
        run_cycle(request(setup, "entropy", tmp_path, config=big))
    assert not (tmp_path / "metrics.json").exists()


def test_unknown_cycle_key_names_the_valid_ones(session_cache):
    from albench.config import ConfigError

    with pytest.raises(ConfigError, match=r"datasets\.digits: unknown key.*'epochs'.*valid keys"):
        make_config(session_cache, epochs=3)
    with pytest.raises(ConfigError, match=r"datasets\.digits\.train: unknown key\(s\) 'epoch'"):
        make_config(session_cache, train={"epoch": 3})


def test_reference_trains_on_the_whole_pool_and_records_no_sampler(setup, tmp_path):
    work, config, _ = setup
    metrics = run_reference(
        ReferenceRequest(
            config=config,
            dataset="digits",
            imbalance_ratio=10.0,
            seed=0,
            pool_path=work / "pool.json",
            out_dir=tmp_path,
            progress=False,
        )
    )
    pool = Pool.load(work / "pool.json")
    assert metrics["sampler"] is None and metrics["full_pool"] and metrics["final_cycle"]
    assert metrics["num_labeled"] == pool.size and metrics["selection"]["num_selected"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "model.safetensors"]


def test_samplers_with_the_same_training_needs_share_their_cycle_zero_model(setup, tmp_path):
    # TiDAL(H), TiDAL(M) and their control train the same module, as do LL4AL and its
    # control; dispersion and the td_* ablations only track (tracking never changes weights).
    groups = [
        ("tidal_entropy", "tidal_margin", "tidal_random"),
        ("ll4al", "ll4al_random"),
        ("random", "dispersion", "td_entropy"),
    ]
    metrics = {}
    for group in groups:
        for name in group:
            metrics[name] = run_cycle(request(setup, name, tmp_path / name))
        first = load_file(tmp_path / group[0] / "model.safetensors")
        for other in group[1:]:
            weights = load_file(tmp_path / other / "model.safetensors")
            assert weights.keys() == first.keys(), other
            assert all(torch.equal(weights[k], first[k]) for k in first), other
            assert metrics[other]["test"] == metrics[group[0]]["test"], other
    # A control queries exactly as random does (same seed, same candidates).
    selected = {s: (tmp_path / s / "selected.csv").read_text() for s in ("random", "tidal_random")}
    assert selected["random"] == selected["tidal_random"]
    assert metrics["tidal_random"]["role"] == "control"
    assert metrics["tidal_entropy"]["control"] == "tidal_random"
    plain, tidal = (
        load_file(tmp_path / s / "model.safetensors") for s in ("random", "tidal_entropy")
    )
    assert not torch.equal(plain["model.head.weight"], tidal["model.head.weight"])


@pytest.mark.parametrize(
    ("signature", "samplers"),
    [("plain", ("entropy", "dispersion")), ("tidal", ("tidal_entropy", "tidal_random"))],
)
def test_a_shared_cycle_zero_training_gives_the_same_bytes(setup, tmp_path, signature, samplers):
    from albench.cycle import train_initial
    from albench.plan import run_needs
    from albench.samplers import get_sampler
    from albench.samplers.base import tracked_views

    views = set()
    for name in samplers:
        views |= set(tracked_views(run_needs(get_sampler(name), diagnostics=True)))
    shared = tmp_path / "shared"
    train_initial(request(setup, samplers[0], shared), signature, tuple(sorted(views)))
    assert sorted(p.name for p in shared.iterdir()) == [
        "model.safetensors",
        "tracked.safetensors",
        "training.json",
    ]
    for name in samplers:
        alone = run_cycle(request(setup, name, tmp_path / f"{name}-alone"))
        loaded = run_cycle(
            request(setup, name, tmp_path / f"{name}-shared", initial_training=shared)
        )
        for file in ("selected.csv", "labeled_next.json", "model.safetensors", "candidates.csv"):
            a = (tmp_path / f"{name}-alone" / file).read_bytes()
            assert a == (tmp_path / f"{name}-shared" / file).read_bytes(), (name, file)
        assert {k: v for k, v in alone.items() if k != "run"} == {
            k: v for k, v in loaded.items() if k != "run"
        }
        assert loaded["run"]["trained_in"] == str(shared)
    with pytest.raises(ValueError, match="shared initial training is for cycle 0, not cycle 1"):
        run_cycle(
            request(
                setup,
                samplers[0],
                tmp_path / "c1",
                cycle=1,
                labeled=tmp_path / f"{samplers[0]}-alone" / "labeled_next.json",
                initial_training=shared,
            )
        )


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_take_the_modes_the_umask_gives(setup, tmp_path, umask):
    """A pool, a dataset cache and a cycle's outputs: 0o666/0o777 minus the umask."""
    import os
    import stat

    from albench.data import prepare_dataset

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    _, _, data = setup
    old = os.umask(umask)
    try:
        cache = tmp_path / "cache"
        prepare_dataset("digits", root=cache)
        pool = build_pool(data.train_labels, num_classes=10, imbalance_ratio=1, seed=0)
        pool.save(tmp_path / "pool.json")
        out = tmp_path / "cycle0"
        run_cycle(request(setup, "random", out))
    finally:
        os.umask(old)
    files = [tmp_path / "pool.json", *out.iterdir(), *(cache / "digits").iterdir()]
    folders = [cache / "digits", out]
    assert files and all(mode(f) == 0o666 & ~umask for f in files if f.is_file())
    assert all(mode(d) == 0o777 & ~umask for d in folders)
