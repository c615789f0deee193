#!/bin/sh
# format.clang: every C file of the project is formatted by .clang-format.
# Fails naming each file clang-format would change; fix with
#   git ls-files '*.c' '*.h' | xargs clang-format -i
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! command -v clang-format >/dev/null 2>&1; then
	echo "format.clang: clang-format is not installed (./test.sh installs it)" >&2
	exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find app capture common dissect verdict output state fuzz tests bench \
		-name '*.[ch]' 2>/dev/null)
fi
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f" >&2
		bad=$((bad + 1))
	fi
done
n=$(echo "$files" | wc -w)
if [ "$bad" -gt 0 ]; then
	echo "format.clang: $bad of $n C files are not formatted by .clang-format" >&2
	exit 1
fi
echo "format.clang: all $n C files formatted"
