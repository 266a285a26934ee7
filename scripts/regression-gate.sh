#!/usr/bin/env bash
# The CI regression gate: rerun every sweep of scenarios/sweeps/gate/ and compare it with the
# committed baseline in results/baselines/<name>/ (aggregate.csv and runs.csv: the comparison is
# paired per seed, see `reconf compare --help`). Fails (exit 1) when a metric is worse beyond its
# 95% confidence interval and tolerance, or when a baseline is missing (exit 2). The full table
# goes to the log, the verdicts to $work/<name>/verdict.json.
# Usage: scripts/regression-gate.sh [RECONF_BINARY]   (default: build it and use the binary cargo
# reports, wherever its target folder is: scripts/reconf-bin.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -ge 1 ]]; then
    reconf=$1
else
    . scripts/reconf-bin.sh
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for sweep in scenarios/sweeps/gate/*.toml; do
    name=$(basename "$sweep" .toml)
    baseline=results/baselines/$name
    echo "== regression gate: $sweep vs $baseline"
    "$reconf" sweep "$sweep" -j 2 --out "$work/$name"
    status=0
    "$reconf" compare "$baseline" "$work/$name" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "regression gate failed for $name (exit $status); if the change is intended, run" \
             "scripts/refresh-baselines.sh and commit results/baselines/ with the reason" >&2
        exit "$status"
    fi
done
