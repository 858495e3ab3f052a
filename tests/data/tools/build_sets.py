#!/usr/bin/env python3
"""One-time assembly of labeled-dev.jsonl and labeled-holdout.jsonl.

Usage:
    python3 build_sets.py CORPUS_GZ WRITTEN_DIR OUT_DIR

CORPUS_GZ    shared/corpus/news-2022-12.jsonl.gz
WRITTEN_DIR  directory of hand-written item files (*.txt), format:
                 lang: en|tr|ar              (first line of a file)
                 @ R|N ERA KIND              (one header per item)
                 Title line
                 Summary line (may hold HTML)
             Items are separated by blank lines; lines starting with '#' are ignored.
OUT_DIR      where labeled-dev.jsonl and labeled-holdout.jsonl are written.

The hand-written source files are not kept in the repository: after assembly the
two JSONL files are the source of truth (edit them directly; re-check with
check_sets.py).  Stdlib only.
"""
import glob
import gzip
import hashlib
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_labels

ERAS = ("2022-23", "2024", "2025-26")
LANGS = ("en", "tr", "ar")
HOLDOUT_SHARE = 200 / 650

# Entries matching this are never drawn as "random unrelated" items.
TOPIC_RE = re.compile(
    r"turk|türk|ankara|erdo[gğ]an|istanbul|syria|damascus|\bassad\b|kurd|\bsdf\b|\bypg\b|\bpkk\b|"
    r"aleppo|idlib|kobani|manbij|\bisis\b|\bisil\b|islamic state",
    re.IGNORECASE,
)


def h(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def load_corpus(path):
    wanted = {idx: (link, rel, kind) for idx, link, rel, kind in corpus_labels.LABELS}
    items, pool = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            d = json.loads(line)
            title = d.get("title") or ""
            summary = d.get("summary") or ""
            if i in wanted:
                link, rel, kind = wanted[i]
                if d.get("link") != link:
                    raise SystemExit(f"corpus line {i}: link mismatch")
                items.append({"title": title, "summary": summary, "relevant": rel, "lang": "en",
                                  "era": "2022-23", "kind": kind, "source": "corpus-2022-12"})
                continue
            if not (d.get("lang") or "").startswith("en") or not title.strip():
                continue
            if TOPIC_RE.search(title + " " + summary):
                continue
            pool.append({"title": title, "summary": summary, "relevant": False, "lang": "en",
                             "era": "2022-23", "kind": "unrelated", "source": "corpus-2022-12"})
    if len(items) != len(wanted):
        raise SystemExit("some labeled corpus lines were not found")
    # drop pool entries whose title repeats (the corpus holds re-published stories)
    seen, uniq = set(), []
    for d in pool:
        key = d["title"].strip().lower()
        if key not in seen:
            seen.add(key)
            uniq.append(d)
    rnd = random.Random(corpus_labels.RANDOM_SEED)
    items.extend(rnd.sample(uniq, corpus_labels.RANDOM_COUNT))
    return items


def load_written(directory):
    items = []
    for path in sorted(glob.glob(os.path.join(directory, "*.txt"))):
        with open(path, encoding="utf-8") as f:
            lines = [ln.rstrip("\n") for ln in f if not ln.startswith("#")]
        m = re.match(r"lang:\s*(\w+)", lines[0])
        lang = m.group(1)
        assert lang in LANGS, path
        block = []
        for ln in lines[1:] + [""]:
            if ln.strip():
                block.append(ln)
                continue
            if not block:
                continue
            head, title, summary = block[0], block[1], " ".join(block[2:])
            _, rel, era, kind = head.split()
            assert rel in ("R", "N") and era in ERAS, (path, head)
            items.append({"title": title.strip(), "summary": summary.strip(), "relevant": rel == "R",
                              "lang": lang, "era": era, "kind": kind, "source": "written"})
            block = []
    return items


def split(items):
    strata = {}
    for d in items:
        strata.setdefault((d["lang"], d["era"], d["relevant"]), []).append(d)
    dev, hold = [], []
    for key in sorted(strata, key=str):
        group = sorted(strata[key], key=lambda d: (d["kind"], d["source"], h(d["title"])))
        # spread holdout picks evenly over the kind-sorted list, starting at an
        # offset derived from the stratum so that small strata do not all start alike
        acc = (int(h(str(key))[:4], 16) % 100) / 100.0
        for d in group:
            acc += HOLDOUT_SHARE
            if acc >= 1.0:
                acc -= 1.0
                hold.append(d)
            else:
                dev.append(d)
    return dev, hold


def write(items, prefix, path):
    items = sorted(items, key=lambda d: h(prefix + d["title"] + d["summary"]))
    with open(path, "w", encoding="utf-8") as f:
        for n, d in enumerate(items, 1):
            rec = {"id": f"{prefix}-{n:04d}", "title": d["title"], "summary": d["summary"],
                   "relevant": d["relevant"], "lang": d["lang"], "era": d["era"],
                   "kind": d["kind"], "source": d["source"]}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(items)


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    corpus_gz, written_dir, out_dir = argv[1:]
    items = load_corpus(corpus_gz) + load_written(written_dir)
    dev, hold = split(items)
    nd = write(dev, "dev", os.path.join(out_dir, "labeled-dev.jsonl"))
    nh = write(hold, "holdout", os.path.join(out_dir, "labeled-holdout.jsonl"))
    print(f"dev {nd}, holdout {nh}")


if __name__ == "__main__":
    main(sys.argv)
