#!/usr/bin/env bash
# The CI regression gate: rerun every sweep of scenarios/sweeps/gate/ and compare its aggregate
# with the committed one in results/baselines/<name>/. Fails (exit 1) when a metric is worse
# beyond its 95% confidence interval and tolerance (see `reconf compare --help`), or when a
# baseline is missing (exit 2). Usage: scripts/regression-gate.sh [REconf binary]
set -euo pipefail
cd "$(dirname "$0")/.."
reconf=${1:-target/release/reconf}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for sweep in scenarios/sweeps/gate/*.toml; do
    name=$(basename "$sweep" .toml)
    baseline=results/baselines/$name/aggregate.csv
    echo "== regression gate: $sweep vs $baseline"
    "$reconf" sweep "$sweep" -j 2 --out "$work/$name"
    "$reconf" compare "$baseline" "$work/$name/aggregate.csv" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "regression gate failed for $name (exit $status); if the change is intended, run" \
             "scripts/refresh-baselines.sh and commit results/baselines/ with the reason" >&2
        exit "$status"
    fi
done
