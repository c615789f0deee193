#!/usr/bin/env python3
"""robustness.interrupt: interruptions are reported, pipes stream.

    interrupt.py --kexwatch BIN --craft KW_CRAFT

Inputs come from kw-craft concurrent (N connections open at once, closed
with FIN at the end), made at run time:
  1. SIGINT while a large capture file is being read: exit status 130, a
     message on standard error that the input was not read to its end, and
     a record for every connection seen (the summary's flows).
  2. SIGTERM while reading a FIFO whose writer keeps it open and silent:
     kexwatch ends within 2 s (it used to wait for the writer), exit 143,
     every open connection written.
  3. A FIFO kept open after a few connections closed: their records come
     out within 1 s (close_linger_ms=100), before the writer closes (they
     used to wait for the end of the input).
Exit 0 pass, 1 fail, 77 skip (no kw-craft).
"""
import argparse
import errno
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

from checks import check, finish


def craft(tool, n, rounds):
    return subprocess.run([tool, "concurrent", "-", str(n), str(rounds)], stdout=subprocess.PIPE,
                          check=True, timeout=300).stdout


def summary_frames(err):
    m = re.search(r"; (\d+) frames, ", err)
    return int(m.group(1)) if m else -1


def summary_flows(err):
    m = re.search(r"; (\d+) flows, ", err)
    return int(m.group(1)) if m else -1


started = []  # every kexwatch started, killed at the end if still running


def start(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started.append(p)
    return p


def open_writer(fifo, p, limit_s=5.0):
    """The FIFO's write end once kexwatch has opened it to read, waiting at most limit_s."""
    t0 = time.monotonic()
    while True:
        try:
            w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(w, True)
            return w
        except OSError as e:
            # ENXIO: no reader yet. A kexwatch that ended will never be one.
            if e.errno != errno.ENXIO or p.poll() is not None or time.monotonic() - t0 > limit_s:
                raise
            time.sleep(0.01)


def records(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def sanitizer_clean(err, what):
    check("Sanitizer" not in err and "runtime error" not in err, "%s: no sanitizer report" % what)


def test_file_sigint(a, work):
    path = os.path.join(work, "big.pcap")
    with open(path, "wb") as f:
        f.write(craft(a.craft, 20000, 40))
    p = start([a.kexwatch, "-r", path, "--format", "json"])
    time.sleep(0.7)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    err = err.decode("utf-8", "replace")
    sys.stderr.write(err)
    sanitizer_clean(err, "file")
    recs = records(out)
    check(p.returncode == 130, "file: SIGINT exits 130 (got %d)" % p.returncode)
    check("interrupted by SIGINT" in err and "big.pcap" in err,
          "file: standard error says the input was not read to its end")
    flows = summary_flows(err)
    total = 20000 * (3 + 1 + 1 + 40 + 3)
    check(0 < summary_frames(err) < total,
          "file: interrupted part way (%d of %d frames)" % (summary_frames(err), total))
    check(len(recs) == flows, "file: every connection seen has its record (%d records, %d flows)"
          % (len(recs), flows))


def test_fifo_sigterm(a, work):
    fifo = os.path.join(work, "held.fifo")
    os.mkfifo(fifo)
    cap = craft(a.craft, 200, 1)
    # The handshakes of all 200 connections, then the writer holds the FIFO open.
    part = cap[:24 + 200 * 3 * (16 + 54)]
    p = start([a.kexwatch, "-r", fifo, "--format", "json"])
    w = open_writer(fifo, p)
    try:
        os.write(w, part)
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        took = time.monotonic() - t0
    finally:
        os.close(w)
    err = err.decode("utf-8", "replace")
    sys.stderr.write(err)
    sanitizer_clean(err, "fifo")
    check(took < 2.0, "fifo: SIGTERM ends the read within 2 s while the writer holds it (%.2f s)"
          % took)
    check(p.returncode == 143, "fifo: exit 143 (got %d)" % p.returncode)
    check("interrupted by SIGTERM" in err, "fifo: standard error says so")
    recs = records(out)
    check(len(recs) == 200 and summary_flows(err) == 200,
          "fifo: the 200 open connections were written (%d records)" % len(recs))


def test_fifo_streams(a, work):
    fifo = os.path.join(work, "stream.fifo")
    os.mkfifo(fifo)
    cap = craft(a.craft, 5, 1)
    p = start([a.kexwatch, "-r", fifo, "--format", "json", "--limit", "close_linger_ms=100"])
    w = open_writer(fifo, p)
    got, t_written = [], None
    try:
        os.write(w, cap)
        t_written = time.monotonic()
        buf = b""
        while len(got) < 5 and time.monotonic() - t_written < 5:
            r, _, _ = select.select([p.stdout], [], [], 0.1)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    got.append((time.monotonic() - t_written, json.loads(line)))
    finally:
        os.close(w)
    out, err = p.communicate(timeout=30)
    err = err.decode("utf-8", "replace")
    sys.stderr.write(err)
    sanitizer_clean(err, "stream")
    late = max((t for t, _ in got), default=-1)
    check(len(got) == 5, "stream: 5 records while the FIFO is still open (got %d)" % len(got))
    check(0 <= late <= 1.0, "stream: the last within 1 s of its connection's close (%.2f s)" % late)
    check(all(r["ssh"].get("close", {}).get("kind") == "fin" for _, r in got),
          "stream: each closed with FIN")
    check(p.returncode == 0 and not out.strip(), "stream: exit 0, nothing left for the end")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--craft", required=True)
    a = ap.parse_args()
    if not os.access(a.craft, os.X_OK):
        print("SKIP: %s not built (libnet missing)" % a.craft)
        return 77
    try:
        with tempfile.TemporaryDirectory(prefix="kw-interrupt.") as work:
            test_file_sigint(a, work)
            test_fifo_sigterm(a, work)
            test_fifo_streams(a, work)
    finally:
        for p in started:  # a test that failed part way leaves none running
            if p.poll() is None:
                p.kill()
                p.communicate()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
