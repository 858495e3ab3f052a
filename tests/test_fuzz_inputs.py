"""Every file newswatch reads, mutated at random, through the real CLI: it may refuse the file, but on
one line and with exit code 0, 1 or 2; never a traceback.

A seeded mutator (byte flips, truncation, deletions, duplicated chunks, invalid UTF-8, the format's
metacharacters) over valid starting files: the config (TOML), the rules (TOML), the feed list
(OPML) and `classify --jsonl` input; 400 runs in all. The CLI runs in this process (click's
CliRunner isolation around `main`, as the console script calls it) to keep 400 runs fast.
"""

from __future__ import annotations

import os
import random
import sys
import traceback
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import main

from conftest import RULES

pytestmark = pytest.mark.slow  # 400 runs of the CLI

INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf",
                b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80", b"\x80", b"\x00"]
META = {
    "toml": [b"[", b"]", b"[[", b"=", b'"', b"'''", b'"""', b"\\", b"\\u0000", b"\\ud800", b"#", b"\n[x]\n",
             b"\nkey = \n", b"{", b"}", b",", b"1e999", b"-0", b"\r", b"\t", b"\n[poll]\n", b"inf", b"nan"],
    "xml": [b"<", b">", b"&", b"&bogus;", b"&#0;", b"&#xD800;", b"]]>", b"<![CDATA[", b'"', b"'", b"/>",
            b"<?xml version='1.0' encoding='latin-1'?>", b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', b"&a;",
            b'<outline xmlUrl="http://a.example/"/>', b"<outline>", b"</body>", b"<!--", b"\x00"],
    "json": [b"{", b"}", b"[", b"]", b'"', b"\\", b"\\u0000", b"\\ud800", b":", b",", b"null", b"1e999",
             b"NaN", b"\n", b"\r", b'{"title": 1}', b'"title": null', b"\xef\xbb\xbf", b"\n\n"],
}


def mutate(data: bytes, rng: random.Random, kind: str) -> bytes:
    """One to four random edits of `data`."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(("flip", "truncate", "insert_utf8", "insert_meta", "insert_meta", "delete", "duplicate"))
        at = rng.randrange(len(b) + 1)
        if op == "flip" and b:
            b[min(at, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == "truncate":
            del b[at:]
        elif op == "insert_utf8":
            b[at:at] = rng.choice(INVALID_UTF8)
        elif op == "insert_meta":
            b[at:at] = rng.choice(META[kind])
        elif op == "delete":
            del b[at:at + rng.randint(1, 40)]
        elif op == "duplicate":
            b[at:at] = b[at:at + rng.randint(1, 200)]
    return bytes(b)


def run_cli(*args: str) -> tuple[int, str, str, str | None]:
    """(exit code, stdout, stderr, traceback of an exception that escaped) of `newswatch ARGS`."""
    runner = CliRunner()
    argv = sys.argv
    escaped = None
    code = 0
    with runner.isolation(input=b"") as (out, err, _):
        sys.argv = ["newswatch", *args]  # main() lets click read them, as the console script does
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # noqa: BLE001 -- anything else is what a user would see as a traceback
            escaped = traceback.format_exc()
            code = -1
        finally:
            sys.argv = argv
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"), escaped


def check(results: list[tuple[bytes, tuple[int, str, str, str | None]]]) -> Counter:
    """Every run: exit 0, 1 or 2, at most one line on stderr, no traceback. Returns the exit codes."""
    bad = []
    for data, (code, out, err, escaped) in results:
        if escaped or code not in (0, 1, 2) or len(err.strip().splitlines()) > 1 or "Traceback" in err + out:
            bad.append(f"exit {code}, stderr {err[:300]!r}, input {data[:120]!r}\n{escaped or ''}")
    assert not bad, f"{len(bad)} of {len(results)} runs misbehaved; first: {bad[0]}"
    return Counter(code for _, (code, *_rest) in results)


GOOD_OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>feeds</title></head>
  <body>
    <!-- a comment -->
    <outline text="International" title="International">
      <outline type="rss" text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml" language="en"/>
      <outline type="rss" text="BBC Türkçe" xmlUrl="https://feeds.bbci.co.uk/turkce/rss.xml" language="tr"/>
    </outline>
    <outline text="عربي">
      <outline type="rss" text="الجزيرة" xmlUrl="https://www.aljazeera.net/aljazeerarss" language="ar"/>
      <outline type="rss" text="Enab &amp; Baladi" xmlUrl="https://www.enabbaladi.net/feed"/>
    </outline>
  </body>
</opml>
""".encode()


