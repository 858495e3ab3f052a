"""Delivery to a real SMTP server on 127.0.0.1: every failure leaves the items pending with the error
recorded; the next run delivers them; nothing arrives twice."""

import re
import socket
import sqlite3
import subprocess
import sys
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import RELEVANT_ITEMS, REPO, SmtpSink, free_port, newswatch, rss, write_config


def pending_digest(tmp_path):
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    return db.execute("SELECT status, attempts, last_error FROM digests").fetchall(), \
        db.execute("SELECT COUNT(*) FROM items WHERE relevant = 1 AND delivered_at IS NULL").fetchone()[0]


def test_server_down_then_up(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    port = free_port()
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=port)
    newswatch("--config", str(cfg), "poll")
    down = newswatch("--config", str(cfg), "digest")
    assert down.returncode == 1 and "Connection refused" in down.stdout
    digests, undelivered = pending_digest(tmp_path)
    assert digests[0][:2] == ("pending", 1) and "Connection refused" in digests[0][2] and undelivered == 2
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert newswatch("--config", str(cfg), "digest").returncode == 0
        assert newswatch("--config", str(cfg), "digest").returncode == 0
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert pending_digest(tmp_path) == ([("sent", 2, None)], 0)


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "554 5.0.0 Transaction failed"])
def test_refused_then_accepted_is_the_same_digest(tmp_path, feed_server, smtp_server, reply):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port)
    newswatch("--config", str(cfg), "poll")
    smtp_server.reply = reply
    out = newswatch("--config", str(cfg), "digest")
    assert out.returncode == 1 and reply[:3] in out.stdout
    smtp_server.reply = None
    assert newswatch("--config", str(cfg), "digest").returncode == 0
    assert newswatch("--config", str(cfg), "digest").returncode == 0
    assert len(smtp_server.messages) == 1
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    # The retry is the same digest: recorded once, two attempts, the Message-ID the server received.
    assert db.execute("SELECT COUNT(*), MAX(attempts) FROM digests").fetchone() == (1, 2)
    assert db.execute("SELECT message_id FROM digests").fetchone()[0] == smtp_server.messages[0]["Message-ID"].strip()


def test_timeout_is_a_failure_not_a_hang(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=silent.getsockname()[1])
    cfg.write_text(cfg.read_text().replace("timeout_seconds = 5\n[classifier]", "timeout_seconds = 5\n[classifier]")
                   .replace('security = "none"\ntimeout_seconds = 5', 'security = "none"\ntimeout_seconds = 1'))
    newswatch("--config", str(cfg), "poll")
    out = newswatch("--config", str(cfg), "digest", timeout=30)
    silent.close()
    assert out.returncode == 1 and "timed out" in out.stdout
    assert pending_digest(tmp_path)[1] == 2


def refuse_everyone(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)  # handled=False: aiosmtpd answers 535 itself


def test_authentication_refused(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), auth_require_tls=False,
                            authenticator=refuse_everyone)
    controller.start()
    try:
        cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=controller.port)
        cfg.write_text(cfg.read_text().replace('security = "none"', 'security = "none"\nusername = "analyst"'))
        newswatch("--config", str(cfg), "poll")
        out = newswatch("--config", str(cfg), "digest", env={"NEWSWATCH_SMTP_PASSWORD": "wrong"})
    finally:
        controller.stop()
    assert out.returncode == 1 and "535" in out.stdout
    assert sink.messages == [] and pending_digest(tmp_path)[1] == 2


def test_three_runs_never_repeat_an_item(tmp_path, feed_server, smtp_server):
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port)
    items = []
    for run in range(3):
        items += [{"title": f"Turkey and Syria hold normalization talks, round {run}.{k}",
                   "link": f"https://news.example.org/{run}-{k}", "guid": f"{run}-{k}",
                   "description": "Ankara and Damascus met in Moscow."} for k in range(2)]
        feed_server.documents["/rss"] = (rss(items), "application/rss+xml")
        assert newswatch("--config", str(cfg), "poll", "--all").returncode == 0
        assert newswatch("--config", str(cfg), "digest").returncode == 0
    assert len(smtp_server.messages) == 3
    links = [link for m in smtp_server.messages
             for link in re.findall(r"https://news\.example\.org/\S+", m.get_body(("plain",)).get_content())]
    assert sorted(links) == sorted(i["link"] for i in items)  # each exactly once


