#!/usr/bin/env python3
"""tunrelay.py: join two TUN devices in two network namespaces, so that raw
IP packets cross between them (a point-to-point link whose capture link type
is raw IP, for tests that need an interface other than Ethernet).

usage: tunrelay.py NETNS_A TUN_A NETNS_B TUN_B SECONDS

Attaches to the persistent TUN devices (made first with `ip -n NS tuntap add
mode tun name TUN`) from inside each namespace (setns), then copies every
packet read on one to the other, until SECONDS have passed or it is killed.
Only the two devices are touched; nothing leaves the namespaces.
"""
import ctypes
import fcntl
import os
import select
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000

libc = ctypes.CDLL(None, use_errno=True)


def enter(netns):
    fd = os.open("/var/run/netns/" + netns, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + netns)
    os.close(fd)


def attach(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main(argv):
    ns_a, tun_a, ns_b, tun_b, seconds = argv[1], argv[2], argv[3], argv[4], float(argv[5])
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter(ns_a)
    a = attach(tun_a)
    enter(ns_b)
    b = attach(tun_b)
    libc.setns(home, CLONE_NEWNET)
    peer = {a: b, b: a}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([a, b], [], [], 0.2)
        for fd in ready:
            packet = os.read(fd, 65536)
            try:
                os.write(peer[fd], packet)
            except OSError:
                pass  # the other end is not up yet: dropped, as on a wire
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
