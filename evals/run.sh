#!/usr/bin/env bash
# Run every eval definition in evals/*.yaml (each resumes where it stopped) and print its report.
set -euo pipefail
cd "$(dirname "$0")/.."
for config in evals/*.yaml; do
  echo "== $config"
  smolnb eval run "$config"
done
