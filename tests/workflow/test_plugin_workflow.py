"""Bring your own sampler: the example plugin package, installed the way a user installs it,
and a one-file ``path.py:Class`` reference run through the smoke workflow beside built-ins,
down to the report."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from workflow_support import REPO, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.slow

ONE_FILE_SAMPLER = '''
from albench.samplers import Need, Sampler


class TopProbabilitySampler(Sampler):
    """Lowest Top Probability (LTP): least confidence, written in one file outside albench.

    Args:
        none (the sampler has no hyperparameters).

    References:
        David D. Lewis and William A. Gale. A Sequential Algorithm for Training Text
        Classifiers. SIGIR, 1994.
    """

    name = "top_probability"
    summary = "1 - max p, from a one-file plugin"
    needs = frozenset({Need.PROBS})

    def score(self, ctx):
        return 1.0 - ctx.require(Need.PROBS).amax(dim=1)
'''


def test_plugin_and_file_samplers_run_next_to_built_ins(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(REPO / "examples" / "sampler-plugin"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    work = copy_workflow(tmp_path / "work")
    (work / "top_probability.py").write_text(ONE_FILE_SAMPLER)
    samplers = ["random", "variation_ratios", "top_probability.py:TopProbabilitySampler"]
    write_config(work / "config" / "plugins.yaml", seeds=[0], samplers=samplers)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    listing = subprocess.run(
        [sys.executable, "-m", "albench", "samplers", "--config", "config/plugins.yaml"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    snakemake(work, "--configfile", "config/plugins.yaml", "--cores", "2", timeout=1200)
    assert listing.returncode == 0, listing.stderr
    origins = dict(line.split("\t")[0::3] for line in listing.stdout.splitlines())
    assert origins["variation_ratios"].startswith("[entry point albench-variation-ratios 0.1.0")
    assert origins["top_probability"] == "[reference top_probability.py:TopProbabilitySampler]"
    cycles = pd.read_csv(work / "results" / "smoke" / "summary" / "cycles.csv")
    assert set(cycles["status"]) == {"ok"}
    assert set(cycles["sampler"]) == {"random", "variation_ratios", "top_probability"}
    final = pd.read_csv(work / "reports" / "smoke" / "tables" / "final_accuracy.csv")
    assert {"variation_ratios", "top_probability"} <= set(final["sampler"])
    # The plugin marked its score diagnostic: cycle-0 candidate tables of its runs carry it.
    candidates = work / "results/smoke/digits/ir10/seed0/variation_ratios/cycle0/candidates.csv"
    assert "variation_ratios" in pd.read_csv(candidates).columns
