"""Config loading: strict keys, clear errors, stable hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from albench.config import Config, ConfigError, config_hash, load_config

REPO = Path(__file__).resolve().parents[2]


def minimal(**over):
    data = {"experiment": "t", "datasets": {"digits": {"initial": {"size": 20}, "budget": 10}}}
    data.update(over)
    return data


def test_default_config_loads():
    config = load_config(REPO / "config" / "config.yaml")
    assert "fashion_mnist" in config.datasets
    assert config.datasets["fashion_mnist"].imbalance_ratios == (1.0, 10.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(seeds=[0, 0]), "duplicate seeds"),
        (minimal(seeds=[-1]), "integers >= 0"),
        (minimal(sedes=[0]), "unknown key(s) 'sedes'; valid keys:"),
        (minimal(datasets={"mnist": {}}), "unknown dataset 'mnist'; valid datasets:"),
        (minimal(datasets={"digits": {"imbalance_ratios": [0.5]}}), "imbalance ratio must be >= 1"),
        (
            minimal(datasets={"digits": {"pool": {"profile": "linear"}}}),
            "'linear' is not one of exp, step",
        ),
        (minimal(datasets={"digits": {"initial": {"size": 5, "fraction": 0.1}}}), "exactly one"),
        (
            minimal(datasets={"digits": {"pool": {"reserve": 1}}}),
            "datasets.digits.pool: unknown key",
        ),
        ({"datasets": {"digits": {}}}, "`experiment`"),
        (minimal(datasets={"digits": {"initial": {"size": 20}}}), "exactly one of `budget`"),
        (minimal(report={"metric": "acc"}), "report.metric: 'acc' is not one of accuracy"),
        (minimal(report={"ci_level": 1.5}), "report.ci_level must be a finite number in (0, 1)"),
        (minimal(report={"n_resamples": 0}), "report.n_resamples must be an integer >= 1"),
        (minimal(report={"metrik": 1}), "config.report: unknown key(s) 'metrik'"),
        (minimal(experiment="a/b"), "must match"),
    ],
)
def test_bad_configs_name_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert message in str(info.value)


def test_load_config_reports_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(minimal(typo=1)))
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    with pytest.raises(ConfigError, match=f"{empty}: the config is empty"):
        load_config(empty)


def test_config_hash_ignores_key_order():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_typed_overrides_read_nested_scalars_as_yaml():
    from albench.config import typed_overrides

    given = {"seeds": ["0", "1"], "device": "cpu", "datasets": {"d": {"cycles": "2", "x": "a b"}}}
    assert typed_overrides(given) == {
        "seeds": [0, 1],
        "device": "cpu",
        "datasets": {"d": {"cycles": 2, "x": "a b"}},
    }
    assert typed_overrides({"experiment": "007"}) == {"experiment": "007"}  # top level: as given
    # ... but a YAML boolean is one: Snakemake itself only reads "True" and "False".
    assert typed_overrides({"require_gpu": "false", "download": "TRUE", "device": "cpu"}) == {
        "require_gpu": False,
        "download": True,
        "device": "cpu",
    }
    assert typed_overrides({"flags": ["true", "null", "1.5e-3"]}) == {"flags": [True, None, 1.5e-3]}
