#!/usr/bin/python3
"""multiply.py: turn a few real captures into the issue-6 benchmark corpus.

usage: multiply.py --logins LOGINS.pcap --bulk BULK.pcap --conns N --size-mb MB
                   --mixed MIXED.pcap --handshakes HS.pcap [--describe FILE]
                   [--duration SECONDS] [--seed N]

LOGINS.pcap holds real short SSH logins, BULK.pcap real long transfers (long
encrypted SSH sessions, HTTP, raw TCP), both Ethernet/IPv4 as tcpdump wrote
them. Every TCP connection becomes a template. The output repeats the login
templates as N distinct connections (client 198.18.0.0/16 addresses and
ports, servers 198.19.0.0/24 port 22: every 4-tuple is new), started evenly
over --duration seconds, and replicates the bulk templates (servers
198.19.1.0/24, clients 198.19.128.0/17, spread over the same span and
stretched in time so that they overlap the logins) until MIXED.pcap is about
MB megabytes. Addresses and ports are rewritten with an incremental IP and
TCP checksum update (RFC 1624), so checksums stay right when they were right.
Timestamps are strictly increasing (microseconds). HS.pcap gets exactly the
login connections of MIXED.pcap, with the same timestamps.

Python standard library only; run with /usr/bin/python3.
"""
import argparse
import heapq
import random
import struct
import sys
import time

REC = struct.Struct('<IIII')
T0_US = 1767225600 * 1000000  # 2026-01-01T00:00:00Z


