#!/usr/bin/env python3
"""What an edit costs at scale: `stadtfeed serve` start-up, memory and
edit-to-served latency, and `build` fresh / unchanged / after one edit,
on a gen-corpus content directory; python-feedgen writing RSS and Atom of
all entries as the reference in the same run.

    bench/scale.py --corpus DIR [--jsonl FILE] [--edits 102] [--cache-mb 64]

DIR is made by ../shared/tools/gen-corpus --n N --out DIR --seed 1 and is
not changed (the run works on a hard-linked copy and writes records by
rename, so the corpus keeps its files). --jsonl is the same corpus as
gen-corpus --jsonl writes it, for the feedgen reference (skipped without).
Build the release binary first (cargo build --release).

The first start is measured with the corpus in the page cache (read just
before, as after a deploy that has just written it), so that it measures
stadtfeed and not how long ago the disk was last read: this machine pages
out what has not been read for a while. Run as root, it is also measured
with an empty page cache (drop_caches), as after a reboot.

The fresh build runs twice, each time followed by feedgen, into folders of
its own; the ratio is taken over both. At 100 000 records the run needs
about 13 GB free under the temporary folder.
"""
import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Another binary (an older commit's, for a comparison in the same hour) by
# STADTFEED_BIN.
BIN = os.environ.get("STADTFEED_BIN", os.path.join(ROOT, "target", "release", "stadtfeed"))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Client:
    """One keep-alive connection, re-opened when the server closes it."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, headers=None):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.conn.request(method, path, headers=headers or {})
                response = self.conn.getresponse()
                body = response.read()
                return response.status, response.headers, body
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn = None
        raise RuntimeError(f"{method} {path} failed twice")


def read_all(folder):
    """Reads every file under folder, so that the page cache holds it."""
    for parent, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(parent, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def drop_page_cache():
    """Empties the page cache (root only); False when it cannot."""
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def journal_less_ext4(path):
    """Whether path is on ext4 without a journal. There the kernel does not
    reuse an inode within 60 s of its deletion (360 s while its inode table
    block is unwritten: recently_deleted() in fs/ext4/ialloc.c) and scans
    past each such inode, so making many files right after deleting many
    is several times slower."""
    path, best, device = os.path.abspath(path), "", None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mount, rest = fields[4], fields[fields.index("-") + 1:]
                inside = path == mount or path.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) > len(best):
                    best, device = mount, (rest[0], os.path.basename(rest[1]))
        if device is None or device[0] != "ext4":
            return False
        with open(f"/sys/fs/ext4/{device[1]}/journal_task") as f:
            return f.read().strip() == "<none>"
    except (OSError, ValueError, IndexError):
        return False


def machine_speed():
    """Seconds for fixed single-threaded work: sessions run on machines of
    different speed (session 20's was 2.3-2.6 times slower than session 19's), and
    absolute times compare only with this line alongside."""
    began = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop = time.perf_counter() - began
    began = time.perf_counter()
    hashlib.sha256(bytes(256 << 20)).digest()
    return loop, time.perf_counter() - began


def start(feeds, state, port, cache_mb, binary=BIN):
    began = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "serve", "--feeds", feeds, "--addr", f"127.0.0.1:{port}",
         "--cache-dir", state, "--cache-mb", str(cache_mb)],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    client = Client(port)
    while True:
        try:
            status, _, _ = client.request("GET", "/feed.rss")
            if status == 200:
                return proc, time.perf_counter() - began, client
        except RuntimeError:
            pass
        if proc.poll() is not None:
            sys.exit("serve exited")
        time.sleep(0.01)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def wait_change(client, path, old_etag, check):
    """Polls `path` until its ETag moves and `check(body)` holds; returns when."""
    while True:
        _, headers, _ = client.request("HEAD", path)
        if headers.get("ETag") != old_etag:
            _, headers, body = client.request("GET", path)
            if check(body.decode()):
                return time.perf_counter()
        time.sleep(0.001)


def record(title, when):
    return (f'+++\ntitle = "{title}"\ndate = "{when:%d.%m.%Y %H:%M}"\n'
            f'categories = ["Rathaus", "Kultur"]\n+++\nText der Meldung {title}.\n')


def place(work, path, text):
    """Writes a record the way deploy tools do: whole, then renamed into place."""
    tmp = os.path.join(work, "tmp.md")
    with open(tmp, "w") as f:
        f.write(text)
    began = time.perf_counter()
    os.rename(tmp, path)
    return began


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(cmd):
    began = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if out.returncode not in (0, 1):
        sys.exit(out.stderr)
    lines = out.stderr.strip().splitlines()
    summary = [line for line in lines if line.startswith("built ")]
    if not summary:
        # Refused records exit 1 too, but still build; this did not (a full disk, say).
        sys.exit(f"{' '.join(cmd)} failed:\n" + "\n".join(lines[-5:]))
    return elapsed, int(lines[-1]) / 1024, summary[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--jsonl")
    ap.add_argument("--edits", type=int, default=102)
    ap.add_argument("--cache-mb", type=int, default=64)
    ap.add_argument("--port", type=int, default=18300)
    ap.add_argument("--first-starts", type=int, default=5,
                    help="first starts without state to time (the median is the number)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="stadtfeed-scale-")
    try:
        feeds = os.path.join(work, "feeds")
        subprocess.run(["cp", "-al", os.path.abspath(a.corpus), feeds], check=True)
        n = sum(len(f) for _, _, f in os.walk(os.path.join(feeds, "articles")))
        print(f"{n} records, load {os.getloadavg()[0]:.2f}")
        loop, sha = machine_speed()
        print(f"machine: 10 M-step Python loop {loop:.2f} s, SHA-256 of 256 MiB {sha:.2f} s")
        if journal_less_ext4(work):
            print(f"note: {work} is on ext4 without a journal, where files made within"
                  " 1-6 minutes of a large deletion are slow to create (bench/README.md)")
        state = os.path.join(work, "serve-state")

        if drop_page_cache():
            proc, cold, _ = start(feeds, state, a.port, a.cache_mb)
            print(f"serve, first start (no state, empty page cache): /feed.rss after {cold:.2f} s")
            stop(proc)
            shutil.rmtree(state)
        # One start varies by a quarter on this shared machine: the median
        # of several, each into a state folder of its own (the first start
        # writes 230 MB of state, and files made just after a large
        # deletion are slow to create here). Before each, the last start's
        # state is written out and the corpus read (as in first_start.py):
        # started back to back, each start shared the CPU with the
        # writeback of the one before (session 30: 3.00 s median where
        # first_start.py measured 2.50 s in the same hour).
        firsts = []
        for i in range(a.first_starts):
            subprocess.run(["sync"], check=True)
            read_all(feeds)
            first_state = os.path.join(work, f"first-state-{i}")
            proc, first, _ = start(feeds, first_state, a.port, a.cache_mb)
            firsts.append((first, rss_mb(proc.pid)))
            stop(proc)
        times = sorted(t for t, _ in firsts)
        print(f"serve, first start (no state): /feed.rss after {statistics.median(times):.2f} s"
              f" median of {len(times)} ({times[0]:.2f}-{times[-1]:.2f} s),"
              f" RSS {statistics.median(r for _, r in firsts):.0f} MB")
        os.rename(os.path.join(work, "first-state-0"), state)
        for i in range(1, a.first_starts):
            shutil.rmtree(os.path.join(work, f"first-state-{i}"))
        proc, warm, client = start(feeds, state, a.port, a.cache_mb)
        print(f"serve, restart: /feed.rss after {warm:.2f} s, RSS {rss_mb(proc.pid):.0f} MB")
        time.sleep(1)
        rss_start = rss_mb(proc.pid)

        now = datetime.now(ZoneInfo("Europe/Berlin")).replace(second=0, microsecond=0)
        folder = os.path.join(feeds, "articles", "bench")
        os.makedirs(folder, exist_ok=True)
        time.sleep(0.5)
        latency = {"new": [], "title edit": [], "delete": []}
        for i in range(a.edits // 3):
            path = os.path.join(folder, f"b{i}.md")
            when = now - timedelta(minutes=1)
            _, h, _ = client.request("HEAD", "/feed.rss")
            began = place(work, path, record(f"Bench {i}", when))
            latency["new"].append(wait_change(client, "/feed.rss", h["ETag"], lambda b: f"Bench {i}<" in b) - began)
            _, h, _ = client.request("HEAD", "/feed.rss")
            began = place(work, path, record(f"Bench {i} korrigiert", when))
            latency["title edit"].append(wait_change(client, "/feed.rss", h["ETag"], lambda b: f"Bench {i} korrigiert" in b) - began)
            _, h, _ = client.request("HEAD", "/feed.rss")
            began = time.perf_counter()
            os.unlink(path)
            latency["delete"].append(wait_change(client, "/feed.rss", h["ETag"], lambda b: f"Bench {i} korrigiert" not in b) - began)
        for kind, values in latency.items():
            ms = [v * 1000 for v in values]
            print(f"{kind:>10} → served: median {statistics.median(ms):.0f} ms, p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms ({len(ms)} edits)")
        rss_edits = rss_mb(proc.pid)
        time.sleep(2)
        print(f"RSS: {rss_start:.0f} MB after start, {rss_edits:.0f} MB after {3 * (a.edits // 3)} edits,"
              f" {rss_mb(proc.pid):.0f} MB 2 s later (freed memory is handed back after a quiet second)")
        stop(proc)

        # Two fresh builds, each followed by feedgen, so that both see the
        # same moments of a noisy machine; the second into a folder of its
        # own (deleting the first would slow the second on a journal-less
        # ext4, see journal_less_ext4).
        builds = [(os.path.join(work, f"out-{i}"),
                   [BIN, "build", "--feeds", feeds, "--out", os.path.join(work, f"out-{i}"),
                    "--cache-dir", os.path.join(work, f"build-state-{i}")])
                  for i in (1, 2)]
        feedgen = []
        fresh = []
        for i, (_, cmd) in enumerate(builds, start=1):
            elapsed, peak, line = timed(cmd)
            fresh.append(elapsed)
            print(f"build fresh ({i}): {elapsed:.1f} s, peak {peak:.0f} MB; {line}")
            if a.jsonl:
                script = os.path.join(ROOT, "bench", "feedgen_all.py")
                began = time.perf_counter()
                subprocess.run([sys.executable, script, a.jsonl, work], check=True)
                feedgen.append(time.perf_counter() - began)
                print(f"python-feedgen ({i}), RSS and Atom of all {n} entries: {feedgen[-1]:.1f} s"
                      f" (fresh build / feedgen = {fresh[-1] / feedgen[-1]:.2f})")
        if feedgen:
            print(f"fresh build / feedgen, both runs: {sum(fresh) / sum(feedgen):.2f}")
        # Unchanged and after one edit: into the first build's folder.
        out, cmd = builds[0]
        same, peak, line = timed(cmd)
        print(f"build unchanged: {same:.2f} s, peak {peak:.0f} MB; {line}")
        place(work, os.path.join(folder, "neu.md"), record("Eine neue Meldung", now - timedelta(minutes=1)))
        one, peak, line = timed(cmd)
        print(f"build after one new record: {one:.2f} s, peak {peak:.0f} MB; {line}")
        du = subprocess.run(["du", "-sh", "--apparent-size", out], capture_output=True, text=True).stdout.split()[0]
        print(f"build output: {sum(len(f) for _, _, f in os.walk(out))} files, {du}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
