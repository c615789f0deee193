#!/usr/bin/env bash
# test.sh: install what is missing (Debian 12, as root), build with
# AddressSanitizer and UndefinedBehaviorSanitizer and -Werror, and run the
# whole ctest suite. Extra arguments go to ctest (e.g. ./test.sh -R unit).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/scripts/deps.sh"
kw_deps test
build="$here/build-test"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DKW_SANITIZE=ON -DKW_WERROR=ON \
	-DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
