#!/usr/bin/env bash
# Installs mlscore for the GitHub Action (action.yml), and for anyone who runs
# it by hand: `bash .github/install.sh resolve|install`.
#
#   resolve  decides what to install and where, and writes `version`,
#            `target`, `mode` (download or source), `cache-dir` and
#            `cache-key` to $GITHUB_OUTPUT for the actions/cache step; an
#            unknown version fails here, at once, before anything is fetched.
#   install  installs into cache-dir (reusing what the cache restored there),
#            puts mlscore on $GITHUB_PATH and writes `path` to $GITHUB_OUTPUT.
#
# What is trusted: the release archive whose sha256 is pinned in
# .github/pins.txt beside this script (written by .github/workflows/release.yml
# and committed with the action), or mlscore built from this very checkout of
# the action with `cargo install --locked --path`. Never an unpinned binary,
# never a crate from a registry.
#
# Environment (the action passes its inputs through env, never through the
# script's text):
#   MLSCORE_VERSION        a release number such as 0.1.0; empty: this
#                          checkout's own version (its Cargo.toml)
#   GITHUB_ACTION_PATH     the action's checkout (default: this script's repo)
#   RUNNER_OS, RUNNER_ARCH which archive (default: this machine's)
#   RUNNER_TEMP, RUNNER_TOOL_CACHE, GITHUB_OUTPUT, GITHUB_PATH  as on a runner
#   MLSCORE_ACTION_REPOSITORY  owner/name the releases are downloaded from
#                          (default: the action's repository)
#   MLSCORE_DOWNLOAD_BASE  base URL of the release downloads (default
#                          https://github.com/OWNER/NAME/releases/download);
#                          a mirror for GitHub Enterprise, say. https only,
#                          except plain http to the loopback (tests). The
#                          archive is checked against the pin wherever it
#                          comes from.
#   MLSCORE_CACHE_DIR      where archives and builds are kept (default
#                          $RUNNER_TOOL_CACHE/mlscore)
set -euo pipefail

mode_arg=${1:-install}
case "$mode_arg" in
  resolve | install) ;;
  *)
    echo "usage: install.sh resolve|install" >&2
    exit 2
    ;;
esac

say_error() { echo "::error title=mlscore install::$*"; }
out() { if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >>"$GITHUB_OUTPUT"; fi; }

