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
