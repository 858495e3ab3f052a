#!/usr/bin/env python3
"""Validate the labeled sets and print their composition.

Usage: python3 check_sets.py [DATA_DIR]   (default: the parent of this tools/ folder)

Checks every labeled-NAME.jsonl file (ids NAME-NNNN): every line is a JSON object
with exactly the required fields and allowed values, ids are unique and well
formed, and no item appears twice (exit status 1 otherwise).  It also lists items
of one file that are near-copies of one in another (word-set Jaccard of
title+summary >= 0.6, or identical titles): a held-out set should share none
with the sets rules were tuned on.
Stdlib only.
"""
import collections
import json
import os
import re
import sys

FIELDS = ("id", "title", "summary", "relevant", "lang", "era", "kind", "source")
LANGS = ("en", "tr", "ar", "pl")
ERAS = ("2022-23", "2024", "2025-26")
SOURCES = ("corpus-2022-12", "written")
NEAR = 0.6


def words(d):
    text = re.sub(r"<[^>]+>|&[#\w]+;", " ", d["title"] + " " + d["summary"]).lower()
    return set(re.findall(r"\w+", text))


def load(path, prefix, errors):
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            where = f"{os.path.basename(path)}:{n}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: invalid JSON ({e})")
                continue
            if not isinstance(d, dict) or tuple(sorted(d)) != tuple(sorted(FIELDS)):
                errors.append(f"{where}: fields must be exactly {FIELDS}")
                continue
            if not re.fullmatch(r"[a-z0-9]+-\d{4}", str(d["id"])):
                errors.append(f"{where}: bad id {d['id']!r}")
            if not isinstance(d["relevant"], bool):
                errors.append(f"{where}: relevant must be true/false")
            for key, allowed in (("lang", LANGS), ("era", ERAS), ("source", SOURCES)):
                if d[key] not in allowed:
                    errors.append(f"{where}: {key}={d[key]!r} not in {allowed}")
            if not isinstance(d["title"], str) or not d["title"].strip():
                errors.append(f"{where}: empty title")
            if not isinstance(d["summary"], str):
                errors.append(f"{where}: summary must be a string")
            elif not d["summary"].strip() and d["source"] != "corpus-2022-12":
                errors.append(f"{where}: empty summary in a written item")
            if not re.fullmatch(r"[a-z0-9-]+", str(d["kind"])):
                errors.append(f"{where}: bad kind {d['kind']!r}")
            if d["source"] == "corpus-2022-12" and (d["era"] != "2022-23"):
                errors.append(f"{where}: corpus items are era 2022-23")
            items.append(d)
    return items


def table(items, title):
    print(f"\n{title}: {len(items)} items, "
          f"{sum(d['relevant'] for d in items)} relevant "
          f"({100 * sum(d['relevant'] for d in items) / max(len(items), 1):.0f}%)")
    c = collections.Counter((d["lang"], d["era"], d["relevant"]) for d in items)
    print(f"  {'lang':4} {'era':8} {'rel':>5} {'not':>5} {'all':>5}")
    for lang in LANGS:
        for era in ERAS:
            r, n = c[(lang, era, True)], c[(lang, era, False)]
            print(f"  {lang:4} {era:8} {r:5} {n:5} {r + n:5}")
        r = sum(c[(lang, e, True)] for e in ERAS)
        n = sum(c[(lang, e, False)] for e in ERAS)
        print(f"  {lang:4} {'total':8} {r:5} {n:5} {r + n:5} ({100 * (r + n) / max(len(items), 1):.0f}%)")
    src = collections.Counter(d["source"] for d in items)
    print("  source:", dict(src))
    kinds = collections.Counter((d["relevant"], d["kind"]) for d in items)
    print("  kinds (relevant):", ", ".join(f"{k}={v}" for (r, k), v in sorted(kinds.items()) if r))
    print("  kinds (not):     ", ", ".join(f"{k}={v}" for (r, k), v in sorted(kinds.items()) if not r))


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errors, sets = [], {}
    for name in sorted(os.listdir(data_dir)):
        m = re.fullmatch(r"labeled-([a-z0-9]+)\.jsonl", name)
        if m:
            sets[m.group(1)] = load(os.path.join(data_dir, name), m.group(1), errors)
    every = [d for items in sets.values() for d in items]
    ids = collections.Counter(d["id"] for d in every)
    errors += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    texts = collections.Counter((d["title"], d["summary"]) for d in every)
    errors += [f"duplicate item: {t[:60]!r}" for (t, s), c in texts.items() if c > 1]
    names = list(sets)
    near = collections.Counter()
    for i, a in enumerate(names):
        a_w = [(d, words(d)) for d in sets[a]]
        for b in names[i + 1:]:
            for h in sets[b]:
                hw = words(h)
                for d, dw in a_w:
                    jac = len(hw & dw) / max(len(hw | dw), 1)
                    if jac >= NEAR or h["title"].strip().lower() == d["title"].strip().lower():
                        near[(a, b)] += 1
                        print(f"near-copy: {d['id']} / {h['id']} (jaccard {jac:.2f}): {h['title'][:70]!r}")
    for prefix, items in sets.items():
        table(items, prefix)
    table(every, "all")
    # Reported, not failed: sets written before this check existed share some headlines (the same
    # real event), which flatters the older holdouts a little. A new held-out set should show none.
    if near:
        print("\nnear-copies between files (a held-out set should have none):")
        for (a, b), n in sorted(near.items()):
            print(f"  {a} / {b}: {n}")
    if errors:
        print("\nERRORS:")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print("\nOK: valid JSON, unique ids, required fields")


if __name__ == "__main__":
    main()
