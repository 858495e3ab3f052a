"""The classifier: seeds relevant, the --jsonl contract, matching that is right for EN/TR/AR."""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from worker.jsonl import JsonLineError
from worker.relevance.classify import classify
from worker.relevance.folding import fold
from worker.relevance.rules import RulesError, expand_term, load_rules, parse_rules

from conftest import REPO, RULES, newswatch, wait_for
from real_news import needs_corpus

RULESET = load_rules(RULES)


@pytest.mark.parametrize("seed", sorted((REPO / "seeds").glob("*.txt")), ids=lambda p: p.name)
def test_seed_articles_are_relevant(seed: Path):
    title, _, body = seed.read_text().strip().partition("\n")
    assert classify(RULESET, title, body).relevant


def test_jsonl_contract_line_for_line():
    lines = [
        {"id": "a", "title": "Turkey and Syria hold normalization talks in Moscow", "summary": ""},
        {"title": "Weather: rain in Istanbul", "summary": "Rain all week."},
        {"id": 7, "title": "Türkiye ile Suriye arasında normalleşme görüşmesi", "summary": "Ankara ve Şam bir araya geldi.",
         "lang": "tr"},
        {"id": None, "title": "وزيرا دفاع تركيا وسوريا يلتقيان في موسكو", "summary": "<p>محادثات التطبيع</p>",
         "content": "<p>بحث الوزيران التطبيع بين أنقرة ودمشق</p>"},
    ]
    out = newswatch("classify", "--jsonl", "-", input="\n".join(json.dumps(x) for x in lines) + "\n",
                    process=True)  # a real pipe: verdicts stream as lines arrive
    assert out.returncode == 0, out.stderr
    results = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(results) == 4
    assert [r["id"] for r in results] == ["a", None, 7, None]
    assert [r["relevant"] for r in results] == [True, False, True, True]
    for r in results:
        assert set(r) == {"id", "relevant", "score", "matches"}
        assert isinstance(r["score"], float) and isinstance(r["matches"], list)
    assert results[1]["score"] == 0.0 and results[1]["matches"] == []


def test_jsonl_from_file_and_bad_line(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"id": 1, "title": "x", "summary": "y"}\nnot json\n')
    out = newswatch("classify", "--jsonl", str(f))
    assert out.returncode == 2
    assert out.stderr.strip().startswith("newswatch: error: --jsonl line 2: invalid JSON")


def test_jsonl_bad_utf8_names_its_line(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_bytes(b'{"id": 1, "title": "x"}\n{"id": 2, "title": "\xff"}\n')
    out = newswatch("classify", "--jsonl", str(f))
    assert out.returncode == 2
    assert out.stderr.strip() == "newswatch: error: --jsonl line 2: not UTF-8 text"
    assert [json.loads(x)["id"] for x in out.stdout.splitlines()] == [1]


@pytest.mark.slow  # 5,000 items through worker processes, twice
def test_jsonl_large_input_keeps_order_and_stops_at_the_first_bad_line(tmp_path):
    # 2 MB, more than two batches: a multi-core machine classifies them in worker processes.
    # The written lines: the real ones carry only a reference to the corpus, not their text.
    labeled = [x for x in map(json.loads, (REPO / "tests" / "data" / "labeled-dev.jsonl").read_text().splitlines())
               if "title" in x]
    items = [dict(labeled[i % len(labeled)], id=i) for i in range(5_000)]
    f = tmp_path / "in.jsonl"
    f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
    out = newswatch("classify", "--jsonl", str(f))
    assert out.returncode == 0, out.stderr
    results = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["id"] for r in results] == list(range(5_000))
    for item, r in zip(items[:len(labeled)], results):
        v = classify(RULESET, item["title"], item["summary"])
        assert (r["relevant"], r["score"], r["matches"]) == (v.relevant, v.score, v.matches)
    lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
    f.write_text("".join(lines[:4320]) + "[1, 2]\n" + "".join(lines[4320:]), encoding="utf-8")
    out = newswatch("classify", "--jsonl", str(f))
    assert out.returncode == 2
    assert out.stderr.strip() == "newswatch: error: --jsonl line 4321: expected a JSON object"
    assert [json.loads(x)["id"] for x in out.stdout.splitlines()] == list(range(4_320))


