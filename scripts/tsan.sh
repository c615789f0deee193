#!/usr/bin/env bash
# tsan.sh: build kexwatch with ThreadSanitizer (-DKW_TSAN=ON, without the
# address sanitizer, which cannot be combined with it) into build-tsan/, then
# run what exercises the packet loops and the merger under it: every golden
# and crafted capture, the conformance corpus when ../shared holds it, and the
# benchmark prefix when /tmp/kexwatch-bench holds it, each with --workers 1,
# 2 and 3 (tests/workers/equivalence.py, which also fails on any sanitizer
# report); then, as root, the live tests that run several threads at once:
# two workers on a real sshd (workers.sh), statistics on SIGUSR1 (stats.sh),
# SIGHUP (sighup.sh), SIGTERM (sigterm.sh) and the evidence capture
# (sshd.sh). Not part of ./test.sh: a third build of the tree
# would double the suite's time on a two-core machine. Exit status 0 when all
# of it is clean.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/deps.sh"
kw_deps test
build="$here/build-tsan"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKW_TSAN=ON -DKW_WERROR=ON \
	-DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target kexwatch
# halt_on_error: the first race fails the run; stderr carries the report.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
python3 "$here/tests/workers/equivalence.py" --kexwatch "$build/kexwatch" \
	--tests "$here/tests" --shared "$here/../shared"
if [ "$(id -u)" -eq 0 ]; then
	for t in workers stats sighup sigterm sshd; do
		bash "$here/tests/live/$t.sh" "$build/kexwatch"
	done
else
	echo "tsan.sh: not root: the live test is skipped"
fi
