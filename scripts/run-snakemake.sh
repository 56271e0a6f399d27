#!/usr/bin/env bash
# Run the project's Snakemake (the .venv one when it exists, else the one on PATH).
# Used by dvc.yaml so `dvc repro` works from an activated conda env or the project venv alike.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/snakemake ]; then
  exec .venv/bin/snakemake "$@"
fi
exec snakemake "$@"
