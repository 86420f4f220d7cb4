"""Compares a bucket with `stadtfeed build`'s folder, through Garage's S3
API and its website endpoint: every document's bytes, Content-Type and
Cache-Control (the expected headers are the ones `_headers` names, which
tests/static_hosts.rs holds equal to what `serve` sends).

    python bench/publish_check.py BUILD_DIR BUCKET S3_ENDPOINT WEB_ENDPOINT
"""
import concurrent.futures
import os
import sys
import urllib.request

import boto3
from botocore.config import Config


def expected_headers(build_dir):
    rules, current = [], None
    for line in open(os.path.join(build_dir, "_headers"), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if line.startswith("  "):
            name, value = line.strip().split(": ", 1)
            current[1][name.lower()] = value
        else:
            current = (line, {})
            rules.append(current)
    exact = {p: h for p, h in rules if not p.endswith("*")}
    folders = [(p[:-1], h) for p, h in rules if p.endswith("*")]

    def lookup(url):
        if url in exact:
            return exact[url]
        for folder, headers in folders:
            if url.startswith(folder):
                return headers
        return None

    return lookup


def main():
    build_dir, bucket, s3_endpoint, web_endpoint = sys.argv[1:5]
    lookup = expected_headers(build_dir)
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=os.environ.get("AWS_REGION", "garage"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    paths = []
    for root, _, files in os.walk(build_dir):
        for name in files:
            path = os.path.relpath(os.path.join(root, name), build_dir)
            if path in ("_headers", "nginx-stadtfeed.conf") or path.endswith((".gz", ".br")):
                continue
            paths.append(path)

    def check(path):
        problems = []
        with open(os.path.join(build_dir, path), "rb") as f:
            want = f.read()
        url = "/" + (path[: -len("index.html")] if path.endswith("index.html") else path)
        headers = lookup(url) or {}
        got = s3.get_object(Bucket=bucket, Key=path)
        body = got["Body"].read()
        if body != want:
            problems.append(f"{path}: S3 bytes differ")
        for name, key in (("content-type", "ContentType"), ("cache-control", "CacheControl")):
            if name in headers and got.get(key) != headers[name]:
                problems.append(f"{path}: S3 {name} {got.get(key)!r} != {headers[name]!r}")
        request = urllib.request.Request(
            web_endpoint + url, headers={"Host": f"{bucket}.web.garage.localhost"}
        )
        with urllib.request.urlopen(request) as response:
            body = response.read()
            if body != want:
                problems.append(f"{url}: website bytes differ")
            for name in ("content-type", "cache-control"):
                if name in headers and response.headers.get(name) != headers[name]:
                    problems.append(
                        f"{url}: website {name} {response.headers.get(name)!r} != {headers[name]!r}"
                    )
        return problems

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        problems = [p for result in pool.map(check, paths) for p in result]
    for problem in problems[:20]:
        print(problem)
    print(f"{bucket}: {len(paths)} documents compared through S3 and the website endpoint, {len(problems)} differences")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
