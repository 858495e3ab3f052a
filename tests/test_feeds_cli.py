"""`newswatch feeds add|remove|list|import|export` edit config/feeds.opml in place."""

from worker.feeds import read_opml

from conftest import newswatch, write_config

READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Feedly export</title></head>
  <body>
    <outline text="Middle East" title="Middle East">
      <outline type="rss" text="Al-Monitor" title="Al-Monitor" xmlUrl="https://www.al-monitor.com/rss" htmlUrl="https://www.al-monitor.com"/>
      <outline type="rss" text="Enab Baladi" title="Enab Baladi" xmlUrl="https://english.enabbaladi.net/feed/"/>
    </outline>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="Ars" title="Ars" xmlUrl="https://feeds.arstechnica.com/arstechnica/index"/>
    </outline>
    <outline type="rss" text="Top level" xmlUrl="https://toplevel.example/rss"/>
  </body>
</opml>"""


def test_add_remove_import_export(tmp_path):
    cfg = write_config(tmp_path, ["https://first.example/rss"])
    opml = tmp_path / "feeds.opml"

    def nw(*args):
        return newswatch("--config", str(cfg), "feeds", *args)

    assert nw("add", "https://new.example/feed", "--title", "New", "--category", "Turkish outlets").returncode == 0
    assert "already in" in nw("add", "https://new.example/feed").stdout
    bad = nw("add", "ftp://nope.example/x")
    assert bad.returncode == 2 and "not a feed URL" in bad.stderr
    specs = {f.url: f for f in read_opml(opml)}
    assert specs["https://new.example/feed"].category == "Turkish outlets"
    (tmp_path / "reader.opml").write_text(READER_EXPORT)
    out = nw("import", str(tmp_path / "reader.opml"))
    assert out.stdout.strip() == f"imported 4 feeds into {opml} (0 already there)"
    assert "(4 already there)" in nw("import", str(tmp_path / "reader.opml")).stdout
    assert {f.url: f.category for f in read_opml(opml)}["https://english.enabbaladi.net/feed/"] == "Middle East"
    assert nw("remove", "https://feeds.arstechnica.com/arstechnica/index").returncode == 0
    assert nw("remove", "https://feeds.arstechnica.com/arstechnica/index").returncode == 1
    exported = nw("export").stdout
    assert exported.startswith("<?xml") and "https://www.al-monitor.com/rss" in exported and "arstechnica" not in exported
    nw("export", "-o", str(tmp_path / "out.opml"))
    assert len(read_opml(tmp_path / "out.opml")) == len(read_opml(opml)) == 5  # 1 + 1 added + 4 imported - 1
    listing = nw("list").stdout
    assert "never polled" in listing and "https://toplevel.example/rss" in listing


def test_the_default_feed_list_reads(tmp_path):
    specs = read_opml("config/feeds.opml")
    assert len(specs) >= 40 and all(s.url.startswith(("http://", "https://")) for s in specs)
    assert {s.language for s in specs} >= {"en", "tr", "ar"}


def test_feed_and_polling_health_as_a_library(tmp_path):
    from datetime import UTC, datetime, timedelta

    from worker.config import load_config
    from worker.health import feed_health, polling_health
    from worker.store import Store

    cfg = load_config(str(write_config(tmp_path, ["https://a.example/rss", "https://b.example/rss"])))
    rows = feed_health(cfg)  # no database yet
    assert [(h.spec.url, h.status) for h in rows] == [("https://a.example/rss", "never polled"),
                                                      ("https://b.example/rss", "never polled")]
    row = f"{'never polled':12} {'':>4} {0:>4} {0:>6}  {'never':16}  {'never':16}  Feed 0 <https://a.example/rss>"
    assert rows[0].lines() == [row]
    missing = polling_health(cfg)
    assert missing.stale and missing.limit_minutes == 45 and missing.message.startswith("stale: no database at ")
    with Store(cfg.database.path) as store:
        store.sync_feeds([("https://a.example/rss", "A", None), ("https://b.example/rss", None, None)])
        assert polling_health(cfg).message == "stale: never polled"
        store.conn.execute("UPDATE feeds SET last_polled_at = '2024-12-22T10:00:00Z', last_status = 'error', "
                           "error_count = 2, last_error = 'HTTP 503' WHERE url = 'https://b.example/rss'")
    polled = datetime(2024, 12, 22, 10, 0, tzinfo=UTC)
    ok = polling_health(cfg, now=polled + timedelta(minutes=44))
    assert not ok.stale and ok.message == ("ok: last poll 44 min ago (limit 45); 1 of 2 feeds failing; "
                                           "0 relevant items not yet delivered")
    assert polling_health(cfg, 30, now=polled + timedelta(minutes=44)).stale
    with Store(cfg.database.path) as store:  # every feed failing: polling runs, but nothing works
        store.conn.execute("UPDATE feeds SET last_polled_at = '2024-12-22T10:00:00Z', last_status = 'error', "
                           "error_count = 1, last_error = 'DNS lookup failed' WHERE url = 'https://a.example/rss'")
    all_failing = polling_health(cfg, now=polled + timedelta(minutes=44))
    assert not all_failing.stale and not all_failing.healthy
    assert all_failing.message.startswith("failing: last poll 44 min ago (limit 45); 2 of 2 feeds failing")
    with Store(cfg.database.path) as store:
        store.conn.execute("UPDATE feeds SET last_status = 'ok', error_count = 0 WHERE url = 'https://a.example/rss'")
    failing = feed_health(cfg)[1]
    assert failing.status == "error" and failing.lines()[1] == " " * 14 + "2 errors: HTTP 503"


def test_add_and_import_start_a_feed_list_that_does_not_exist_yet(tmp_path):
    cfg = write_config(tmp_path, ["https://first.example/rss"])
    opml = tmp_path / "feeds.opml"
    opml.unlink()
    out = newswatch("--config", str(cfg), "feeds", "add", "https://new.example/feed", "--category", "Wires")
    assert out.returncode == 0, out.stderr
    assert [(f.url, f.category) for f in read_opml(opml)] == [("https://new.example/feed", "Wires")]
    opml.unlink()
    (tmp_path / "reader.opml").write_text(READER_EXPORT)
    out = newswatch("--config", str(cfg), "feeds", "import", str(tmp_path / "reader.opml"))
    assert out.returncode == 0 and len(read_opml(opml)) == 4, out.stderr
    opml.write_text("not xml")  # a list that exists is never replaced by an empty one
    out = newswatch("--config", str(cfg), "feeds", "add", "https://other.example/feed")
    assert out.returncode == 2 and "not valid OPML" in out.stderr and opml.read_text() == "not xml"
