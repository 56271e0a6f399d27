"""Shared workflow fixtures: one finished local run of the reduced smoke config per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow_support import SMOKE, copy_workflow, snakemake


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """The reduced smoke workflow, run locally to completion (tests may rerun parts of it)."""
    work = copy_workflow(tmp_path_factory.mktemp("smoke-run"))
    snakemake(work, *SMOKE, "--cores", "2")
    return work
