"""The report rule's captions, and (slow) `snakemake --report` on the reduced smoke workflow."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from albench.report.build import FIGURES, TABLES, expected_outputs

from workflow_support import REPO, SMOKE, copy_workflow, snakemake

CAPTIONS = REPO / "workflow" / "report"
RULES = REPO / "workflow" / "rules" / "report.smk"


def _captions() -> list[Path]:
    names = [f"figure_{n}" for n in FIGURES] + [f"table_{n}" for n in TABLES]
    return [
        CAPTIONS / f"{n}.rst"
        for n in [*names, "penalty_tests", "claims", "missing", "notes", "workflow"]
    ]


def test_every_report_output_has_a_caption_referenced_by_the_rule():
    rule = RULES.read_text()
    assert 'report: "../report/workflow.rst"' in rule and "rule make_report:" in rule
    for caption in _captions():
        assert caption.exists(), caption
    for stem in ("figure_{_name}", "table_{_name}", "penalty_tests", "claims", "missing", "notes"):
        assert f'"../report/{stem}.rst"' in rule


@pytest.mark.parametrize("caption", _captions(), ids=lambda p: p.stem)
def test_captions_render_as_restructured_text_without_errors(caption):
    from docutils.core import publish_parts
    from jinja2 import Environment, StrictUndefined

    fake = SimpleNamespace(
        config={"experiment": "smoke", "samplers": ["random", "entropy"], "seeds": [0, 1]},
        wildcards=SimpleNamespace(experiment="smoke"),
    )
    text = Environment(undefined=StrictUndefined).from_string(caption.read_text())
    rendered = text.render(snakemake=fake, categories={}, files={})
    body = publish_parts(
        rendered, writer="html", settings_overrides={"report_level": 2, "halt_level": 2}
    )["html_body"]
    assert "system-message" not in body
    assert len(re.sub(r"<[^>]+>", "", body).split()) >= 25  # says what and how, not a label


def _wired() -> str | None:
    from albench.cli import build_parser

    if "report.smk" not in (REPO / "Snakefile").read_text():
        return "Snakefile does not include workflow/rules/report.smk yet"
    try:
        build_parser().parse_args(["report", "--summary", "s", "--out", "o"])
    except SystemExit:
        return "`albench report` is not registered in albench.cli yet"
    return None


@pytest.mark.slow
def test_snakemake_report_bundles_every_figure_and_table(tmp_path):
    reason = _wired()
    if reason:
        pytest.skip(reason)
    work = copy_workflow(tmp_path / "wf")
    report_files = [str(p.relative_to(work)) for p in expected_outputs(work / "reports/smoke")]
    snakemake(work, *SMOKE, "--cores", "2", *report_files, timeout=900)
    for path in report_files:
        assert (work / path).stat().st_size > 0, path
    snakemake(work, *SMOKE, "--report", "report.zip", *report_files, timeout=600)
    with zipfile.ZipFile(work / "report.zip") as archive:
        names = archive.namelist()
    # The archive stores each result as report/data/raw/<hash>/<file name>.
    for name in FIGURES:
        assert any(n.endswith(f"/{name}.png") for n in names), name
    for name in TABLES:
        for ext in ("html", "csv", "md", "tex"):
            assert any(n.endswith(f"/{name}.{ext}") for n in names), f"{name}.{ext}"
    assert any(n.endswith("/missing.csv") for n in names)
    assert any(n.endswith("/notes.md") for n in names)
    assert any(n.endswith("/claims.md") for n in names)
