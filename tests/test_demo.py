"""`newswatch demo`: offline, a few seconds, a digest in the outbox."""

import time
from email import message_from_bytes, policy

from conftest import newswatch


def test_demo_leaves_a_digest_in_the_outbox(tmp_path):
    start = time.monotonic()
    out = newswatch("demo", "--outbox", str(tmp_path / "outbox"))
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - start < 20
    assert out.stdout.startswith("polled 3 feeds: 14 new items, 6 relevant, 0 errors")
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content()
    assert "Fidan visits Damascus" in text and "Armenia" not in text
    assert msg.get_body(("html",)) is not None


def test_demo_never_overwrites_a_digest_already_in_the_outbox(tmp_path):
    outbox = tmp_path / "outbox"
    assert newswatch("demo", "--outbox", str(outbox)).returncode == 0
    first = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert newswatch("demo", "--outbox", str(outbox)).returncode == 0
    after = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert len(after) == 2 and all(after[name] == body for name, body in first.items())