def test_two_digest_runs_at_once_send_each_item_once(tmp_path, feed_server, smtp_server):
    items = [{"title": f"Turkey and Syria hold normalization talks, round {k}", "link": f"https://n.example/{k}",
              "guid": str(k), "description": "Ankara and Damascus met in Moscow."} for k in range(6)]
    feed_server.documents["/rss"] = (rss(items), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port)
    newswatch("--config", str(cfg), "poll")
    procs = [subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "digest"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    links = [link for m in smtp_server.messages
             for link in re.findall(r"https://n\.example/\d+", m.get_body(("plain",)).get_content())]
    assert sorted(links) == sorted(i["link"] for i in items)


def test_a_backlog_larger_than_max_items_goes_out_in_one_run(tmp_path, feed_server, smtp_server):
    items = [{"title": f"Turkey and Syria agree on step {k} of normalization", "link": f"https://n.example/{k}",
              "guid": str(k), "description": f"Ankara and Damascus, part {k}."} for k in range(7)]
    feed_server.documents["/rss"] = (rss(items), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port,
                       extra="")
    cfg.write_text(cfg.read_text().replace('from = "newswatch@example.org"', 'from = "newswatch@example.org"\nmax_items = 3'))
    newswatch("--config", str(cfg), "poll")
    out = newswatch("--config", str(cfg), "digest")
    assert out.returncode == 0 and "delivered 7 items in 3 e-mails" in out.stdout
    assert [len(re.findall(r"https://n\.example/\d+", m.get_body(("plain",)).get_content()))
            for m in smtp_server.messages] == [3, 3, 1]


class PickySink(SmtpSink):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("typo"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_does_not_block_the_others(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    sink = PickySink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=controller.port)
        cfg.write_text(cfg.read_text().replace('to = ["analyst@example.org"]',
                                               'to = ["analyst@example.org", "typo@example.org"]'))
        newswatch("--config", str(cfg), "poll")
        out = newswatch("--config", str(cfg), "digest")
        again = newswatch("--config", str(cfg), "digest")
    finally:
        controller.stop()
    assert out.returncode == 0 and "the server refused these recipients: typo@example.org" in out.stdout
    assert "nothing new" in again.stdout and len(sink.messages) == 1
    assert pending_digest(tmp_path)[0][0][0] == "sent"


def refusals(tmp_path):
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    return db.execute("SELECT status, refusals FROM digests").fetchone()


def test_a_message_refused_run_after_run_goes_to_the_outbox_and_unblocks_newer_items(tmp_path, feed_server,
                                                                                     smtp_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port)
    newswatch("--config", str(cfg), "poll")
    smtp_server.reply = "554 5.7.1 Message rejected as spam"
    for count in (1, 2):
        out = newswatch("--config", str(cfg), "digest")
        assert out.returncode == 1 and "554" in out.stdout
        assert refusals(tmp_path) == ("pending", count)
    smtp_server.reply = "451 4.3.0 Try again later"  # a temporary failure starts the count again
    assert newswatch("--config", str(cfg), "digest").returncode == 1
    assert refusals(tmp_path) == ("pending", 0)
    smtp_server.reply = "554 5.7.1 Message rejected as spam"
    for _ in (1, 2):
        assert newswatch("--config", str(cfg), "digest").returncode == 1
    assert list((tmp_path / "outbox").glob("*.eml")) == []
    out = newswatch("--config", str(cfg), "digest")  # the third refusal in a row
    assert out.returncode == 1
    assert out.stdout.startswith("digest: digest 1 saved to the outbox: the server refused it 3 times in a row (SMTP")
    [saved] = (tmp_path / "outbox").glob("*.eml")
    assert "Turkish and Syrian defence ministers meet in Moscow" in saved.read_text()
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT status, transport, outbox_path, refusals FROM digests").fetchone() == (
        "sent", "outbox", str(saved), 3)
    # Newer items are no longer held behind it, and the saved one is not mailed again.
    smtp_server.reply = None
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS + [NEWER_ITEM]), "application/rss+xml")
    newswatch("--config", str(cfg), "poll", "--all")
    out = newswatch("--config", str(cfg), "digest")
    assert out.returncode == 0 and out.stdout.startswith("digest: delivered 1 item in 1 e-mail"), out.stdout
    [mail] = smtp_server.messages
    body = mail.get_body(("plain",)).get_content()
    assert "customs accord" in body and "defence ministers" not in body


NEWER_ITEM = {"title": "Fidan and al-Shaibani sign a customs accord in Ankara", "link": "https://news.example.org/a3",
              "guid": "a3", "description": "Turkey and Syria agreed to reopen two more border gates."}


@pytest.mark.parametrize("kill_at", ["digest.mark_failed.before_commit", "digest.mark_failed.committed",
                                     "outbox.written", "digest.mark_sent.before_commit"])
def test_a_crash_while_saving_a_refused_digest_to_the_outbox(tmp_path, feed_server, smtp_server, kill_at):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port)
    newswatch("--config", str(cfg), "poll")
    smtp_server.reply = "554 5.7.1 Message rejected as spam"
    for _ in (1, 2):
        newswatch("--config", str(cfg), "digest")
    # The third refusal, killed at `kill_at`:
    killed = newswatch("--config", str(cfg), "digest", env={"NEWSWATCH_KILL_AT": f"{kill_at}:1"})
    assert killed.returncode == -9
    # The server would now take it: a digest already judged undeliverable still goes to the outbox,
    # and one whose third refusal was lost is mailed. Either way exactly once, nowhere twice.
    smtp_server.reply = None
    newswatch("--config", str(cfg), "digest")
    saved = list((tmp_path / "outbox").glob("*.eml"))
    decided = kill_at != "digest.mark_failed.before_commit"
    assert (len(saved), len(smtp_server.messages)) == ((1, 0) if decided else (0, 1))
    assert refusals(tmp_path) == ("sent", 3 if decided else 2)
    assert "nothing new" in newswatch("--config", str(cfg), "digest").stdout


def test_a_message_over_the_servers_size_limit_counts_as_refused(tmp_path, feed_server):
    # The server announces SIZE, so the refusal (552) comes at MAIL FROM, before any content.
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), data_size_limit=500)
    controller.start()
    try:
        cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=controller.port)
        newswatch("--config", str(cfg), "poll")
        outs = [newswatch("--config", str(cfg), "digest") for _ in range(3)]
    finally:
        controller.stop()
    assert all(o.returncode == 1 and "552" in o.stdout for o in outs)
    assert "saved to the outbox" in outs[2].stdout and refusals(tmp_path) == ("sent", 3)
