#!/usr/bin/python3
"""Write <case>.truth.json: what the SSH software itself said about one
connection, independent of kexwatch. Used by make-captures.sh.

Sources, in order of preference (a field is taken from the first source that
states it; when two sources state the same field they must agree, or this
script fails):
  --ssh-log        OpenSSH client `ssh -vv` stderr
  --paramiko-json  output of paramiko-login.py (paramiko's own attributes/log)
  --helper-json    output of fail-helpers.py client (make-failures.sh): the
                   banners it sent and saw, and the error line it printed
  --sshd-log       OpenSSH server stderr (sshd -D -e, LogLevel DEBUG1); used
                   for the cases whose client tells nothing (dbclient)
  --hostkey-pub    the server's public host key files: `ssh-keygen -lf` gives
                   the fingerprint and bits; the key is chosen by the
                   fingerprint a client printed, or else by the host-key
                   algorithm a log stated
  --client-rc      the client's exit status (0: logged in and ran the command)

Keys written (null when the case's software did not say): case,
client_software, server_software, family, server_port, client_ip, server_ip,
kex, host_key_alg, cipher_c2s, cipher_s2c, mac_c2s, mac_s2c, compression_c2s,
compression_s2c, host_key_fp, host_key_bits, client_banner, server_banner,
outcome; and, beyond those: host_key_type, auth_result, client_error,
truth_sources (field -> where it came from), evidence (the log lines used).

`--merge OUT CASE.truth.json...` instead writes a multi-connection truth file
(for demo.pcap): {"case": ..., "connections": [...]} in the given order.
"""

import argparse
import json
import re
import subprocess
import sys

FIELDS = [
    "kex", "host_key_alg", "cipher_c2s", "cipher_s2c", "mac_c2s", "mac_s2c",
    "compression_c2s", "compression_s2c", "host_key_fp", "host_key_bits",
    "client_banner", "server_banner",
]

KEX_RE = re.compile(r"^debug1: kex: algorithm: (\S+)$")
HKA_RE = re.compile(r"^debug1: kex: host key algorithm: (\S+)$")
DIR_RE = re.compile(
    r"^debug1: kex: (client->server|server->client) cipher: (\S+) "
    r"MAC: (\S+) compression: (\S+)$")
LOCAL_RE = re.compile(r"^debug1: Local version string (.*)$")
REMOTE_RE = re.compile(
    r"^debug1: Remote protocol version ([^,]+), remote software version (.*)$")
HOSTKEY_RE = re.compile(r"^debug1: Server host key: (\S+) (SHA256:\S+)$")


class Truth:
    def __init__(self):
        self.values = {f: None for f in FIELDS}
        self.values["host_key_type"] = None
        self.sources = {}
        self.evidence = []

    def put(self, field, value, source, line=None):
        if value is None:
            return
        old = self.values.get(field)
        if old is None:
            self.values[field] = value
            self.sources[field] = source
        elif old != value:
            sys.exit("truth.py: {}: {} says {!r} but {} said {!r}".format(
                field, source, value, self.sources[field], old))
        if line is not None and line not in self.evidence:
            self.evidence.append(line)


def read_lines(path):
    # sshd's privilege-separated child ends its lines with " [preauth]".
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip("\r\n") for l in f]
    return [l[:-len(" [preauth]")] if l.endswith(" [preauth]") else l
            for l in lines]


def parse_openssh(truth, path, side):
    """side: 'client' for ssh -vv, 'server' for sshd DEBUG1 output."""
    src = ("ssh -vv" if side == "client" else "sshd LogLevel DEBUG1")
    facts = {"newkeys": False, "auth": None, "error": None}
    for line in read_lines(path):
        m = KEX_RE.match(line)
        if m:
            truth.put("kex", m.group(1), src, line)
        m = HKA_RE.match(line)
        if m:
            truth.put("host_key_alg", m.group(1), src, line)
        m = DIR_RE.match(line)
        if m:
            d = "c2s" if m.group(1) == "client->server" else "s2c"
            truth.put("cipher_" + d, m.group(2), src, line)
            truth.put("mac_" + d, m.group(3), src, line)
            truth.put("compression_" + d, m.group(4), src, line)
        m = LOCAL_RE.match(line)
        if m:
            truth.put("client_banner" if side == "client" else "server_banner",
                      m.group(1), src, line)
        m = REMOTE_RE.match(line)
        if m:
            banner = "SSH-{}-{}".format(m.group(1), m.group(2))
            truth.put("server_banner" if side == "client" else "client_banner",
                      banner, src, line)
        m = HOSTKEY_RE.match(line)
        if m and side == "client":
            truth.put("host_key_type", m.group(1), src, line)
            truth.put("host_key_fp", m.group(2), src, line)
        if line == "debug1: SSH2_MSG_NEWKEYS received":
            facts["newkeys"] = True
            if line not in truth.evidence:
                truth.evidence.append(line)
        if side == "client":
            if line.startswith("Authenticated to "):
                facts["auth"] = "success"
                truth.evidence.append(line)
            elif "Permission denied" in line and not line.startswith("debug"):
                facts["auth"] = "failure"
            if not line.startswith("debug") and not (
                    line.startswith("OpenSSH_")
                    or line.startswith("Warning: Permanently added")
                    or line.startswith("Transferred: ")
                    or line.startswith("Bytes per second")):
                facts["error"] = line
        else:
            if line.startswith("Accepted publickey for "):
                facts["auth"] = "success"
                truth.evidence.append(line)
            elif (line.startswith("Connection closed by authenticating user")
                  or line.startswith("Failed publickey")):
                facts["auth"] = "failure"
                truth.evidence.append(line)
    return facts


