"""The database schema: the tables, the steps that upgrade an older database, and the FTS index.

SQL text only: store.py is the one module that runs it (Store._migrate). Tables people query (names
are a public contract):
  feeds    one row per feed, keyed by url: HTTP validators and health (last_status: records.FeedStatus)
  items    one row per stored item, with its verdict; FTS5 index items_fts on title and summary
  digests  one row per digest; items.digest_id / items.delivered_at hold each item's delivery state
"""

from __future__ import annotations

SCHEMA_VERSION = 8

DDL = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    site_url TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    etag TEXT,
    last_modified TEXT,
    last_status TEXT,            -- ok | warning | not_modified | unchanged | error | gone (records.FeedStatus)
    http_status INTEGER,
    error_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_polled_at TEXT,
    last_success_at TEXT,
    next_poll_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,        -- pending | sent
    item_count INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT,
    sent_at TEXT,
    transport TEXT,              -- smtp | outbox
    outbox_path TEXT
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds(id),
    dedup_key TEXT NOT NULL,
    guid TEXT,
    link TEXT,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    published_at TEXT,
    fetched_at TEXT NOT NULL,
    lang TEXT,
    content_hash TEXT NOT NULL,
    score REAL NOT NULL,
    relevant INTEGER NOT NULL,
    matches TEXT NOT NULL,       -- JSON list of "concept:term"
    explanation TEXT NOT NULL,   -- JSON list of {rule, count, weight, points, terms}
    digest_id INTEGER REFERENCES digests(id),
    delivered_at TEXT,
    UNIQUE (feed_id, dedup_key)
);
CREATE INDEX IF NOT EXISTS items_feed_guid ON items (feed_id, guid);
CREATE INDEX IF NOT EXISTS items_feed_link ON items (feed_id, link);
CREATE INDEX IF NOT EXISTS items_feed_hash ON items (feed_id, content_hash);
CREATE INDEX IF NOT EXISTS items_pending ON items (relevant, digest_id);
CREATE INDEX IF NOT EXISTS items_published ON items (published_at);
"""

# MIGRATIONS[n] upgrades a database from schema version n to n + 1; a database is upgraded in place,
# each step in its own transaction, so an old database keeps every row.
MIGRATIONS: list[list[str]] = [
    [s for s in DDL.split(";") if s.strip()],
    [  # v2: instant alerts, with the same bookkeeping as digests
        "ALTER TABLE items ADD COLUMN alerted_at TEXT",
        "ALTER TABLE items ADD COLUMN alert_attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE items ADD COLUMN alert_error TEXT",
        "CREATE INDEX IF NOT EXISTS items_alert_pending ON items (alerted_at, score)",
    ],
    [  # v3: polite polling
        "ALTER TABLE feeds ADD COLUMN body_hash TEXT",  # skip parsing a byte-identical body
        "ALTER TABLE feeds ADD COLUMN disabled_reason TEXT",  # e.g. HTTP 410: not polled, kept visible
        "ALTER TABLE feeds ADD COLUMN items_per_day REAL",  # observed publishing rate
    ],
    [  # v4: querying: a person's verdicts, stories, indexes for the filters
        """CREATE TABLE IF NOT EXISTS labels (
            item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
            relevant INTEGER NOT NULL,   -- a person's verdict: 1 relevant, 0 irrelevant
            note TEXT,
            labeled_at TEXT NOT NULL
        )""",
        "ALTER TABLE items ADD COLUMN story_id INTEGER",  # near-duplicates share the id of the first
        "CREATE INDEX IF NOT EXISTS items_fetched ON items (fetched_at)",
        "CREATE INDEX IF NOT EXISTS items_story ON items (story_id)",
        "CREATE INDEX IF NOT EXISTS items_feed ON items (feed_id, published_at)",
        # The date filters and newest-first order are on this expression: an index on it spares a sort.
        "CREATE INDEX IF NOT EXISTS items_when ON items (COALESCE(published_at, fetched_at))",
    ],
    [  # v5: moved feeds keep their row (and so their items' identities); the feed list's language
        "ALTER TABLE feeds ADD COLUMN moved_to TEXT",  # a permanent redirect not yet in the feed list
        "ALTER TABLE feeds ADD COLUMN language TEXT",  # from the feed list, for items that do not say
        "CREATE INDEX IF NOT EXISTS items_when ON items (COALESCE(published_at, fetched_at))",
    ],
    [  # v6: consecutive permanent refusals of a digest's message, after which it goes to the outbox
        "ALTER TABLE digests ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0",
    ],
    [  # v7: rule suggestions: the terms a person rejected, and when the digest last offered some
        """CREATE TABLE IF NOT EXISTS rejected_terms (
            term TEXT PRIMARY KEY,       -- as given to `rules suggest --reject`
            rejected_at TEXT NOT NULL
        )""",
        "ALTER TABLE digests ADD COLUMN suggestions TEXT",  # the "New near the story" section, as JSON
    ],
    [  # v8: feed names: `title` is the feed's own <title> (refreshed by each poll), `list_title` the name
       # a person gave it in the feed list; before, `title` held the list's text, often just the URL
        "ALTER TABLE feeds ADD COLUMN list_title TEXT",
        "UPDATE feeds SET list_title = title WHERE title IS NOT NULL AND title <> url",
        "UPDATE feeds SET title = NULL WHERE title = url",
    ],
]


# The full-text index, as sqlite-utils' enable_fts makes it (so Datasette and sqlite-utils find it),
# but created in one transaction, and re-indexing an item only when its title or summary changes.
FTS = {
    "items_fts": """CREATE VIRTUAL TABLE "items_fts" USING FTS5 ("title", "summary", tokenize='unicode61',
                    content="items")""",
    "items_ai": """CREATE TRIGGER "items_ai" AFTER INSERT ON "items" BEGIN
      INSERT INTO "items_fts" (rowid, "title", "summary") VALUES (new.rowid, new."title", new."summary");
    END""",
    "items_ad": """CREATE TRIGGER "items_ad" AFTER DELETE ON "items" BEGIN
      INSERT INTO "items_fts" ("items_fts", rowid, "title", "summary")
      VALUES ('delete', old.rowid, old."title", old."summary");
    END""",
    "items_au": """CREATE TRIGGER "items_au" AFTER UPDATE OF "title", "summary" ON "items" BEGIN
      INSERT INTO "items_fts" ("items_fts", rowid, "title", "summary")
      VALUES ('delete', old.rowid, old."title", old."summary");
      INSERT INTO "items_fts" (rowid, "title", "summary") VALUES (new.rowid, new."title", new."summary");
    END""",
}
assert len(MIGRATIONS) == SCHEMA_VERSION
