#!/usr/bin/env bash
# The Python package (python/): built and installed in a fresh virtual environment exactly as the
# README says (`pip install ./python`), then its pytest tests. The extension module is a release
# build in cargo's target folder with the features scripts/reconf-bin.sh resolves (the whole
# workspace's), so after the regression gate's release build only pyo3 and the package's own
# crate are compiled.
#
#   scripts/python-test.sh            # venv in $RECONF_VENV (default /tmp/reconf-venv)
#   RECONF_WITH_LIBVIRT=1 scripts/python-test.sh   # with the live backend (CI): its tests
#                                     # (python/tests/test_live.py) must run, not skip
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${RECONF_VENV:-/tmp/reconf-venv}
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [[ ${RECONF_WITH_LIBVIRT:-0} == 1 ]]; then
    export MATURIN_PEP517_ARGS="--features libvirt"
    export RECONF_PYTHON_LIBVIRT_REQUIRED=1
fi
start=$(date +%s)
"$venv/bin/python" -m pip install --quiet "./python[test]"
echo "python: package built and installed in $(( $(date +%s) - start )) s"
# Import the installed package, not the source folder (which has no extension module).
cd python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider .
