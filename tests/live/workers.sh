#!/usr/bin/env bash
# live.workers: kexwatch --workers 2 on a real sshd's veth, in the MTU path of
# tests/pcaps/make-failures.sh: client - router1 - (MTU 1280) - router2 -
# server, plus a second client namespace behind router1 whose ICMP
# fragmentation-needed messages router1 drops (a black hole for it only).
# Traffic: a black-holed key exchange (OpenSSH's default KEXINIT is larger than
# 1280 bytes), then 40 logins from 8 parallel clients, an algorithm mismatch
# and a refused connection (iptables reset on port 2222).
# Asserts that every connection gives exactly one record (no two records of
# one port pair overlap in time, both directions seen, none one-sided), with
# the right outcome and diagnosis (established; no_common_algorithm; tcp_refused;
# mtu_blackhole_suspected), and that the statistics show both workers
# received packets: the kernel's fanout hash sends both directions of a
# connection to the same worker (a worker seeing one direction would give a
# one-sided, incomplete record, and the other worker a second record).
# Usage: workers.sh KEXWATCH
KW=$1
TEST_NAME=live.workers
. "$(dirname "$0")/lib.sh"

PC="kww-pc-$$" PB="kww-pb-$$" R1="kww-r1-$$" R2="kww-r2-$$" PS="kww-ps-$$"
PC4=198.18.1.1 PB4=198.18.4.1 PS4=198.18.3.2
NETNS=("$PC" "$PB" "$R1" "$R2" "$PS")
NSS=$PS # start_kexwatch and sshd_start run in the server namespace
NSC=$PC # in_c: the client that is not black-holed
VS=p-s
# sshd_setup listens on $S4 and $S6: here the server's one address.
S4=$PS4

if [ "$(id -u)" -ne 0 ]; then
	echo "[$TEST_NAME] skipped: needs root" >&2
	exit 77
fi
[ -x "${KW:-}" ] || fail "kexwatch binary not given"
need ip iproute2
need iptables iptables
need "$PY" python3
need timeout coreutils
netns_begin live
chmod 755 "$WORK"
mkdir -p "$WORK/out"

netns_add "$PC" "$PB" "$R1" "$R2" "$PS" || fail "namespaces"
for ns in "${NETNS[@]}"; do
	# IPv4 only on the path: no router solicitations in the capture
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
done
netns_veth "$PC" p-c "$R1" r1-c
netns_veth "$PB" p-b "$R1" r1-b
netns_veth "$R1" r1-s "$R2" r2-c
netns_veth "$R2" r2-s "$PS" p-s
ip -n "$R1" link set r1-s mtu 1280
ip -n "$R2" link set r2-c mtu 1280
netns_up "$PC" p-c "$PC4/24"
netns_up "$PB" p-b "$PB4/24"
netns_up "$R1" r1-c 198.18.1.2/24
netns_up "$R1" r1-b 198.18.4.2/24
netns_up "$R1" r1-s 198.18.2.1/24
netns_up "$R2" r2-c 198.18.2.2/24
netns_up "$R2" r2-s 198.18.3.1/24
netns_up "$PS" p-s "$PS4/24"
netns_wait_up "$PC" p-c && netns_wait_up "$PB" p-b && netns_wait_up "$R1" r1-c r1-b r1-s &&
	netns_wait_up "$R2" r2-c r2-s && netns_wait_up "$PS" p-s || fail "links did not come up"
ip -n "$PC" route add default via 198.18.1.2
ip -n "$PB" route add default via 198.18.4.2
ip -n "$PS" route add default via 198.18.3.1
ip -n "$R1" route add 198.18.3.0/24 via 198.18.2.2
ip -n "$R2" route add 198.18.1.0/24 via 198.18.2.1
ip -n "$R2" route add 198.18.4.0/24 via 198.18.2.1
for ns in "$R1" "$R2"; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
# The black hole: fragmentation-needed never reaches the second client.
ip netns exec "$R1" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -d "$PB4" -j DROP
ip netns exec "$R1" iptables -A FORWARD -p icmp --icmp-type fragmentation-needed -d "$PB4" -j DROP
ip netns exec "$PS" iptables -A INPUT -p tcp --dport 2222 -j REJECT --reject-with tcp-reset

sshd_setup
# IPv4 only here: drop the IPv6 listener sshd_setup wrote.
sed -i '/ListenAddress \[/d' "$WORK/sshd_config"
echo "MaxStartups 100" >>"$WORK/sshd_config"
sshd_start

start_kexwatch kw --workers 2 -w "$WORK/out/records.jsonl" --ssh-ports 22,2222 \
	--stats-interval 0 --limit close_linger_ms=1000 --limit established_report_ms=2000
grep -q "with 2 workers" "$WORK/kw.err" || fail "kexwatch did not start 2 workers"

log "black-holed key exchange from $PB4"
start_bg "$WORK/blackhole.log" timeout --kill-after=5 60 ip netns exec "$PB" \
	ssh "${SSH_OPTS[@]}" root@"$PS4" true
BHPID=$BGPID
sleep 4 # its KEXINIT is lost and retransmitted a few times

log "40 logins from 8 parallel clients"
CLIENTS=()
for k in $(seq 1 8); do
	(
		for _ in 1 2 3 4 5; do
			in_c ssh "${SSH_OPTS[@]}" root@"$PS4" true || exit 1
		done
	) >"$WORK/client$k.log" 2>&1 &
	PIDS+=("$!")
	CLIENTS+=("$!")
done
for pid in "${CLIENTS[@]}"; do
	wait "$pid" || fail "a login failed (client logs: $WORK/client*.log)"
done

