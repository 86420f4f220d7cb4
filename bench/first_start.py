#!/usr/bin/env python3
"""Times `serve`'s first start without state (until /feed.rss answers 200)
for one or more binaries, taking turns, so that two commits compare in the
same minutes of this shared, noisy machine.

    bench/first_start.py --corpus /tmp/c100k --rounds 5 OLD_BIN NEW_BIN

With --restart it times restarts instead: each binary makes its state
folder in a first start (not timed, given 6 s to save it), and each round
starts it again with that state.

The corpus is read once before each start (a warm page cache, as in
bench/scale.py); each start gets a state folder of its own, removed after.
Prints each start, then per binary the median, minimum and maximum; with
the CPU seconds (user + system) the server spent until it answered, which
vary less with the machine's load than the wall time.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale import machine_speed, read_all, start, stop  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--port", type=int, default=18390)
    ap.add_argument("--cache-mb", type=int, default=64)
    ap.add_argument("--restart", action="store_true")
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    loop, sha = machine_speed()
    print(f"load {os.getloadavg()[0]:.2f}; machine: 10 M-step Python loop {loop:.2f} s,"
          f" SHA-256 of 256 MiB {sha:.2f} s")
    times = {binary: [] for binary in a.binaries}
    cpu = {binary: [] for binary in a.binaries}
    with tempfile.TemporaryDirectory(prefix="stadtfeed-first-") as work:
        kept = {binary: os.path.join(work, f"kept-{i}") for i, binary in enumerate(a.binaries)}
        if a.restart:
            for binary in a.binaries:
                read_all(a.corpus)
                proc, _, _ = start(a.corpus, kept[binary], a.port, a.cache_mb, binary)
                time.sleep(6)
                stop(proc)
        for round in range(a.rounds):
            for binary in a.binaries:
                # The last start's state written out first (as in scale.py).
                subprocess.run(["sync"], check=True)
                read_all(a.corpus)
                state = kept[binary] if a.restart else os.path.join(
                    work, f"state-{round}-{len(times[binary])}-{os.path.basename(binary)}")
                proc, took, _ = start(a.corpus, state, a.port, a.cache_mb, binary)
                spent = cpu_seconds(proc.pid)
                stop(proc)
                if not a.restart:
                    shutil.rmtree(state, ignore_errors=True)
                times[binary].append(took)
                cpu[binary].append(spent)
                print(f"round {round + 1}: {binary}: {took:.2f} s, CPU {spent:.2f} s", flush=True)
    for binary, took in times.items():
        took.sort()
        spent = sorted(cpu[binary])
        print(f"{binary}: median {statistics.median(took):.2f} s ({took[0]:.2f}-{took[-1]:.2f} s,"
              f" {len(took)} starts); CPU median {statistics.median(spent):.2f} s"
              f" ({spent[0]:.2f}-{spent[-1]:.2f} s)")


def cpu_seconds(pid):
    """User and system time of a running process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
