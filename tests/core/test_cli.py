"""The command line: listings, data commands, pool commands, error exit codes."""

from __future__ import annotations

import subprocess
import sys

import yaml

from albench.cli import main


def test_datasets_lists_one_per_line_with_a_summary(capsys):
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line.split("\t")[0] for line in lines]
    assert names == sorted(names)
    assert {
        "cifar10",
        "cifar100",
        "digits",
        "fashion_mnist",
        "imagefolder",
        "inat2018",
        "svhn",
    } <= set(names)
    assert all(len(line.split("\t")) == 2 and line.split("\t")[1] for line in lines)


def test_data_prepare_and_info(tmp_path, capsys):
    assert main(["data", "prepare", "digits", "--cache-dir", str(tmp_path)]) == 0
    assert "scikit-learn bundled data" in capsys.readouterr().out
    assert main(["data", "info", "digits", "--cache-dir", str(tmp_path), "--verify", "full"]) == 0
    out = capsys.readouterr().out
    assert "1257 images 8x8x1" in out and "540 images" in out


def test_training_commands_set_the_cublas_workspace_before_any_cuda_work(tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    assert main(["data", "info", "digits", "--cache-dir", str(tmp_path)]) == 2
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ  # not a training command
    args = ["cycle", "--config", str(tmp_path / "none.yaml"), "--dataset", "d", "--ir", "1"]
    args += ["--sampler", "random", "--seed", "0", "--cycle", "0", "--pool", "p", "--labeled", "l"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2  # fails on the missing config
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    from albench.device import CUBLAS_WORKSPACE

    assert CUBLAS_WORKSPACE == ":4096:8"  # the one value, also set by configure_determinism


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["data", "info", "digits", "--cache-dir", str(tmp_path)]) == 2
    assert "albench data prepare digits" in capsys.readouterr().err
    assert main(["data", "prepare", "mnist", "--cache-dir", str(tmp_path)]) == 2
    assert "unknown dataset 'mnist'; valid datasets:" in capsys.readouterr().err
    assert main(["data", "info", "no_such_dataset", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'no_such_dataset'" in err and "fashion_mnist" in err
    assert "Traceback" not in err and "albench data prepare no_such_dataset" not in err


def test_pool_build_and_summary(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "experiment": "t",
                "seeds": [4],
                "cache_dir": str(tmp_path / "cache"),
                "datasets": {
                    "digits": {"imbalance_ratios": [1, 10], "initial": {"size": 30}, "budget": 10}
                },
            }
        )
    )
    args = [
        "pool",
        "build",
        "--config",
        str(config),
        "--dataset",
        "digits",
        "--ir",
        "10",
        "--seed",
        "4",
        "--pool-out",
        str(tmp_path / "p.json"),
        "--initial-out",
        str(tmp_path / "i.json"),
    ]
    assert main(args) == 0
    first = (tmp_path / "p.json").read_bytes(), (tmp_path / "i.json").read_bytes()
    assert main(args) == 0
    assert ((tmp_path / "p.json").read_bytes(), (tmp_path / "i.json").read_bytes()) == first
    capsys.readouterr()
    assert main(["pool", "summary", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "IR=1 (exp)" in out and "IR=10 (exp)" in out and "initial labeled set: 30" in out
    bad = args.copy()
    bad[bad.index("10")] = "0.5"
    assert main(bad) == 2
    assert "imbalance ratio must be >= 1" in capsys.readouterr().err


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "albench", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.startswith("albench ")