def parse_paramiko(truth, path):
    src = "paramiko"
    with open(path) as f:
        p = json.load(f)
    truth.put("client_banner", p.get("local_version"), src)
    truth.put("server_banner", p.get("remote_version"), src)
    truth.put("kex", p.get("kex"), src)
    truth.put("host_key_alg", p.get("host_key_type"), src)
    for f in ("cipher_c2s", "cipher_s2c", "mac_c2s", "mac_s2c",
              "compression_c2s", "compression_s2c"):
        truth.put(f, p.get(f), src)
    hk = p.get("host_key")
    if hk:
        truth.put("host_key_type", hk["name"], src)
        truth.put("host_key_fp", hk["fingerprint"], src)
        truth.put("host_key_bits", hk["bits"], src)
    for line in p.get("log", []):
        if (line.startswith("Kex: ") or line.startswith("HostKey: ")
                or line.startswith("Cipher: ") or line.startswith("MAC: ")
                or line.startswith("Compression: ")
                or line.startswith("Remote version/idstring")
                or line.startswith("Switch to new keys")):
            truth.evidence.append("paramiko: " + line)
    return {
        "newkeys": any(l.startswith("Switch to new keys")
                       for l in p.get("log", [])),
        "auth": ("success" if p.get("authenticated")
                 else ("failure" if p.get("host_key") else None)),
        "error": p.get("error"),
    }


def parse_helper(truth, path):
    """fail-helpers.py client: a raw socket client of make-failures.sh."""
    src = "fail-helpers.py client"
    with open(path) as f:
        h = json.load(f)
    truth.put("client_banner", h.get("client_banner"), src)
    truth.put("server_banner", h.get("server_banner"), src)
    return {"newkeys": bool(h.get("newkeys")), "auth": None,
            "error": h.get("error")}


def keygen_l(pub):
    out = subprocess.run(["ssh-keygen", "-lf", pub], check=True,
                         capture_output=True, text=True).stdout.strip()
    # "256 SHA256:xxxx comment (ED25519)"
    bits, fp = out.split()[:2]
    with open(pub) as f:
        ktype = f.read().split()[0]
    return {"bits": int(bits), "fp": fp, "type": ktype, "line": out}


def alg_key_type(alg):
    if alg in ("rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"):
        return "ssh-rsa"
    return alg


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--merge":
        out, case, parts = sys.argv[2], sys.argv[3], sys.argv[4:]
        conns = []
        for i, p in enumerate(parts):
            with open(p) as f:
                t = json.load(f)
            t["order"] = i + 1
            conns.append(t)
        with open(out, "w") as f:
            json.dump({"case": case, "connections": conns}, f, indent=2)
            f.write("\n")
        return 0

    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--client-software", required=True)
    ap.add_argument("--server-software")
    ap.add_argument("--family", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--client-ip", required=True)
    ap.add_argument("--server-ip", required=True)
    ap.add_argument("--ssh-log")
    ap.add_argument("--paramiko-json")
    ap.add_argument("--helper-json")
    ap.add_argument("--sshd-log")
    ap.add_argument("--hostkey-pub", action="append", default=[])
    ap.add_argument("--client-rc", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    truth = Truth()
    facts = []
    if a.ssh_log:
        facts.append(parse_openssh(truth, a.ssh_log, "client"))
    if a.paramiko_json:
        facts.append(parse_paramiko(truth, a.paramiko_json))
    if a.helper_json:
        facts.append(parse_helper(truth, a.helper_json))
    if a.sshd_log:
        facts.append(parse_openssh(truth, a.sshd_log, "server"))

    keys = [keygen_l(p) for p in a.hostkey_pub]
    chosen = None
    if truth.values["host_key_fp"]:
        for k in keys:
            if k["fp"] == truth.values["host_key_fp"]:
                chosen = k
        if keys and chosen is None:
            sys.exit("truth.py: host key {} is none of the server's keys"
                     .format(truth.values["host_key_fp"]))
    elif truth.values["host_key_alg"]:
        want = alg_key_type(truth.values["host_key_alg"])
        match = [k for k in keys if k["type"] == want]
        if len(match) == 1:
            chosen = match[0]
    if chosen is not None:
        src = "ssh-keygen -lf"
        truth.put("host_key_type", chosen["type"], src)
        truth.put("host_key_fp", chosen["fp"], src)
        truth.put("host_key_bits", chosen["bits"], src)
        truth.evidence.append("ssh-keygen -lf: " + chosen["line"])

    newkeys = any(f["newkeys"] for f in facts)
    if not facts and a.client_rc == 0:
        newkeys = True  # a client that ran its command got past NEWKEYS
    auth = None
    for f in facts:
        auth = auth or f["auth"]
    if auth is None and a.client_rc == 0:
        auth = "success"
    error = None
    if a.client_rc != 0:
        for f in facts:
            error = error or f["error"]

    rec = {
        "case": a.case,
        # "" (make-failures.sh): a client that never identified itself
        "client_software": a.client_software or None,
        "server_software": a.server_software,
        "family": a.family,
        "server_port": a.port,
        "client_ip": a.client_ip,
        "server_ip": a.server_ip,
    }
    for f in FIELDS:
        rec[f] = truth.values[f]
    rec["outcome"] = "established" if newkeys else "failed"
    rec["host_key_type"] = truth.values["host_key_type"]
    rec["auth_result"] = auth
    rec["client_exit_status"] = a.client_rc
    rec["client_error"] = error
    rec["truth_sources"] = truth.sources
    rec["evidence"] = truth.evidence
    with open(a.out, "w") as f:
        json.dump(rec, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
