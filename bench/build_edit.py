"""How long `stadtfeed build` takes into a built folder after one edit:
a new record of the current month, a title edit of a record of an old
month, and the new record's deletion, each followed by one build (wall
time of the process, files written). Then an unchanged build. Prints each
run and the medians.

    python bench/build_edit.py STADTFEED FEEDS OUT STATE [ROUNDS]

FEEDS must have been built into OUT with the state in STATE before (a
first build); edits are written whole and renamed into place. The old
record edited is the first of FEEDS/articles/2019/; its title gets a
counter, so the corpus changes (run it on a copy).
"""
import datetime
import glob
import os
import re
import statistics
import subprocess
import sys
import time


def place(path, text):
    """Whole, then renamed into place, as deploy tools write."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, path)


def build(binary, feeds, out, state):
    started = time.monotonic()
    done = subprocess.run([binary, "build", "--feeds", feeds, "--out", out, "--cache-dir", state],
                          capture_output=True, text=True, env={**os.environ, "RUST_LOG": "error"})
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(done.stderr)
    written = re.search(r"(\d+) files written", done.stderr)
    return elapsed, int(written.group(1)) if written else -1


def main():
    binary, feeds, out, state = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    folder = os.path.join(feeds, "articles", "bench-build")
    os.makedirs(folder, exist_ok=True)
    old = sorted(glob.glob(os.path.join(feeds, "articles", "2019", "*.md")))[0]
    times = {"new record": [], "title edit (2019)": [], "deletion": [], "unchanged": []}
    for n in range(rounds):
        now = datetime.datetime.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=1)
        new = os.path.join(folder, f"build-{int(time.time())}-{n}.md")
        place(new, f'+++\ntitle = "Build-Messung {n}"\ndate = "{now:%d.%m.%Y %H:%M}"\n'
                   f'categories = ["Rathaus", "Kultur"]\n+++\nText der Meldung {n}.\n')
        times["new record"].append(build(binary, feeds, out, state))
        with open(old, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r'^title\s*=\s*"(.*?)( \(\d+\))?"', lambda m: f'title = "{m.group(1)} ({n})"',
                      text, count=1, flags=re.M)
        place(old, text)
        times["title edit (2019)"].append(build(binary, feeds, out, state))
        os.remove(new)
        times["deletion"].append(build(binary, feeds, out, state))
        times["unchanged"].append(build(binary, feeds, out, state))
        print(" | ".join(f"{k}: {v[-1][0]:.2f} s ({v[-1][1]} files)" for k, v in times.items()),
              flush=True)
    for kind, runs in times.items():
        seconds = [s for s, _ in runs]
        print(f"{kind}: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s, "
              f"files written {sorted({w for _, w in runs})}")


if __name__ == "__main__":
    main()
