#!/usr/bin/python3
"""Log in with paramiko (public-key auth), run one command, and report what
paramiko itself negotiated, as JSON.

Used by make-captures.sh for the paramiko client cases. Run it with Debian's
/usr/bin/python3 (python3-paramiko), not another interpreter on PATH.

usage: paramiko-login.py HOST PORT USER KEYFILE COMMAND OUT.json [CONNECT_JSON]

CONNECT_JSON (optional, used by make-failures.sh): a JSON object of extra
SSHClient.connect() keyword arguments, e.g. '{"compress": true,
"disabled_algorithms": {"compression": ["none"]}}' to offer zlib only. One key
is this script's own, not connect()'s: "only", an object naming Transport
get_security_options() attributes (ciphers, digests, kex, key_types,
compression) with the algorithms to keep, e.g. '{"only": {"ciphers":
["aes128-cbc"], "digests": ["hmac-sha2-256-etm@openssh.com"]}}'; every other
algorithm paramiko offers in that category is added to disabled_algorithms.

OUT.json holds paramiko's own view of the connection: the banners
(transport.local_version / remote_version), the negotiated algorithms
(transport attributes, and the "Kex: ..." line paramiko logs), the server host
key (transport.get_remote_server_key(): type, SHA-256 fingerprint, bits), the
offered lists (transport.get_security_options()), the command's exit status,
and paramiko's DEBUG log lines. Exit status: 0 when the login and the command
succeeded, 1 otherwise (OUT.json is written in both cases).
"""

import base64
import hashlib
import json
import logging
import socket
import sys

import paramiko


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


# get_security_options() attribute -> disabled_algorithms key
OPTION_KEYS = {"ciphers": "ciphers", "digests": "macs", "kex": "kex", "key_types": "keys",
               "compression": "compression"}


def restrict(only, disabled):
    """disabled_algorithms that leave only the given algorithms offered: what a
    Transport offers by default (get_security_options() of one never started),
    minus those to keep."""
    disabled = {k: list(v) for k, v in (disabled or {}).items()}
    sock = socket.socket()
    probe = paramiko.Transport(sock)
    try:
        opts = probe.get_security_options()
        for attr, keep in only.items():
            drop = [a for a in getattr(opts, attr) if a not in keep]
            disabled.setdefault(OPTION_KEYS[attr], []).extend(drop)
    finally:
        probe.close()
        sock.close()
    return disabled


def main():
    if len(sys.argv) not in (7, 8):
        sys.stderr.write(__doc__)
        return 2
    host, port, user, keyfile, command, out = sys.argv[1:7]
    extra = json.loads(sys.argv[7]) if len(sys.argv) == 8 else {}
    only = extra.pop("only", None)
    if only:
        extra["disabled_algorithms"] = restrict(only, extra.get("disabled_algorithms"))
    port = int(port)

    handler = ListHandler()
    log = logging.getLogger("paramiko")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)

    result = {
        "paramiko_version": paramiko.__version__,
        "ok": False,
        "error": None,
        "exit_status": None,
        "stdout": None,
        # what was disabled: get_security_options() ("offered" below) lists
        # paramiko's preferences before disabled_algorithms is applied
        "disabled_algorithms": extra.get("disabled_algorithms"),
    }
    client = paramiko.SSHClient()
    # No known_hosts is read or written: the host key is recorded, not checked.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    transport = None
    try:
        client.connect(
            host,
            port=port,
            username=user,
            key_filename=keyfile,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
            **extra,
        )
        transport = client.get_transport()
        _, stdout, _ = client.exec_command(command, timeout=10)
        result["stdout"] = stdout.read().decode("utf-8", "replace")
        result["exit_status"] = stdout.channel.recv_exit_status()
        result["ok"] = result["exit_status"] == 0
    except Exception as exc:  # report every failure in the JSON
        result["error"] = "{}: {}".format(type(exc).__name__, exc)
        transport = client.get_transport()
    finally:
        if transport is not None:
            result["local_version"] = transport.local_version
            result["remote_version"] = transport.remote_version or None
            result["authenticated"] = transport.is_authenticated()
            kex = None
            for line in handler.lines:
                if line.startswith("Kex: "):
                    kex = line[len("Kex: "):]
            result["kex"] = kex
            result["host_key_type"] = transport.host_key_type
            # paramiko is the client: local = client->server.
            result["cipher_c2s"] = transport.local_cipher or None
            result["cipher_s2c"] = transport.remote_cipher or None
            result["mac_c2s"] = getattr(transport, "local_mac", None)
            result["mac_s2c"] = getattr(transport, "remote_mac", None)
            result["compression_c2s"] = transport.local_compression
            result["compression_s2c"] = transport.remote_compression
            try:
                key = transport.get_remote_server_key()
            except Exception:
                key = None
            if key is not None:
                digest = hashlib.sha256(key.asbytes()).digest()
                fp = base64.b64encode(digest).decode("ascii").rstrip("=")
                result["host_key"] = {
                    "name": key.get_name(),
                    "fingerprint": "SHA256:" + fp,
                    "bits": key.get_bits(),
                }
            else:
                result["host_key"] = None
            opts = transport.get_security_options()
            result["offered"] = {
                "kex": list(opts.kex),
                "key_types": list(opts.key_types),
                "ciphers": list(opts.ciphers),
                "digests": list(opts.digests),
                "compression": list(opts.compression),
            }
        result["log"] = handler.lines
        client.close()
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
