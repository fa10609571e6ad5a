#!/bin/sh
# mlscore:pre-push-hook
# Written by `mlscore hook install` (mlscore @VERSION@); `mlscore hook uninstall`
# removes it and puts back the hook it chained, if any. Edits here are lost on
# the next install.
#
# Before each push, scores the working tree with `mlscore check` against the
# upstream branch and refuses the push when mlscore's gate fails.
# Skip it once with: git push --no-verify

# The folder `mlscore check` scores, relative to the top of the work tree
# (git runs hooks from there).
scope=.

# A hook that was here before mlscore's runs first, with git's arguments (the
# remote's name and URL) and git's standard input (one line per pushed ref).
# The input is saved to a file so that the chained hook reads all of it, as if
# it were alone.
chained="$(dirname "$0")/pre-push.mlscore-chained"
if [ -x "$chained" ]; then
    refs=$(mktemp "${TMPDIR:-/tmp}/mlscore-pre-push.XXXXXX") || exit 1
    trap 'rm -f "$refs"' EXIT
    trap 'exit 130' INT TERM
    cat >"$refs"
    "$chained" "$@" <"$refs"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "mlscore: the chained pre-push hook ($chained) refused the push (exit $status)." >&2
        exit "$status"
    fi
fi

if ! command -v mlscore >/dev/null 2>&1; then
    echo "mlscore: the pre-push hook needs mlscore on PATH; install it (cargo install --locked mlscore)," >&2
    echo "remove the hook (mlscore hook uninstall), or skip it once with: git push --no-verify" >&2
    exit 1
fi

# The report goes to standard error, with git's own messages, so that
# `git push --porcelain` keeps a clean standard output.
# The base is what the branch is meant to merge into: its upstream, else the
# remote's default branch; with neither (a first push), the score alone.
remote=${1:-origin}
# Extra `mlscore check` arguments for this push, e.g.
# MLSCORE_PRE_PUSH_ARGS=--no-probes git push (split on spaces on purpose).
extra=${MLSCORE_PRE_PUSH_ARGS:-}
base=$(git rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' 2>/dev/null) || base=
if [ -z "$base" ] || ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
    base=$(git rev-parse --abbrev-ref "refs/remotes/$remote/HEAD" 2>/dev/null) || base=
fi
if [ -n "$base" ] && git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
    echo "mlscore: checking $scope against $base before the push" >&2
    # shellcheck disable=SC2086
    mlscore check "$scope" --base "$base" --format human $extra </dev/null >&2
else
    echo "mlscore: no upstream branch and no $remote/HEAD to compare with; checking $scope alone" >&2
    # shellcheck disable=SC2086
    mlscore check "$scope" --format human $extra </dev/null >&2
fi
status=$?

case $status in
    0) ;;
    1) echo "mlscore: the gate failed, so the push was refused. Fix what the verdict lists, or skip this check once with: git push --no-verify" >&2 ;;
    *) echo "mlscore: the check could not run (exit $status), so the push was refused. Skip it once with: git push --no-verify" >&2 ;;
esac
exit "$status"
