#!/usr/bin/env python3
"""ctest golden.inventory: `kexwatch inventory` on the golden records.

Over every golden capture's expected records (tests/pcaps/*.expected.jsonl),
computes here, from the records alone, which servers offer or accept
ssh-rsa and which client HASSHes offer no post-quantum key exchange, and
checks that `inventory --offers ssh-rsa --servers` and
`inventory --not-pq --clients` list exactly those. Then: the post-quantum
share of a server, the text listing, --compare between two captures'
records, --policy (a custom table, the printed table read back, a broken
file), --state (the store of a real run), docs/policy.md against
--print-policy, and usage errors.

Usage: inventory.py KEXWATCH PCAP_DIR SOURCE_DIR WORK_DIR
"""
import glob
import json
import os
import subprocess
import sys

kw, pcaps, src, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
PQ = {"sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com", "mlkem768x25519-sha256",
      "mlkem768nistp256-sha256", "mlkem1024nistp384-sha384"}
checks = 0


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def inv(args, rc=0, stdin=None):
    p = subprocess.run([kw, "inventory"] + args, capture_output=True, text=True, timeout=120,
                       input=stdin)
    if p.returncode != rc:
        fail(f"inventory {args}: exit {p.returncode}, want {rc}: {p.stderr}")
    return p


