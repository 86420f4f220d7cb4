#!/usr/bin/env python3
"""What `sendfile` costs from a memory file (memfd) and from an unnamed
file on disk (O_TMPFILE), the two files `serve` can keep a large hot body
in (src/serve/sendfile.rs): a 141 KB body (the size of a large site's
/feed.rss) sent 20 000 times over loopback to a child that reads and
drops it, the two sources taking turns.

    bench/sendfile_source.py [--dir DIR] [--rounds 5]

DIR is where the unnamed file goes (default /tmp; `serve` uses its state
directory). Prints, per run, the wall time and the CPU time of the sender
(system) and of the receiving child (user + system).
"""
import argparse
import os
import socket
import statistics
import time

BODY = 141_385
SENDS = 20_000


def body_file(kind, directory):
    data = os.urandom(BODY)
    if kind == "memfd":
        fd = os.memfd_create("body")
    else:
        fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    os.write(fd, data)
    return fd


def run(kind, directory):
    fd = body_file(kind, directory)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    child = os.fork()
    if child == 0:
        client = socket.create_connection(listener.getsockname())
        buffer = bytearray(1 << 20)
        while client.recv_into(buffer):
            pass
        os._exit(0)
    sender, _ = listener.accept()
    began, times = time.perf_counter(), os.times()
    for _ in range(SENDS):
        offset = 0
        while offset < BODY:
            offset += os.sendfile(sender.fileno(), fd, offset, BODY - offset)
    sender.shutdown(socket.SHUT_WR)
    os.waitpid(child, 0)
    wall, after = time.perf_counter() - began, os.times()
    os.close(fd)
    sender.close()
    listener.close()
    return (wall, after.system - times.system,
            after.children_user + after.children_system - times.children_user - times.children_system)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}; {SENDS} sends of {BODY} bytes per run; unnamed files in {a.dir}")
    results = {"memfd": [], "tmpfile": []}
    for _ in range(a.rounds):
        for kind in results:
            wall, sender, receiver = run(kind, a.dir)
            results[kind].append((wall, sender, receiver))
            print(f"{kind}: {wall:.2f} s, sender {sender:.2f} s CPU, receiver {receiver:.2f} s CPU", flush=True)
    for kind, runs in results.items():
        print(f"{kind}: median {statistics.median(r[0] for r in runs):.2f} s, sender"
              f" {statistics.median(r[1] for r in runs):.2f} s, receiver {statistics.median(r[2] for r in runs):.2f} s")


if __name__ == "__main__":
    main()