def test_jsonl_lone_cr_line_endings_and_a_byte_order_mark(tmp_path):
    # Read as text files are, in universal-newline mode: \r, \r\n and \n all end a line.
    f = tmp_path / "in.jsonl"
    f.write_bytes(b'\xef\xbb\xbf{"id": 1, "title": "x"}\r{"id": 2, "title": "y"}\r\n{"id": 3, "title": "z"}\r')
    out = newswatch("classify", "--jsonl", str(f))
    assert out.returncode == 0, out.stderr
    assert [json.loads(x)["id"] for x in out.stdout.splitlines()] == [1, 2, 3]
    piped = newswatch("classify", "--jsonl", "-", input="\ufeff" + '{"id": 1, "title": "x"}\r\n\r\n{"id": 2}\r',
                      process=True)
    assert piped.returncode == 0, piped.stderr
    assert [json.loads(x)["id"] for x in piped.stdout.splitlines()] == [1, None, 2]  # a blank CRLF line counts


def test_jsonl_answers_a_pipe_line_by_line():
    # `tail -f items.jsonl | newswatch classify --jsonl -`: each verdict comes out before the next line.
    proc = subprocess.Popen([sys.executable, "-m", "worker", "classify", "--jsonl", "-"], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b'{"id": 1, "title": "Turkey and Syria hold talks in Moscow"}\n')
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "no verdict while the input stays open"
        assert json.loads(proc.stdout.readline())["relevant"] is True
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_jsonl_pipe_that_backs_up_goes_to_workers_in_order(monkeypatch):
    # A producer far ahead of us (cat file |): after the first batch, the rest goes to worker processes.
    from worker.relevance import batch
    parallel_from = []
    original = batch._classify_parallel

    def spy(*args, **kwargs):
        parallel_from.append(kwargs.get("first"))
        return original(*args, **kwargs)

    monkeypatch.setattr(batch, "_classify_parallel", spy)
    # The written lines: the real ones carry only a reference to the corpus, not their text.
    labeled = [x for x in map(json.loads, (REPO / "tests" / "data" / "labeled-dev.jsonl").read_text().splitlines())
               if "title" in x]
    lines = [json.dumps(dict(labeled[i % len(labeled)], id=i), ensure_ascii=False) for i in range(6_000)]
    lines[4_320] = "[1, 2]"
    data = ("\n".join(lines) + "\n").encode()
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, data) and None, os.close(write_end)))
    out: list[str] = []
    with open(read_end, "rb", buffering=0) as source:
        writer.start()
        with pytest.raises(JsonLineError) as raised:
            batch.classify_jsonl(RULESET, source, out.append, workers=2, flush=lambda: None)
    writer.join()
    assert parallel_from and parallel_from[0] > batch.BATCH_LINES
    assert (raised.value.line, raised.value.reason) == (4_321, "expected a JSON object")
    assert [json.loads(x)["id"] for x in "".join(out).splitlines()] == list(range(4_320))


@pytest.mark.slow
def test_jsonl_workers_end_with_a_terminated_run(tmp_path):
    # `kill PID` on a run with workers: they must not live on holding the output pipe open.
    f = tmp_path / "in.jsonl"
    f.write_text((REPO / "tests" / "data" / "labeled-dev.jsonl").read_text() * 60)
    proc = subprocess.Popen([sys.executable, "-m", "worker", "classify", "--jsonl", str(f)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.read(1)  # classifying
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], check=False, capture_output=True,
                                  text=True).stdout.split()
        assert children, "no worker processes"
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.read()  # returns: every writer of the pipe has gone
    finally:
        proc.kill()
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), timeout=10)


