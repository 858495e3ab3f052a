"""The store: de-duplication per feed (guid, then link, then content hash), one transaction per feed."""

import sqlite3
from datetime import timedelta

import pytest

from worker.clock import utcnow
from worker.records import FeedUpdate, ItemFilter, NewItem
from worker.schema import MIGRATIONS, SCHEMA_VERSION
from worker.store import Store


def item(guid=None, link=None, title="t", summary="s", content_hash=None, relevant=False):
    key = f"guid:{guid}" if guid else f"link:{link}" if link else f"hash:{content_hash or title}"
    return NewItem(dedup_key=key, guid=guid, link=link, title=title, summary=summary, published=None, lang="en",
                   content_hash=content_hash or title, score=1.0, relevant=relevant, matches=[], explanation=[])


def record(store, feed, items):
    return store.record_poll(feed, FeedUpdate(status="ok", next_poll=utcnow() + timedelta(minutes=5), http_status=200), items)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "x.db") as s:
        s.sync_feeds([("https://a.example/feed", "A", None), ("https://b.example/feed", "B", None)])
        yield s


def test_dedup_by_guid_then_link_then_hash(store):
    a, b = store.due_feeds()
    assert record(store, a, [item(guid="g1", link="https://x/1", content_hash="h1")]) == (1, 0)
    assert record(store, a, [item(guid="g1", link="https://x/other", content_hash="h9")]) == (0, 0)  # same guid
    # a new guid is a new item, even with a repeated link or headline ("Günün özeti", a section page)
    assert record(store, a, [item(guid="g5", link="https://x/1", content_hash="h1")]) == (1, 0)
    assert record(store, a, [item(link="https://x/2", content_hash="h2")]) == (1, 0)  # no guid: the link
    assert record(store, a, [item(link="https://x/2", content_hash="h3")]) == (0, 0)
    assert record(store, a, [item(content_hash="h7")]) == (1, 0)  # neither: the text
    assert record(store, a, [item(content_hash="h7")]) == (0, 0)
    assert record(store, a, [item(guid="g2", link="https://x/2", content_hash="h3"),
                             item(guid="g2", link="https://x/2", content_hash="h3")]) == (1, 0)  # within a batch
    assert record(store, b, [item(guid="g1", link="https://x/1", content_hash="h1")]) == (1, 0)  # per feed


def test_a_failing_feed_loses_nothing_already_stored(store):
    a, _ = store.due_feeds()
    record(store, a, [item(guid="g1", link="https://x/1", content_hash="h1")])
    bad = item(guid="g2", link="https://x/2", content_hash="h2")
    bad.title = None  # NOT NULL: the insert fails half-way through the feed's transaction
    with pytest.raises(sqlite3.IntegrityError):
        record(store, a, [item(guid="g3", link="https://x/3", content_hash="h3"), bad])
    assert [i.link for i in store.all_items()] == ["https://x/1"]  # g3 rolled back with its feed
    assert record(store, a, [item(guid="g3", link="https://x/3", content_hash="h3")]) == (1, 0)


def test_fts_index_is_visible_to_sqlite_utils_and_datasette(store):
    a, _ = store.due_feeds()
    record(store, a, [item(guid="g1", title="Ankara and Damascus talks", summary="normalization")])
    assert store.db["items"].detect_fts() == "items_fts"
    assert [r["title"] for r in store.query_items(ItemFilter(), fts="damascus")] == ["Ankara and Damascus talks"]
    triggers = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"items_ai", "items_ad", "items_au"} <= triggers
    assert list(store.query_items(ItemFilter(), fts='"unbalanced')) == []  # FTS syntax error falls back to a quoted search


def test_a_full_text_index_left_without_triggers_is_repaired(tmp_path):
    with Store(tmp_path / "x.db") as s:
        s.sync_feeds([("https://a.example/feed", "A", None)])
        record(s, s.due_feeds()[0], [item(guid="g1", title="Ankara talks", summary="x", content_hash="h1")])
        s.conn.execute("DROP TRIGGER items_ai")  # as a crash between enable_fts's steps would leave it
    with Store(tmp_path / "x.db") as s:
        record(s, s.due_feeds(all_feeds=True)[0], [item(guid="g2", title="Damascus talks", summary="y",
                                                        content_hash="h2")])
        assert sorted(r["title"] for r in s.query_items(ItemFilter(), fts="talks")) == ["Ankara talks", "Damascus talks"]


def test_wal_mode_and_schema_version(tmp_path):
    with Store(tmp_path / "y.db") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(tmp_path / "y.db") as s:  # reopening migrates nothing and keeps the data
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_version_1_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("INSERT INTO feeds (url, created_at) VALUES ('https://a.example/feed', '2023-01-01T00:00:00Z')")
    db.execute("INSERT INTO items (feed_id, dedup_key, title, summary, fetched_at, content_hash, score, relevant, "
               "matches, explanation) VALUES (1, 'guid:1', 'Old item', 's', '2023-01-01T00:00:00Z', 'h', 9, 1, "
               "'[]', '[]')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [i.title for i in s.all_items()] == ["Old item"]
        assert s.conn.execute("SELECT alert_attempts, alerted_at FROM items").fetchone() == (0, None)
        assert [r["title"] for r in s.query_items(ItemFilter(), fts="old")] == ["Old item"]  # FTS built over the old rows


def test_feeds_removed_from_the_list_become_inactive_but_keep_history(store):
    store.sync_feeds([("https://a.example/feed", "A", None)])
    assert [f.url for f in store.due_feeds()] == ["https://a.example/feed"]
    assert len(store.feed_health()) == 2
