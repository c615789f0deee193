#!/usr/bin/python3
"""Add what the client said about user authentication to truth files
(tests/pcaps/auth-*.truth.json), for tests/pcaps/make-auth.sh.

    truth-auth.py openssh TRUTH.json SSH_LOG
        TRUTH.json (written by tests/pcaps/truth.py from the same ssh -vv log)
        gets auth_result and auth_failures from the OpenSSH client's own lines:
        "Authenticated to" is a success; every "Authentications that can
        continue:" is a USERAUTH_FAILURE the client received, the first of them
        the answer to its "none" request (not an attempt: sshd does not count
        it either); "Too many authentication failures" is the DISCONNECT that
        answers the attempt past MaxAuthTries, a failed attempt too.

    truth-auth.py paramiko OUT.json PARAMIKO.json CASE CLIENT_IP SERVER_IP PORT
        One truth object per connection of paramiko-auth.py's report (what
        paramiko said: banners, algorithms, attempts rejected, authenticated),
        written as {"case", "connections": [...]}.
"""

import json
import re
import sys

CONTINUE_RE = re.compile(r"^debug1: Authentications that can continue: ")


def from_ssh_log(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip("\r\n") for l in f]
    n_continue = sum(1 for l in lines if CONTINUE_RE.match(l))
    too_many = any("Too many authentication failures" in l for l in lines)
    success = any(l.startswith("Authenticated to ") or
                  l.startswith("debug1: Authentication succeeded") for l in lines)
    failures = max(n_continue - 1, 0) + (1 if too_many else 0)
    evidence = [l for l in lines if CONTINUE_RE.match(l) or "Too many authentication" in l
                or l.startswith("Authenticated to ") or "Permission denied" in l
                or l.startswith("debug1: Authentication succeeded")]
    return ("success" if success else "failure"), failures, evidence


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "openssh":
        path, log = sys.argv[2], sys.argv[3]
        with open(path, encoding="utf-8") as f:
            t = json.load(f)
        result, failures, evidence = from_ssh_log(log)
        if t.get("auth_result") not in (None, result):
            sys.exit("truth-auth.py: %s: truth.py said %s, the log says %s"
                     % (path, t.get("auth_result"), result))
        t["auth_result"] = result
        t["auth_failures"] = failures
        t.setdefault("truth_sources", {})["auth_result"] = "ssh -vv"
        t["truth_sources"]["auth_failures"] = "ssh -vv"
        t.setdefault("evidence", []).extend(e for e in evidence if e not in t["evidence"])
        with open(path, "w", encoding="utf-8") as f:
            json.dump(t, f, indent=2)
            f.write("\n")
        return 0
    if len(sys.argv) == 8 and sys.argv[1] == "paramiko":
        out, pj, case, cip, sip, port = sys.argv[2:8]
        with open(pj, encoding="utf-8") as f:
            report = json.load(f)
        conns = []
        for i, c in enumerate(report["connections"]):
            if "error" in c and "attempts" not in c:
                sys.exit("truth-auth.py: connection %d failed: %s" % (i, c["error"]))
            conns.append({
                "case": case, "order": i, "client_software": "paramiko",
                "server_software": "openssh", "family": 4, "server_port": int(port),
                "client_ip": cip, "server_ip": sip,
                "client_banner": c["local_version"], "server_banner": c["remote_version"],
                "cipher_c2s": c["cipher_c2s"], "cipher_s2c": c["cipher_s2c"],
                "mac_c2s": c["mac_c2s"], "mac_s2c": c["mac_s2c"],
                "compression_c2s": c["compression_c2s"],
                "compression_s2c": c["compression_s2c"],
                "outcome": "established",
                "auth_result": c["auth_result"], "auth_failures": c["auth_failures"],
                "truth_sources": {"*": "paramiko-auth.py (paramiko Transport attributes, "
                                       "AuthenticationException per attempt)"},
                "evidence": [a["error"] or "accepted" for a in c["attempts"]],
            })
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"case": case, "connections": conns}, f, indent=2)
            f.write("\n")
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
