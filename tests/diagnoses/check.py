#!/usr/bin/env python3
"""Assert kexwatch's diagnoses on the real failure captures (tests/pcaps/fail-*.pcap,
made by tests/pcaps/make-failures.sh).

    python3 tests/diagnoses/check.py --kexwatch build/kexwatch --pcaps tests/pcaps

For every fail-* capture (and the few other captures named in it), the table
CASES below says, for each connection that
matters, what must hold: the diagnosis code(s) expected, key evidence values, the
close facts (ssh.close.initiator / kind) and other record fields, and that the
diagnosis' client_symptom is a line the real client printed (logs/<log>.client.log,
when the client was OpenSSH). The expectations are what the software at both ends
did (see tests/pcaps/README.md, "Failure captures"), not what kexwatch printed last.

Prints one line per check (PASS/FAIL), and for a failing check the record's
relevant fields. Exit status: 0 when every check passes, 1 otherwise (including a
fail-* capture with no table entry, or a table entry with no capture), 2 on usage.
"""

import argparse
import glob
import json
import os
import subprocess
import sys

# ---------------------------------------------------------------- predicates
class Pred:
    def __init__(self, text, fn):
        self.text, self.fn = text, fn

    def __call__(self, v):
        try:
            return bool(self.fn(v))
        except (TypeError, ValueError, AttributeError):
            return False


def eq(x):
    return Pred("== %s" % json.dumps(x), lambda v: v == x)


def ge(n):
    return Pred(">= %s" % n, lambda v: v >= n)


def gt(n):
    return Pred("> %s" % n, lambda v: v > n)


def startswith(s):
    return Pred("starts with %s" % json.dumps(s), lambda v: v.startswith(s))


def contains(s):
    return Pred("contains %s" % json.dumps(s), lambda v: s in v)


def one_of(*xs):
    return Pred("in %s" % json.dumps(list(xs)), lambda v: v in xs)


def as_pred(x):
    return x if isinstance(x, Pred) else eq(x)


# ---------------------------------------------------------------- checks
def diag(codes, symptom=False, **evidence):
    """A diagnosis with one of `codes` must be present, with this evidence; with
    symptom=True its client_symptom must be a line the client printed."""
    if isinstance(codes, str):
        codes = (codes,)
    return ("diag", tuple(codes), evidence, symptom)


def no_diag(*codes):
    """None of these codes."""
    return ("no_diag", codes)


def no_errors():
    """No diagnosis of severity error (a connection that worked)."""
    return ("no_errors",)


# What an absent field of the compact record reads (docs/record.md, Profiles).
COMPACT_ABSENT = {"ssh.roles_from": "kex_messages"}


def field(path, pred):
    """A record field (dotted path from the record's top)."""
    return ("field", path, as_pred(pred))


def close(initiator, kind):
    return [field("ssh.close.initiator", initiator), field("ssh.close.kind", kind)]


def closed_after_login():
    """A login that worked ends with a FIN from either side first: after `true`
    exits, sshd's FIN and the client's race (both seen in these captures)."""
    return [field("ssh.close.initiator", one_of("client", "server")),
            field("ssh.close.kind", "fin")]


def outcome(o):
    return field("ssh.outcome", o)


def conn(which=0, *checks):
    """Checks for one connection; `which` indexes the capture's records in the
    order the connections began (timestamp; -1: the last)."""
    flat = []
    for c in checks:
        flat.extend(c if isinstance(c, list) else [c])
    return {"which": which, "checks": flat}


NOCOMMON = "no_common_algorithm"
STALL = ("mtu_blackhole_suspected", "kex_stalled")
BLACKHOLE_PATH = "a path with a 1280-byte link and ICMP fragmentation-needed dropped"

