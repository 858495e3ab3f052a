"""newswatch runs where its user stands: with no config there, on the rules and feed list shipped in
the package, the database and outbox in db/ of that directory; `init` writes files to edit."""

from __future__ import annotations

from pathlib import Path

from worker.config import is_packaged, packaged_file
from worker.relevance.rules import overlay_path

from conftest import REPO, RULES, newswatch

HEADLINE = "Erdogan ready to meet Assad to restore ties with Damascus"


def test_classify_and_demo_in_an_empty_directory(tmp_path):
    out = newswatch("classify", HEADLINE, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("RELEVANT"), out.stderr
    assert "title:turkey+syria" in out.stdout and out.stderr == ""  # stores nothing: nothing to announce
    first = newswatch("demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"keeps the database and outbox in {tmp_path}/db/" in first.stderr
    assert list((tmp_path / "db" / "outbox").glob("*.eml"))
    again = newswatch("demo", cwd=tmp_path)
    assert again.returncode == 0 and "packaged defaults" not in again.stderr  # said once


def test_packaged_files_are_the_repository_ones():
    for name in ("rules/turkey-syria.toml", "feeds.opml", "newswatch.toml"):
        shipped = packaged_file(name)
        assert shipped.read_bytes() == (REPO / "config" / name).read_bytes(), name
        assert is_packaged(shipped) and not is_packaged(REPO / "config" / name)


def test_the_overlay_of_packaged_rules_goes_to_the_working_directory():
    assert overlay_path(packaged_file("rules/turkey-syria.toml")) == Path("config/rules/turkey-syria.local.toml")
    assert overlay_path(RULES) == RULES.with_name("turkey-syria.local.toml")


def test_feed_list_edits_never_touch_the_packaged_list(tmp_path, feed_server):
    shipped = packaged_file("feeds.opml").read_bytes()
    out = newswatch("feeds", "remove", "https://feeds.bbci.co.uk/news/world/rss.xml", cwd=tmp_path)
    assert out.returncode == 2 and "`newswatch init` writes a copy here to edit" in out.stderr
    out = newswatch("feeds", "add", f"{feed_server.base_url}/none", cwd=tmp_path)
    assert out.returncode == 0 and (tmp_path / "config" / "feeds.opml").exists()
    assert packaged_file("feeds.opml").read_bytes() == shipped


def test_init_writes_files_to_edit_and_keeps_the_users_edits(tmp_path):
    target = tmp_path / "watch"
    out = newswatch("init", str(target), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for name in ("newswatch.toml", "feeds.opml", "rules/turkey-syria.toml"):
        assert (target / "config" / name).read_bytes() == (REPO / "config" / name).read_bytes()
    assert "Edit them" in out.stdout and "cd " in out.stdout
    assert newswatch("classify", HEADLINE, cwd=target).stdout.startswith("RELEVANT")
    (target / "config" / "newswatch.toml").write_text("[poll]\ninterval_minutes = 30\n")
    again = newswatch("init", str(target), cwd=tmp_path)
    assert again.returncode == 2 and "not overwritten" in again.stderr
    assert (target / "config" / "newswatch.toml").read_text() == "[poll]\ninterval_minutes = 30\n"
