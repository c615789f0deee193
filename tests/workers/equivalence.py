#!/usr/bin/env python3
"""workers.equivalence: the same records in the same order for any --workers N.

Reads each capture with --workers 1, 2 and 3 (compact records, sensor "golden") and
compares the outputs byte for byte. Two workers on at most two CPUs run another way
(the reader runs worker 0 and worker 1 the merger): with more CPUs than two, the
captures are also read with --workers 2 pinned to two of them (taskset). The captures: every golden capture (tests/pcaps),
every crafted one (tests/crafted), every capture of the conformance corpus when
SHARED/conformance is present, and a 20 MB prefix of the benchmark's handshake
corpus when /tmp/kexwatch-bench/handshakes.pcap exists (made at test time, skipped
with a message otherwise). A capture that gives no record at all is still compared
(an empty output must stay empty); if no capture gives a record, the test proves
nothing and fails. The golden captures and the benchmark prefix are read once more
with --evidence-pcap, and the evidence files must be the same bytes for every N too:
with several workers a mapped capture's frames reach the workers in place, not copied,
so this is where a frame read after its window was released would show.

    python3 tests/workers/equivalence.py --kexwatch BUILD/kexwatch --tests tests \
        [--shared ../shared] [--workers 1,2,3] [--bench /tmp/kexwatch-bench/handshakes.pcap]

Exit status 0 when every capture agrees, 1 otherwise (the first differing line of
each disagreeing capture is printed).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

PREFIX_BYTES = 20 * 1000 * 1000


def pinned(pin):
    """The command prefix that runs on CPUs pin (a list), or nothing."""
    return ["taskset", "-c", ",".join(str(c) for c in pin)] if pin else []


def run(kexwatch, capture, workers, pin, timeout):
    cmd = pinned(pin) + [kexwatch, "-q", "--workers", str(workers), "--sensor-name",
                         "golden", "--record", "compact", "--format", "json", "-r", capture]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def sanitizer_report(cap, what, err):
    """1 (and says so) when a sanitizer build (KW_SANITIZE, KW_TSAN) reported on err."""
    if b"Sanitizer" not in err and b"runtime error" not in err:
        return 0
    print("not ok - %s: %s: sanitizer report\n%s" % (cap, what, err.decode("utf-8", "replace")[:4000]))
    return 1


def pcap_prefix(src, dst, limit):
    """Copy whole classic-pcap records of src into dst up to limit bytes."""
    with open(src, "rb") as f, open(dst, "wb") as out:
        head = f.read(24)
        if len(head) < 24:
            return False
        out.write(head)
        little = head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        total = 24
        while total < limit:
            rec = f.read(16)
            if len(rec) < 16:
                break
            incl = int.from_bytes(rec[8:12], "little" if little else "big")
            data = f.read(incl)
            if len(data) < incl:
                break
            out.write(rec + data)
            total += 16 + incl
    return True


def captures(tests, shared):
    found = []
    for d in (os.path.join(tests, "pcaps"), os.path.join(tests, "crafted")):
        for ext in ("*.pcap", "*.pcap.gz", "*.pcapng"):
            found += sorted(glob.glob(os.path.join(d, ext)))
    if shared:
        conf = os.path.join(shared, "conformance")
        if os.path.isdir(conf):
            for root, _, files in os.walk(conf):
                for name in sorted(files):
                    if name.endswith((".pcap", ".pcapng", ".pcap.gz", ".cap")):
                        found.append(os.path.join(root, name))
        else:
            print("# conformance corpus absent (%s): not compared" % conf)
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("--shared")
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--bench", default="/tmp/kexwatch-bench/handshakes.pcap")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    # (workers, CPUs to pin to or None, label). Two workers on at most two
    # CPUs take their own path (the reader runs worker 0, worker 1 the
    # merger): on a machine with more, it is run pinned to two of them.
    variants = [(int(x), None, x) for x in args.workers.split(",")]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 2 and any(n == 2 for n, _, _ in variants):
        if shutil.which("taskset"):
            variants.append((2, cpus[:2], "2 on 2 CPUs"))
        else:
            print("# taskset absent: two workers on two CPUs not compared")
    labels = ",".join(label for _, _, label in variants)
    caps = captures(args.tests, args.shared)
    tmp = tempfile.TemporaryDirectory()
    if os.path.exists(args.bench):
        prefix = os.path.join(tmp.name, "bench-prefix.pcap")
        if pcap_prefix(args.bench, prefix, PREFIX_BYTES):
            caps.append(prefix)
    else:
        print("# %s absent (bench/make-corpus.sh makes it): benchmark prefix skipped"
              % args.bench)
    bad = records = 0
    for cap in caps:
        outs = []
        for n, pin, label in variants:
            rc, out, err = run(args.kexwatch, cap, n, pin, args.timeout)
            outs.append((label, rc, out, err))
        for n, rc, out, err in outs:
            bad += sanitizer_report(cap, "--workers %s" % n, err)
        base_n, base_rc, base, _ = outs[0]
        for n, rc, out, err in outs[1:]:
            if rc != base_rc or out != base:
                bad += 1
                a, b = base.splitlines(), out.splitlines()
                i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]),
                         min(len(a), len(b)))
                print("not ok - %s: --workers %s and %s differ (exit %d/%d, %d/%d records)"
                      " at record %d" % (cap, base_n, n, base_rc, rc, len(a), len(b), i + 1))
                if i < len(a):
                    print("#  %s: %s" % (base_n, a[i][:300].decode("utf-8", "replace")))
                if i < len(b):
                    print("#  %s: %s" % (n, b[i][:300].decode("utf-8", "replace")))
                break
        else:
            lines = base.splitlines()
            records += len(lines)
            for line in lines:
                json.loads(line)  # every line is one JSON record
            print("ok - %s: %d records, identical for --workers %s"
                  % (os.path.relpath(cap), len(lines), labels))
    evidence = 0
    for cap in caps:
        if not (cap.startswith(os.path.join(args.tests, "pcaps")) or
                cap.endswith("bench-prefix.pcap")):
            continue
        files = []
        for k, (n, pin, label) in enumerate(variants):
            path = os.path.join(tmp.name, "evidence-%d.pcapng" % k)
            if os.path.exists(path):
                os.unlink(path)
            cmd = pinned(pin) + [args.kexwatch, "-q", "--workers", str(n), "--evidence-pcap",
                                 path, "-r", cap]
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=args.timeout)
            bad += sanitizer_report(cap, "--workers %s --evidence-pcap" % label, p.stderr)
            data = open(path, "rb").read() if os.path.exists(path) else b""
            files.append((label, p.returncode, data))
        base_n, base_rc, base = files[0]
        for n, rc, data in files[1:]:
            if rc != base_rc or data != base:
                bad += 1
                print("not ok - %s: evidence of --workers %s and %s differ (%d/%d bytes)"
                      % (os.path.relpath(cap), base_n, n, len(base), len(data)))
                break
        else:
            evidence += len(base) > 200  # more than the file's headers
    print("# %d captures, %d records, %d with evidence frames, %d differ"
          % (len(caps), records, evidence, bad))
    if evidence == 0:
        print("not ok - no capture gave evidence frames: nothing was compared")
        return 1
    if records == 0:
        print("not ok - no capture gave a record: nothing was compared")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