log "mismatch, refusal"
if in_c ssh "${SSH_OPTS[@]}" -o KexAlgorithms=diffie-hellman-group1-sha1 root@"$PS4" true \
	2>"$WORK/mismatch.log"; then
	fail "the mismatched login succeeded"
fi
grep -q "no matching key exchange method" "$WORK/mismatch.log" || fail "no mismatch from ssh"
if in_c ssh "${SSH_OPTS[@]}" -p 2222 root@"$PS4" true 2>"$WORK/reset.log"; then
	fail "the refused login succeeded"
fi
grep -q "Connection refused" "$WORK/reset.log" || fail "no refusal from ssh"
kill -0 "$BHPID" 2>/dev/null || fail "the black-holed client did not hang"

count_records() {
	kwpy -c 'import kwlive,sys; sys.exit(0 if len(kwlive.load(sys.argv[1]).ssh) >= 42 else 1)' \
		"$WORK/out/records.jsonl"
}
wait_until 20 count_records || fail "the 42 records of finished connections did not come out"
# The black-holed connection is still hanging: SIGTERM writes it (capture end).
stop_kexwatch kw
stop_pid "$BHPID" TERM
grep -c "Accepted publickey" "$WORK/sshd.log" >"$WORK/accepted.txt" || true

kwpy - "$WORK/out/records.jsonl" "$PC4" "$PB4" "$(cat "$WORK/accepted.txt")" <<'EOF' || fail "records"
import collections, datetime, sys, kwlive
out = kwlive.load(sys.argv[1])
pc, pb, accepted = sys.argv[2], sys.argv[3], int(sys.argv[4])
c = kwlive.Checker("workers")
c.ok(not out.bad, "every line is one JSON record %s" % out.bad[:2])
c.ok(accepted == 40, "sshd accepted 40 logins (%d)" % accepted)
c.ok(len(out.ssh) == 43, "43 connection records (got %d)" % len(out.ssh))
# Each connection once: records of the same two endpoints (either way round)
# must not overlap in time, as two halves of one connection split between
# workers would. The kernel may give a later connection to the same server
# a port freed by an earlier one (the server closed first, so the client
# kept no TIME_WAIT on it): those follow one another.
def span(r):
    t = datetime.datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    return t, t + r["ssh"].get("close", {}).get("after_ms", 0) / 1000.0
pairs = collections.defaultdict(list)
for r in out.ssh:
    pairs[frozenset([(r["src_ip"], r["src_port"]), (r["dest_ip"], r["dest_port"])])].append(span(r))
overlap = [sorted(k) for k, v in pairs.items()
           if any(b[0] < a[1] for a, b in zip(sorted(v), sorted(v)[1:]))]
c.ok(not overlap, "each connection once (no two records of one port pair overlap): %s"
     % overlap[:3])
c.ok(len({r["flow_id"] for r in out.ssh}) == len(out.ssh), "no flow_id twice")
both = [r for r in out.ssh if r["ssh"].get("tcp", {}).get("packets_c2s", 0) > 0
        and r["ssh"].get("tcp", {}).get("packets_s2c", 0) > 0]
c.ok(len(both) == 43, "both directions seen in every record (%d of 43)" % len(both))
incomplete = [r for r in out.ssh if "capture_incomplete" in kwlive.codes(r)]
c.ok(not incomplete, "no record says the capture missed a direction (%d do)" % len(incomplete))
logins = [r for r in out.ssh if r["src_ip"] == pc and r["dest_port"] == 22
          and "no_common_algorithm" not in kwlive.codes(r)]
c.ok(len(logins) == 40, "40 logins (got %d)" % len(logins))
c.ok(all(r["ssh"]["outcome"] == "established" for r in logins), "every login established: %s"
     % collections.Counter(r["ssh"]["outcome"] for r in logins))
c.ok(all(r["ssh"].get("auth", {}).get("result") == "success" for r in logins),
     "every login authenticated: %s"
     % collections.Counter(r["ssh"].get("auth", {}).get("result") for r in logins))
mis = [r for r in out.ssh if "no_common_algorithm" in kwlive.codes(r)]
c.ok(len(mis) == 1 and mis[0]["ssh"]["outcome"] == "failed", "the mismatch: failed, no_common_algorithm")
ref = [r for r in out.ssh if r["dest_port"] == 2222]
c.ok(len(ref) == 1 and "tcp_refused" in kwlive.codes(ref[0]) and ref[0]["ssh"]["outcome"] == "failed",
     "the refusal: failed, tcp_refused")
bh = [r for r in out.ssh if r["src_ip"] == pb]
c.ok(len(bh) == 1, "one record for the black-holed client")
if bh:
    c.ok("mtu_blackhole_suspected" in kwlive.codes(bh[0]) and bh[0]["ssh"]["outcome"] == "failed",
         "the black hole: failed, mtu_blackhole_suspected (%s, %s)"
         % (bh[0]["ssh"]["outcome"], kwlive.codes(bh[0])))
c.ok(len(out.stats) == 1 and out.stats[0]["stats"]["reason"] == "exit", "final stats record")
if out.stats:
    s = out.stats[0]["stats"]
    w = s.get("workers", [])
    c.ok(len(w) == 2, "stats: 2 workers")
    c.ok(all(x["packets"] > 0 and x["flows"] > 0 for x in w),
         "stats: both workers received packets and followed connections %s" % w)
    c.ok(sum(x["flows"] for x in w) == s["connections"]["seen"],
         "stats: the workers' flows add up to the connections seen")
    c.ok(s["connections"]["reported"] == 43, "stats: 43 connections reported")
c.done()
EOF
pass
