#!/usr/bin/env bash
# build-kexwatch.sh DIR: builds kexwatch (RelWithDebInfo, tests off) out of
# tree under DIR and prints the binary's path. Used by run.sh and profile.sh.
#   KEXWATCH_REV unset: the working tree as it is now (uncommitted changes too)
#   KEXWATCH_REV=HEAD (or any commit): that commit, exported with `git archive`
#                      into DIR/src-<sha>, so work in progress does not leak in
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=$1
mkdir -p "$DIR"
if [ -n "${KEXWATCH_REV:-}" ]; then
    sha=$(git -C "$REPO" rev-parse --short "$KEXWATCH_REV^{commit}")
    src=$DIR/src-$sha
    if [ ! -f "$src/CMakeLists.txt" ]; then
        rm -rf "$src" && mkdir -p "$src"
        git -C "$REPO" archive "$sha" | tar -x -C "$src"
    fi
    build=$DIR/build-$sha
else
    src=$REPO
    build=$DIR/build-worktree
fi
echo "building kexwatch from $src${KEXWATCH_REV:+ (commit $sha)} in $build" >&2
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 --target kexwatch >/dev/null
echo "$build/kexwatch"
