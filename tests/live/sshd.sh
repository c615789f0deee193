#!/usr/bin/env bash
# live.sshd: a real OpenSSH server in a namespace, kexwatch capturing on its
# veth as nobody (-Z nobody) with an evidence capture. Two successful logins
# (IPv4 with the default key exchange, IPv6 with curve25519-sha256), an
# algorithm mismatch (client offers only diffie-hellman-group1-sha1) and a
# firewall reset (iptables REJECT --reject-with tcp-reset on port 2222).
# The records must come out while the link is quiet (wall-clock timeouts),
# say what happened, and the evidence capture must hold exactly the failed
# connections. Usage: sshd.sh KEXWATCH
KW=$1
TEST_NAME=live.sshd
. "$(dirname "$0")/lib.sh"
live_setup
need iptables iptables
sshd_setup
sshd_start
ip netns exec "$NSS" iptables -A INPUT -p tcp --dport 2222 -j REJECT --reject-with tcp-reset

start_kexwatch kw -Z nobody -w "$WORK/out/records.jsonl" --evidence-pcap "$WORK/out/evidence.pcapng" \
	--ssh-ports 22,2222 --stats-interval 0 \
	--limit close_linger_ms=1000 --limit established_report_ms=2000

# kexwatch runs as nobody, without capabilities, after opening the capture.
status=$(cat "/proc/$KWPID/status")
grep -Eq '^Uid:\s+65534\s+65534\s+65534\s+65534' <<<"$status" || fail "not running as nobody"
grep -Eq '^CapEff:\s+0+$' <<<"$status" || fail "capabilities left after -Z"

log "logins, mismatch, reset"
in_c ssh "${SSH_OPTS[@]}" root@"$S4" true || fail "login over IPv4 failed"
in_c ssh "${SSH_OPTS[@]}" -o KexAlgorithms=curve25519-sha256 root@"$S6" true ||
	fail "login over IPv6 failed"
if in_c ssh "${SSH_OPTS[@]}" -o KexAlgorithms=diffie-hellman-group1-sha1 root@"$S4" true \
	2>"$WORK/mismatch.log"; then
	fail "the mismatched login succeeded"
fi
grep -q "no matching key exchange method" "$WORK/mismatch.log" || fail "no mismatch from ssh"
if in_c ssh "${SSH_OPTS[@]}" -p 2222 root@"$S4" true 2>"$WORK/reset.log"; then
	fail "the firewalled login succeeded"
fi
grep -q "Connection refused" "$WORK/reset.log" || fail "no refusal from ssh"

# Nothing more is sent: the records must come from the wall clock alone.
count_records() {
	kwpy -c 'import kwlive,sys; sys.exit(0 if len(kwlive.load(sys.argv[1]).ssh) >= 4 else 1)' \
		"$WORK/out/records.jsonl"
}
wait_until 20 count_records || fail "records did not come out while the link was quiet"
sleep 1
stop_kexwatch kw

kwpy - "$WORK/out/records.jsonl" "$VS" <<'EOF' || fail "records"
import sys, kwlive
out = kwlive.load(sys.argv[1])
iface = sys.argv[2]
c = kwlive.Checker("sshd")
c.ok(not out.bad, "every line is one JSON record %s" % out.bad[:2])
c.ok(len(out.ssh) == 4, "4 connection records (got %d)" % len(out.ssh))
c.ok(len({r["flow_id"] for r in out.ssh}) == len(out.ssh), "no record twice")
c.ok(all(r.get("in_iface") == iface for r in out.ssh), "in_iface is " + iface)
est = [r for r in out.ssh if r["ssh"]["outcome"] == "established"]
c.ok(len(est) == 2, "2 established")
kex = sorted(r["ssh"].get("negotiated", {}).get("kex", "") for r in est)
c.ok("curve25519-sha256" in kex, "negotiated kex curve25519-sha256 (%s)" % kex)
v6 = [r for r in est if r["dest_ip"] == "2001:db8::2"]
c.ok(len(v6) == 1 and v6[0]["ssh"]["negotiated"]["kex"] == "curve25519-sha256",
     "the IPv6 login used curve25519-sha256")
c.ok(all(r["ssh"]["negotiated"].get("complete", True) for r in est), "negotiation complete")
mis = [r for r in out.ssh if "no_common_algorithm" in kwlive.codes(r)]
c.ok(len(mis) == 1 and mis[0]["ssh"]["outcome"] == "failed", "the mismatch: failed, no_common_algorithm")
if mis:
    d = [d for d in mis[0]["ssh"]["diagnoses"] if d["code"] == "no_common_algorithm"][0]
    c.ok(d["severity"] == "error" and "kex" in str(d["evidence"]), "no common kex, as an error")
ref = [r for r in out.ssh if r["dest_port"] == 2222]
c.ok(len(ref) == 1 and "tcp_refused" in kwlive.codes(ref[0]), "the reset: tcp_refused")
c.ok(ref and ref[0]["ssh"]["outcome"] == "failed", "the reset: failed")
c.ok(len(out.stats) == 1 and out.stats[0]["stats"]["reason"] == "exit", "final stats record")
if out.stats:
    s = out.stats[0]["stats"]
    c.ok(s["connections"]["reported"] == 4, "stats: 4 connections reported")
    c.ok(s["evidence"]["connections"] == 2, "stats: 2 connections in the evidence")
c.done()
EOF

log "evidence capture read back"
"$KW" -q --ssh-ports 22,2222 -r "$WORK/out/evidence.pcapng" >"$WORK/evidence.jsonl" 2>"$WORK/evidence.err" ||
	fail "the evidence capture does not read back"
check_sanitizers "$WORK/evidence.err"
kwpy - "$WORK/evidence.jsonl" <<'EOF' || fail "evidence"
import sys, kwlive
out = kwlive.load(sys.argv[1])
c = kwlive.Checker("evidence")
got = sorted(code for r in out.ssh for code in kwlive.codes(r)
             if code in ("no_common_algorithm", "tcp_refused"))
c.ok(len(out.ssh) == 2, "2 connections in the evidence (got %d)" % len(out.ssh))
c.ok(got == ["no_common_algorithm", "tcp_refused"], "their diagnoses again: %s" % got)
c.ok(all(r["ssh"]["outcome"] == "failed" for r in out.ssh), "no successful login in it")
c.done()
EOF
pass