# capture name (without .pcap) -> {"log": client log name, "why": ..., "conns": [...]}
CASES = {
    "fail-nocommon-kex": {"why": "ssh KexAlgorithms=curve25519-sha256 vs sshd "
                                 "KexAlgorithms diffie-hellman-group14-sha256", "conns": [
        conn(0, diag(NOCOMMON, symptom=True, category="kex", direction="both",
                     client_offer=contains("curve25519-sha256"),
                     server_offer=contains("diffie-hellman-group14-sha256")),
             outcome("failed"), close("client", "fin"))]},
    "fail-nocommon-hostkey": {"why": "ssh HostKeyAlgorithms=ssh-ed25519 vs sshd RSA only",
                              "conns": [
        conn(0, diag(NOCOMMON, symptom=True, category="host_key", direction="both",
                     client_offer=eq(["ssh-ed25519"]),
                     server_offer=eq(["rsa-sha2-512", "rsa-sha2-256"])),
             outcome("failed"), close("client", "fin"))]},
    "fail-nocommon-cipher": {"why": "ssh Ciphers=aes128-ctr vs sshd aes256-gcm only", "conns": [
        conn(0, diag(NOCOMMON, symptom=True, category="cipher", direction="client_to_server",
                     client_offer=eq(["aes128-ctr"]),
                     server_offer=eq(["aes256-gcm@openssh.com"])),
             outcome("failed"), close("client", "fin"))]},
    "fail-nocommon-mac": {"why": "ssh MACs=hmac-sha2-256 vs sshd MACs hmac-sha2-512 "
                                 "(both aes128-ctr)", "conns": [
        conn(0, diag(NOCOMMON, symptom=True, category="mac", direction="client_to_server",
                     client_offer=eq(["hmac-sha2-256"]), server_offer=eq(["hmac-sha2-512"])),
             outcome("failed"), close("client", "fin"))]},
    "fail-nocommon-compression": {"why": "paramiko offers zlib only, sshd Compression no",
                                  "conns": [
        # the client is paramiko: no OpenSSH line to match the symptom against.
        # Both sides detect the mismatch and close: who is first varies from run to
        # run, and paramiko may close with a RST (unread data)
        conn(0, diag(NOCOMMON, category="compression", direction="client_to_server",
                     client_offer=eq(["zlib@openssh.com", "zlib"]), server_offer=eq(["none"])),
             outcome("failed"), field("ssh.close.initiator", one_of("client", "server")),
             field("ssh.close.kind", one_of("fin", "rst")))]},
    "fail-maxstartups": {"why": "sshd MaxStartups 1:100:1, one connection held open", "conns": [
        # the held connection: server banner received, closed by the holder after 4 s
        conn(0, field("ssh.server.banner", startswith("SSH-2.0-OpenSSH_")),
             field("ssh.close.initiator", "client")),
        # the dropped client: sshd writes "Exceeded MaxStartups" and closes; the
        # close is a FIN, or a RST when the client's banner arrived first (unread):
        # both happen from run to run
        conn(-1, diag("closed_before_server_banner", symptom=True, initiator="server",
                      kind=one_of("fin", "rst"), server_text=contains("Exceeded MaxStartups")),
             outcome("failed"), field("ssh.close.initiator", "server"),
             field("ssh.close.kind", one_of("fin", "rst")))]},
    "fail-reject-rst": {"why": "iptables REJECT --reject-with tcp-reset", "conns": [
        conn(0, diag("tcp_refused", symptom=True, reset_by="server"),
             outcome("failed"), close("server", "rst"))]},
    "fail-reject-icmp": {"why": "iptables REJECT (icmp-port-unreachable)", "conns": [
        conn(0, diag("icmp_unreachable", symptom=True, type=3, code=3),
             no_diag("tcp_no_answer", "capture_incomplete"))]},
    "fail-drop": {"why": "iptables DROP, ssh ConnectTimeout=5", "conns": [
        conn(0, diag("tcp_no_answer", symptom=True, syns=ge(2), span_ms=ge(3000)),
             no_diag("capture_incomplete"), close("none", "capture_end"))]},
    # The firewall's RST (after the client's banner) comes before sshd's banner on
    # the wire; the client answers that late banner with its own RST. The order of
    # events decides: closed before the server banner, and the client's first line.
    "fail-string-reset": {"why": "iptables string match SSH-2.0 -> REJECT tcp-reset", "conns": [
        conn(0, diag("closed_before_server_banner", symptom=True, initiator="server", kind="rst",
                     server_banner_after_close=True),
             field("ssh.diagnoses", Pred(
                 "first symptom is the client's first line",
                 lambda ds: ds[0]["client_symptom"] ==
                 "kex_exchange_identification: read: Connection reset by peer")),
             no_diag("closed_after_banner"),
             outcome("failed"), close("server", "rst"),
             field("ssh.close.phase", "client_banner"))]},
    "fail-http-on-22": {"why": "python3 -m http.server on port 22", "conns": [
        # HTML answered to the client's banner: not SSH. OpenSSH reads the lines as
        # pre-banner text and then reports the close.
        conn(0, diag("banner_invalid", symptom=True, side="server",
                     first_bytes=startswith("<!DOCTYPE HTML>")),
             outcome(one_of("failed", "not_ssh")), close("server", "fin"))]},
    # ProFTPD's mod_sftp on port 2121 (make-sftp.sh): an FTP client's line, then the
    # server's banner and KEXINIT, then "Protocol mismatch." and a close.
    "sftp-ftp-first": {"why": "FTP client's USER before mod_sftp's banner", "conns": [
        conn(0, field("ssh.server.banner", "SSH-2.0-mod_sftp"),
             field("ssh.server.hassh.hash", Pred("a hash", lambda v: bool(v))),
             field("ssh.client", eq(None)),
             diag("banner_invalid", side="client", problem="not_ssh",
                  first_bytes="USER x\\x0d\\x0a"),
             outcome("failed"), field("ssh.phase", "kexinit"), close("server", "fin"))]},
    "sftp-ftp-after": {"why": "FTP client's USER after mod_sftp's banner", "conns": [
        conn(0, field("ssh.server.banner", "SSH-2.0-mod_sftp"),
             diag("banner_invalid", side="client", problem="not_ssh",
                  first_bytes="USER x\\x0d\\x0a"),
             outcome("failed"), field("ssh.phase", "kexinit"), close("server", "fin"))]},
    "sftp-openssh": {"why": "OpenSSH sftp against mod_sftp on port 2121 (control)",
                     "conns": [
        conn(0, field("ssh.server.banner", "SSH-2.0-mod_sftp"),
             field("ssh.client.banner", startswith("SSH-2.0-OpenSSH_")),
             no_diag("banner_invalid"), no_errors(), outcome("established"))]},
    "fail-tls-on-22": {"why": "openssl s_server on port 22 (closes silently on the banner)",
                       "conns": [
        conn(0, diag("closed_before_server_banner", symptom=True, initiator="server",
                     kind="fin", server_bytes=0),
             outcome("failed"), close("server", "fin"))]},
    "fail-bastion-relay": {"why": "front end prints 2 lines, then relays to sshd", "conns": [
        conn(0, outcome("established"),
             field("ssh.server.pre_banner_lines",
                   eq(["Welcome to the bastion", "authorised use only"])),
             field("ssh.server.banner", startswith("SSH-2.0-OpenSSH_")),
             no_errors(), closed_after_login())]},
    "fail-bastion-close": {"why": "front end prints 2 lines, then closes", "conns": [
        conn(0, diag("closed_before_server_banner", symptom=True, initiator="server",
                     kind="rst", server_text=contains("Welcome to the bastion")),
             outcome("failed"), close("server", "rst"))]},
    "fail-ssh1-server": {"why": "fake server sends SSH-1.5-Fake", "conns": [
        conn(0, diag("protocol_version_mismatch", symptom=True, server_banner="SSH-1.5-Fake",
                     client_banner=startswith("SSH-2.0-OpenSSH_")),
             outcome("failed"), close("client", "fin"))]},
    "fail-ssh1-client": {"why": "SSH-1.5 client (raw socket) against sshd", "conns": [
        conn(0, diag("protocol_version_mismatch", client_banner="SSH-1.5-failhelper_1.0",
                     server_banner=startswith("SSH-2.0-OpenSSH_")),
             outcome("failed"), close("server", "fin"))]},
    "fail-disconnect-fake": {"why": "FAKE server: clear-text DISCONNECT after the client's "
                                    "KEXINIT", "conns": [
        conn(0, diag("disconnect_message", symptom=True, **{
            "from": "server", "reason_code": 2, "reason": "PROTOCOL_ERROR",
            "description": "Protocol error: fake server refuses every key exchange"}),
             outcome("failed"))]},
    "fail-logingrace": {"why": "sshd LoginGraceTime 12, client sends its banner then nothing",
                        "conns": [
        conn(0, diag("banner_timeout", idle_ms=ge(10000), kind="fin", client_banner_sent=True),
             outcome("failed"), close("server", "fin"))]},
    "fail-logingrace-silent": {"why": "sshd LoginGraceTime 12, client sends nothing", "conns": [
        conn(0, diag("banner_timeout", idle_ms=ge(10000), kind="fin", client_banner_sent=False),
             outcome("failed"), close("server", "fin"))]},
    # LoginGraceTime 3: shorter than the fixed 10 s idle threshold; the server was
    # the one waiting, so the close is still a grace timeout.
    "fail-logingrace-short": {"why": "sshd LoginGraceTime 3, client sends its banner then nothing",
                              "conns": [
        conn(0, diag("banner_timeout", idle_ms=ge(2900), kind="fin", client_banner_sent=True,
                     server_waiting=True),
             no_diag("closed_after_banner"), outcome("failed"), close("server", "fin"))]},
    "fail-logingrace-short-silent": {"why": "sshd LoginGraceTime 3, client sends nothing",
                                     "conns": [
        conn(0, diag("banner_timeout", idle_ms=ge(2900), kind="fin", client_banner_sent=False,
                     server_waiting=True),
             outcome("failed"), close("server", "fin"))]},
    "fail-wrong-key": {"why": "key not in authorized_keys: KEX completes, auth fails", "conns": [
        conn(0, outcome("established"), field("ssh.auth.result", "failure"), no_errors(),
             close("client", "fin"))]},
    "fail-big-hostcert": {"why": "RSA 4096 host key + certificate, KEX reply of several KB",
                          "conns": [
        conn(0, outcome("established"), field("ssh.tcp.max_segment_s2c", 1448), no_errors(),
             closed_after_login())]},
    # Policy verdicts on logins that work (verdict/policy.c).
    "fail-policy-weak": {"why": "sshd allows +diffie-hellman-group14-sha1, +3des-cbc, +ssh-rsa; "
                                "ssh offers only those", "conns": [
        conn(0, diag("weak_algorithm", category="kex", algorithm="diffie-hellman-group14-sha1",
                     source=contains("RFC 9142")),
             diag("weak_algorithm", category="cipher", algorithm="3des-cbc"),
             diag("weak_algorithm", category="host_key", algorithm="ssh-rsa",
                  source=contains("OpenSSH 8.8")),
             diag("non_pq_kex", kex="diffie-hellman-group14-sha1"),
             # umac-64-etm with 3des-cbc, but strict KEX on both sides (OpenSSH 9.2)
             no_diag("terrapin_exposed"), field("ssh.negotiated.strict_kex", True),
             outcome("established"), no_errors(), closed_after_login())]},
    "fail-policy-terrapin": {"why": "paramiko 2.12 (no strict KEX) offers only aes128-cbc and "
                                    "hmac-sha2-256-etm; sshd Ciphers +aes128-cbc", "conns": [
        conn(0, diag("terrapin_exposed", cipher="aes128-cbc",
                     mac="hmac-sha2-256-etm@openssh.com", client_strict=False,
                     server_strict=True),
             diag("non_pq_kex", kex="curve25519-sha256@libssh.org"),
             no_diag("weak_algorithm"), outcome("established"), no_errors(),
             # paramiko closes with unread data: a FIN or a RST, varies from run to run
             field("ssh.close.initiator", one_of("client", "server")),
             field("ssh.close.kind", one_of("fin", "rst")))]},
    # The client rejects the host key (StrictHostKeyChecking=yes, empty known_hosts)
    # after the server's KEX reply and NEWKEYS (21), before its own NEWKEYS.
    "fail-hostkey-verify": {"why": "ssh StrictHostKeyChecking=yes, empty known_hosts: "
                                   "Host key verification failed.", "conns": [
        conn(0, diag("closed_during_kex", initiator="client", kind="fin",
                     last_client_message=30, last_server_message=21),
             field("ssh.host_key.type", "ssh-ed25519"), no_diag(*STALL),
             outcome("failed"), close("client", "fin"))]},
    # A firewall drops the server's ~1 KB KEX reply (string match on the host key),
    # smaller than its KEXINIT segment that got through: a stall, not a black hole.
    "fail-kex-drop": {"why": "iptables string match drops the KEX reply "
                             "(diffie-hellman-group16-sha512)", "conns": [
        conn(0, diag("kex_stalled", direction="server_to_client", retransmits=ge(2),
                     segment_size=gt(512), df=True),
             no_diag("mtu_blackhole_suspected", "capture_incomplete", "icmp_frag_needed"),
             outcome("failed"), close("client", "fin"))]},
    # Captures of make-captures.sh: the post-quantum verdict either way.
    # Limited captures of a real login (derive-captures.sh): the record must say
    # what the capture lacks and conclude nothing from it.
    "cap-one-direction": {"why": "only the client's packets (a one-way SPAN port)", "conns": [
        conn(0, diag("capture_incomplete", missing=contains("server_to_client")),
             outcome("incomplete"), no_errors())]},
    # Both directions begin mid-stream (the client's with its KEXINIT): the
    # parser resynchronises on the packet framing, so the roles, the host key
    # and both NEWKEYS are read: established, seen from its middle.
    "cap-midstream": {"why": "the capture starts after the first 8 packets", "conns": [
        conn(0, diag("capture_incomplete", missing=contains("connection_start")),
             outcome("established"), no_errors(), field("src_ip", "198.18.0.1"),
             field("ssh.roles_from", "kex_messages"),
             # the client's "none" probe, told by its size without the
             # banner, is no failed attempt (the login had none)
             field("ssh.auth.result", "success"), field("ssh.auth.failures", 0),
             field("ssh.host_key.fingerprint",
                   "SHA256:8H+GPwulArEssnF5UrLvoU/9x18ZVCHOqvnmHYXagEc"))]},
    # The capture starts with the server's KEX reply: no SYN, no banner, no
    # KEXINIT. The reply says who the server is, and carries its host key.
    "cap-late-kexreply": {"why": "the capture starts with the server's KEX reply", "conns": [
        conn(0, diag("capture_incomplete", missing=contains("connection_start")),
             outcome("incomplete"), no_errors(), field("src_ip", "198.18.0.1"),
             field("src_port", 55156), field("ssh.roles_from", "kex_messages"),
             no_diag("banner_invalid"),
             field("ssh.host_key.fingerprint",
                   "SHA256:8H+GPwulArEssnF5UrLvoU/9x18ZVCHOqvnmHYXagEc"))]},
    "cap-late-kexreply-server": {"why": "the same, the server's packets only (one-way SPAN)",
                                 "conns": [
        conn(0, diag("capture_incomplete", missing=contains("client_to_server")),
             outcome("incomplete"), no_errors(), field("src_ip", "198.18.0.1"),
             field("ssh.roles_from", "kex_messages"),
             field("ssh.host_key.fingerprint",
                   "SHA256:8H+GPwulArEssnF5UrLvoU/9x18ZVCHOqvnmHYXagEc"))]},
    "cap-snapped": {"why": "snap length 200: packet tails cut", "conns": [
        conn(0, diag("capture_incomplete", missing=contains("packet_tails"), gaps=ge(1)),
             outcome("incomplete"), no_errors())]},
    "openssh-curve25519-v4": {"why": "ssh KexAlgorithms=curve25519-sha256", "conns": [
        conn(0, diag("non_pq_kex", kex="curve25519-sha256"), outcome("established"),
             no_errors())]},
    "openssh-sntrup-v4": {"why": "ssh KexAlgorithms=sntrup761x25519-sha512@openssh.com",
                          "conns": [
        conn(0, no_diag("non_pq_kex"), outcome("established"), no_errors())]},
    # Scanners (make-scanners.sh): every connection a probe, none an error.
    # ssh-audit 2.5: banner + KEXINIT and close, two host-key probes run to
    # the KEX reply, five DH group-size probes sshd refuses, one 2048-bit one.
    "scan-ssh-audit": {"why": "ssh-audit against sshd", "conns": [
        conn(0, diag("scanner_probe", pattern="closed_after_kexinit",
                     instead_of=eq(["closed_during_kex"])), no_errors(), outcome("failed")),
        conn(1, diag("scanner_probe", pattern="repeated_short_connections",
                     source_probes=ge(1)), no_errors()),
        conn(2, diag("scanner_probe", pattern="repeated_short_connections"), no_errors()),
    ] + [conn(i, diag("scanner_probe", pattern="gex_size_probe", gex_min=ge(512)), no_errors())
         for i in range(3, 9)]},
    # nmap 7.93 -sT with ssh2-enum-algos and ssh-hostkey: the connect scan,
    # then the scripts' connections, named in their banners.
    "scan-nmap": {"why": "nmap -sT --script ssh2-enum-algos,ssh-hostkey", "conns": [
        conn(0, diag("scanner_probe", pattern="connect_only",
                     instead_of=eq(["closed_before_server_banner"])), no_errors()),
        conn(1, no_errors()),
        conn(2, diag("scanner_probe", pattern="scanner_banner", scanner="Nmap",
                     client_banner="SSH-2.0-Nmap_SSH2_Enum_Algos",
                     instead_of=eq(["no_common_algorithm"])), no_errors()),
    ] + [conn(i, diag("scanner_probe", pattern="scanner_banner", scanner="Nmap"), no_errors())
         for i in range(3, 10)]},
    # MTU path: client - router1 - 1280 - router2 - server.
    # The client's 1560-byte KEXINIT is lost (ICMP dropped): seen at the client end.
    "fail-mtu-blackhole-client": {"log": "fail-mtu-blackhole", "why": BLACKHOLE_PATH, "conns": [
        conn(0, diag("mtu_blackhole_suspected", direction="client_to_server",
                     segment_size=gt(1280), df=True, retransmits=ge(2)),
             no_diag("capture_incomplete", "icmp_frag_needed"),
             close("none", "capture_end"))]},
    # ... at the server end: the head of the KEXINIT never arrived, its tail did and
    # the server's ACK never passed the hole (lost on the path, not by the capture).
    "fail-mtu-blackhole-server": {"log": "fail-mtu-blackhole", "why": BLACKHOLE_PATH, "conns": [
        conn(0, diag(STALL, direction="client_to_server"),
             no_diag("capture_incomplete"), close("none", "capture_end"))]},
    # Client offer trimmed: the server's KEX reply (several KB) is lost: seen at the server end.
    "fail-mtu-blackhole-kexreply-server": {"log": "fail-mtu-blackhole-kexreply",
                                           "why": BLACKHOLE_PATH, "conns": [
        conn(0, diag("mtu_blackhole_suspected", direction="server_to_client",
                     segment_size=gt(1280), df=True, retransmits=ge(2)),
             no_diag("capture_incomplete"), close("client", "fin"))]},
    # ... at the client end: the reply's tail arrived after a hole the client never acked.
    "fail-mtu-blackhole-kexreply-client": {"log": "fail-mtu-blackhole-kexreply",
                                           "why": BLACKHOLE_PATH, "conns": [
        conn(0, diag(STALL, direction="server_to_client"),
             no_diag("capture_incomplete"), close("client", "fin"))]},
    "fail-mtu-pmtud-client": {"log": "fail-mtu-pmtud", "why": "1280 path, ICMP allowed",
                              "conns": [
        conn(0, diag("icmp_frag_needed", mtu=1280, family="icmp"), outcome("established"),
             no_diag(*STALL), closed_after_login())]},
    "fail-mtu-pmtud-server": {"log": "fail-mtu-pmtud", "why": "1280 path, ICMP allowed",
                              "conns": [
        conn(0, diag("icmp_frag_needed", mtu=1280, family="icmp"), outcome("established"),
             no_diag(*STALL), closed_after_login())]},
    "fail-ip-fragments-client": {"log": "fail-ip-fragments",
                                 "why": "1280 path, server sends without DF", "conns": [
        conn(0, diag("ip_fragmented", fragments=gt(0), largest_datagram=gt(1280)),
             outcome("established"), field("ssh.tcp.df.s2c", False), no_diag(*STALL),
             closed_after_login())]},
    "fail-ip-fragments-server": {"log": "fail-ip-fragments",
                                 "why": "1280 path, server sends without DF", "conns": [
        conn(0, outcome("established"), field("ssh.tcp.df.s2c", False),
             no_diag("ip_fragmented", *STALL), closed_after_login())]},
}