def good_config(tmp_path: Path, rules: Path = RULES) -> bytes:
    return f"""# newswatch config
[database]
path = "{tmp_path / 'absent' / 'newswatch.db'}"
[feeds]
opml = "{tmp_path / 'feeds.opml'}"
[poll]
interval_minutes = 15
concurrency = 16
per_host = 4
timeout_seconds = 20.0
max_bytes = 10000000
user_agent = "newswatch/0.1 (+https://example.org)"
[classifier]
rules = "{rules}"
[digest]
time = "07:00"
timezone = "Europe/Istanbul"
to = ["analyst@example.org", "ömer@example.org"]
from = "newswatch@example.org"
subject = "newswatch: {{items}} on Türkiye–Suriye"
near_miss_margin = 2.0
[smtp]
host = ""
security = "starttls"
[alerts]
webhook_url = ""
min_score = 10.0
[retention]
irrelevant_days = 0
""".encode()


JSONL_LINES = [
    '{"id": 1, "title": "Erdogan open to meeting al-Assad", "summary": "Ankara and Damascus held talks."}',
    '{"id": "b", "title": "Türkiye ile Suriye arasında normalleşme görüşmesi", "summary": "", "lang": "tr"}',
    "",
    '{"title": "وزير الخارجية التركي يلتقي نظيره السوري", "summary": "محادثات في موسكو", "content": "<p>x</p>"}',
    '{"id": null, "title": "Central bank holds rates", "summary": "Rates unchanged.", "lang": "en"}',
    '{"title": "Kakar and the ambassador", "summary": "\\u015fampiyon \\"quoted\\""}',
]
GOOD_JSONL = ("\n".join(JSONL_LINES) + "\n").encode()

RUNS = {"config": 120, "opml": 120, "rules": 80, "jsonl": 80}  # 400 in all
assert sum(RUNS.values()) == 400


def _fuzz(tmp_path: Path, kind: str, fmt: str, seed_data: bytes, target: Path, args: list[str]) -> Counter:
    # Seeded, so a failure reproduces; NEWSWATCH_FUZZ_SEED=N explores other mutations.
    rng = random.Random(f"newswatch-{kind}-{os.environ.get('NEWSWATCH_FUZZ_SEED', '0')}")
    results = []
    for _ in range(RUNS[kind]):
        data = mutate(seed_data, rng, fmt)
        target.write_bytes(data)
        results.append((data, run_cli(*args)))
    codes = check(results)
    print(f"{kind}: {RUNS[kind]} runs, exit codes {dict(sorted(codes.items()))}")
    return codes


def test_the_starting_files_are_valid(tmp_path):
    (tmp_path / "feeds.opml").write_bytes(GOOD_OPML)
    (tmp_path / "newswatch.toml").write_bytes(good_config(tmp_path))
    (tmp_path / "in.jsonl").write_bytes(GOOD_JSONL)
    cfg = str(tmp_path / "newswatch.toml")
    code, out, err, _ = run_cli("--config", cfg, "feeds", "list")
    assert code == 0 and out.count("never polled") == 4, err
    code, out, err, _ = run_cli("--config", cfg, "classify", "--jsonl", str(tmp_path / "in.jsonl"))
    assert code == 0 and len(out.splitlines()) == 6 and '"relevant": true' in out, err
    code, out, err, _ = run_cli("--config", cfg, "classify", "--jsonl", str(tmp_path / "missing.jsonl"))
    assert code == 2 and len(err.splitlines()) == 1  # the harness sees click's own usage errors too


def test_fuzz_config(tmp_path):
    (tmp_path / "feeds.opml").write_bytes(GOOD_OPML)
    cfg = tmp_path / "newswatch.toml"
    codes = _fuzz(tmp_path, "config", "toml", good_config(tmp_path), cfg, ["--config", str(cfg), "feeds", "list"])
    assert codes[2] > 0  # most mutations break the file, and say so


def test_fuzz_opml(tmp_path):
    (tmp_path / "newswatch.toml").write_bytes(good_config(tmp_path))
    codes = _fuzz(tmp_path, "opml", "xml", GOOD_OPML, tmp_path / "feeds.opml",
                  ["--config", str(tmp_path / "newswatch.toml"), "feeds", "list"])
    assert codes[2] > 0


def test_fuzz_rules(tmp_path):
    rules = tmp_path / "rules.toml"
    (tmp_path / "feeds.opml").write_bytes(GOOD_OPML)
    (tmp_path / "newswatch.toml").write_bytes(good_config(tmp_path, rules))
    codes = _fuzz(tmp_path, "rules", "toml", RULES.read_bytes(), rules,
                  ["--config", str(tmp_path / "newswatch.toml"), "classify", "Erdogan meets Assad in Moscow"])
    assert codes[2] > 0


def test_fuzz_classify_jsonl(tmp_path):
    (tmp_path / "newswatch.toml").write_bytes(good_config(tmp_path))
    data = tmp_path / "in.jsonl"
    codes = _fuzz(tmp_path, "jsonl", "json", GOOD_JSONL, data,
                  ["--config", str(tmp_path / "newswatch.toml"), "classify", "--jsonl", str(data)])
    assert codes[2] > 0 and codes[0] > 0
