#!/usr/bin/env python3
"""prefix.py SRC MB DST: write the first MB megabytes of pcap SRC to DST,
whole packets only (used by run.sh and profile.sh)."""
import struct
import sys

src, mb, dst = sys.argv[1], float(sys.argv[2]), sys.argv[3]
limit = int(mb * 1e6)
with open(src, 'rb') as f, open(dst, 'wb') as o:
    gh = f.read(24)
    end = '<' if gh[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    o.write(gh)
    n = 24
    while n < limit:
        h = f.read(16)
        if len(h) < 16:
            break
        incl = struct.unpack(end + 'IIII', h)[2]
        o.write(h + f.read(incl))
        n += 16 + incl
