"""Pre-run checks (budgets vs pool sizes) and the tidy aggregation with missing runs listed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from albench.aggregate import aggregate
from albench.config import Config, ConfigError
from albench.data import get_dataset_spec
from albench.layout import cycle_dir, format_ratio
from albench.plan import check_config


def config(**dataset) -> Config:
    entry = {"imbalance_ratios": [1, 10], "initial": {"size": 40}, "cycles": 3, "budget": 20,
             "subset": 300}  # fmt: skip
    entry.update(dataset)
    return Config.from_dict({"experiment": "t", "seeds": [0, 1], "samplers": ["random", "margin"],
                             "cache_dir": "/nonexistent", "datasets": {"digits": entry}})  # fmt: skip


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
        ({"model": "vgg"}, "unknown model 'vgg'; valid models: resnet18, small_cnn"),
    ],
)
def test_plan_rejects_what_cannot_run(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_config(config(**overrides))


def test_unknown_samplers_and_sampler_params_are_named():
    base = config()
    with pytest.raises(ConfigError, match="unknown sampler 'entropi'; valid samplers: badge"):
        check_config(Config.from_dict({**base.raw, "samplers": ["entropi"]}))
    with pytest.raises(ConfigError, match=r"sampler_params\.coreset: .*chunk"):
        check_config(Config.from_dict({**base.raw, "sampler_params": {"coreset": {"chunk": 0}}}))


def test_published_class_counts_match_the_prepared_data(digits, fashion_mnist):
    for data in (digits, fashion_mnist):
        spec = get_dataset_spec(data.name)
        assert list(spec.train_class_counts) == data.meta["splits"]["train"]["class_counts"]


def test_aggregate_lists_missing_and_failed_runs(tmp_path):
    cfg = config()
    metrics = {"num_labeled": 40, "test": {"accuracy": 0.5, "balanced_accuracy": 0.4},
               "train": {"loss": 1.0, "accuracy": 0.6},
               "provenance": {"config_hash": "c", "data_hash": "d", "code_version": "v",
                              "device": "cpu"},
               "run": {"wall_time_s": {"train": 1.0, "total": 2.0}, "slurm_job_id": "17",
                       "peak_memory": {"host_rss_mb": 100.0}}}  # fmt: skip
    ok = cycle_dir(tmp_path, "t", "digits", 10, 1, "margin", 2)
    ok.mkdir(parents=True)
    (ok / "metrics.json").write_text(json.dumps(metrics))
    bad = cycle_dir(tmp_path, "t", "digits", 1, 0, "random", 0)
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
