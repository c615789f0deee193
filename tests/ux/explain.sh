#!/usr/bin/env bash
# ctest ux.explain: --explain answers the message a user pastes. Each case
# takes the client's error line from the real `ssh -v` log of a golden
# capture (tests/pcaps/logs), checks that the capture's expected record
# carries the diagnosis, and that --explain lists that diagnosis (first
# where the message names one cause). Then an unknown code suggests the
# nearest, and text nothing matches is an error.
# Usage: explain.sh KEXWATCH PCAP_DIR
set -euo pipefail
kw=$1 dir=$2
fail() { echo "FAIL: $*"; exit 1; }
checks=0

# case | grep pattern for the line in logs/fail-<case>.client.log | code | first or listed
while IFS='|' read -r case pattern code rank; do
	line=$(grep -m1 -E "$pattern" "$dir/logs/fail-$case.client.log") ||
		fail "$case: no line like '$pattern' in its client log"
	grep -q "\"code\":\"$code\"" "$dir/fail-$case.expected.jsonl" ||
		fail "$case: the expected record has no $code"
	out=$("$kw" --explain "$line") || fail "$case: --explain '$line' failed"
	codes=$(printf '%s\n' "$out" | sed -n 's/^\([a-z_]*\) (\(error\|warning\|info\)): .*/\1/p')
	if [ "$rank" = first ]; then
		[ "$(printf '%s\n' "$codes" | head -1)" = "$code" ] ||
			fail "$case: '$line' ranks $(echo $codes) before $code"
	else
		printf '%s\n' "$codes" | grep -qx "$code" || fail "$case: '$line' does not list $code"
	fi
	[[ $out == *"check:"* ]] || fail "$case: no hint"
	checks=$((checks + 1))
done <<'CASES'
maxstartups|^kex_exchange_identification: read: Connection reset by peer|closed_before_server_banner|first
nocommon-hostkey|no matching host key type found|no_common_algorithm|first
drop|^ssh: connect to host .*Connection timed out|tcp_no_answer|first
reject-rst|^ssh: connect to host .*Connection refused|tcp_refused|first
ssh1-server|^Protocol major versions differ|protocol_version_mismatch|first
disconnect-fake|^Received disconnect from|disconnect_message|first
logingrace|^Connection closed by .* port|banner_timeout|listed
http-on-22|^kex_exchange_identification: Connection closed by remote host|banner_invalid|listed
CASES
[ "$checks" -ge 5 ] || fail "only $checks cases"

# The issue's own example, with another offer than the rule's template.
out=$("$kw" --explain "no matching host key type found. Their offer: ssh-rsa")
[[ $out == *"no_common_algorithm (error)"* ]] || fail "host key offer not matched"
# An unknown code suggests the nearest; exit 2.
set +e
err=$("$kw" --explain tcp_refuse 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" -eq 2 ] && [[ $err == *"did you mean: tcp_refused"* ]] || fail "no suggestion for tcp_refuse (rc $rc)"
# Text no client message resembles: a message, exit 1, nothing on stdout.
set +e
out=$("$kw" --explain "the printer is out of paper" 2>/dev/null); rc=$?
set -e
[ "$rc" -eq 1 ] && [ -z "$out" ] || fail "unrelated text matched (rc $rc)"
# A known code still gives its documentation.
"$kw" --explain tcp_refused | grep -q "What the OpenSSH client prints" || fail "--explain CODE changed"
echo "ux.explain: $((checks + 4)) checks passed"
