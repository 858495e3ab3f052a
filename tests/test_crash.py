"""Killed at any point (SIGKILL), the next run loses no relevant item and mails none twice, the documented
window aside (a resend of the same digest with the same Message-ID).

Scenario: poll -> digest -> poll (the feeds gained items) -> digest. Kill points are every checkpoint the
scenario reaches (worker/failpoints.py), enumerated from a logged run; at each one the process is
SIGKILLed, the step is re-run, and the scenario completes.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from worker.demo import FeedServer
from worker.relevance.classify import classify
from worker.relevance.rules import load_rules

from conftest import RULES, SmtpSink, free_port, newswatch, rss, write_config

pytestmark = pytest.mark.slow  # kills the CLI at every checkpoint: minutes

FEEDS = ("wire", "daily", "gazete")
RELEVANT = [
    "Turkish and Syrian defence ministers meet in Moscow for talks",
    "Erdogan says he is ready to meet Assad to normalise ties with Damascus",
    "Ankara and Damascus agree to reopen embassies after twelve years",
]
OTHER = ["Central bank holds rates as inflation eases", "Football: derby ends in a draw"]
LATER = ["Fidan visits Damascus, meets al-Sharaa on trade and refugee returns",
         "Turkey and Syria sign defence training agreement"]
STEPS = [("poll", 1), ("digest", None), ("poll", 2), ("digest", None)]


def feed_documents(version: int) -> dict[str, tuple[bytes, str]]:
    docs = {}
    for f in FEEDS:
        titles = RELEVANT + OTHER + (LATER if version == 2 else [])
        items = [{"title": f"{t} ({f})", "link": f"https://{f}.example.org/{n}", "guid": f"{f}-{n}",
                  "pubDate": "Wed, 28 Dec 2022 17:10:00 +0000", "description": t} for n, t in enumerate(titles)]
        docs[f"/{f}"] = (rss(items, title=f), "application/rss+xml")
    return docs


def expected_links() -> set[str]:
    ruleset = load_rules(RULES)
    return {f"https://{f}.example.org/{n}" for f in FEEDS for n, t in enumerate(RELEVANT + OTHER + LATER)
            if classify(ruleset, f"{t} ({f})", t).relevant}


class Scenario:
    def __init__(self, root: Path, smtp: bool):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.server = FeedServer(feed_documents(1)).__enter__()
        self.sink = SmtpSink() if smtp else None
        self.controller = None
        if smtp:
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=free_port())
            self.controller.start()
        self.cfg = write_config(root, [f"{self.server.base_url}/{f}" for f in FEEDS],
                                smtp_port=self.controller.port if smtp else None)

    def close(self) -> None:
        self.server.__exit__()
        if self.controller:
            self.controller.stop()

    def step(self, index: int, env: dict | None = None) -> int:
        command, version = STEPS[index]
        if version:
            self.server.documents = feed_documents(version)
        args = ["--config", str(self.cfg), command] + (["--all"] if command == "poll" else [])
        return newswatch(*args, env=env or {}).returncode

    def messages(self) -> list[tuple[str, set[str]]]:
        """(Message-ID, item links) of every digest received (SMTP) or left in the outbox."""
        if self.sink:
            raw = [m.as_bytes() for m in self.sink.messages]
        else:
            raw = [p.read_bytes() for p in sorted((self.root / "outbox").glob("*.eml"))]
        out = []
        for data in raw:
            msg = message_from_bytes(data, policy=policy.default)
            text = msg.get_body(("plain",)).get_content()
            out.append((msg["Message-ID"].strip(), set(re.findall(r"https://\S+\.example\.org/\d+", text))))
        return out


def run(root: Path, smtp: bool, kill: tuple[int, str, int] | None) -> list[tuple[str, set[str]]]:
    scenario = Scenario(root, smtp)
    try:
        for index in range(len(STEPS)):
            if kill and kill[0] == index:
                rc = scenario.step(index, {"NEWSWATCH_KILL_AT": f"{kill[1]}:{kill[2]}"})
                assert rc == -signal.SIGKILL, f"{kill}: the process was not killed (rc {rc})"
            assert scenario.step(index) == 0, f"{kill}: step {STEPS[index]} failed after the kill"
        assert scenario.step(3) == 0  # one more digest: anything still pending goes now
        return scenario.messages()
    finally:
        scenario.close()


def kill_points(root: Path, smtp: bool) -> list[tuple[int, str, int]]:
    scenario = Scenario(root, smtp)
    points = []
    try:
        for index in range(len(STEPS)):
            log = root / f"checkpoints-{index}.log"
            assert scenario.step(index, {"NEWSWATCH_CHECKPOINT_LOG": str(log)}) == 0
            counts = Counter(log.read_text().split()) if log.exists() else Counter()
            points += [(index, name, n) for name, total in sorted(counts.items()) for n in range(1, total + 1)]
    finally:
        scenario.close()
    return points


def check(kill, messages: list[tuple[str, set[str]]], expected: set[str]) -> None:
    by_id: dict[str, set[str]] = {}
    for message_id, links in messages:
        # A resend (the documented window) repeats a digest exactly: same Message-ID, same items.
        assert by_id.setdefault(message_id, links) == links, f"{kill}: {message_id} resent with other items"
    delivered = Counter(link for links in by_id.values() for link in links)
    assert set(delivered) == expected, f"{kill}: lost {sorted(expected - set(delivered))}"
    assert max(delivered.values()) == 1, f"{kill}: twice under different Message-IDs: " \
        f"{sorted(k for k, v in delivered.items() if v > 1)}"


def test_crash_at_every_kill_point_loses_nothing_and_sends_nothing_twice(tmp_path):
    expected = expected_links()
    assert len(expected) == 15  # 3 feeds x (3 + 2 relevant items): the scenario has something to lose
    cases = [(True, k) for k in kill_points(tmp_path / "enumerate-smtp", smtp=True)]
    cases += [(False, k) for k in kill_points(tmp_path / "enumerate-outbox", smtp=False) if STEPS[k[0]][0] == "digest"]
    names = {name for _, (_, name, _) in cases}
    assert len(cases) >= 50
    assert {"poll.fetched", "poll.parsed", "poll.classified", "store.feed.before_commit", "store.feed.committed",
            "digest.record.committed", "digest.before_send", "digest.sent", "digest.mark_sent.before_commit",
            "outbox.written"} <= names

    def one(numbered):
        n, (smtp, kill) = numbered
        root = tmp_path / f"case-{n}"
        check(kill, run(root, smtp, kill), expected)
        return kill

    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2))) as pool:
        done = list(pool.map(one, enumerate(cases)))
    assert len(done) == len(cases)
