#!/usr/bin/env python3
"""The reference for `build`: python-feedgen (PyPI `feedgen`) writes one RSS
and one Atom document of every entry in a gen-corpus --jsonl file.

    bench/feedgen_all.py FILE.jsonl OUTDIR
"""
import json
import os
import sys

from feedgen.feed import FeedGenerator


def main():
    source, out = sys.argv[1], sys.argv[2]
    fg = FeedGenerator()
    fg.id("https://www.werdau.de/feeds/")
    fg.title("Stadt Werdau – Aktuelle Meldungen")
    fg.link(href="https://www.werdau.de/feeds/", rel="alternate")
    fg.description("Neuigkeiten aus der Großen Kreisstadt Werdau")
    fg.language("de-DE")
    with open(source, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            fe = fg.add_entry(order="append")
            fe.id(r["page_url"])
            fe.title(r["title"])
            fe.link(href=r["link"])
            fe.description(r["summary"])
            fe.content(r["body_html"], type="CDATA")
            fe.author(name=r["author"])
            for category in r["categories"]:
                fe.category(term=category)
            fe.published(r["date_rfc3339"])
            fe.updated(r["updated"] or r["date_rfc3339"])
            image = r.get("image")
            if image:
                fe.enclosure(image["url"], str(image["length"]), image["type"])
    fg.rss_file(os.path.join(out, "feedgen.rss"))
    fg.atom_file(os.path.join(out, "feedgen.atom"))


if __name__ == "__main__":
    main()
