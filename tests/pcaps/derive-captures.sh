#!/usr/bin/env bash
# derive-captures.sh: captures that are limited, not the connections in them.
#
# A sensor often sees less than the whole connection: a SPAN port or an
# asymmetric route carries one direction, a capture starts after the
# handshake began, a small snap length cuts packets. Those are properties of
# the capture, so these files are made from a real capture of
# make-captures.sh (openssh-default-v4.pcap) with tcpdump and editcap,
# exactly as an operator's capture would be limited:
#   cap-one-direction.pcap  only the client's packets (tcpdump filter)
#   cap-midstream.pcap      the capture starts after the first 8 packets
#   cap-snapped.pcap        snap length 200 bytes (editcap -s)
#   cap-late-kexreply.pcap  the capture starts with the server's KEX reply (the
#                           first segment of it: a tap started after the
#                           client's KEX init), no SYN, no banner, no KEXINIT
#   cap-late-kexreply-server.pcap  the same through a one-direction SPAN: the
#                           server's packets only
# Each has a truth file saying what the software did, and
# tests/diagnoses/check.py asserts capture_incomplete on each.
# Rerun: bash tests/pcaps/derive-captures.sh   (needs tcpdump, editcap)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/openssh-default-v4.pcap
for tool in tcpdump editcap; do
	command -v $tool >/dev/null || { echo "derive-captures.sh: $tool is missing" >&2; exit 1; }
done
client=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_ip"])' \
	"$here/openssh-default-v4.truth.json")
tcpdump -r "$src" -w "$here/cap-one-direction.pcap" "src host $client" 2>/dev/null
editcap -r "$src" "$here/cap-midstream.pcap" "9-$(tcpdump -r "$src" 2>/dev/null | wc -l)"
editcap -s 200 "$src" "$here/cap-snapped.pcap"
# The server's KEX reply: its first data segment larger than 1000 bytes after the
# client's KEX init (the server's KEXINIT is the one before it).
reply=$(tcpdump -nr "$src" 2>/dev/null | awk -v c="$client" '
	{ n++ } index($3, c ".") != 1 && $NF + 0 > 1000 { if (++big == 2) { print n; exit } }')
[ -n "$reply" ] || { echo "derive-captures.sh: no KEX reply found" >&2; exit 1; }
editcap -r "$src" "$here/cap-late-kexreply.pcap" "$reply-$(tcpdump -r "$src" 2>/dev/null | wc -l)"
tcpdump -r "$here/cap-late-kexreply.pcap" -w "$here/cap-late-kexreply-server.pcap" \
	"not src host $client" 2>/dev/null
for c in cap-one-direction cap-midstream cap-snapped cap-late-kexreply cap-late-kexreply-server; do
	python3 - "$here/openssh-default-v4.truth.json" "$here/$c.truth.json" "$c" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["case"] = sys.argv[3]
# What the software did is unchanged; what the capture shows of it is not
# (a missing direction, a missing start, cut packets), so only the
# addresses stay asserted here; check.py asserts what the record says.
for k in list(t):
    if k not in ("case", "family", "server_port", "client_ip", "server_ip"):
        t[k] = None
json.dump(t, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
PY
done
ls -l "$here"/cap-*.pcap
