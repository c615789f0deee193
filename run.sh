#!/usr/bin/env bash
# run.sh: install what is missing (Debian 12, as root), build, and run kexwatch.
# With no arguments it analyses the bundled demo capture and prints the
# summary table; any arguments are passed to kexwatch unchanged.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/scripts/deps.sh"
kw_deps build
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build "$here/build" -j"$(nproc)" >/dev/null
if [ $# -eq 0 ]; then
	exec "$here/build/kexwatch" -r "$here/tests/pcaps/demo.pcap" --format text
fi
exec "$here/build/kexwatch" "$@"