action_path=${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
action_path=${action_path//\\//}
pins="$action_path/.github/pins.txt"

# This checkout's own version: the first `version = "…"` of Cargo.toml's
# [package] table.
own_version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$action_path/Cargo.toml" | head -n 1)

version=${MLSCORE_VERSION:-}
version=${version#v}
if [ -z "$version" ]; then
  version=$own_version
fi
# The version becomes part of a URL, a path and a cache key: release numbers only.
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
  say_error "input 'version' must be a release number such as $own_version, not '$version'"
  exit 2
fi

os=${RUNNER_OS:-$(uname -s)}
arch=${RUNNER_ARCH:-$(uname -m)}
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) target=unknown-$os-$arch ;;
esac
exe=
if [ "$os" = Windows ]; then exe=.exe; fi

# The pin table: `VERSION TARGET SHA256` per line, `#` comments.
pin_for() {
  [ -f "$pins" ] || return 0
  # No {64}: mawk, Debian's awk, has no interval expressions.
  awk -v v="$1" -v t="$2" '$1 == v && $2 == t && length($3) == 64 && $3 ~ /^[0-9a-f]+$/ { print $3; exit }' "$pins"
}
pinned_versions() {
  [ -f "$pins" ] || return 0
  awk '!/^#/ && NF >= 3 { print $1 }' "$pins" | sort -u | paste -sd, - | sed 's/,/, /g'
}

expected=$(pin_for "$version" "$target")
if [ -n "$expected" ]; then
  mode=download
elif [ "$version" = "$own_version" ]; then
  # No archive is pinned for this version and system (a release not made yet,
  # a branch of the action, a target without a build): build this checkout.
  mode=source
else
  known=$(pinned_versions)
  say_error "mlscore $version is not a version this action knows: it pins archives of ${known:-no version} and can build its own checkout, $own_version. Use version: $own_version, or the action's ref of release v$version."
  exit 2
fi

cache_root=${MLSCORE_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/mlscore}
cache_root=${cache_root//\\//}

sha256() {
  # Read from standard input: sha256sum escapes Windows paths in its output.
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum <"$1" | cut -d' ' -f1
  else
    shasum -a 256 <"$1" | cut -d' ' -f1
  fi
}

if [ "$mode" = download ]; then
  dir="$cache_root/$version/$target"
  key="mlscore-$version-$target-$expected"
else
  # The build is keyed on the sources it is built from: the action's ref may
  # move (a branch) while its version stays.
  source_hash=$(cd "$action_path" && find Cargo.toml Cargo.lock src checks templates -type f 2>/dev/null |
    LC_ALL=C sort | while IFS= read -r f; do printf '%s %s\n' "$(sha256 "$f")" "$f"; done |
    (sha256sum 2>/dev/null || shasum -a 256) | cut -d' ' -f1)
  dir="$cache_root/source-$version-$target"
  key="mlscore-source-$version-$target-$source_hash"
fi

if [ "$mode_arg" = resolve ]; then
  echo "mlscore $version for $target: $mode (cache key $key)"
  out version "$version"
  out target "$target"
  out mode "$mode"
  out cache-dir "$dir"
  out cache-key "$key"
  exit 0
fi

bin="$dir/bin/mlscore$exe"
mkdir -p "$dir/bin"

finish() {
  local got
  got=$("$bin" --version 2>/dev/null || true)
  if [ "$got" != "mlscore $version" ]; then
    say_error "$bin reports '${got:-nothing}', not mlscore $version"
    exit 1
  fi
  echo "$got: $bin"
  out path "$bin"
  # Later steps of the job may call mlscore too.
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir/bin" >>"$GITHUB_PATH"; fi
  exit 0
}

# A self-hosted runner's image may carry mlscore already (GitHub Enterprise
# without access to github.com, say): the same version on PATH is used as is.
if existing=$(command -v "mlscore$exe" 2>/dev/null) && [ "$("$existing" --version 2>/dev/null)" = "mlscore $version" ]; then
  echo "using $existing (mlscore $version, already on PATH)"
  out path "$existing"
  exit 0
fi

if [ "$mode" = download ]; then
  archive="$dir/mlscore-$target.tar.gz"
  if [ -f "$archive" ] && [ "$(sha256 "$archive")" = "$expected" ]; then
    echo "mlscore-$target.tar.gz (v$version) from the cache, sha256 matches the pin"
  else
    rm -f "$archive"
    repo=${MLSCORE_ACTION_REPOSITORY:-}
    if [ -z "$repo" ]; then
      # …/_actions/OWNER/REPO/REF when the action comes from another
      # repository; `uses: ./` runs it from the workflow's own.
      repo=$(printf '%s\n' "$action_path" | sed -n 's|.*/_actions/\([^/]*/[^/]*\)/.*|\1|p')
    fi
    repo=${repo:-${GITHUB_REPOSITORY:-mlscore/mlscore}}
    base=${MLSCORE_DOWNLOAD_BASE:-https://github.com/$repo/releases/download}
    base=${base%/}
    proto='=https'
    case "$base" in
      http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/*) proto='=http,https' ;;
    esac
    url="$base/v$version/mlscore-$target.tar.gz"
    echo "downloading $url"
    if ! curl --proto "$proto" --tlsv1.2 -fsSL --retry 3 --connect-timeout 20 -o "$archive.part" "$url"; then
      rm -f "$archive.part"
      say_error "could not download $url"
      exit 1
    fi
    actual=$(sha256 "$archive.part")
    if [ "$actual" != "$expected" ]; then
      rm -f "$archive.part"
      say_error "sha256 of mlscore-$target.tar.gz (v$version) is $actual, not the pinned $expected; refusing to run it"
      exit 1
    fi
    mv "$archive.part" "$archive"
  fi
  # Relative names inside the folder: GNU tar on Windows reads `D:` in an
  # absolute path as a remote host.
  rm -rf "$dir/extract"
  mkdir -p "$dir/extract"
  (cd "$dir" && tar -xzf "mlscore-$target.tar.gz" -C extract)
  found=$(find "$dir/extract" -type f -name "mlscore$exe" | head -n 1)
  if [ -z "$found" ]; then
    say_error "mlscore-$target.tar.gz (v$version) holds no mlscore$exe"
    exit 1
  fi
  mv -f "$found" "$bin"
  chmod +x "$bin"
  rm -rf "$dir/extract"
  finish
fi

# mode=source: this checkout of the action, built once per source hash.
if [ -x "$bin" ] && [ "$(cat "$dir/source-hash" 2>/dev/null)" = "$source_hash" ]; then
  echo "mlscore $version built from this action's sources, from the cache"
  finish
fi
if ! command -v cargo >/dev/null 2>&1; then
  say_error "no release archive of mlscore $version is pinned for $target, and there is no cargo to build it from the action's checkout; add a Rust toolchain step (e.g. rustup) before this action, or use a released version"
  exit 1
fi
echo "::notice title=mlscore install::no release archive of mlscore $version is pinned for $target; building it from the action's checkout with cargo install --locked (about 20 minutes on 2 cores; cached afterwards)"
rm -f "$dir/source-hash"
# No --quiet: cargo's progress shows in the log. --locked: the Cargo.lock that
# was tested, polars included.
CARGO_TARGET_DIR="$dir/target" cargo install --locked --path "$action_path" --root "$dir" --force
# The build tree is not kept: the cache holds the binary only.
rm -rf "$dir/target"
printf '%s' "$source_hash" >"$dir/source-hash"
finish
