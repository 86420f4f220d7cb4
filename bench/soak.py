#!/usr/bin/env python3
"""Soak: wrk against `stadtfeed serve` for a long while (plain, gzip and
conditional requests) while a loop adds, edits, breaks and deletes records
and swaps the content directory every few seconds.

    bench/soak.py --corpus DIR [--minutes 10] [--port 18400]

DIR: a gen-corpus content directory (e.g. --n 1000); it is not changed
(the run works on two copies and swaps a symlink between them). Passes
when wrk saw no non-2xx/3xx answer and no socket errors but its own
timeouts at the end, every sampled document (the subscription feeds,
OPML and two cold month archives) parsed and answered its own ETag with
304, and resident memory did not creep: its floor in the last
minute (the lowest of samples every 2 s) is within 10 % of its floor in
the minute after warm-up. A reload (each directory swap re-reads every
record) holds the old and the new index for a moment, so single samples
spike by tens of MB and fall back; the floor rises only if memory is
kept. The peak is reported.
"""
import argparse
import gzip
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.dom.minidom

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "stadtfeed")

WRK_SCRIPT = """
local paths = {"/feed.rss", "/feed.atom", "/feed.json", "/", "/archiv/", "/feeds.opml"}
local etags = {}
local i = 0
request = function()
  i = i + 1
  local path = paths[i % #paths + 1]
  local kind = i % 3
  local headers = {}
  if kind == 1 then headers["Accept-Encoding"] = "gzip, br" end
  if kind == 2 and etags[path] then headers["If-None-Match"] = etags[path] end
  return wrk.format("GET", path, headers)
end
response = function(status, headers, body)
  if status >= 500 then print("5xx " .. status) end
end
"""


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def prev_archive(port, path):
    """The path of the archive `path` links to as prev-archive, if any."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    body = conn.getresponse().read().decode()
    conn.close()
    for tag in re.findall(r"<link [^>]*>", body):
        href = re.search(r'href="([^"]+)"', tag)
        if 'rel="prev-archive"' in tag and href and "/archiv/" in href.group(1):
            return "/archiv/" + href.group(1).split("/archiv/", 1)[1]
    return None


def sample(port, stats, stop):
    """Fetches documents, checks they parse and that their ETag gives 304."""
    paths = ["/feed.rss", "/feed.atom", "/feed.json", "/feeds.opml"]
    # Two cold documents, archives of the corpus's own months (the newest
    # may be the soak records' month, which a swap can take away): the
    # month before the newest (its next-archive link changes with the
    # soak month) and the one before that.
    newest = prev_archive(port, "/feed.atom")
    before = newest and prev_archive(port, newest)
    earlier = before and prev_archive(port, before)
    paths += [p for p in (before, earlier) if p]
    stats["cold_paths"] = len(paths) - 4
    while not stop.is_set():
        for path in paths:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
                r = conn.getresponse()
                body = r.read()
                etag = r.getheader("ETag")
                if r.status != 200:
                    stats["bad_status"] += 1
                    continue
                if r.getheader("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if path.endswith(".json"):
                    json.loads(body)
                else:
                    xml.dom.minidom.parseString(body)
                conn.request("GET", path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
                r2 = conn.getresponse()
                r2.read()
                # 304, or 200 when a reload happened in between.
                if r2.status == 304:
                    stats["revalidated"] += 1
                elif r2.status == 200 and r2.getheader("ETag") != etag:
                    stats["changed_between"] += 1
                else:
                    stats["etag_mismatch"] += 1
                stats["sampled"] += 1
                conn.close()
            except Exception as e:  # noqa: BLE001 - every failure counts
                stats["sample_errors"] += 1
                stats["last_error"] = repr(e)
        time.sleep(0.2)


def mutate(work, stop, stats):
    """Adds, edits, breaks, deletes records; swaps the directory."""
    rnd = random.Random(1)
    n = 0
    while not stop.is_set():
        current = os.path.realpath(os.path.join(work, "current"))
        articles = os.path.join(current, "articles", "soak")
        os.makedirs(articles, exist_ok=True)
        n += 1
        action = n % 5
        path = os.path.join(articles, f"s{n % 20}.md")
        text = (f'+++\ntitle = "Soak {n}"\ndate = "01.11.2026 10:{n % 60:02d}"\n'
                f'categories = ["Rathaus"]\n+++\nText {n}.\n')
        if action in (0, 1):
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, path)
        elif action == 2 and os.path.exists(path):
            with open(path, "w") as f:
                f.write("+++\ntitle = \"kaputt\"\ndate = \"gestern\"\n+++\n")
        elif action == 3 and os.path.exists(path):
            os.unlink(path)
        else:
            # Swap the symlink to the other copy, as deploy tools do.
            other = os.path.join(work, "b" if current.endswith("/a") else "a")
            tmp_link = os.path.join(work, "current.tmp")
            if os.path.lexists(tmp_link):
                os.unlink(tmp_link)
            os.symlink(other, tmp_link)
            os.replace(tmp_link, os.path.join(work, "current"))
            stats["swaps"] += 1
        stats["mutations"] += 1
        time.sleep(rnd.uniform(1, 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--port", type=int, default=18400)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="stadtfeed-soak-")
    proc = None
    try:
        for name in ("a", "b"):
            shutil.copytree(a.corpus, os.path.join(work, name), symlinks=True)
        os.symlink(os.path.join(work, "a"), os.path.join(work, "current"))
        proc = subprocess.Popen(
            [BIN, "serve", "--feeds", os.path.join(work, "current"), "--addr", f"127.0.0.1:{a.port}",
             "--cache-dir", os.path.join(work, "state"),
             # wrk's connections and the sampler all come from 127.0.0.1.
             "--max-per-client", "1000"],
            env={**os.environ, "RUST_LOG": "warn"}, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        lua = os.path.join(work, "soak.lua")
        with open(lua, "w") as f:
            f.write(WRK_SCRIPT)
        seconds = int(a.minutes * 60)
        stats = {k: 0 for k in ("sampled", "revalidated", "changed_between", "etag_mismatch",
                                "bad_status", "sample_errors", "mutations", "swaps")}
        stop = threading.Event()
        threads = [threading.Thread(target=sample, args=(a.port, stats, stop)),
                   threading.Thread(target=mutate, args=(work, stop, stats))]
        for t in threads:
            t.start()
        wrk = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", lua, f"http://127.0.0.1:{a.port}"],
                               stdout=subprocess.PIPE, text=True)
        warm_up = min(60, seconds / 5)
        window = min(60, seconds / 5)
        began = time.monotonic()
        samples = []  # (seconds since the start, MB)
        while wrk.poll() is None:
            samples.append((time.monotonic() - began, rss_mb(proc.pid)))
            time.sleep(2)
        last = samples[-1][0] if samples else 0
        warm = min((mb for t, mb in samples if warm_up <= t < warm_up + window), default=float("nan"))
        end = min((mb for t, mb in samples if t >= last - window), default=float("nan"))
        peak = max((mb for t, mb in samples if t >= warm_up), default=float("nan"))
        stop.set()
        for t in threads:
            t.join()
        out = wrk.stdout.read()
        print(out)
        fivexx = out.count("5xx ")
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        print(json.dumps(stats))
        print(f"RSS floor after warm-up {warm:.0f} MB, in the last minute {end:.0f} MB; peak {peak:.0f} MB")
        ok = (fivexx == 0 and not non2xx and stats["etag_mismatch"] == 0 and stats["sample_errors"] == 0
              and stats.get("cold_paths") == 2
              and stats["bad_status"] == 0 and (not errors or int(errors.group(1)) + int(errors.group(2)) + int(errors.group(3)) == 0)
              and end <= warm * 1.10)
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
