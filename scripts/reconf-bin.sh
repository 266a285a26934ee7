# Sourced by the other scripts: builds the release binary and sets `reconf` to its path, wherever
# cargo puts it (CARGO_TARGET_DIR, `build.target-dir` in a cargo config, or ./target): the path
# comes from cargo's own build report, not from a guess.
#
#   . scripts/reconf-bin.sh    # from the repository root; then "$reconf" run ...
#
# `--workspace` resolves the dependencies' features for the whole workspace, as the Python
# package's build does (pyo3's macros need syn's "visit-mut"): the wheel that
# scripts/python-test.sh builds then reuses every release artefact of this build but its own
# crate and pyo3's. RECONF_WITH_LIBVIRT=1 (CI) builds the live backend in, as the CI's wheel does.
features=()
if [[ ${RECONF_WITH_LIBVIRT:-0} == 1 ]]; then
    features=(--features reconf/libvirt)
fi
reconf=$(cargo build --release --locked --quiet --workspace "${features[@]}" --bin reconf --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [[ -z $reconf || ! -x $reconf ]]; then
    echo "error: could not find the reconf binary that cargo built" >&2
    exit 1
fi
