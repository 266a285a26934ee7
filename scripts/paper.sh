#!/usr/bin/env bash
# Reruns the seed's experiment (scenarios/paper/) and redraws its figures into results/paper/:
# for each load shape (ramp, steps), a sweep of the five strategies over 5 seeds (paired:
# every strategy faces the same clients), the comparison figures, and the time series of
# seed 1 of each strategy. Run from the repository root; takes about 30 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/reconf-bin.sh
rm -rf results/paper/ramp results/paper/steps
for shape in ramp steps; do
  out=results/paper/$shape
  "$reconf" sweep scenarios/paper/*-"$shape".toml --seeds 5 -j 2 \
    --baseline scenario=static-peak-"$shape" --out "$out" --quiet
  "$reconf" plot "$out" --out "$out/figures" \
    --metric p95_response_ms --metric sla_violation_fraction --metric sessions_lost \
    --metric migrations --metric node_hours --metric energy_kwh
  for strategy in restart migration migration-batch static-peak static-min; do
    config=$(awk -F, -v l="$strategy-$shape" '$2 == l { print $1 }' "$out/aggregate.csv")
    "$reconf" plot "$out/runs/$(printf 'c%03d-s001' "$config")" --out "$out/timeseries/$strategy"
  done
done
