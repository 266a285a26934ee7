#!/usr/bin/env bash
# The Python package (python/): built and installed in a fresh virtual environment exactly as the
# README says (`pip install ./python`), then its pytest tests. The extension module is a release
# build sharing cargo's target folder, so after the release builds of the other CI steps only the
# package's own crate is compiled.
#
#   scripts/python-test.sh            # venv in $RECONF_VENV (default /tmp/reconf-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${RECONF_VENV:-/tmp/reconf-venv}
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
start=$(date +%s)
"$venv/bin/python" -m pip install --quiet "./python[test]"
echo "python: package built and installed in $(( $(date +%s) - start )) s"
# Import the installed package, not the source folder (which has no extension module).
cd python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider .
