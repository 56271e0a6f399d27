"""Samplers from outside the repository: entry points, module:Class and file references,
and the early, named errors for collisions, import failures and bad references."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from albench.samplers import SamplerError, registry, resolve

SAMPLER_SOURCE = textwrap.dedent('''
    from albench.samplers import Need, Sampler


    class ConfidenceGapSampler(Sampler):
        """Confidence Gap (CG): 1 minus the top probability, written outside albench.

        Args:
            none (the sampler has no hyperparameters).

        References:
            David D. Lewis and William A. Gale. A Sequential Algorithm for Training Text
            Classifiers. SIGIR, 1994.
        """

        name = "{name}"
        summary = "an external least-confidence sampler"
        needs = frozenset({{Need.PROBS}})

        def score(self, ctx):
            return 1.0 - ctx.require(Need.PROBS).amax(dim=1)
''')


def _plugin(
    site: Path, dist: str, entry_points: dict[str, str], module: str = "", source: str = ""
) -> Path:
    """A fake installed distribution under ``site`` (dist-info metadata + entry points)."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[albench.samplers]\n{lines}\n")
    if module:
        (site / f"{module}.py").write_text(source)
    return site


def _albench(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run(
        [sys.executable, "-m", "albench", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_an_entry_point_plugin_is_listed_with_its_origin(tmp_path):
    site = _plugin(
        tmp_path,
        "gap-plugin",
        {"confidence_gap": "gap_mod:ConfidenceGapSampler"},
        "gap_mod",
        SAMPLER_SOURCE.format(name="confidence_gap"),
    )
    proc = _albench(site, "samplers")
    assert proc.returncode == 0, proc.stderr
    line = next(row for row in proc.stdout.splitlines() if row.startswith("confidence_gap\t"))
    assert "entry point gap-plugin 1.0 (confidence_gap = gap_mod:ConfidenceGapSampler)" in line


@pytest.mark.parametrize(
    ("entry_points", "source", "message"),
    [
        (
            {"entropy": "gap_mod:ConfidenceGapSampler"},
            "entropy",
            "plugin bad-plugin 1.0 (entropy = gap_mod:ConfidenceGapSampler) declares sampler "
            "'entropy', which is a built-in albench sampler",
        ),
        (
            {"confidence_gap": "gap_mod:Missing"},
            "confidence_gap",
            "plugin bad-plugin 1.0 (confidence_gap = gap_mod:Missing): loading sampler "
            "'confidence_gap' failed: AttributeError",
        ),
        (
            {"confidence_gap": "gap_mod:ConfidenceGapSampler"},
            "other_name",
            "entry point 'confidence_gap' points to a class named 'other_name'",
        ),
    ],
)
def test_plugin_problems_are_named_errors(tmp_path, entry_points, source, message):
    site = _plugin(
        tmp_path, "bad-plugin", entry_points, "gap_mod", SAMPLER_SOURCE.format(name=source)
    )
    proc = _albench(site, "samplers")
    assert proc.returncode == 2
    assert proc.stderr.startswith("albench: error: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_two_plugins_claiming_one_name_are_named(tmp_path):
    _plugin(tmp_path, "first-plugin", {"confidence_gap": "a_mod:ConfidenceGapSampler"})
    _plugin(tmp_path, "second-plugin", {"confidence_gap": "b_mod:ConfidenceGapSampler"})
    proc = _albench(tmp_path, "samplers")
    assert proc.returncode == 2
    assert "declared by two plugins" in proc.stderr
    assert "first-plugin 1.0" in proc.stderr and "second-plugin 1.0" in proc.stderr


def test_a_file_reference_registers_under_the_class_name(tmp_path, monkeypatch):
    (tmp_path / "my_sampler.py").write_text(SAMPLER_SOURCE.format(name="confidence_gap_file"))
    monkeypatch.chdir(tmp_path)
    cls = resolve("my_sampler.py:ConfidenceGapSampler")
    assert cls.name == "confidence_gap_file"
    assert registry.get_sampler_class("confidence_gap_file") is cls
    assert registry.origin("confidence_gap_file") == "reference my_sampler.py:ConfidenceGapSampler"
    assert resolve("my_sampler.py:ConfidenceGapSampler") is cls  # imported once


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("no_such_file.py:X", "no such file"),
        ("no_such_module_xyz:X", "importing 'no_such_module_xyz' failed: ModuleNotFoundError"),
        ("albench.samplers.uncertainty:Nope", "has no attribute 'Nope'"),
        ("albench.samplers.base:Need", "is not a subclass of albench.samplers.Sampler"),
        ("albench.samplers:", "expected package.module:Class"),
    ],
)
def test_bad_references_are_named(reference, message):
    with pytest.raises(SamplerError, match=message):
        resolve(reference)


def test_a_reference_that_shadows_a_built_in_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "shadow.py").write_text(SAMPLER_SOURCE.format(name="entropy"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SamplerError, match="sampler name 'entropy' is claimed twice"):
        resolve("shadow.py:ConfidenceGapSampler")
