#!/usr/bin/env bash
# Wall time of a run from Python (`reconf.run`, interpreter start and import included) against
# the CLI's (`reconf run`, writing its run folder), with hyperfine. From the repository's root,
# with the package installed (`pip install ./python`):
#
#   python/benches/run_vs_cli.sh [SCENARIO] [PYTHON]
set -euo pipefail
scenario=${1:-scenarios/examples/rubis.toml}
python=${2:-python3}
. scripts/reconf-bin.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
hyperfine --warmup 1 --runs 10 \
    -n cli "$reconf run $scenario --out $out/run" \
    -n python "$python -c 'import reconf; reconf.run(\"$scenario\")'"
