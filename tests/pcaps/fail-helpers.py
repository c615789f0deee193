#!/usr/bin/python3
"""Small TCP programs for the failure captures of make-failures.sh: the parts of a
failure that no packaged software plays (a connection held open, a client that
stops talking, a fake SSH-1 server, a front end that prints text first).

usage:
  fail-helpers.py hold HOST PORT SECONDS OUT.json
      connect, send nothing, read what the server sends; close after SECONDS or
      when the server closes (an unauthenticated connection held open).
  fail-helpers.py client HOST PORT BANNER|- SECONDS OUT.json
      connect, send BANNER + CR LF ("-": send nothing), then stay silent and read
      until the server closes or SECONDS pass. Prints one error line, as a client
      would, and writes what happened as JSON (for truth.py --helper-json).
  fail-helpers.py server ADDR PORT MODE SECONDS [TARGET_HOST TARGET_PORT]
      serve one connection, then exit (or exit after SECONDS with none). MODE:
        ssh1        send "SSH-1.5-Fake\\r\\n", read the client's line, wait for its close
        text-close  send the bastion text lines, then close
        relay       send the bastion text lines, then relay bytes to TARGET
        disconnect  send "SSH-2.0-failhelper_1.0", read the client's banner and
                    KEXINIT, send a clear-text SSH_MSG_DISCONNECT (reason 2,
                    PROTOCOL_ERROR), close. A FAKE server: labelled so in README.

Every wait is bounded by SECONDS; run it with Debian's /usr/bin/python3.
"""

import json
import select
import socket
import struct
import sys
import time

BANNER_TEXT = b"Welcome to the bastion\r\nauthorised use only\r\n"
FAKE_SSH2 = b"SSH-2.0-failhelper_1.0\r\n"


def now():
    return time.monotonic()


def read_until_close(sock, deadline):
    """Bytes received until EOF, reset or deadline; (data, how)."""
    data = b""
    while True:
        left = deadline - now()
        if left <= 0:
            return data, "deadline"
        r, _, _ = select.select([sock], [], [], min(left, 1.0))
        if not r:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "closed"
        data += chunk


def first_ssh_line(data):
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"SSH-"):
            return line.decode("utf-8", "replace")
    return None


def cmd_hold(host, port, seconds, out):
    t0 = now()
    sock = socket.create_connection((host, int(port)), timeout=10)
    data, how = read_until_close(sock, t0 + float(seconds))
    sock.close()
    with open(out, "w") as f:
        json.dump({"received": data.decode("utf-8", "replace"), "end": how,
                   "seconds": round(now() - t0, 3)}, f, indent=2)
    return 0


def cmd_client(host, port, banner, seconds, out):
    t0 = now()
    res = {"client_banner": None, "server_banner": None, "error": None,
           "newkeys": False}
    sock = socket.create_connection((host, int(port)), timeout=10)
    if banner != "-":
        sock.sendall(banner.encode() + b"\r\n")
        res["client_banner"] = banner
    data, how = read_until_close(sock, t0 + float(seconds))
    sock.close()
    res["server_banner"] = first_ssh_line(data)
    res["received_bytes"] = len(data)
    res["received_head"] = data[:120].decode("utf-8", "replace")
    res["seconds"] = round(now() - t0, 3)
    if how == "closed":
        res["error"] = "Connection closed by {} port {} after {:.1f} s".format(
            host, port, now() - t0)
    elif how == "reset":
        res["error"] = "Connection reset by {} port {} after {:.1f} s".format(
            host, port, now() - t0)
    else:
        res["error"] = "no close from {} port {} within {} s".format(host, port, seconds)
    print(res["error"], file=sys.stderr)
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    return 1


def read_line(sock, deadline):
    buf = b""
    while b"\n" not in buf and now() < deadline:
        r, _, _ = select.select([sock], [], [], 0.5)
        if r:
            chunk = sock.recv(1)
            if not chunk:
                break
            buf += chunk
    return buf


def read_packet(sock, deadline):
    """One binary SSH packet (clear text): returns the payload or None."""
    buf = b""
    while now() < deadline:
        if len(buf) >= 4:
            need = 4 + struct.unpack(">I", buf[:4])[0]
            if need > 65536:
                return None
            if len(buf) >= need:
                padlen = buf[4]
                return buf[5:need - padlen]
        r, _, _ = select.select([sock], [], [], 0.5)
        if r:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
    return None


def ssh_packet(payload):
    """Clear-text binary packet (RFC 4253 section 6), block size 8, zero padding."""
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + b"\0" * pad


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def relay(a, b, deadline):
    socks = [a, b]
    while now() < deadline:
        r, _, _ = select.select(socks, [], [], 1.0)
        for s in r:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                return
            (b if s is a else a).sendall(data)


def cmd_server(addr, port, mode, seconds, target=None):
    deadline = now() + float(seconds)
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(5)
    print("listening", flush=True)
    r, _, _ = select.select([ls], [], [], float(seconds))
    if not r:
        print("no connection", file=sys.stderr)
        return 1
    conn, peer = ls.accept()
    ls.close()
    print("connection from {}".format(peer), flush=True)
    if mode == "ssh1":
        conn.sendall(b"SSH-1.5-Fake\r\n")
        line = read_line(conn, deadline)
        print("client said {!r}".format(line), flush=True)
        read_until_close(conn, deadline)
    elif mode == "text-close":
        conn.sendall(BANNER_TEXT)
        time.sleep(0.2)
    elif mode == "relay":
        conn.sendall(BANNER_TEXT)
        up = socket.create_connection((target[0], int(target[1])), timeout=10)
        relay(conn, up, deadline)
        up.close()
    elif mode == "disconnect":
        conn.sendall(FAKE_SSH2)
        line = read_line(conn, deadline)
        print("client said {!r}".format(line), flush=True)
        payload = read_packet(conn, deadline)
        print("client sent message {}".format(payload[0] if payload else None), flush=True)
        msg = (bytes([1]) + struct.pack(">I", 2)
               + ssh_string(b"Protocol error: fake server refuses every key exchange")
               + ssh_string(b""))
        conn.sendall(ssh_packet(msg))
        time.sleep(0.2)
    else:
        print("unknown mode " + mode, file=sys.stderr)
        return 2
    conn.close()
    return 0


def main(argv):
    if len(argv) >= 5 and argv[0] == "hold":
        return cmd_hold(*argv[1:5])
    if len(argv) >= 6 and argv[0] == "client":
        return cmd_client(*argv[1:6])
    if len(argv) >= 5 and argv[0] == "server":
        target = argv[5:7] if len(argv) >= 7 else None
        return cmd_server(argv[1], argv[2], argv[3], argv[4], target)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
