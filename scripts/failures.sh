#!/usr/bin/env bash
# Reruns the failure experiment (scenarios/failures/) into results/failures/: a sweep of the
# three strategies (restart, migration, migration with continuous checkpointing) under node
# crashes over 5 paired seeds (every strategy faces the same clients and the same fault times on
# every node), and the comparison figures. Run from the repository root; takes about half a
# minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/reconf-bin.sh
rm -rf results/failures/runs results/failures/figures
"$reconf" sweep scenarios/failures/restart.toml scenarios/failures/migration.toml \
  scenarios/failures/migration-checkpoint.toml --seeds 5 -j 2 \
  --baseline scenario=restart --out results/failures --quiet
"$reconf" plot results/failures --out results/failures/figures \
  --metric availability --metric sessions_lost_to_failures --metric p95_response_ms \
  --metric energy_kwh
