"""Shell lines quote every interpolated value; path-like config values are validated first."""

from __future__ import annotations

import re

import pytest

from albench.config import ConfigError, check_path

from workflow_support import REPO, copy_workflow, snakemake, write_config

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _shell_lines(text: str) -> list[str]:
    """The string literals of every ``shell:`` directive of a .smk file."""
    lines, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("shell:"):
            inside = True
            continue
        if inside and stripped.startswith('"'):
            lines.append(stripped)
            continue
        inside = False
    return lines


def test_every_shell_placeholder_is_quoted():
    checked = 0
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for line in _shell_lines(smk.read_text()):
            for placeholder in PLACEHOLDER.findall(line):
                assert placeholder.endswith(":q"), f"{smk.name}: {{{placeholder}}} is not quoted"
                checked += 1
    assert checked > 30  # every rule's shell line was seen


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("cache_$(touch pwned)", "environment variables are not expanded"),
        ("cache_`touch pwned`", "backtick"),
        ("cache\ndir", "U+000A"),
        ("", "non-empty path"),
        (3, "non-empty path"),
    ],
)
def test_bad_paths_are_rejected_with_the_reason(value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_path(value, "config.cache_dir")


def test_paths_with_spaces_and_unicode_are_fine():
    assert check_path("/data/my images/größe", "config.cache_dir") == "/data/my images/größe"


@pytest.mark.parametrize("injection", ["$(touch {pwned})", "`touch {pwned}`"])
def test_injection_through_cache_dir_runs_nothing(tmp_path, injection):
    work = copy_workflow(tmp_path / "work")
    pwned = tmp_path / "pwned"
    write_config(work / "config" / "bad.yaml", cache_dir=f"cache_{injection.format(pwned=pwned)}")
    proc = snakemake(work, "--cores", "1", "--configfile", "config/bad.yaml", check=False)
    assert proc.returncode != 0
    assert "config.cache_dir" in proc.stdout + proc.stderr
    assert not pwned.exists()
    assert not (work / "results").exists() and not any(work.glob("cache_*"))


def test_cache_dir_with_a_space_prepares_the_data(tmp_path):
    work = copy_workflow(tmp_path / "work")
    write_config(work / "config" / "space.yaml", cache_dir="my cache/data sets")
    meta = "my cache/data sets/digits/meta.json"
    snakemake(work, meta, "--cores", "1", "--configfile", "config/space.yaml")
    assert (work / meta).is_file()


def test_custom_dataset_names_must_be_plain(tmp_path):
    work = copy_workflow(tmp_path / "work")
    write_config(
        work / "config" / "bad.yaml",
        custom_datasets={"my data; rm": {"source": "imagefolder", "root": str(tmp_path)}},
    )
    proc = snakemake(work, "-n", "--configfile", "config/bad.yaml", check=False)
    assert proc.returncode != 0
    assert "must match [A-Za-z0-9_]+" in proc.stdout + proc.stderr
