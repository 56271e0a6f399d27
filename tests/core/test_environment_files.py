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
    assert channels == ["conda-forge", "nodefaults"]
    assert deps == pyproject_requirements()


def test_torch_pins_are_the_local_wheels():
    reqs = pyproject_requirements()
    assert reqs["pytorch"] == "==2.14.1" and reqs["torchvision"] == "==0.29.1"


def test_workflow_envs_are_conda_forge_only_and_consistent():
    reqs = pyproject_requirements()
    for path in sorted((REPO / "workflow" / "envs").glob("*.yaml")):
        deps, channels = conda_dependencies(path)
        assert channels == ["conda-forge", "nodefaults"], path
        for name, spec in deps.items():
            assert name in reqs, f"{path.name}: {name} is not a dependency in pyproject.toml"
            assert spec == reqs[name], f"{path.name}: {name}{spec} != pyproject {name}{reqs[name]}"
