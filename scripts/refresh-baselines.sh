#!/usr/bin/env bash
# Regenerate results/baselines/<name>/ from scenarios/sweeps/gate/<name>.toml, on purpose: after
# a change that is meant to alter results (a model fix, a new policy default), after a change of
# the sweep tables' format, or after adding a gate sweep. Keeps aggregate.csv and runs.csv (the
# gate pairs the seeds of runs.csv). Commit the new files with a message that says why results
# moved; `git diff results/baselines` shows by how much.
# Usage: scripts/refresh-baselines.sh [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/reconf-bin.sh
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in scenarios/sweeps/gate/*.toml; do names+=("$(basename "$f" .toml)"); done
fi
for name in "${names[@]}"; do
    sweep=scenarios/sweeps/gate/$name.toml
    out=$(mktemp -d)
    "$reconf" sweep "$sweep" --out "$out/sweep"
    mkdir -p "results/baselines/$name"
    cp "$out/sweep/aggregate.csv" "$out/sweep/runs.csv" "results/baselines/$name/"
    rm -rf "$out"
    echo "refreshed results/baselines/$name from $sweep"
done
