#!/usr/bin/env python3
"""records.py: small queries over kexwatch JSON records for hostkeys.sh.

  records.py count FILE CODE            diagnoses with this code
  records.py evidence FILE CODE FIELD   that evidence field, one line per diagnosis
  records.py keytypes FILE              host-key types seen, sorted, unique
  records.py hostkeys FILE              records that carry a host key
  records.py replay PCAP REPS DELAY     write PCAP REPS times to stdout as one pcap
                                        stream, each copy an hour later, DELAY
                                        seconds apart (a long capture, paced)
"""
import json
import struct
import sys
import time


def records(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                if r.get("event_type") == "ssh":
                    yield r


def diagnoses(path, code):
    for r in records(path):
        for d in r["ssh"].get("diagnoses", []):
            if d["code"] == code:
                yield d


def replay(path, reps, delay):
    with open(path, "rb") as f:
        data = f.read()
    head, body = data[:24], data[24:]
    magic = struct.unpack("<I", head[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit("replay: little-endian classic pcap expected")
    recs, off = [], 0
    while off + 16 <= len(body):
        sec, frac, incl, orig = struct.unpack("<IIII", body[off:off + 16])
        recs.append((sec, frac, incl, orig, body[off + 16:off + 16 + incl]))
        off += 16 + incl
    out = sys.stdout.buffer
    out.write(head)
    try:
        for i in range(reps):
            chunk = b"".join(struct.pack("<IIII", sec + 3600 * i, frac, incl, orig) + pkt
                             for sec, frac, incl, orig, pkt in recs)
            out.write(chunk)
            out.flush()
            time.sleep(delay)
    except BrokenPipeError:
        pass


def main():
    cmd = sys.argv[1]
    if cmd == "count":
        print(sum(1 for _ in diagnoses(sys.argv[2], sys.argv[3])))
    elif cmd == "evidence":
        for d in diagnoses(sys.argv[2], sys.argv[3]):
            print(json.dumps(d["evidence"].get(sys.argv[4])).strip('"'))
    elif cmd == "keytypes":
        print(" ".join(sorted({r["ssh"]["host_key"]["type"] for r in records(sys.argv[2])
                               if "host_key" in r["ssh"]})))
    elif cmd == "hostkeys":
        print(sum(1 for r in records(sys.argv[2]) if "host_key" in r["ssh"]))
    elif cmd == "replay":
        replay(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
