"""Bad config or bad usage: one line naming the key, file or option, exit 2, no traceback."""

import json

import pytest

from worker.config import ConfigError, load_config

from conftest import newswatch, write_config


@pytest.mark.parametrize(("extra", "expected"), [
    ("[poll]\nintervl_minutes = 5\n", "[poll] intervl_minutes: unknown key"),
    ("[pol]\nx = 1\n", "[pol]: unknown section"),
    ('[poll]\ninterval_minutes = "5"\n', "[poll] interval_minutes: must be an integer, got string"),
    ('[smtp]\nsecurity = "tls"\n', '[smtp] security: must be "starttls", "ssl" or "none"'),
    ('[digest]\ntime = "7am"\n', "[digest] time: must be HH:MM"),
    ('[digest]\ntimezone = "Mars/Olympus"\n', "[digest] timezone: unknown time zone"),
])
def test_bad_key_exits_2_with_one_line(tmp_path, extra, expected):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(extra)
    for command in (["poll"], ["digest"], ["run"], ["classify", "x"]):
        out = newswatch("--config", str(cfg), *command)
        assert out.returncode == 2, (command, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and str(cfg) in lines[0], out.stderr
        assert "Traceback" not in out.stderr


def test_unknown_key_in_real_config_names_it(tmp_path):
    cfg = write_config(tmp_path, ["http://127.0.0.1:9/x"], extra="[database]\nnope = 1\n")
    # a duplicate [database] table is a TOML error, also one line
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "invalid TOML" in out.stderr


def test_missing_named_config_file(tmp_path):
    out = newswatch("--config", str(tmp_path / "nope.toml"), "poll")
    assert out.returncode == 2
    assert out.stderr.strip() == f"newswatch: error: config file not found: {tmp_path / 'nope.toml'}"


def test_config_from_environment_variable(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[poll]\nbogus = 1\n")
    out = newswatch("poll", env={"NEWSWATCH_CONFIG": str(cfg)})
    assert out.returncode == 2 and "[poll] bogus" in out.stderr


def test_missing_rules_and_feed_list_are_named(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[classifier]\nrules = "{tmp_path}/none.toml"\n[database]\npath = "{tmp_path}/x.db"\n')
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 2 and out.stderr.strip() == f"newswatch: error: rules file not found: {tmp_path}/none.toml"


def test_password_comes_from_environment_only(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[smtp]\nhost = "127.0.0.1"\npassword_env = "NW_TEST_PW"\n')
    monkeypatch.setenv("NW_TEST_PW", "s3cret")
    assert load_config(str(cfg)).smtp_password() == "s3cret"
    cfg.write_text('[smtp]\npassword = "in-the-file"\n')
    with pytest.raises(ConfigError, match=r"\[smtp\] password: unknown key"):
        load_config(str(cfg))


def test_defaults_match_design(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config/newswatch.toml here: built-in defaults
    monkeypatch.delenv("NEWSWATCH_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.database.path == "db/newswatch.db" and cfg.digest.outbox == "db/outbox"
    assert cfg.poll.interval_minutes == 15 and cfg.poll.concurrency == 16 and cfg.smtp.host == ""


def test_empty_recipient_list_is_a_config_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[digest]\nto = []\n")
    out = newswatch("--config", str(cfg), "digest")
    assert out.returncode == 2 and "[digest] to: needs at least one address" in out.stderr


def test_daemon_refuses_to_start_without_the_smtp_password(tmp_path):
    cfg = write_config(tmp_path, ["http://127.0.0.1:9/x"], smtp_port=2525)
    cfg.write_text(cfg.read_text().replace('security = "none"', 'security = "none"\nusername = "me"'))
    out = newswatch("--config", str(cfg), "run", env={"NEWSWATCH_SMTP_PASSWORD": ""}, process=True)
    assert out.returncode == 2
    assert "[smtp] username is set but the environment variable NEWSWATCH_SMTP_PASSWORD" in out.stderr


def test_read_commands_do_not_create_a_database(tmp_path):
    db = tmp_path / "typo.db"
    for command in (["search", "x"], ["digest", "--dry-run"], ["digest"]):
        out = newswatch("--db", str(db), *command)
        assert out.returncode == 1 and f"database not found: {db}" in out.stderr, out.stderr
    assert not db.exists()


def test_relative_paths_in_errors_say_relative_to_what(tmp_path):
    # With no config here newswatch runs on its packaged rules; a config naming a relative path that
    # is not there is the user's mistake to see.
    (tmp_path / "c.toml").write_text('[classifier]\nrules = "config/rules/turkey-syria.toml"\n')
    out = newswatch("--config", "c.toml", "classify", "x", cwd=tmp_path)
    assert out.returncode == 2
    assert f"rules file not found: config/rules/turkey-syria.toml (relative to the working directory {tmp_path})" \
        in out.stderr


def test_user_input_never_gives_a_traceback(tmp_path, feed_server):
    from conftest import RELEVANT_ITEMS, rss
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"title": "Türkiye", "summary": ""}\n'.encode("latin-1"))
    cases = [
        (["classify", "--jsonl", str(bad)], 2, "--jsonl line 1: not UTF-8 text"),
        (["search", " "], 2, "QUERY is empty"),
        (["label", "²", "relevant"], 1, "no item '²'"),
        (["export", "--since", "999999999d"], 2, "--since: '999999999d' reaches before year 1"),
        (["stats", "--days", "100000000"], 2, "100000000"),
        (["digest", "--format", "html"], 2, "--format is for the --dry-run preview"),
    ]
    for args, code, text in cases:
        out = newswatch("--config", str(cfg), *args)
        assert out.returncode == code, (args, out.stderr)
        assert "Traceback" not in out.stderr and text in out.stderr + out.stdout, (args, out.stderr)


def test_blank_jsonl_lines_keep_the_output_aligned():
    out = newswatch("classify", "--jsonl", "-", input='{"id": 1, "title": "a", "summary": ""}\n\n{"id": 3, "title": "b", "summary": ""}\n',
                    process=True)
    assert [json.loads(x)["id"] for x in out.stdout.splitlines()] == [1, None, 3]


@pytest.mark.parametrize("args, expected", [
    (["classify", "--workers", "0", "--jsonl", "-"],
     ("newswatch: error: Invalid value for '--workers': 0 is not in the range 1<=x<=64"
      " (see 'newswatch classify --help')")),
    (["bogus"], "newswatch: error: No such command 'bogus' (see 'newswatch --help')"),
    (["search"], "newswatch: error: Missing argument 'QUERY' (see 'newswatch search --help')"),
])
def test_usage_errors_are_one_line_and_exit_2(args, expected):
    out = newswatch(*args)
    assert out.returncode == 2 and out.stderr.strip() == expected, out.stderr


def test_help_and_version_still_exit_0():
    assert newswatch("--version").returncode == 0
    out = newswatch("rules", "eval", "--help")
    assert out.returncode == 0 and out.stdout.startswith("Usage: newswatch rules eval")


def test_rules_that_do_not_compile_stop_the_poll_before_any_item_is_stored(tmp_path, feed_server):
    """The rules compile when a feed first brings items: a cycle in which no feed changed needs none.
    The first cycle with items fails before storing any, and the feed is fetched in full next time."""
    from conftest import RELEVANT_ITEMS, RULES, rss
    feed_server.documents["/a"] = (rss([]), "application/rss+xml")  # the first feed parsed has no items
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.read_text(encoding="utf-8"))
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/a"])
    cfg.write_text(cfg.read_text().replace(str(RULES), str(rules)))
    assert newswatch("--config", str(cfg), "poll").stdout.startswith("polled 1 feed: 0 new items, 0 relevant, 0 errors")
    feed_server.documents["/a"] = (rss(RELEVANT_ITEMS[:1]), "application/rss+xml")
    assert newswatch("--config", str(cfg), "poll", "--all").stdout.startswith("polled 1 feed: 1 new item, 1 relevant")
    rules.write_text(RULES.read_text(encoding="utf-8") + '\n[[rules]]\nname = "x"\nall = ["nowhere"]\nweight = 1\n')
    unchanged = newswatch("--config", str(cfg), "poll", "--all")
    assert unchanged.returncode == 0 and "(1 not modified)" in unchanged.stdout, unchanged.stdout + unchanged.stderr
    feed_server.documents["/a"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    out = newswatch("--config", str(cfg), "poll", "--all")
    assert out.returncode == 2 and out.stderr.strip().endswith("all: unknown concept 'nowhere'"), out.stderr
    rules.write_text(RULES.read_text(encoding="utf-8"))
    again = newswatch("--config", str(cfg), "poll", "--all")
    assert again.returncode == 0 and again.stdout.startswith("polled 1 feed: 1 new item, 1 relevant"), again.stdout