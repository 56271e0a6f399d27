"""environment.yml (conda-forge) and pyproject.toml must name the same packages and versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name → conda-forge name where they differ
CONDA_ONLY = {"python", "pip"}
REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def split(requirement: str) -> tuple[str, str]:
    match = REQ.match(requirement)
    assert match, requirement
    name, spec = match.group(1).lower(), match.group(2).replace(" ", "")
    return CONDA_NAMES.get(name, name), spec


def normalise_conda(spec: str) -> str:
    """conda's `=1.2.3` exact pin is pip's `==1.2.3`."""
    return re.sub(r"^=(?!=)", "==", spec)


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(split(r) for r in requirements)


def conda_dependencies(path: Path) -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load(path.read_text())
    deps = {}
    for item in env["dependencies"]:
        if isinstance(item, str):
            name, spec = split(item)
            if name not in CONDA_ONLY:
                deps[name] = normalise_conda(spec)
    return deps, env["channels"]


def test_environment_yml_matches_pyproject():
    deps, channels = conda_dependencies(REPO / "environment.yml")
    assert channels == ["conda-forge", "bioconda", "nodefaults"]
    assert deps == pyproject_requirements()


def test_torch_pins_are_the_local_wheels():
    reqs = pyproject_requirements()
    assert reqs["pytorch"] == "==2.14.1" and reqs["torchvision"] == "==0.29.1"


ENVS = REPO / "workflow" / "envs"
BUILD_ONLY = {"pytorch-cpu", "pytorch-gpu", "cuda-version"}  # conda build selectors, not on PyPI
BIOCONDA = {"snakemake", "snakemake-executor-plugin-slurm", "snakefmt"}  # published there only


def test_workflow_envs_pin_what_pyproject_pins():
    reqs = pyproject_requirements()
    for path in sorted(ENVS.glob("*.yaml")):
        deps, _ = conda_dependencies(path)
        for name, spec in deps.items():
            if name in BUILD_ONLY:
                continue
            assert name in reqs, f"{path.name}: {name} is not a dependency in pyproject.toml"
            assert spec == reqs[name], f"{path.name}: {name}{spec} != pyproject {name}{reqs[name]}"


def test_channels_are_where_each_package_is_published():
    for path in sorted(ENVS.glob("*.yaml")):
        deps, channels = conda_dependencies(path)
        if BIOCONDA & set(deps):
            assert channels == ["conda-forge", "bioconda", "nodefaults"], path.name
        else:
            assert channels == ["conda-forge", "nodefaults"], path.name


def test_three_roles_driver_train_report():
    driver, _ = conda_dependencies(ENVS / "driver.yaml")
    cpu, _ = conda_dependencies(ENVS / "train-cpu.yaml")
    cuda, _ = conda_dependencies(ENVS / "train-cuda.yaml")
    report, _ = conda_dependencies(ENVS / "report.yaml")
    assert {"snakemake", "snakemake-executor-plugin-slurm", "dvc"} <= set(driver)
    assert "pytorch" not in driver and "pytorch" not in report and "torchvision" not in report
    # The two training envs differ only in the explicit build selector.
    assert cpu["pytorch-cpu"] == "==2.14.1" and cuda["pytorch-gpu"] == "==2.14.1"
    assert "cuda-version" in cuda and "pytorch-gpu" not in cpu and "pytorch-cpu" not in cuda
    assert {k: v for k, v in cpu.items() if k != "pytorch-cpu"} == {
        k: v for k, v in cuda.items() if k not in {"pytorch-gpu", "cuda-version"}
    }
    assert set(report) < set(cpu)
    # Between them, the driver and a training env install every runtime dependency.
    runtime = dict(
        split(r)
        for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    assert set(runtime) <= set(driver) | set(cpu)


def test_rules_use_the_env_of_their_role():
    import re as _re

    rules = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for match in _re.finditer(
            r"^rule (\w+):(.*?)(?=^rule |\Z)", path.read_text(), _re.M | _re.S
        ):
            env = _re.search(r"conda:\s*\n\s*(\S+)", match.group(2))
            rules[match.group(1)] = env.group(1) if env else None
    torch_free = {"aggregate_cycles", "make_report", "report_available"}
    assert torch_free <= set(rules)
    for rule, env in rules.items():
        if rule in torch_free:
            assert env == '"../envs/report.yaml"', rule
        else:
            assert env == "TRAIN_ENV", rule
    for build in ("cpu", "cuda"):
        assert (ENVS / f"train-{build}.yaml").exists()
