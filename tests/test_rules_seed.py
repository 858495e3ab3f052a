"""`newswatch rules seed`: a valid, evidenced rules draft from the seed articles."""

import json
import re

from worker.relevance.rules import load_rules

from conftest import REPO, newswatch

SEEDS = sorted(str(p) for p in (REPO / "seeds").glob("*.txt"))


def test_seed_draft_from_the_seed_articles(tmp_path):
    out = tmp_path / "draft.toml"
    done = newswatch("rules", "seed", *SEEDS, "-o", str(out))
    assert done.returncode == 0, done.stderr
    names_n, vocabulary_n, known_n = map(int, re.findall(r"(\d+) names, (\d+) vocabulary; (\d+) already", done.stdout)[0])
    assert names_n >= 20 and vocabulary_n >= 20 and known_n >= 50  # new candidates, and ones the rules have
    draft = load_rules(out)  # a valid rules file, usable by rules eval as it is
    names, vocabulary = draft.concepts["names"], draft.concepts["vocabulary"]
    assert "hulusi" in names[:5] and "shoigu" not in names  # Shoigu is known to the rules (mediator)
    assert "constructive" in vocabulary
    text = out.read_text()
    assert "in 5/5 seeds" in text and "bg 0.2" in text  # evidence per term
    assert "# Already in the rules" in text and "turkey: turkish" in text


def test_seed_with_a_background_of_items(tmp_path):
    background = tmp_path / "bg.jsonl"
    background.write_text("".join(json.dumps({"title": f"Markets {i}", "summary": "Stocks and the weather"}) + "\n"
                                  for i in range(50)))
    seed = tmp_path / "s.txt"
    seed.write_text("Ankara and Damascus held normalization talks.\nThe normalization talks were constructive.")
    out = newswatch("rules", "seed", str(seed), "-o", "-", "--background", str(background))
    assert out.returncode == 0, out.stderr
    assert "against 50 background news items" in out.stdout
    assert re.search(r"#   [a-z_,]*\brelation\b[a-z_,]*: normalization", out.stdout)  # known to the shipped rules
    assert '"constructive"' in out.stdout


def test_seed_errors_are_one_line(tmp_path):
    out = newswatch("rules", "seed", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "x.toml"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "missing.txt" in out.stderr


def test_seed_background_lines_that_are_not_items(tmp_path):
    seed = tmp_path / "s.txt"
    seed.write_text("Ankara and Damascus held normalization talks.")
    good = json.dumps({"title": "Markets", "summary": "Stocks"}) + "\n\n"  # a blank line is skipped
    cases = [("[1, 2]", "line 3: expected a JSON object"),
             ('{"title": 5}', "line 3: title and summary must be strings"),
             ("{oops", "line 3: invalid JSON (Expecting property name")]
    for bad, reason in cases:
        background = tmp_path / "bg.jsonl"
        background.write_text(good + bad + "\n")
        out = newswatch("rules", "seed", str(seed), "-o", "-", "--background", str(background))
        assert out.returncode == 2 and f"newswatch: error: background {background} {reason}" in out.stderr, out.stderr


def test_a_corrupt_background_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 40)  # gzip header, then no deflate stream
    out = newswatch("rules", "seed", str(REPO / "seeds" / min(p.name for p in (REPO / "seeds").glob("*.txt"))),
                    "-o", str(tmp_path / "draft.toml"), "--background", str(bad))
    assert out.returncode == 2 and out.stderr.startswith(f"newswatch: error: background {bad}") and "Traceback" not in out.stderr
