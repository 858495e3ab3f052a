"""Store stage: the only module that runs SQL.

SQLite through sqlite-utils, WAL mode. The tables, their migrations and the FTS index are in
schema.py; the columns of search results and exports, and the SQL that renders them, in
item_columns.py; the records that go in and come out are in records.py.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Self

from .clock import iso, utcnow
from .errors import NewswatchError
from .failpoints import checkpoint
from .item_columns import FEED_NAME, ITEM_COLUMNS, csv_record_sql, json_object_sql
from .records import FAILED_STATUSES, DigestRecord, FeedState, FeedUpdate, ItemFilter, NewItem, StoredItem
from .schema import FTS, MIGRATIONS, SCHEMA_VERSION
from .text import where

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000


class StoreError(NewswatchError):
    pass


class DatabaseFailure(StoreError):
    """The database refused a write (full disk, I/O error, a lock held too long): nothing more can be
    stored this cycle. str() is the one line for the user; `full` says whether it was a full disk."""

    def __init__(self, message: str, full: bool = False):
        super().__init__(message)
        self.full = full


# SQLite primary result codes (sqlite3.Error.sqlite_errorcode & 0xff) worth their own wording.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL = 5, 6, 10, 11, 13


def database_failure(path: str | Path, e: BaseException) -> DatabaseFailure:
    """One line saying what went wrong with the database at `path`, from SQLite's or the OS's error."""
    code = (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(e)
    if (code == _SQLITE_FULL or "database or disk is full" in text
            or (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT))):
        return DatabaseFailure(f"database full: no space left on device for {path}", full=True)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text:
        return DatabaseFailure(f"database locked: {path} stayed locked by another process for more than "
                               f"{BUSY_TIMEOUT_MS // 1000} s ({text})")
    if code == _SQLITE_IOERR or isinstance(e, OSError):
        return DatabaseFailure(f"database I/O error on {path}: {text}")
    if code == _SQLITE_CORRUPT:
        return DatabaseFailure(f"database {path} is corrupt: {text}")
    return DatabaseFailure(f"database error on {path}: {text}")


class Store:
    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"database not found: {where(self.path)}; `newswatch poll` creates it")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit connection: every write goes through transaction(), which says BEGIN IMMEDIATE
            # itself, so that sqlite-utils helpers cannot commit half of a feed's work.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open database {self.path}: {e}") from None
        self.conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = wal")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            conn.close()
            failure = database_failure(self.path, e)
            if failure.full or (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in (
                    _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR):
                raise failure from None  # the file is fine, its disk or a lock is not: say which
            raise StoreError(f"database {self.path} is not usable: {e}") from None

    @functools.cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, for its query helpers. Imported on first use: it is
        a sixth of the start-up of a command that needs none (export, search, poll)."""
        import sqlite_utils
        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self, label: str = "store") -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); `label` names its crash-test checkpoints."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            checkpoint(f"{label}.before_commit")
        except BaseException:
            # SQLite may already have rolled back by itself (a full disk, an I/O error): a ROLLBACK then
            # fails with "no transaction is active", which would hide the error that matters.
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the original error is the one to report; SQLite undoes the rest on close
            raise
        else:
            self.conn.execute("COMMIT")
            checkpoint(f"{label}.committed")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"database {self.path} has schema version {version}, newer than this "
                             f"newswatch ({SCHEMA_VERSION}); upgrade newswatch")
        for step in range(version, SCHEMA_VERSION):
            with self.transaction("store.migrate") as c:
                for statement in MIGRATIONS[step]:
                    c.execute(statement)
                c.execute(f"PRAGMA user_version = {step + 1}")
        self._ensure_fts()

    def _ensure_fts(self) -> None:
        """Create the FTS index and its triggers, or the pieces a crash left out (then rebuild it)."""
        present = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE name IN ('items_fts', 'items_ai', 'items_ad', 'items_au')")}
        if len(present) == len(FTS):
            return
        with self.transaction("store.fts") as c:
            for name, sql in FTS.items():
                if name not in present:
                    c.execute(sql)
            c.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")

    # ---- feeds -------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[tuple[str, str | None, str | None]]) -> None:
        """Make the active feeds exactly those of the feed list (url, title, language); history is kept.

        A feed that moved (301) takes its new URL once the list has it; a feed that comes back to the
        list after being removed (or disabled by a 410) is polled again.
        """
        now = iso(utcnow())
        feeds = list(feeds)
        urls = {url for url, _, _ in feeds}
        with self.transaction("store.sync_feeds") as c:
            for url, title, language in feeds:
                if not c.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone():
                    c.execute("UPDATE feeds SET url = ?, moved_to = NULL WHERE moved_to = ? AND url NOT IN "
                              "(SELECT url FROM feeds WHERE url = ?)", (url, url, url))
                c.execute("INSERT INTO feeds (url, list_title, language, created_at) VALUES (?, ?, ?, ?) "
                          "ON CONFLICT(url) DO UPDATE SET "
                          "disabled_reason = CASE WHEN feeds.active = 0 THEN NULL ELSE feeds.disabled_reason END, "
                          "active = 1, list_title = excluded.list_title, language = excluded.language",
                          (url, title, language, now))
            for (url,) in c.execute("SELECT url FROM feeds WHERE active = 1").fetchall():
                if url not in urls:
                    c.execute("UPDATE feeds SET active = 0 WHERE url = ?", (url,))

    def enable_feed(self, url: str) -> None:
        """Clear a disabled feed's reason (it was re-added): polled again from the next cycle."""
        with self.transaction("store.enable") as c:
            c.execute("UPDATE feeds SET disabled_reason = NULL, next_poll_at = NULL WHERE url = ?", (url,))

    def due_feeds(self, now: datetime | None = None, all_feeds: bool = False) -> list[FeedState]:
        """Active, enabled feeds whose next poll time has come (every one with all_feeds)."""
        sql = ("SELECT id, url, etag, last_modified, error_count, body_hash, language FROM feeds "
               "WHERE active = 1 AND disabled_reason IS NULL")
        args: tuple = ()
        if not all_feeds:
            sql += " AND (next_poll_at IS NULL OR next_poll_at <= ?)"
            args = (iso(now or utcnow()),)
        return [FeedState(id=r[0], url=r[1], etag=r[2], last_modified=r[3], error_count=r[4], body_hash=r[5],
                          language=r[6]) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def record_poll(self, feed: FeedState, update: FeedUpdate, items: Sequence[NewItem] = ()) -> tuple[int, int]:
        """Store a feed's new items and its new state in one transaction; returns (new, new relevant).

        An item is new unless the feed already has one with its dedup key, guid, link or content hash.
        """
        now = iso(utcnow())
        rows = []
        with self.transaction("store.feed") as c:
            keys = self._known(c, feed.id, items)
            for item in items:
                # Identity is the guid, else the link, else a hash of the text (Item.dedup_key): a new
                # guid is a new item even if its headline repeats ("Günün özeti") or its link does.
                if item.dedup_key in keys:
                    continue
                keys.add(item.dedup_key)
                rows.append((feed.id, item.dedup_key, item.guid, item.link, item.title, item.summary, item.published,
                             now, item.lang, item.content_hash, item.score, int(item.relevant),
                             json.dumps(item.matches, ensure_ascii=False),
                             json.dumps(item.explanation, ensure_ascii=False)))
            c.executemany(
                "INSERT INTO items (feed_id, dedup_key, guid, link, title, summary, published_at, fetched_at, lang, "
                "content_hash, score, relevant, matches, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows)
            self._update_feed(c, feed, update, now)
        return len(rows), sum(r[11] for r in rows)

    def record_polls(self, polls: Sequence[tuple[FeedState, FeedUpdate]]) -> None:
        """Record the polls of feeds that gave no items (304, the same bytes as last time, an error) in
        one transaction: a cycle of unchanged or failing feeds then costs few commits, not one per feed.
        Lost in a crash, they leave those feeds as they were, due, with their old validators: nothing
        to lose."""
        now = iso(utcnow())
        with self.transaction("store.polls") as c:
            for feed, update in polls:
                self._update_feed(c, feed, update, now)

    @staticmethod
    def _update_feed(c: sqlite3.Connection, feed: FeedState, update: FeedUpdate, now: str) -> None:
        failed = update.status in FAILED_STATUSES
        c.execute(
            "UPDATE feeds SET last_status = ?, http_status = ?, last_polled_at = ?, next_poll_at = ?, "
            "error_count = CASE WHEN ? THEN error_count + 1 ELSE 0 END, "
            "last_error = CASE WHEN ? IS NOT NULL THEN ? ELSE last_error END, "
            "last_success_at = CASE WHEN ? THEN last_success_at ELSE ? END, "
            "etag = CASE WHEN ? THEN etag ELSE ? END, "
            "last_modified = CASE WHEN ? THEN last_modified ELSE ? END, "
            "body_hash = COALESCE(?, body_hash), items_per_day = COALESCE(?, items_per_day), "
            "disabled_reason = ?, title = COALESCE(?, title) WHERE id = ?",
            (update.status, update.http_status, now, iso(update.next_poll), failed, update.error, update.error,
             failed, now, failed, update.etag, failed, update.last_modified, update.body_hash,
             update.items_per_day, update.disabled_reason, update.title, feed.id))
        if update.new_url and update.new_url != feed.url:
            # Recorded, not applied: the row takes the new URL when the feed list does (sync_feeds),
            # so a crash before the list is rewritten cannot leave the old URL to come back as a
            # new feed whose items would be stored, and mailed, a second time.
            c.execute("UPDATE feeds SET moved_to = ? WHERE id = ?", (update.new_url, feed.id))

    @staticmethod
    def _known(c: sqlite3.Connection, feed_id: int, items: Sequence[NewItem]) -> set[str]:
        """The identities this feed already has among those of `items` (one query per 500 items)."""
        keys: set[str] = set()
        for start in range(0, len(items), 500):
            chunk = [i.dedup_key for i in items[start:start + 500]]
            keys.update(r[0] for r in c.execute(
                f"SELECT dedup_key FROM items WHERE feed_id = ? AND dedup_key IN ({','.join('?' * len(chunk))})",
                (feed_id, *chunk)))
        return keys

    def set_feed_title(self, url: str, title: str) -> None:
        """Record a feed's own title (`feeds add` fetches it once), adding the feed's row if need be."""
        with self.transaction("store.feed_title") as c:
            c.execute("INSERT INTO feeds (url, title, created_at) VALUES (?, ?, ?) "
                      "ON CONFLICT(url) DO UPDATE SET title = excluded.title", (url, title, iso(utcnow())))

    def feed_health(self) -> list[dict]:
        """Every feed with its health and item count, active ones first."""
        return [dict(r) for r in self.db.query(
            f"SELECT f.url, {FEED_NAME} AS title, f.active, f.disabled_reason, f.last_status, f.http_status, f.error_count, "
            "f.last_error, f.last_polled_at, f.last_success_at, f.next_poll_at, f.items_per_day, "
            "(SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id) AS items "
            "FROM feeds f ORDER BY f.active DESC, f.url")]

    # ---- items -------------------------------------------------------------------------------

    def _items(self, where: str, args: tuple) -> list[StoredItem]:
        rows = self.conn.execute(
            f"SELECT i.id, i.feed_id, {FEED_NAME}, f.url, i.title, i.summary, i.link, i.published_at, "
            "i.fetched_at, i.lang, i.score, i.relevant, i.matches, i.explanation, i.story_id "
            f"FROM items i JOIN feeds f ON f.id = i.feed_id WHERE {where}", args).fetchall()
        return [StoredItem(id=r[0], feed_id=r[1], feed_title=r[2], feed_url=r[3], title=r[4], summary=r[5],
                           link=r[6], published=r[7], fetched=r[8], lang=r[9], score=r[10], relevant=bool(r[11]),
                           matches=json.loads(r[12]), explanation=json.loads(r[13]), story_id=r[14]) for r in rows]

    def undelivered_relevant(self, limit: int) -> list[StoredItem]:
        """Relevant items in no digest yet, oldest first."""
        return self._items("i.relevant = 1 AND i.digest_id IS NULL "
                           "ORDER BY COALESCE(i.published_at, i.fetched_at), i.id LIMIT ?", (limit,))

    def all_items(self) -> list[StoredItem]:
        """Every stored item, oldest first."""
        return self._items("1 = 1 ORDER BY i.id", ())

    def items_by_id(self, ids: list[int]) -> list[StoredItem]:
        """The items with these ids, in id order."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._items(f"i.id IN ({marks}) ORDER BY i.id", tuple(ids))

    # ---- querying ----------------------------------------------------------------------------

    def query_items(self, flt: ItemFilter, fts: str | None = None, limit: int | None = None) -> Iterator[dict]:
        """Items matching the filter as dicts, newest first, or by FTS rank when `fts` is given."""
        names, rows = self.query_rows(flt, fts, limit)
        for row in rows:
            yield dict(zip(names, row, strict=True))

    def query_rows(self, flt: ItemFilter, fts: str | None = None, limit: int | None = None,
                   as_json: bool = False) -> tuple[list[str], Iterator[tuple]]:
        """(column names, row tuples) of the items matching the filter.

        With as_json, each row is one column holding the item as a JSON object, built by SQLite (in C:
        a month of items exports in a fraction of the time Python's encoder takes).
        """
        if as_json:
            columns = f"{json_object_sql()} AS item"
        else:
            columns = ", ".join(f"{expr} AS {name}" for name, expr in ITEM_COLUMNS)
        cursor = self._select_items(columns, flt, fts, limit, ordered=True)
        return [d[0] for d in cursor.description], cursor

    def item_lines(self, flt: ItemFilter, fmt: str, fts: str | None = None, limit: int | None = None,
                   block: int = 1000) -> Iterator[list[bytes]]:
        """The items matching the filter, newest (or best) first, each as a line of JSON ("jsonl") or
        a CSV record ("csv", the bytes Python's csv module writes, formulas defused), in blocks. SQLite
        builds and encodes every line: no row passes through Python's text, csv or JSON code, which
        took most of a month's export."""
        line = f"{json_object_sql()} || char(10)" if fmt == "jsonl" else csv_record_sql()
        cursor = self._select_items(f"CAST({line} AS BLOB)", flt, fts, limit, ordered=True)
        while rows := cursor.fetchmany(block):
            yield [text for (text,) in rows]

    def last_item_id(self) -> int:
        """The id of the item stored last (0 for none)."""
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]

    def time_splits(self, flt: ItemFilter, parts: int, min_items: int) -> list[str]:
        """Times that cut the items between flt.since and flt.until into `parts` runs of about equal
        size, newest first, or none when fewer than `min_items` are there. Read from the time index
        alone (milliseconds for a month): the other filters may leave the runs unequal."""
        when = "COALESCE(published_at, fetched_at)"
        where = " AND ".join([f"{when} >= :since"] * bool(flt.since) + [f"{when} < :until"] * bool(flt.until)) or "1"
        args = {"since": flt.since, "until": flt.until}
        total = self.conn.execute(f"SELECT COUNT(*) FROM items WHERE {where}", args).fetchone()[0]
        if total < min_items or parts < 2:
            return []
        cuts = [self.conn.execute(f"SELECT {when} FROM items WHERE {where} ORDER BY {when} DESC LIMIT 1 OFFSET :n",
                                  {**args, "n": total * k // parts}).fetchone()[0] for k in range(1, parts)]
        return sorted(set(cuts), reverse=True)

    def count_items(self, flt: ItemFilter, fts: str | None = None) -> int:
        """How many items query_rows would give (for a progress bar)."""
        return self._select_items("COUNT(*)", flt, fts, None, ordered=False).fetchone()[0]

    def _select_items(self, columns: str, flt: ItemFilter, fts: str | None, limit: int | None,
                      ordered: bool) -> sqlite3.Cursor:
        """SELECT columns over the items matching the filter (and FTS query), newest or best first."""
        where: list[str] = ["1 = 1"]
        args: list[str | int] = []
        if flt.relevant is not None:
            where.append("i.relevant = ?")
            args.append(int(flt.relevant))
        if flt.since:
            where.append("COALESCE(i.published_at, i.fetched_at) >= ?")
            args.append(flt.since)
        if flt.until:
            where.append("COALESCE(i.published_at, i.fetched_at) < ?")
            args.append(flt.until)
        if flt.feed:
            where.append("(f.url = ? OR f.title LIKE ? OR f.list_title LIKE ? OR f.url LIKE ?)")
            args += [flt.feed, f"%{flt.feed}%", f"%{flt.feed}%", f"%{flt.feed}%"]
        if flt.lang:
            where.append("i.lang = ?")
            args.append(flt.lang)
        if flt.max_id is not None:
            where.append("i.id <= ?")
            args.append(flt.max_id)
        select = (f"SELECT {columns} FROM items i JOIN feeds f ON f.id = i.feed_id "
                  "LEFT JOIN labels l ON l.item_id = i.id")
        if fts:
            select += " JOIN items_fts ON items_fts.rowid = i.id"
            where.append("items_fts MATCH ?")
            args.append(fts)
            order = "items_fts.rank"
        else:
            order = "COALESCE(i.published_at, i.fetched_at) DESC, i.id DESC"
        sql = f"{select} WHERE {' AND '.join(where)}" + (f" ORDER BY {order}" if ordered else "")
        if limit:
            sql += f" LIMIT {int(limit)}"
        try:
            return self.conn.execute(sql, args)
        except sqlite3.OperationalError:
            if fts:
                # Not valid FTS5 syntax (a stray quote, a lone operator): search the words as typed.
                quoted = " ".join('"' + w.replace('"', '""') + '"' for w in fts.split())
                return self.conn.execute(sql, [*args[:-1], quoted])
            raise

    def stats(self, days: int) -> dict:
        """Items and relevant items per day and per feed over the last `days`, with totals."""
        since = iso(utcnow() - timedelta(days=days))
        per_day = [dict(r) for r in self.db.query(
            "SELECT substr(COALESCE(published_at, fetched_at), 1, 10) AS day, COUNT(*) AS items, "
            "SUM(relevant) AS relevant FROM items WHERE COALESCE(published_at, fetched_at) >= :since "
            "GROUP BY day ORDER BY day", {"since": since})]
        per_feed = [dict(r) for r in self.db.query(
            f"SELECT {FEED_NAME} AS feed, f.url, COUNT(i.id) AS items, COALESCE(SUM(i.relevant), 0) AS relevant, "
            "f.last_status, f.error_count, f.last_success_at FROM feeds f LEFT JOIN items i ON i.feed_id = f.id "
            "AND COALESCE(i.published_at, i.fetched_at) >= :since WHERE f.active = 1 GROUP BY f.id "
            "ORDER BY relevant DESC, items DESC, f.url", {"since": since})]
        totals = self.counts()
        totals["failing_feeds"] = self.conn.execute(
            "SELECT COUNT(*) FROM feeds WHERE active = 1 AND error_count > 0").fetchone()[0]
        totals["last_poll"] = self.conn.execute("SELECT MAX(last_polled_at) FROM feeds").fetchone()[0]
        return {"since": since, "totals": totals, "per_day": per_day, "per_feed": per_feed}

    def last_poll_at(self) -> str | None:
        """When an active feed was last polled; None if never."""
        return self.conn.execute("SELECT MAX(last_polled_at) FROM feeds WHERE active = 1").fetchone()[0]

    def label(self, item: str, relevant: bool, note: str | None = None) -> dict:
        """Record a person's verdict on an item (by id or link); returns the item."""
        row = self.conn.execute("SELECT id, title, relevant FROM items WHERE id = ? OR link = ? ORDER BY id LIMIT 1",
                                (int(item) if item.isascii() and item.isdigit() else -1, item)).fetchone()
        if row is None:
            raise StoreError(f"no item {item!r} (give an item id, as `newswatch search` shows, or its link)")
        with self.transaction("store.label") as c:
            c.execute("INSERT INTO labels (item_id, relevant, note, labeled_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT(item_id) DO UPDATE SET relevant = excluded.relevant, note = excluded.note, "
                      "labeled_at = excluded.labeled_at", (row[0], int(relevant), note, iso(utcnow())))
        return {"id": row[0], "title": row[1], "classified_relevant": bool(row[2])}

    def reject_term(self, term: str) -> None:
        """Record that a person rejected a suggested term: it is never suggested again."""
        with self.transaction("store.reject") as c:
            c.execute("INSERT INTO rejected_terms (term, rejected_at) VALUES (?, ?) ON CONFLICT(term) DO NOTHING",
                      (term, iso(utcnow())))

    def rejected_terms(self) -> list[str]:
        """Every term a person rejected."""
        return [r[0] for r in self.conn.execute("SELECT term FROM rejected_terms ORDER BY term")]

    def verdicts(self, since: str | None = None) -> Iterator[tuple[int, str, str, float, bool]]:
        """(id, title, summary, score, relevant) of every item published (or fetched) since then, oldest first."""
        where, args = ("WHERE COALESCE(published_at, fetched_at) >= ?", (since,)) if since else ("", ())
        return iter(self.conn.execute(
            f"SELECT id, title, summary, score, relevant FROM items {where} ORDER BY id", args).fetchall())

    def update_verdicts(self, verdicts: list[tuple[int, float, bool, list[str], list[dict]]]) -> None:
        """Store new verdicts (id, score, relevant, matches, explanation) in one transaction. Delivery
        state (digest, delivery and alert columns) is not touched: an item newly relevant and not yet
        delivered goes out with the next digest; one delivered stays delivered."""
        with self.transaction("store.update_verdicts") as c:
            c.executemany("UPDATE items SET score = ?, relevant = ?, matches = ?, explanation = ? WHERE id = ?",
                          [(score, int(relevant), json.dumps(matches), json.dumps(explanation), item_id)
                           for item_id, score, relevant, matches, explanation in verdicts])

    def item_time(self, rank: int = 1) -> str | None:
        """The publication (else fetch) time of the rank-th newest item; None when there are fewer."""
        row = self.conn.execute("SELECT COALESCE(published_at, fetched_at) FROM items ORDER BY 1 DESC "
                                "LIMIT 1 OFFSET ?", (rank - 1,)).fetchone()
        return row[0] if row else None

    def window_items(self, since: str, until: str) -> Iterator[dict]:
        """What rule suggestions read of the items published in [since, until): title, summary,
        feed_url, lang, score, relevant, label (a person's verdict or None) and matches (JSON text)."""
        cursor = self.conn.execute(
            "SELECT i.title, i.summary, f.url AS feed_url, i.lang, i.score, i.relevant, l.relevant AS label, "
            "i.matches FROM items i JOIN feeds f ON f.id = i.feed_id LEFT JOIN labels l ON l.item_id = i.id "
            "WHERE COALESCE(i.published_at, i.fetched_at) >= ? AND COALESCE(i.published_at, i.fetched_at) < ? "
            "ORDER BY COALESCE(i.published_at, i.fetched_at), i.id",  # the same examples every time
            (since, until))
        names = [d[0] for d in cursor.description]
        return (dict(zip(names, row, strict=True)) for row in cursor)

    def oldest_item_time(self) -> str | None:
        """The publication (else fetch) time of the oldest item."""
        return self.conn.execute("SELECT MIN(COALESCE(published_at, fetched_at)) FROM items").fetchone()[0]

    def set_digest_suggestions(self, digest_id: int, suggestions: list[dict]) -> None:
        """Keep the "New near the story" section with its digest: a retry sends the same one."""
        with self.transaction("digest.suggestions") as c:
            c.execute("UPDATE digests SET suggestions = ? WHERE id = ?", (json.dumps(suggestions), digest_id))

    def last_suggestions_at(self) -> str | None:
        """When a digest last carried a "New near the story" section."""
        row = self.conn.execute("SELECT MAX(created_at) FROM digests WHERE suggestions IS NOT NULL").fetchone()
        return row[0] if row else None

    def labeled_items(self) -> list[dict]:
        """Every item a person labeled, with their verdict (relevant) and note."""
        return [dict(r) for r in self.db.query(
            "SELECT i.id, i.title, i.summary, l.relevant AS relevant, l.note FROM labels l "
            "JOIN items i ON i.id = l.item_id ORDER BY i.id")]

    def prune(self, irrelevant_days: int) -> int:
        """Delete irrelevant, unlabeled items fetched more than `irrelevant_days` ago; relevant ones stay."""
        cutoff = iso(utcnow() - timedelta(days=irrelevant_days))
        with self.transaction("store.prune") as c:
            cur = c.execute("DELETE FROM items WHERE relevant = 0 AND fetched_at < ? AND digest_id IS NULL "
                            "AND id NOT IN (SELECT item_id FROM labels)", (cutoff,))
        return cur.rowcount

    def recent_stories(self, since: str) -> list[tuple[int, int | None, str, str, str | None]]:
        """(id, story_id or None if not yet assigned, title, summary, link) of relevant items fetched since `since`."""
        return self.conn.execute("SELECT id, story_id, title, summary, link FROM items "
                                 "WHERE relevant = 1 AND fetched_at >= ? ORDER BY id", (since,)).fetchall()

    def set_story(self, item_id: int, story_id: int) -> None:
        """Record the story an item belongs to (stories.assign_stories)."""
        with self.transaction("store.story") as c:
            c.execute("UPDATE items SET story_id = ? WHERE id = ?", (story_id, item_id))

    def near_misses(self, min_score: float, since: str | None, limit: int) -> list[StoredItem]:
        """Items scored just under the threshold, fetched since `since`: for tuning the rules."""
        return self._items("i.relevant = 0 AND i.score >= ? AND i.fetched_at > ? ORDER BY i.score DESC, i.id "
                           "LIMIT ?", (min_score, since or "", limit))

    def last_digest_at(self) -> str | None:
        """When the last digest that went out was recorded; None if none has."""
        return self.conn.execute("SELECT MAX(created_at) FROM digests WHERE status = 'sent'").fetchone()[0]

    def failing_feeds(self, since: str) -> list[dict]:
        """Active feeds with no success since `since` (or never) that have been tried and failed."""
        return [dict(r) for r in self.db.query(
            f"SELECT url, {FEED_NAME} AS title, error_count, last_error, last_success_at FROM feeds f WHERE active = 1 "
            "AND error_count > 0 AND (last_success_at IS NULL OR last_success_at < :since) "
            "AND created_at < :since ORDER BY url", {"since": since})]

    # ---- alerts ------------------------------------------------------------------------------

    def pending_alerts(self, min_score: float, max_attempts: int, since: str, limit: int = 100) -> list[StoredItem]:
        """Relevant items at or above min_score, fetched since `since`, not yet alerted."""
        return self._items("i.relevant = 1 AND i.score >= ? AND i.alerted_at IS NULL AND i.alert_attempts < ? "
                           "AND i.fetched_at >= ? ORDER BY i.id LIMIT ?", (min_score, max_attempts, since, limit))

    def alert_sent(self, item_id: int) -> None:
        """Mark an item alerted (its webhook answered 2xx)."""
        with self.transaction("alert.mark_sent") as c:
            c.execute("UPDATE items SET alerted_at = ?, alert_attempts = alert_attempts + 1, alert_error = NULL "
                      "WHERE id = ?", (iso(utcnow()), item_id))

    def alert_failed(self, item_id: int, error: str) -> None:
        """Count a failed alert attempt for an item, with its error."""
        with self.transaction("alert.mark_failed") as c:
            c.execute("UPDATE items SET alert_attempts = alert_attempts + 1, alert_error = ? WHERE id = ?",
                      (error[:1000], item_id))

    def counts(self) -> dict[str, int]:
        """Active feeds, items, relevant items and relevant items not yet delivered."""
        one = self.conn.execute
        return {
            "feeds": one("SELECT COUNT(*) FROM feeds WHERE active = 1").fetchone()[0],
            "items": one("SELECT COUNT(*) FROM items").fetchone()[0],
            "relevant": one("SELECT COUNT(*) FROM items WHERE relevant = 1").fetchone()[0],
            "undelivered": one("SELECT COUNT(*) FROM items WHERE relevant = 1 AND delivered_at IS NULL"
                               ).fetchone()[0],
        }

    # ---- digests -----------------------------------------------------------------------------

    def unsent_digests(self) -> list[DigestRecord]:
        """Digests recorded but not yet delivered, oldest first, with their items."""
        out = []
        for did, mid, status, attempts, refusals, suggestions in self.conn.execute(
                "SELECT id, message_id, status, attempts, refusals, suggestions FROM digests "
                "WHERE status = 'pending' ORDER BY id"):
            ids = [r[0] for r in self.conn.execute("SELECT id FROM items WHERE digest_id = ? ORDER BY id",
                                                   (did,))]
            out.append(DigestRecord(id=did, message_id=mid, status=status, attempts=attempts, item_ids=ids,
                                    refusals=refusals, suggestions=json.loads(suggestions) if suggestions else None))
        return out

    def claim_digest(self, message_id: str, limit: int, allow_empty: bool = False) -> DigestRecord | None:
        """Record a digest and claim for it up to `limit` relevant items in no digest yet, oldest first,
        in one write transaction (so two runs can never claim the same item); None if nothing to claim."""
        now = iso(utcnow())
        with self.transaction("digest.record") as c:
            ids = [r[0] for r in c.execute(
                "SELECT id FROM items WHERE relevant = 1 AND digest_id IS NULL "
                "ORDER BY COALESCE(published_at, fetched_at), id LIMIT ?", (limit,))]
            if not ids and not allow_empty:
                return None
            cur = c.execute("INSERT INTO digests (message_id, created_at, status, item_count) "
                            "VALUES (?, ?, 'pending', ?)", (message_id, now, len(ids)))
            did = cur.lastrowid
            assert did is not None  # an INSERT's row id
            c.executemany("UPDATE items SET digest_id = ? WHERE id = ? AND digest_id IS NULL", [(did, i) for i in ids])
            claimed = [r[0] for r in c.execute("SELECT id FROM items WHERE digest_id = ? ORDER BY id", (did,))]
        return DigestRecord(id=did, message_id=message_id, status="pending", attempts=0, item_ids=claimed)

    def digest_sent(self, digest_id: int, transport: str, outbox_path: str | None = None,
                    note: str | None = None) -> None:
        """Mark a digest and its items delivered; `note` records e.g. recipients the server refused."""
        now = iso(utcnow())
        with self.transaction("digest.mark_sent") as c:
            c.execute("UPDATE digests SET status = 'sent', sent_at = ?, transport = ?, outbox_path = ?, "
                      "attempts = attempts + 1, last_attempt_at = ?, last_error = ? WHERE id = ?",
                      (now, transport, outbox_path, now, note, digest_id))
            c.execute("UPDATE items SET delivered_at = ? WHERE digest_id = ?", (now, digest_id))

    def digest_failed(self, digest_id: int, error: str, refused: bool = False) -> int:
        """Count a failed attempt; `refused`: the server refused the message itself (a run of these
        is counted, and any other failure ends the run). Returns the refusals in a row."""
        now = iso(utcnow())
        with self.transaction("digest.mark_failed") as c:
            c.execute("UPDATE digests SET attempts = attempts + 1, last_attempt_at = ?, last_error = ?, "
                      "refusals = CASE WHEN ? THEN refusals + 1 ELSE 0 END WHERE id = ?",
                      (now, error[:1000], refused, digest_id))
            return c.execute("SELECT refusals FROM digests WHERE id = ?", (digest_id,)).fetchone()[0]


def backup_database(source: str | Path, dest: str | Path, force: bool = False) -> int:
    """Copy the database at `source` to `dest` with SQLite's online backup API; returns the copy's size.

    Safe while the daemon writes: the copy is one consistent snapshot (WAL readers do not block the
    writer, nor it them). It is written to a temporary file beside `dest` and renamed into place, so
    `dest` is never a half-written database. An existing `dest` is replaced only with `force`.
    """
    source, dest = Path(source), Path(dest)
    if not source.exists():
        raise StoreError(f"database not found: {where(source)}; nothing to back up")
    if dest.exists() or dest.is_symlink():
        if dest.is_dir():
            raise BackupRefused(f"{dest} is a directory: give the backup's file name")
        if dest.resolve() == source.resolve():
            raise BackupRefused(f"{dest} is the database itself: give another file")
        if not force:
            raise BackupRefused(f"{dest} exists: give --force to overwrite it")
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)  # it only reads
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)  # all pages in one step: one read transaction, one snapshot
                # A single self-contained file (no -wal beside it); the daemon turns WAL on again when
                # a restored copy is opened.
                out.execute("PRAGMA journal_mode = DELETE")
            finally:
                out.close()
        finally:
            src.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except sqlite3.Error as e:
        tmp.unlink(missing_ok=True)
        failure = database_failure(dest, e)
        if failure.full:
            raise DatabaseFailure(f"backup to {dest} failed: no space left on device", full=True) from None
        raise StoreError(f"backup of {source} to {dest} failed: {e}") from None
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"backup to {dest}: {e.strerror or e}") from None
    return dest.stat().st_size


class BackupRefused(StoreError):
    exit_code = 2  # a usage error: the destination given cannot be used as it is
