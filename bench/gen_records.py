#!/usr/bin/env python3
"""Writes N synthetic Werdau-style records into a content directory for benchmarks.

usage: bench/gen_records.py N OUT_DIR

Copies site.toml and media/ from the shipped feeds/, then writes N records
spread over 2015-2024 and twelve categories; every tenth has the shipped image.
"""
import random
import shutil
import sys
from pathlib import Path

CATEGORIES = ["Rathaus", "Polizei", "Baustellen", "Kultur", "Jugend & Soziales",
              "Straßenverkehr", "Öffentliche Ordnung", "Freizeit & Sport", "Sicherheit",
              "Wirtschaft", "Umwelt", "Schulen"]
WORDS = ("Stadtrat Werdau Bürger Straße Sperrung Markt Fest Verein Polizei Hinweis Bauarbeiten "
         "Umleitung Bürgermeister Schule Kita Wasser Park Bibliothek Konzert Jugend Sicherheit").split()


def paragraph(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def main():
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    repo = Path(__file__).resolve().parent.parent
    shutil.rmtree(out, ignore_errors=True)
    (out / "articles").mkdir(parents=True)
    shutil.copy(repo / "feeds" / "site.toml", out / "site.toml")
    shutil.copytree(repo / "feeds" / "media", out / "media")
    rng = random.Random(42)
    for i in range(count):
        year = 2015 + i % 10
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        hour, minute = rng.randint(6, 20), rng.choice([0, 15, 30, 45])
        cats = rng.sample(CATEGORIES, rng.randint(1, 3))
        folder = out / "articles" / str(year)
        folder.mkdir(exist_ok=True)
        image = ""
        if i % 10 == 0:
            image = ('\n[image]\nsrc = "media/2022/werdau-videokonferenz.jpg"\n'
                     'alt = "Videokonferenz"\ncaption = "Bildunterschrift"\ncredit = "© Stadt Werdau"\n')
        body = "\n\n".join(paragraph(rng, rng.randint(30, 80)) for _ in range(rng.randint(2, 5)))
        (folder / f"meldung-{i:06d}.md").write_text(
            f'+++\ntitle = "{paragraph(rng, 8)[:-1]} ({i})"\n'
            f'date = "{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}"\n'
            f'categories = {cats!r}\n'.replace("'", '"') + image +
            f'+++\n{body}\n\nMehr unter [der Website](https://www.werdau.de/) und **fett** gesetzt.\n',
            encoding="utf-8")


if __name__ == "__main__":
    main()
