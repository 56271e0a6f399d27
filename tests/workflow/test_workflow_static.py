"""Static checks of the workflow: lint, format, schema in sync with the code, dry-runs, early errors."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import yaml

from albench.config import Config, DatasetConfig, ReportConfig, TrainConfig

from workflow_support import REPO, SNAKEMAKE, copy_workflow, snakemake, write_config

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
PRESETS = sorted((REPO / "config" / "paper").glob("*.yaml"))


def test_snakemake_lint_is_clean(tmp_path):
    work = copy_workflow(tmp_path)
    for configfile in ("config/config.yaml", "config/smoke.yaml"):
        proc = snakemake(work, "--lint", "--configfile", configfile, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_check_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_schema_keys_match_the_config_classes():
    top = SCHEMA["properties"]
    assert set(top) == _fields(Config) - {"raw"}
    entry = top["datasets"]["additionalProperties"]["properties"]
    assert set(entry) == _fields(DatasetConfig) - {"name"}
    assert set(SCHEMA["$defs"]["train"]["properties"]) == _fields(TrainConfig)
    assert set(top["report"]["properties"]) == _fields(ReportConfig)
    from albench.models.registry import model_names

    assert entry["model"]["enum"] == model_names()
    for section in (
        top,
        entry,
        SCHEMA["$defs"]["train"]["properties"],
        top["report"]["properties"],
    ):
        assert all("description" in spec for spec in section.values())


def test_parsing_the_workflow_imports_no_torch(tmp_path):
    # A `torch` package that refuses to import, first on the path: any import fails loudly.
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('torch was imported while parsing')\n")
    work = copy_workflow(tmp_path / "work")
    env = {**os.environ, "PYTHONPATH": f"{blocker.parent}{os.pathsep}{REPO / 'src'}"}
    for configfile in (
        "config/config.yaml",
        "config/smoke.yaml",
        "config/paper/tidal_inat2018.yaml",
    ):
        proc = subprocess.run(
            [*SNAKEMAKE, "-n", "--configfile", configfile],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.mark.parametrize(
    "preset",
    [REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml", *PRESETS],
    ids=lambda p: p.name,
)
def test_every_preset_dry_runs(tmp_path, preset):
    work = copy_workflow(tmp_path)
    proc = snakemake(work, "-n", "--configfile", str(preset.relative_to(REPO)))
    assert "run_cycle" in proc.stdout + proc.stderr


def test_the_paper_presets_exist():
    names = {p.stem for p in PRESETS}
    assert {
        "tidal_cifar10",
        "tidal_cifar100",
        "tidal_fashion_mnist",
        "tidal_svhn",
        "tidal_cifar10_lt",
        "tidal_cifar100_lt",
        "tidal_inat2018",
        "dispersion_cifar",
    } <= names


def _smoke_dataset(**changes) -> dict:
    entry = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())["datasets"]["digits"]
    return {"digits": {**entry, **changes}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"experimnt": "x"}, "experimnt"),
        ({"samplers": ["random", "entropi"]}, "entropi"),
        ({"datasets": _smoke_dataset(imbalance_ratios=[0.5])}, "0.5"),
        ({"datasets": _smoke_dataset(cycles=30, budget=100)}, "more than the pool's"),
        ({"datasets": {"mnist": _smoke_dataset()["digits"]}}, "unknown dataset 'mnist'"),
        ({"report": {"metric": "acc"}}, "'acc' is not one of ['accuracy', 'balanced_accuracy']"),
        ({"report": {"ci_level": 1.5}}, "1.5"),
        ({"report": {"baseline": "randm"}}, "'randm' is not one of the configured samplers"),
        ({"sampler_params": {"tidal_module": {"wieght": 2}}}, "unknown parameter(s) wieght"),
        ({"require_gpu": "yes"}, "'yes' is not of type 'boolean'"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, changes, message):
    work = copy_workflow(tmp_path)
    write_config(work / "config" / "bad.yaml", **changes)
    proc = snakemake(work, "-n", "--configfile", "config/bad.yaml", check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (work / "resources").exists()  # nothing was prepared


def test_cycle_zero_training_is_shared_in_the_default_dag(tmp_path):
    work = copy_workflow(tmp_path)
    out = snakemake(work, "-n", "-p", "--configfile", "config/config.yaml").stdout
    commands = [line for line in out.splitlines() if "albench_cli.py" in line]
    shared = [c for c in commands if " train-initial " in c]
    loading = [c for c in commands if " cycle " in c and "--initial-training" in c]
    cycle_zero = [c for c in commands if " cycle " in c and "--cycle 0 " in c]
    assert shared and loading and all("--cycle 0 " in c for c in loading)
    # Every sampler whose training is shared loads it at cycle 0: trainings saved.
    assert len(loading) - len(shared) >= len(cycle_zero) // 2
    # Switched off, no shared job, and every cycle 0 trains itself.
    out = snakemake(
        work, "-n", "-p", "--configfile", "config/config.yaml",
        "--config", "share_initial_training=false",
    ).stdout  # fmt: skip
    commands = [line for line in out.splitlines() if "albench_cli.py" in line]
    assert not [c for c in commands if " train-initial " in c or "--initial-training" in c]
    assert len([c for c in commands if " cycle " in c and "--cycle 0 " in c]) == len(cycle_zero)


def _job_count(output: str, rule: str) -> int:
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == rule and parts[1].isdigit():
            return int(parts[1])
    raise AssertionError(f"no job count for {rule} in:\n{output[-2000:]}")


def test_config_overrides_layer_over_the_default_file(tmp_path):
    """`--config key=value` changes one key of config/config.yaml; nested values are typed."""
    work = copy_workflow(tmp_path)
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    (entry,) = default["datasets"].values()
    per_seed = len(default["samplers"]) * len(entry["imbalance_ratios"])
    plain = snakemake(work, "-n", "--config", "device=cpu").stdout
    assert _job_count(plain, "run_cycle") == per_seed * len(default["seeds"]) * entry["cycles"]
    nested = snakemake(
        work, "-n", "--config", "seeds=[0,1]", "datasets={fashion_mnist: {cycles: 2}}"
    ).stdout
    assert _job_count(nested, "run_cycle") == per_seed * 2 * 2


def test_an_empty_config_file_is_an_error_not_the_default(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "config" / "empty.yaml").write_text("{}\n")
    proc = snakemake(work, "-n", "--configfile", "config/empty.yaml", check=False)
    assert proc.returncode != 0
    assert "'experiment' is a required property" in proc.stdout + proc.stderr


def test_config_readme_is_generated_from_the_schema():
    """config/README.md documents every key; regenerate with scripts/config_readme.py."""
    import runpy

    render = runpy.run_path(str(REPO / "scripts" / "config_readme.py"))["render"]
    assert (REPO / "config" / "README.md").read_text() == render(), (
        "config/README.md is out of date: run python scripts/config_readme.py"
    )
