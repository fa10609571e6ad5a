# Sourced by the bench scripts (run from the repository root): sets `bin` to
# the mlscore binary to measure — the path given, else a release build of this
# checkout, made in the target directory CI uses (outside the clone).
# Usage: . benches/release_bin.sh BINARY_OR_EMPTY — always pass one argument
# (`""` to build): sourced without one, the file would see the caller's own.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mlscore-target}"
bin="${1:-}"
if [ -z "$bin" ]; then
  cargo build --release --locked -q
  bin="$CARGO_TARGET_DIR/release/mlscore"
fi
