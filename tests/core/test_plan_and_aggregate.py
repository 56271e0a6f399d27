"""Pre-run checks (budgets vs pool sizes) and the tidy aggregation with missing runs listed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from albench.aggregate import aggregate
from albench.config import Config, ConfigError
from albench.data import get_dataset_spec
from albench.layout import RunKey, format_ratio
from albench.plan import check_config


def config(**dataset) -> Config:
    entry = {
        "imbalance_ratios": [1, 10],
        "initial": {"size": 40},
        "cycles": 3,
        "budget": 20,
        "subset": 300,
    }
    entry.update(dataset)
    return Config.from_dict(
        {
            "experiment": "t",
            "seeds": [0, 1],
            "samplers": ["random", "margin"],
            "cache_dir": "/nonexistent",
            "datasets": {"digits": entry},
        }
    )


def test_plan_reports_pool_sizes_from_the_published_class_counts():
    plans = check_config(config())
    assert [(p.imbalance_ratio, p.pool_size, p.initial, p.final_labeled) for p in plans] == [
        (1.0, 1257, 40, 80),
        (10.0, 509, 40, 80),
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cycles": 30}, "more than the pool's 509"),
        ({"budget": 400, "subset": 1000}, "more than the pool's"),
        ({"budget": 50, "subset": 20}, "larger than the scored subset"),
        ({"initial": {"size": 5}}, "cannot hold the 10 reserved seeds"),
        (
            {"model": "vgg"},
            "unknown model 'vgg'; valid models: conv_pool_cnn, conv_pool_cnn_8_16, resnet18, small_cnn",
        ),
    ],
)
def test_plan_rejects_what_cannot_run(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_config(config(**overrides))


def test_unknown_samplers_and_sampler_params_are_named():
    base = config()
    with pytest.raises(ConfigError, match="unknown sampler 'entropi'; valid samplers: badge"):
        check_config(Config.from_dict({**base.raw, "samplers": ["random", "entropi"]}))
    with pytest.raises(ConfigError, match=r"sampler_params: 'entropy' is not a configured sampler"):
        check_config(Config.from_dict({**base.raw, "sampler_params": {"entropy": {}}}))
    with pytest.raises(
        ConfigError,
        match=r"tidal_module: unknown parameter\(s\) wieght; valid "
        "parameters: weight, hidden",
    ):
        check_config(
            Config.from_dict({**base.raw, "sampler_params": {"tidal_module": {"wieght": 1}}})
        )
    with pytest.raises(ConfigError, match=r"report.baseline: 'randm' is not one of the configured"):
        check_config(Config.from_dict({**base.raw, "report": {"baseline": "randm"}}))
    with pytest.raises(ConfigError, match=r"sampler_params\.coreset: .*chunk"):
        check_config(
            Config.from_dict(
                {
                    **base.raw,
                    "samplers": ["random", "coreset"],
                    "sampler_params": {"coreset": {"chunk": 0}},
                }
            )
        )


def test_published_class_counts_match_the_prepared_data(digits, fashion_mnist):
    for data in (digits, fashion_mnist):
        spec = get_dataset_spec(data.name)
        assert list(spec.train_class_counts) == data.meta["splits"]["train"]["class_counts"]


def test_aggregate_lists_missing_and_failed_runs(tmp_path):
    cfg = config()
    metrics = {
        "num_labeled": 40,
        "test": {"accuracy": 0.5, "balanced_accuracy": 0.4},
        "train": {"loss": 1.0, "accuracy": 0.6},
        "provenance": {"config_hash": "c", "data_hash": "d", "code_version": "v", "device": "cpu"},
        "run": {
            "wall_time_s": {"train": 1.0, "total": 2.0},
            "slurm_job_id": "17",
            "peak_memory": {"host_rss_mb": 100.0},
        },
    }
    ok = RunKey("t", "digits", 10, 1, "margin", 2).dir(tmp_path)
    ok.mkdir(parents=True)
    (ok / "metrics.json").write_text(json.dumps(metrics))
    bad = RunKey("t", "digits", 1, 0, "random", 0).dir(tmp_path)
    bad.mkdir(parents=True)
    (bad / "metrics.json").write_text("{not json")
    cycles = aggregate(cfg, tmp_path, tmp_path / "summary")
    assert len(cycles) == 2 * 2 * 2 * 3  # IRs x seeds x samplers x cycles: every run has a row
    loaded = pd.read_csv(tmp_path / "summary" / "cycles.csv")
    assert loaded["status"].value_counts().to_dict() == {"missing": 22, "ok": 1, "failed": 1}
    row = loaded[loaded["status"] == "ok"].iloc[0]
    assert (row["imbalance_ratio"], row["seed"], row["cycle"], row["accuracy"]) == (10.0, 1, 2, 0.5)
    assert row["slurm_job_id"] == 17 and row["config_hash"] == "c"
    assert "JSONDecodeError" in loaded[loaded["status"] == "failed"].iloc[0]["error"]
    references = pd.read_csv(tmp_path / "summary" / "reference.csv")
    assert len(references) == 4 and set(references["status"]) == {"missing"}
    assert format_ratio(10.0) == "10" and format_ratio(2.5) == "2.5"
    # Keys older metrics.json files lack stay empty: old results still aggregate.
    for column in ("role", "control", "train_steps", "train_fit_accuracy", "train_fit_loss"):
        assert pd.isna(row[column]), column


def test_aggregate_reads_roles_controls_and_fit_metrics(tmp_path):
    cfg = config()
    metrics = {
        "role": "method",
        "control": "tidal_random",
        "num_labeled": 40,
        "test": {"accuracy": 0.5, "balanced_accuracy": 0.4},
        "train": {
            "loss": 1.0,
            "accuracy": 0.6,
            "epochs": 4,
            "steps": 12,
            "fit_accuracy": 0.95,
            "fit_loss": 0.2,
        },
        "provenance": {"config_hash": "c", "data_hash": "d", "code_version": "v", "device": "cpu"},
        "run": {
            "wall_time_s": {
                "train": 1.5,
                "evaluate": 0.1,
                "score": 0.3,
                "select": 0.02,
                "total": 2.0,
            },
            "peak_memory": {"host_rss_mb": 321.0},
        },
    }
    run = RunKey("t", "digits", 1, 0, "margin", 0).dir(tmp_path)
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(metrics))
    aggregate(cfg, tmp_path, tmp_path / "summary", require_references=False)
    loaded = pd.read_csv(tmp_path / "summary" / "cycles.csv")
    row = loaded[loaded["status"] == "ok"].iloc[0]
    assert (row["role"], row["control"]) == ("method", "tidal_random")
    assert (row["train_epochs"], row["train_steps"]) == (4, 12)
    assert (row["train_fit_accuracy"], row["train_fit_loss"]) == (0.95, 0.2)
    assert (row["score_time_s"], row["select_time_s"], row["peak_rss_mb"]) == (0.3, 0.02, 321.0)
    missing = loaded[loaded["status"] == "missing"]
    assert missing["role"].isna().all() and missing["train_steps"].isna().all()


def test_the_grid_is_every_cycle_then_every_reference():
    from albench.plan import cycle_runs, reference_runs, runs

    cfg = config()
    grid = runs(cfg)
    assert len(list(cycle_runs(cfg))) == 2 * 2 * 2 * 3 and len(list(reference_runs(cfg))) == 4
    assert grid[0] == RunKey("t", "digits", 1.0, 0, "random", 0)
    assert grid[-1] == RunKey("t", "digits", 10.0, 1) and grid[-1].is_reference
    assert str(grid[0].dir("results")) == "results/t/digits/ir1/seed0/random/cycle0"
    assert str(grid[-1].dir("results")) == "results/t/digits/ir10/seed1/full"


def test_run_hash_changes_only_for_runs_whose_settings_change():
    from albench.plan import run_hash

    base = config()
    tidal = Config.from_dict({**base.raw, "samplers": ["random", "tidal_entropy"]})
    changed = Config.from_dict({**tidal.raw, "sampler_params": {"tidal_module": {"weight": 2.0}}})
    random_key = RunKey("t", "digits", 1.0, 0, "random", 1)
    tidal_key = RunKey("t", "digits", 1.0, 0, "tidal_entropy", 1)
    assert run_hash(tidal, random_key) == run_hash(changed, random_key)
    assert run_hash(tidal, tidal_key) != run_hash(changed, tidal_key)
    reference = RunKey("t", "digits", 1.0, 0)
    assert run_hash(tidal, reference) == run_hash(changed, reference)


def test_samplers_that_train_alike_share_one_cycle_zero_training():
    from albench.plan import shared_training_of, shared_trainings, training_signature
    from albench.samplers import get_sampler

    base = config()
    cfg = Config.from_dict({**base.raw, "samplers": ["random", "entropy", "dispersion",
                                                     "tidal_entropy", "tidal_random", "ll4al"]})  # fmt: skip
    assert training_signature(get_sampler("dispersion")) == "plain"
    assert training_signature(get_sampler("tidal_random")) == "tidal"
    groups = {s.signature: s for s in shared_trainings(cfg)}
    assert set(groups) == {"plain", "tidal"}  # ll4al trains alone: nothing to share
    assert groups["plain"].samplers == ("random", "entropy", "dispersion")
    assert groups["plain"].track_views == ("clean",)  # dispersion's labels
    assert groups["tidal"].track_views == ("clean", "train")  # the KL diagnostics' two views
    key = RunKey("t", "digits", 10.0, 1, "entropy", 0)
    assert shared_training_of(cfg, key) == groups["plain"]
    assert shared_training_of(cfg, RunKey("t", "digits", 10.0, 1, "entropy", 1)) is None
    assert shared_training_of(cfg, RunKey("t", "digits", 10.0, 1, "ll4al", 0)) is None


def test_share_initial_training_false_lets_every_sampler_train_its_cycle_zero():
    from albench.plan import run_hash, shared_training_of, shared_trainings

    raw = {**config().raw, "samplers": ["random", "entropy", "tidal_entropy", "tidal_random"]}
    unshared = Config.from_dict({**raw, "share_initial_training": False})
    assert shared_trainings(unshared) == []
    assert shared_training_of(unshared, RunKey("t", "digits", 10.0, 1, "entropy", 0)) is None
    # The switch only changes who trains: every run's hash (its rerun trigger) stays the same.
    shared = Config.from_dict(raw)
    assert len(shared_trainings(shared)) == 2
    for sampler in raw["samplers"]:
        key = RunKey("t", "digits", 10.0, 1, sampler, 0)
        assert run_hash(shared, key) == run_hash(unshared, key)
    with pytest.raises(
        ConfigError, match=r"config.share_initial_training: must be true or false, got 'no'"
    ):
        Config.from_dict({**raw, "share_initial_training": "no"})


def _paper_preset(name: str, **overrides):
    import yaml

    raw = yaml.safe_load((Path(__file__).parents[2] / "config" / "paper" / name).read_text())
    return Config.from_dict({**raw, **overrides})


def test_a_cpu_run_prints_the_accelerator_estimate_only_when_a_limit_asks(capsys):
    check_config(_paper_preset("tidal_cifar10.yaml", device="cpu", require_gpu=False))
    assert "accelerator peak" not in capsys.readouterr().err
    check_config(_paper_preset("tidal_cifar10.yaml", device="cpu", gpu_memory_gb=80))
    assert "tidal-cifar10: cifar10 (IR 1): estimated accelerator peak" in capsys.readouterr().err


def test_check_config_prints_the_inat_preset_peak_and_it_fits_80_gb(capsys, recwarn):
    from albench.plan import GpuMemoryWarning

    plans = check_config(_paper_preset("tidal_inat2018.yaml", gpu_memory_gb=80))
    (plan,) = plans
    assert plan.memory is not None and plan.memory.peak_gb < 80
    err = capsys.readouterr().err
    assert (
        "albench plan: tidal-inat2018: inat2018 (IR 1): estimated accelerator peak per job" in err
    )
    assert "(fits gpu_memory_gb = 80)" in err
    assert not [w for w in recwarn if issubclass(w.category, GpuMemoryWarning)]


def test_a_job_above_gpu_memory_gb_is_warned_about_by_name(capsys):
    from albench.plan import GpuMemoryWarning

    config = _paper_preset("tidal_inat2018.yaml", gpu_memory_gb=16)
    with pytest.warns(GpuMemoryWarning) as caught:
        check_config(config)
    (warning,) = caught
    message = str(warning.message)
    assert message.startswith(
        "tidal-inat2018: datasets.inat2018 (IR 1): the full-pool reference job"
    )
    assert "more than gpu_memory_gb = 16" in message
    assert "EXCEEDS gpu_memory_gb = 16" in capsys.readouterr().err


def test_gpu_memory_gb_is_validated():
    with pytest.raises(ConfigError, match=r"config.gpu_memory_gb: expected a number of GB > 0"):
        _paper_preset("tidal_cifar10.yaml", gpu_memory_gb=0)
    with pytest.raises(ConfigError, match="got 'big'"):
        _paper_preset("tidal_cifar10.yaml", gpu_memory_gb="big")
    assert _paper_preset("tidal_cifar10.yaml").gpu_memory_gb is None