def test_jsonl_worker_that_dies_fails_the_run(tmp_path):
    labeled = (REPO / "tests" / "data" / "labeled-dev.jsonl").read_text()
    f = tmp_path / "in.jsonl"
    f.write_text(labeled * 8)  # 1.5 MB: classified by worker processes
    out = newswatch("classify", "--jsonl", str(f), "--workers", "2", env={"NEWSWATCH_KILL_AT": "classify.batch:1"},
                    timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip() == "newswatch: error: a classify worker process died (killed, or out of memory?)"


def test_classify_text_explains():
    out = newswatch("classify", "Erdogan ready to meet Assad to restore ties with Damascus")
    assert out.returncode == 0
    assert out.stdout.startswith("RELEVANT: score")
    assert "title:relation: 1 x 2" in out.stdout and "relation:ties" in out.stdout
    assert "(group trel: a stronger rule counted)" in out.stdout  # evidence counted once, and said so


@pytest.mark.parametrize(("a", "b"), [
    ("Türkiye", "turkiye"), ("ERDOĞAN", "erdogan"), ("İstanbul", "istanbul"), ("ISPARTA", "isparta"),
    ("Şam", "damascus"), ("ŞAM'da", "damascus da"), ("Șam", "damascus"), ("S\u0327am", "damascus"), ("Sam", "sam"), ("şampiyon", "sampiyon"),
    ("eş-Şara", "es sharaa"), ("Suriye'ye", "suriye ye"), ("أنقرة", "انقره"), ("الأسد", "الاسد"),
    ("سوريّة", "سوريه"), ("تـركـيا", "تركيا"),
])
def test_folding(a, b):
    assert fold(a).split() == b.split()


def test_word_boundaries_avoid_substring_traps():
    # "ambassador" contains "assad", "Kakar" contains "akar", "şampiyon" starts with "şam"
    v = classify(RULESET, "Turkish ambassador meets Kakar, the şampiyon of talks", "")
    assert not any(m.startswith("syria:") for m in v.matches)


def test_sam_is_damascus_only_in_turkish_spelling():
    # "Şam" is Damascus; folded to "sam" it would be Sam Altman, or Polish "sam" (alone).
    assert not classify(RULESET, "Erdogan meets Sam Altman for talks on AI investment in Turkey", "").relevant
    assert not classify(RULESET, "Erdogan sam zaprosił Putina na rozmowy w Turcji", "").relevant
    assert classify(RULESET, "Ankara ile Şam arasında normalleşme görüşmeleri", "").relevant
    assert "syria:sam'{dan,daki,la}" in classify(RULESET, "Heyet Sam'dan döndü", "").matches
    assert not classify(RULESET, "Erdogan sam da radę? Rozmowy w Ankarze", "").relevant  # "he'll manage alone"
    assert not classify(RULESET, "Türkiye Şam fıstığı ihracatını artırdı", "").relevant  # pistachio exports


def test_turkish_suffixes_and_arabic_prefixes_match():
    v = classify(RULESET, "Ankara'nın Şam'la ilişkileri", "Suriyeli mülteciler Türkiye'den dönüyor")
    assert {"turkey:ankara", "syria:şam'{da,a,dan,ın,ı,la,daki}"} <= set(v.matches)
    v = classify(RULESET, "ولسوريا وبتركيا", "")
    assert any(m.startswith("syria:") for m in v.matches) and any(m.startswith("turkey:") for m in v.matches)


def test_html_is_stripped_before_matching():
    v = classify(RULESET, "Turkey holds talks", '<a href="https://x/syria-damascus">link</a> <script>Syria</script>')
    assert v.matches == ["relation:talks", "turkey:turkey"]


def test_items_naming_neither_side_score_zero_at_once():
    assert classify(RULESET, "Earthquake talks in Greece", "deal signed") == classify(RULESET, "", "")
    assert classify(RULESET, "Earthquake talks in Greece", "deal signed").score == 0.0


def test_expand_term():
    assert expand_term("suriye{,li}") == [(("suriye",), False), (("suriyeli",), False)]
    assert expand_term("Görüş*") == [(("gorus",), True)]
    assert expand_term("Foreign Minister") == [(("foreign", "minister"), False)]
    assert (("بسوريا",), False) in expand_term("سوريا")


def test_rules_errors_name_line_and_key(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('threshold = 1\n[concepts.a]\nterms = ["x"]\nwieght = 2\n[[rules]]\nall = ["a"]\nweight = 1\n')
    with pytest.raises(RulesError, match=r"line 4: \[concepts.a\] wieght: unknown key"):
        load_rules(bad)
    with pytest.raises(RulesError, match=r"\[\[rules\]\] #1 all: unknown concept 'b'"):
        parse_rules({"threshold": 1, "concepts": {"a": {"terms": ["x"]}}, "rules": [{"all": ["b"], "weight": 1}]})
    bad.write_text('threshold = 1\n[concepts.a]\nterms = ["x"]\n[[rules]]\nall = ["a"]\nweight = 1\n\n'
                   '[[rules]]\nname = "second"\nall = ["a"]\nunless = ["b"]\nweight = 1\n')
    with pytest.raises(RulesError, match=r"line 11: \[\[rules\]\] #2 unless: unknown concept 'b'"):
        load_rules(bad)
    bad.write_text(bad.read_text().replace('unless = ["b"]\nweight = 1\n', ""))
    with pytest.raises(RulesError, match=r"line 8: \[\[rules\]\] #2 weight: required"):  # no key: the header
        load_rules(bad)
    bad.write_text("threshold = \n")
    with pytest.raises(RulesError, match="invalid TOML"):
        load_rules(bad)


@needs_corpus
@pytest.mark.slow  # 934 classifications of the labeled dev set
def test_explain_false_gives_the_same_verdict():
    from worker.relevance.evaluate import read_labeled
    for item in read_labeled(REPO / "tests" / "data" / "labeled-dev.jsonl"):
        full = classify(RULESET, item["title"], item["summary"])
        quick = classify(RULESET, item["title"], item["summary"], explain=False)
        assert (quick.relevant, quick.score, quick.matches, quick.explanation) == \
            (full.relevant, full.score, full.matches, []), item["id"]


def test_a_concept_can_shadow_another():
    data = {"threshold": 1, "concepts": {
        "syria": {"terms": ["syrian", "damascus"]},
        "people": {"terms": ["syrian refugees"], "shadows": ["syria"]}},
        "rules": [{"all": ["syria"], "weight": 1}]}
    ruleset = parse_rules(data)
    v = classify(ruleset, "Syrian refugees in Istanbul", "")
    assert v.matches == ["people:syrian refugees"] and not v.relevant  # people, not the state
    assert classify(ruleset, "Syrian government in Damascus", "").matches == ["syria:damascus", "syria:syrian"]
    with pytest.raises(RulesError, match="shadows: unknown concept 'turkey'"):
        parse_rules({**data, "concepts": {**data["concepts"], "x": {"terms": ["y"], "shadows": ["turkey"]}}})


@pytest.mark.parametrize("items", [3_000, 30_000])  # one process; worker processes (a file over 1 MiB)
def test_a_reader_that_stops_early_ends_it_quietly_with_141(tmp_path, items):
    f = tmp_path / "in.jsonl"
    f.write_text("".join(json.dumps({"id": k, "title": f"Ankara and Damascus talk, part {k}", "summary": "x" * 20})
                         + "\n" for k in range(items)))
    proc = subprocess.Popen([sys.executable, "-m", "worker", "classify", "--jsonl", str(f)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(proc.stdout.readline())["id"] == 0
    proc.stdout.close()  # as `| head -1` does
    assert proc.wait(timeout=60) == 141  # 128 + SIGPIPE, as Unix tools exit; click alone says 1
    assert proc.stderr.read() == b""


def test_closed_stdin_and_a_latin1_terminal_get_no_traceback():
    for args in (["classify", "--jsonl", "-"], ["classify", "-"]):
        out = subprocess.run([sys.executable, "-m", "worker", *args], cwd=REPO, check=False,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.close(0))
        assert out.returncode == 2 and out.stderr.strip() == (
            "newswatch: error: standard input is closed: give a file, or pipe something in"), out.stderr
    env = dict(os.environ, PYTHONIOENCODING="latin-1")
    line = json.dumps({"id": 1, "title": "Fidan Şam'da Şara ile görüştü 🇹🇷"}, ensure_ascii=False) + "\n"
    out = subprocess.run([sys.executable, "-m", "worker", "classify", "--jsonl", "-"], cwd=REPO, env=env, check=False,
                         input=line.encode(), capture_output=True, timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout.decode("utf-8"))["relevant"] is True  # JSON: UTF-8
    out = subprocess.run([sys.executable, "-m", "worker", "classify", "Fidan Şam'da Şara ile görüştü"], cwd=REPO,
                         env=env, check=False, capture_output=True, timeout=60)
    assert out.returncode == 0 and b"\\u015f" in out.stdout and b"Traceback" not in out.stderr


def test_a_rule_over_the_title_and_the_text_as_one():
    data = {"threshold": 2, "concepts": {"protest": {"terms": ["protest*"]}, "turkey": {"terms": ["ankara"]}},
            "rules": [{"name": "both", "all": ["protest", "turkey"], "within": "item", "in": "item", "weight": 2},
                      {"name": "either", "all": ["protest", "turkey"], "within": "item", "weight": 0.5}]}
    ruleset = parse_rules(data)
    v = classify(ruleset, "Protests in Azaz", "Demonstrators reject Ankara's contacts with Damascus.")
    assert v.relevant and v.score == 2.0 and [(h.rule, h.terms) for h in v.explanation] == [
        ("both", ["ankara", "protest*"])]
    assert classify(ruleset, "Protests in Azaz against Ankara", "").score == 2.5  # both rules, one field
    assert classify(ruleset, "Protests in Azaz", "Nothing else.").score == 0
    with pytest.raises(RulesError, match=r'\[\[rules\]\] #1 within: must be "item" when in = "item"'):
        parse_rules({**data, "rules": [{**data["rules"][0], "within": 20}]})


def test_a_rule_does_not_count_in_a_field_where_an_excepted_concept_occurs():
    data = {"threshold": 1, "concepts": {"turkey": {"terms": ["ankara"]}, "syria": {"terms": ["syria", "damascus"]},
                                         "actor": {"terms": ["damascus"]}, "third": {"terms": ["washington"]}},
            "rules": [{"name": "third-party", "all": ["third", "turkey", "syria"], "within": "item", "in": "title",
                       "unless": ["actor"], "weight": -4},
                      {"name": "pair", "all": ["turkey", "syria"], "within": "item", "weight": 5}]}
    ruleset = parse_rules(data)
    assert classify(ruleset, "Ankara and Washington discuss Syria", "").score == 1  # Syria as a topic
    assert classify(ruleset, "Ankara and Damascus condemn Washington", "").score == 5  # Damascus a party
    assert classify(ruleset, "Ankara and Washington discuss Syria", "Damascus").score == 1  # title only
    with pytest.raises(RulesError, match=r"\[\[rules\]\] #1 unless: unknown concept 'kurds'"):
        parse_rules({**data, "rules": [{**data["rules"][0], "unless": ["kurds"]}]})
    with pytest.raises(RulesError, match=r"\[\[rules\]\] #1 unless: 'turkey' is also in all"):
        parse_rules({**data, "rules": [{**data["rules"][0], "unless": ["turkey"]}]})


@pytest.mark.slow
@pytest.mark.parametrize("args", [["classify", "-"], ["classify", "--jsonl", "-"]])
def test_ctrl_c_while_reading_standard_input_is_quiet(args):
    proc = subprocess.Popen([sys.executable, "-m", "worker", *args], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)  # started, and waiting for input
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.decode().strip() == "Aborted!", err.decode()