def lines(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


files = sorted(glob.glob(f"{pcaps}/*.expected.jsonl"))
records = [json.loads(l) for f in files for l in open(f) if l.strip()]


def server_of(r):
    ip, port = (r["src_ip"], r["src_port"]) if r["ssh"].get("roles_reversed") else (
        r["dest_ip"], r["dest_port"])
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


rsa_servers, client_kex, server_pq = set(), {}, {}
for r in records:
    s = r["ssh"]
    sv, cl = s.get("server"), s.get("client")
    if not sv and not cl:
        continue
    name = server_of(r)
    hk = []
    if sv and "kexinit" in sv:
        hk = sv["kexinit"]["server_host_key_algorithms"]
    elif sv and "host_key_algorithms" in sv:
        hk = sv["host_key_algorithms"].split(",")
    # compact: an absent negotiated host_key is the key's type (record.md)
    if "ssh-rsa" in hk or s.get("negotiated", {}).get(
            "host_key", s.get("host_key", {}).get("type")) == "ssh-rsa":
        rsa_servers.add(name)
    neg = s.get("negotiated", {})
    if "kex" in neg:
        n, pq = server_pq.get(name, (0, 0))
        server_pq[name] = (n + 1, pq + (neg["kex"] in PQ))
    if cl and "hassh" in cl:
        kex = cl["kexinit"]["kex_algorithms"] if "kexinit" in cl else \
            cl["hassh"]["string"].split(";")[0].split(",")
        client_kex.setdefault(cl["hassh"]["hash"], set()).update(kex)
non_pq = {h for h, k in client_kex.items() if not (k & PQ)}
if not rsa_servers or not non_pq or len(non_pq) == len(client_kex):
    fail(f"weak golden set: {rsa_servers} {non_pq}")

got = {o["server"] for o in lines(inv(["--format", "json", "--servers", "--offers", "ssh-rsa"]
                                      + files).stdout)}
if got != rsa_servers:
    fail(f"servers offering ssh-rsa: {sorted(got)}, want {sorted(rsa_servers)}")
checks += 1
got = {o["hassh"] for o in lines(inv(["--format", "json", "--clients", "--not-pq"]
                                     + files).stdout)}
if got != non_pq:
    fail(f"non-PQ clients: {sorted(got)}, want {sorted(non_pq)}")
checks += 1

# The post-quantum share, from standard input.
allj = lines(inv(["--format", "json", "-"], stdin="".join(open(f).read() for f in files)).stdout)
for o in allj:
    if o["kind"] == "server" and o["server"] in server_pq:
        n, pq = server_pq[o["server"]]
        if (o["post_quantum"]["of"], o["post_quantum"]["negotiated"]) != (n, pq):
            fail(f"{o['server']}: post_quantum {o['post_quantum']}, want {pq} of {n}")
checks += 1
# ssh-rsa carries its policy verdict and source.
w = [x for o in allj if o["kind"] == "server" and o["server"] in rsa_servers
     for x in o["weak"] if x["algorithm"] == "ssh-rsa"]
if not w or "OpenSSH 8.8" not in w[0]["source"] or w[0]["level"] != "weak":
    fail(f"ssh-rsa finding: {w}")
checks += 1

# Text: a server line, its weak/legacy findings, the count line.
out = inv(["--format", "text", f"{pcaps}/demo.expected.jsonl"]).stdout
for want in ("server 198.18.0.2:2022: 1 connection", "NOT post-quantum ready",
             "offers ssh-rsa (weak)", "shown of", "client HASSH "):
    if want not in out:
        fail(f"text listing lacks {want!r}:\n{out}")
checks += 1

# What changed from the demo to the weak-policy capture.
out = inv(["--format", "json", "--compare", f"{pcaps}/demo.expected.jsonl",
           f"{pcaps}/fail-policy-weak.expected.jsonl"]).stdout
ch = {(o["kind"], o.get("server") or o.get("hassh")): o["changes"] for o in lines(out)}
c = ch.get(("server", "198.18.0.2:22"), [])
if "now weak/legacy ssh-rsa" not in c or not any(x.startswith("new host key ssh-rsa") for x in c):
    fail(f"compare: server changes {c}")
if ch.get(("server", "198.18.0.2:2022")) != ["not seen again"]:
    fail(f"compare: 2022 {ch.get(('server', '198.18.0.2:2022'))}")
checks += 1

# --policy: a custom table rates what it says, and only that.
pol = os.path.join(work, "policy.txt")
with open(pol, "w") as f:
    f.write("# test\nkex | curve25519-* | weak | test verdict | test source\n")
o = [x for x in lines(inv(["--format", "json", "--servers", "--policy", pol,
                          f"{pcaps}/demo.expected.jsonl"]).stdout)
     if x["server"] == "198.18.0.2:2022"][0]
names = sorted(x["algorithm"] for x in o["weak"] if x["category"] != "combination")
if names != ["curve25519-sha256", "curve25519-sha256@libssh.org"]:
    fail(f"--policy: {names}")
checks += 1
# The printed table read back gives the built-in inventory.
with open(pol, "w") as f:
    f.write(inv(["--print-policy"]).stdout)
a = inv(["--format", "json", f"{pcaps}/demo.expected.jsonl"]).stdout
b = inv(["--format", "json", "--policy", pol, f"{pcaps}/demo.expected.jsonl"]).stdout
if a != b:
    fail("--print-policy read back with --policy differs from the built-in table")
checks += 1
with open(pol, "w") as f:
    f.write("kex | diffie-hellman-group1-sha1 | bad | x | y\n")
p = inv(["--policy", pol, f"{pcaps}/demo.expected.jsonl"], rc=1)
if "line 1" not in p.stderr:
    fail(f"broken policy: {p.stderr}")
checks += 1

# --state: the store of a real run lists its servers with their keys.
db = os.path.join(work, "state.db")
for f in glob.glob(db + "*"):
    os.unlink(f)
subprocess.run([kw, "-q", "-r", f"{pcaps}/demo.pcap", "--state", db], check=True,
               stdout=subprocess.DEVNULL, timeout=120)
st = {o["server"]: o for o in lines(inv(["--format", "json", "--state", db]).stdout)}
demo = [json.loads(l) for l in open(f"{pcaps}/demo.expected.jsonl")]
keys = {server_of(r) for r in demo if "host_key" in r["ssh"]}
if set(st) != keys:
    fail(f"--state servers {sorted(st)}, want {sorted(keys)}")
if "OpenSSH_9.2p1" not in st["198.18.0.2:22"]["software"] or \
        not any("SHA256:" in k for k in st["198.18.0.2:22"]["host_keys"]):
    fail(f"--state entry {st['198.18.0.2:22']}")
checks += 1

# docs/policy.md holds the table as printed.
doc = open(os.path.join(src, "docs/policy.md")).read()
if inv(["--print-policy"]).stdout not in doc:
    fail("docs/policy.md does not hold the table kexwatch inventory --print-policy prints")
checks += 1

for bad in (["--format", "xml"], ["--bogus"], ["--print-policy", "x.jsonl"]):
    p = inv(bad, rc=2)
    if "--help" not in p.stderr:
        fail(f"{bad}: no usage hint")
checks += 1
print(f"golden.inventory: {checks} checks passed ({len(rsa_servers)} servers offer ssh-rsa, "
      f"{len(non_pq)} of {len(client_kex)} client HASSHes not post-quantum ready)")