# ---------------------------------------------------------------- running
def dig(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def run_kexwatch(kexwatch, pcaps, name):
    proc = subprocess.run([kexwatch, "-r", name + ".pcap", "--format", "json"],
                          cwd=pcaps, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TZ="UTC"))
    records = []
    for line in proc.stdout.splitlines():
        if line.strip():
            records.append(json.loads(line))
    records.sort(key=lambda r: r.get("timestamp", ""))  # the order the connections began
    return proc.returncode, records, proc.stderr.strip()


def client_lines(pcaps, log):
    path = os.path.join(pcaps, "logs", log + ".client.log")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        return {l.rstrip("\r\n") for l in f if l.strip()}


def summary(rec):
    """The record's fields that a reader of a failing check needs."""
    s = rec.get("ssh", {})
    t = s.get("tcp", {})
    return json.dumps({
        "flow_id": rec.get("flow_id"), "outcome": s.get("outcome"), "phase": s.get("phase"),
        "close": s.get("close"),
        "diagnoses": [{"code": d.get("code"), "evidence": d.get("evidence"),
                       "client_symptom": d.get("client_symptom")}
                      for d in s.get("diagnoses", [])],
        "tcp": {k: t.get(k) for k in ("retransmits_c2s", "retransmits_s2c", "max_segment_c2s",
                                      "max_segment_s2c", "gaps", "ip_fragments", "df", "icmp")
                if k in t},
    }, ensure_ascii=False)


