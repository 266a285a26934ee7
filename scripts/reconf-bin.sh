# Sourced by the other scripts: builds the release binary and sets `reconf` to its path, wherever
# cargo puts it (CARGO_TARGET_DIR, `build.target-dir` in a cargo config, or ./target): the path
# comes from cargo's own build report, not from a guess.
#
#   . scripts/reconf-bin.sh    # from the repository root; then "$reconf" run ...
reconf=$(cargo build --release --locked --quiet --bin reconf --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [[ -z $reconf || ! -x $reconf ]]; then
    echo "error: could not find the reconf binary that cargo built" >&2
    exit 1
fi
