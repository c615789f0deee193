#!/usr/bin/python3
"""Password attempts with paramiko, as a guessing tool would make them, and what
paramiko itself said about each one, as JSON. Used by tests/pcaps/make-auth.sh.
Run it with Debian's /usr/bin/python3 (python3-paramiko).

usage: paramiko-auth.py HOST PORT USER OUT.json CONNECTIONS PASSWORDS [OPTIONS_JSON]

PASSWORDS is a comma-separated list tried in order on each connection (one
SSH connection, several USERAUTH_REQUEST "password" on it, as hydra does with
-t 1); the connection stops at the first that succeeds. OPTIONS_JSON holds
extra Transport settings: {"ciphers": [...], "macs": [...], "compress": true}.

OUT.json: {"connections": [{"local_port", "local_version", "remote_version",
"cipher_c2s", "cipher_s2c", "mac_c2s", "mac_s2c", "compression_c2s",
"compression_s2c", "attempts": [{"password_index", "ok", "error"}],
"auth_result", "auth_failures"}]}: auth_failures counts the attempts paramiko
saw rejected (AuthenticationException), auth_result is "success" when one was
accepted (transport.is_authenticated()), else "failure".
"""

import json
import socket
import sys

import paramiko


def one_connection(host, port, user, passwords, opts):
    sock = socket.create_connection((host, port), timeout=10)
    conn = {"local_port": sock.getsockname()[1], "attempts": []}
    t = paramiko.Transport(sock)
    if opts.get("compress"):
        t.use_compression(True)
    sec = t.get_security_options()
    if opts.get("ciphers"):
        sec.ciphers = tuple(opts["ciphers"])
    if opts.get("macs"):
        sec.digests = tuple(opts["macs"])
    try:
        t.start_client(timeout=10)
        for i, pw in enumerate(passwords):
            try:
                t.auth_password(user, pw)
                conn["attempts"].append({"password_index": i, "ok": True, "error": None})
                break
            except paramiko.AuthenticationException as exc:
                conn["attempts"].append({"password_index": i, "ok": False,
                                         "error": "{}: {}".format(type(exc).__name__, exc)})
            except paramiko.SSHException as exc:
                # the server closed: MaxAuthTries, or a lost connection
                conn["attempts"].append({"password_index": i, "ok": False,
                                         "error": "{}: {}".format(type(exc).__name__, exc)})
                break
    finally:
        conn["local_version"] = t.local_version
        conn["remote_version"] = t.remote_version or None
        conn["cipher_c2s"] = t.local_cipher or None
        conn["cipher_s2c"] = t.remote_cipher or None
        conn["mac_c2s"] = getattr(t, "local_mac", None)
        conn["mac_s2c"] = getattr(t, "remote_mac", None)
        conn["compression_c2s"] = t.local_compression
        conn["compression_s2c"] = t.remote_compression
        conn["auth_result"] = "success" if t.is_authenticated() else "failure"
        conn["auth_failures"] = sum(1 for a in conn["attempts"]
                                    if not a["ok"] and a["error"].startswith("Authentication"))
        t.close()
    return conn


def main():
    if len(sys.argv) not in (7, 8):
        sys.stderr.write(__doc__)
        return 2
    host, port, user, out, nconn, passwords = sys.argv[1:7]
    opts = json.loads(sys.argv[7]) if len(sys.argv) == 8 else {}
    result = {"paramiko_version": paramiko.__version__, "connections": []}
    rc = 0
    for _ in range(int(nconn)):
        try:
            result["connections"].append(
                one_connection(host, int(port), user, passwords.split(","), opts))
        except Exception as exc:  # noqa: BLE001 - report every failure
            result["connections"].append({"error": "{}: {}".format(type(exc).__name__, exc)})
            rc = 1
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