def check_conn(rec, spec, lines):
    """[(ok, text)] for one connection."""
    out = []
    diags = dig(rec, "ssh.diagnoses") or []
    for chk in spec["checks"]:
        kind = chk[0]
        if kind == "diag":
            _, codes, evidence, symptom = chk
            label = "|".join(codes)
            found = [d for d in diags if d.get("code") in codes]
            if not found:
                out.append((False, "diagnosis %s present (codes: %s)"
                            % (label, [d.get("code") for d in diags])))
                continue
            # a code can appear more than once (weak_algorithm per category): check
            # the first one whose evidence fits, else report against the first
            fits = [d for d in found
                    if all(as_pred(w)((d.get("evidence") or {}).get(k))
                           for k, w in evidence.items())]
            d = (fits or found)[0]
            out.append((True, "diagnosis %s present" % d["code"]))
            ev = d.get("evidence") or {}
            for key, want in evidence.items():
                p = as_pred(want)
                got = ev.get(key)
                out.append((p(got), "%s.evidence.%s %s (got %s)"
                            % (d["code"], key, p.text, json.dumps(got, ensure_ascii=False))))
            if symptom:
                sym = d.get("client_symptom")
                if lines is None:
                    out.append((None, "%s.client_symptom: no client log to compare" % d["code"]))
                else:
                    out.append((sym in lines, "%s.client_symptom is a line the client printed "
                                "(got %s)" % (d["code"], json.dumps(sym, ensure_ascii=False))))
        elif kind == "no_diag":
            bad = [d.get("code") for d in diags if d.get("code") in chk[1]]
            out.append((not bad, "no diagnosis %s (got %s)" % ("|".join(chk[1]), bad)))
        elif kind == "no_errors":
            bad = [d.get("code") for d in diags if d.get("severity") == "error"]
            out.append((not bad, "no error-severity diagnosis (got %s)" % bad))
        elif kind == "field":
            _, path, p = chk
            got = dig(rec, path)
            if got is None and path in COMPACT_ABSENT and isinstance(rec.get("ssh"), dict):
                got = COMPACT_ABSENT[path]
            out.append((p(got), "%s %s (got %s)"
                        % (path, p.text, json.dumps(got, ensure_ascii=False))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--pcaps", required=True)
    ap.add_argument("--case", action="append", help="only these captures (repeatable)")
    a = ap.parse_args()
    pcaps = os.path.abspath(a.pcaps)
    kexwatch = os.path.abspath(a.kexwatch)

    # every fail-* capture must have an entry; entries may also name other captures
    present = sorted(set(os.path.basename(p)[:-len(".pcap")]
                         for p in glob.glob(os.path.join(pcaps, "fail-*.pcap")))
                     | set(n for n in CASES if os.path.exists(os.path.join(pcaps, n + ".pcap"))))
    names = sorted(set(present) | set(CASES))
    if a.case:
        names = [n for n in names if n in a.case]
    npass = nfail = nskip = 0
    for name in names:
        if name not in CASES:
            print("FAIL %s: capture has no entry in the table of tests/diagnoses/check.py" % name)
            nfail += 1
            continue
        if name not in present:
            print("FAIL %s: no capture %s.pcap (run tests/pcaps/make-failures.sh)" % (name, name))
            nfail += 1
            continue
        entry = CASES[name]
        rc, records, err = run_kexwatch(kexwatch, pcaps, name)
        if rc != 0:
            print("FAIL %s: kexwatch exited %d: %s" % (name, rc, err))
            nfail += 1
        lines = client_lines(pcaps, entry.get("log", name))
        for spec in entry["conns"]:
            w = spec["which"]
            where = "%s[%s]" % (name, w)
            try:
                rec = records[w]
            except IndexError:
                print("FAIL %s: no such connection (%d records)" % (where, len(records)))
                nfail += 1
                continue
            failed = False
            for ok, text in check_conn(rec, spec, lines):
                if ok is None:
                    print("SKIP %s flow %s: %s" % (where, rec.get("flow_id"), text))
                    nskip += 1
                elif ok:
                    print("PASS %s flow %s: %s" % (where, rec.get("flow_id"), text))
                    npass += 1
                else:
                    print("FAIL %s flow %s: %s" % (where, rec.get("flow_id"), text))
                    nfail += 1
                    failed = True
            if failed:
                print("     record: %s" % summary(rec))
    print("diagnoses: %d passed, %d failed, %d skipped (%d captures)"
          % (npass, nfail, nskip, len(names)))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