def read_pcap(path):
    """Yields (ts_us, frame bytes, wire length) of a classic pcap file."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic == b'\xd4\xc3\xb2\xa1':
        end, nano = '<', False
    elif magic == b'\xa1\xb2\xc3\xd4':
        end, nano = '>', False
    elif magic == b'\x4d\x3c\xb2\xa1':
        end, nano = '<', True
    elif magic == b'\xa1\xb2\x3c\x4d':
        end, nano = '>', True
    else:
        sys.exit('%s: not a classic pcap file' % path)
    link = struct.unpack(end + 'I', data[20:24])[0]
    if link != 1:
        sys.exit('%s: link type %d, want 1 (Ethernet)' % (path, link))
    hdr = struct.Struct(end + 'IIII')
    off, n = 24, len(data)
    while off + 16 <= n:
        sec, frac, incl, orig = hdr.unpack_from(data, off)
        off += 16
        yield sec * 1000000 + (frac // 1000 if nano else frac), data[off:off + incl], orig
        off += incl


class Flow:
    __slots__ = ('client', 'server', 'syn_seq', 'pkts', 'nbytes', 'clear_upto')

    def __init__(self, client, server, syn_seq):
        self.client, self.server, self.syn_seq = client, server, syn_seq
        self.pkts = []  # (ts_us, from_client, frame, wirelen, tcp_off, seq, payload_off)
        self.nbytes = 0
        self.clear_upto = 0  # frames [0, clear_upto) are the cleartext SSH handshake


def split_flows(path, server_ports):
    """TCP connections of an Ethernet/IPv4 pcap, in order of first packet."""
    flows, current = [], {}
    skipped = 0
    for ts, fr, wire in read_pcap(path):
        if len(fr) < 54 or fr[12:14] != b'\x08\x00' or fr[23] != 6 or (fr[14] >> 4) != 4:
            skipped += 1
            continue
        ihl = (fr[14] & 15) * 4
        t = 14 + ihl
        if len(fr) < t + 20:
            skipped += 1
            continue
        src, dst = fr[26:30], fr[30:34]
        sport, dport = struct.unpack_from('>HH', fr, t)
        seq = struct.unpack_from('>I', fr, t + 4)[0]
        flags = fr[t + 13]
        a, b = (src, sport), (dst, dport)
        key = (a, b) if a < b else (b, a)
        f = current.get(key)
        syn_only = (flags & 0x12) == 0x02
        if f is None or (syn_only and f.syn_seq is not None and f.syn_seq != seq):
            if syn_only:
                f = Flow(a, b, seq)
            elif sport in server_ports:
                f = Flow(b, a, None)
            else:
                f = Flow(a, b, None)
            current[key] = f
            flows.append(f)
        f.pkts.append((ts, a == f.client, fr, wire, t, seq, t + ((fr[t + 12] >> 4) * 4)))
        f.nbytes += len(fr)
    return flows, skipped


def mark_cleartext(f):
    """Sets f.clear_upto: frames up to the last one carrying cleartext SSH
    (banner, KEXINIT, kex messages, NEWKEYS) in either direction."""
    last = -1
    for direction in (True, False):
        buf = bytearray()
        starts = []  # (offset in buf, frame index)
        nxt = None
        for i, p in enumerate(f.pkts):
            if p[1] != direction:
                continue
            fr, seq, po = p[2], p[5], p[6]
            if len(fr) <= po:
                continue
            if nxt is None:
                nxt = seq
            if seq != nxt:
                if (seq - nxt) & 0x80000000:  # retransmission
                    continue
                break  # gap: stop here
            starts.append((len(buf), i))
            buf += fr[po:]
            nxt = (seq + len(fr) - po) & 0xffffffff
            if len(buf) > 65536:
                break
        # banner line, then binary packets until NEWKEYS (21)
        end = len(buf)
        nl = buf.find(b'\n', buf.find(b'SSH-'))
        if nl >= 0:
            pos = nl + 1
            end = len(buf)
            while pos + 6 <= len(buf):
                plen = struct.unpack_from('>I', buf, pos)[0]
                msg = buf[pos + 5]
                pos += 4 + plen
                if msg == 21:
                    end = min(pos, len(buf))
                    break
        for off, i in starts:
            if off < end:
                last = max(last, i)
    f.clear_upto = last + 1


def sum16(b):
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def csum_k(old, new):
    """Constant K so that a checksum C over old becomes ~(~C + K) over new."""
    return (~sum16(old) & 0xffff) + sum16(new)


class Stream:
    __slots__ = ('tpl', 'start', 'stretch', 'hdr', 'kip', 'ktcp', 'hs', 'i')


def make_stream(tpl, start, stretch, cip, cport, sip, sport, hs):
    s = Stream()
    s.tpl, s.start, s.stretch, s.hs, s.i = tpl, start, stretch, hs, 0
    oc, os_ = tpl.client, tpl.server
    c = (cip, cport)
    sv = (sip, sport if sport is not None else os_[1])
    s.hdr = {
        True: (c[0] + sv[0], struct.pack('>HH', c[1], sv[1])),
        False: (sv[0] + c[0], struct.pack('>HH', sv[1], c[1])),
    }
    s.kip = csum_k(oc[0] + os_[0], c[0] + sv[0])
    s.ktcp = csum_k(oc[0] + os_[0] + struct.pack('>HH', oc[1], os_[1]),
                    c[0] + sv[0] + struct.pack('>HH', c[1], sv[1]))
    return s


def fix(cs, k):
    x = (~cs & 0xffff) + k
    x = (x & 0xffff) + (x >> 16)
    x = (x & 0xffff) + (x >> 16)
    return ~x & 0xffff


def ip4(n):
    return struct.pack('>I', n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--logins', required=True)
    ap.add_argument('--bulk', required=True)
    ap.add_argument('--conns', type=int, default=100000)
    ap.add_argument('--size-mb', type=float, default=1024)
    ap.add_argument('--mixed', required=True)
    ap.add_argument('--handshakes', required=True)
    ap.add_argument('--describe')
    ap.add_argument('--duration', type=float, default=900.0, help='seconds the corpus spans')
    ap.add_argument('--seed', type=int, default=6)
    a = ap.parse_args()
    t_start = time.time()
    rnd = random.Random(a.seed)

    logins, sk1 = split_flows(a.logins, {22})
    logins = [f for f in logins if f.server[1] == 22 and f.syn_seq is not None]
    bulk, sk2 = split_flows(a.bulk, {22, 8080, 5001})
    bulk = [f for f in bulk if f.syn_seq is not None and f.nbytes > 1000000]
    if not logins or not bulk:
        sys.exit('multiply.py: need login and bulk connections (%d, %d)' % (len(logins), len(bulk)))
    for f in logins:
        mark_cleartext(f)
    print('templates: %d logins (%.1f KB average), %d bulk flows (%.1f MB); %d non-TCP frames skipped'
          % (len(logins), sum(f.nbytes for f in logins) / len(logins) / 1e3, len(bulk),
             sum(f.nbytes for f in bulk) / 1e6, sk1 + sk2), file=sys.stderr)

    dur_us = a.duration * 1e6
    # login connections: template k % n, shuffled once so neighbours differ
    order = list(range(len(logins)))
    rnd.shuffle(order)
    hs_tpl = [logins[order[k % len(order)]] for k in range(a.conns)]
    hs_bytes = sum(f.nbytes + 16 * len(f.pkts) for f in hs_tpl)
    target = int(a.size_mb * 1e6)
    need = target - hs_bytes - 24
    bulk_tpl = []
    got = 0
    while got < need and len(bulk_tpl) < 100000:
        for f in rnd.sample(bulk, len(bulk)):
            if got >= need:
                break
            bulk_tpl.append(f)
            got += f.nbytes + 16 * len(f.pkts)
    if need <= 0:
        print('warning: the login connections alone are %.0f MB > %.0f MB: no bulk traffic'
              % (hs_bytes / 1e6, a.size_mb), file=sys.stderr)

    streams = []
    gap = dur_us / max(1, a.conns)
    for k, f in enumerate(hs_tpl):
        ci = k % 65000
        cip = ip4((198 << 24) | (18 << 16) | (512 + ci))  # 198.18.2.0 ...
        cport = 20000 + (ci * 37) % 20000 + k // 65000
        sip = ip4((198 << 24) | (19 << 16) | (1 + k % 250))  # 198.19.0.1-250
        start = T0_US + k * gap + rnd.random() * gap
        streams.append(make_stream(f, start, 1.0, cip, cport, sip, None, True))
    nb = len(bulk_tpl)
    for j, f in enumerate(bulk_tpl):
        slot = dur_us / max(1, nb)
        start = T0_US + j * slot + rnd.random() * slot * 0.2
        span = max(1, f.pkts[-1][0] - f.pkts[0][0])
        stretch = max(1.0, slot * 1.5 / span)
        cip = ip4((198 << 24) | (19 << 16) | (128 << 8) | (j % 32000) + 1)  # 198.19.128.x+
        cport = 40000 + j % 20000
        sip = ip4((198 << 24) | (19 << 16) | (1 << 8) | (1 + j % 250))  # 198.19.1.x
        streams.append(make_stream(f, start, stretch, cip, cport, sip, None, False))
    streams.sort(key=lambda s: s.start)

    gh = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
    mixed = open(a.mixed, 'wb', buffering=1 << 22)
    hsf = open(a.handshakes, 'wb', buffering=1 << 22)
    mixed.write(gh)
    hsf.write(gh)
    stat = {'pkts': 0, 'bytes': 24, 'hs_pkts': 0, 'hs_bytes': 24, 'clear_pkts': 0, 'clear_bytes': 0,
            'bulk_pkts': 0}
    heap = []
    si = 0
    last = 0
    nstreams = len(streams)
    seqno = 0
    while heap or si < nstreams:
        # admit streams whose first packet comes before the heap's next packet
        while si < nstreams and (not heap or streams[si].start <= heap[0][0]):
            s = streams[si]
            si += 1
            seqno += 1
            heapq.heappush(heap, (s.start, seqno, s))
        t, _, s = heapq.heappop(heap)
        tpl = s.tpl
        p = tpl.pkts[s.i]
        ts_rel, from_client, fr, wire, toff = p[0], p[1], p[2], p[3], p[4]
        b = bytearray(fr)
        addrs, ports = s.hdr[from_client]
        b[26:34] = addrs
        b[toff:toff + 4] = ports
        b[24:26] = fix((b[24] << 8) | b[25], s.kip).to_bytes(2, 'big')
        if len(b) >= toff + 18:
            b[toff + 16:toff + 18] = fix((b[toff + 16] << 8) | b[toff + 17], s.ktcp).to_bytes(2, 'big')
        ts = int(t)
        if ts <= last:
            ts = last + 1
        last = ts
        rec = REC.pack(ts // 1000000, ts % 1000000, len(b), wire)
        mixed.write(rec)
        mixed.write(b)
        n = 16 + len(b)
        stat['pkts'] += 1
        stat['bytes'] += n
        if s.hs:
            hsf.write(rec)
            hsf.write(b)
            stat['hs_pkts'] += 1
            stat['hs_bytes'] += n
            if s.i < tpl.clear_upto:
                stat['clear_pkts'] += 1
                stat['clear_bytes'] += n
        s.i += 1
        if s.i < len(tpl.pkts):
            nxt = s.start + (tpl.pkts[s.i][0] - tpl.pkts[0][0]) * s.stretch
            seqno += 1
            heapq.heappush(heap, (nxt, seqno, s))
    mixed.close()
    hsf.close()

    first_ts = T0_US / 1e6
    lines = [
        'mixed.pcap: %d packets, %.1f MB, %d TCP connections (%d SSH logins + %d bulk flows), '
        'timestamps %.0f..%.0f s' % (stat['pkts'], stat['bytes'] / 1e6, a.conns + nb, a.conns, nb,
                                      first_ts, last / 1e6),
        '  frames of SSH login connections: %.1f%% of bytes (%d packets)'
        % (100.0 * stat['hs_bytes'] / stat['bytes'], stat['hs_pkts']),
        '  frames up to the last cleartext handshake frame (banners, KEXINIT, kex, NEWKEYS): '
        '%.1f%% of bytes (%d packets)' % (100.0 * stat['clear_bytes'] / stat['bytes'], stat['clear_pkts']),
        '  bulk (long encrypted SSH sessions, HTTP, raw TCP): %.1f%% of bytes (%d packets, '
        'from %d real flows)' % (100.0 * (stat['bytes'] - stat['hs_bytes']) / stat['bytes'],
                                 stat['pkts'] - stat['hs_pkts'], len(bulk)),
        'handshakes.pcap: %d packets, %.1f MB, %d SSH login connections from %d real logins'
        % (stat['hs_pkts'], stat['hs_bytes'] / 1e6, a.conns, len(logins)),
        'multiply.py took %.0f s' % (time.time() - t_start),
    ]
    text = '\n'.join(lines) + '\n'
    sys.stderr.write(text)
    if a.describe:
        with open(a.describe, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
