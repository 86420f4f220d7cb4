"""How long one edit takes to reach a bucket that `serve --publish-to`
keeps in step: a new record is renamed into place, then the bucket's
`feed.rss` (the last object a publish puts) is polled through the S3 API
until it names the record. Prints each time and the median.

    python bench/publish_edit.py FEEDS BUCKET S3_ENDPOINT [EDITS]

FEEDS is the content directory the running `serve --publish-to
s3://BUCKET` reads; its first publish must be done. The new records go
under FEEDS/articles/bench-publish/ and stay there.
"""
import datetime
import os
import statistics
import sys
import time
from zoneinfo import ZoneInfo

import boto3
from botocore.config import Config


def record(title, when):
    return (f'+++\ntitle = "{title}"\ndate = "{when:%d.%m.%Y %H:%M}"\n'
            f'categories = ["Rathaus", "Kultur"]\n+++\nText der Meldung {title}.\n')


def place(path, text):
    """Whole, then renamed into place, as deploy tools write."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    feeds, bucket, endpoint = sys.argv[1:4]
    edits = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "garage"),
                      config=Config(retries={"max_attempts": 1}))
    folder = os.path.join(feeds, "articles", "bench-publish")
    os.makedirs(folder, exist_ok=True)
    times = []
    for n in range(edits):
        # Minutes of today that have passed, so the record is not scheduled.
        # The site's time zone: a record of "now" in UTC would be an hour
        # old in Berlin, behind records other scripts wrote.
        now = (datetime.datetime.now(ZoneInfo("Europe/Berlin")).replace(second=0, microsecond=0)
               - datetime.timedelta(minutes=1))
        title = f"Bucket-Messung {int(time.time())}-{n}"
        started = time.monotonic()
        place(os.path.join(folder, f"publish-{int(time.time())}-{n}.md"), record(title, now))
        while True:
            body = s3.get_object(Bucket=bucket, Key="feed.rss")["Body"].read()
            if title.encode() in body:
                break
            if time.monotonic() - started > 120:
                sys.exit(f"{title}: not in the bucket's feed.rss after 120 s")
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        times.append(elapsed)
        print(f"edit {n + 1}: in the bucket's feed.rss after {elapsed * 1000:.0f} ms", flush=True)
        time.sleep(2)
    print(f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"over {len(times)} edits; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
