"""The `newswatch` command: thin click commands over the library."""

from __future__ import annotations

import atexit
import functools
import gc
import io
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import Config, first_run_note, load_config
from .errors import NewswatchError
from .text import plural

# Stages are imported inside the commands that use them: `classify` should not pay for the scheduler.


class Context:
    def __init__(self, config_path: str | None, db_path: str | None):
        self.config_path = config_path
        self.db_path = db_path
        self._cfg: Config | None = None

    @property
    def cfg(self) -> Config:
        if self._cfg is None:
            self._cfg = load_config(self.config_path, self.db_path)
        return self._cfg

    def writing_cfg(self) -> Config:
        """The config, for a command about to create the database or outbox: on the packaged defaults,
        the first such command says where they go (once: the directory exists afterwards)."""
        note = first_run_note(self.cfg)
        if note:
            click.echo(f"newswatch: {note}", err=True)
        return self.cfg


def fail(message: str, code: int) -> None:
    click.echo(f"newswatch: error: {message}", err=True)
    sys.exit(code)


CLOSED_STDIN = "standard input is closed: give a file, or pipe something in"

# What a command made is the operating system's to free at exit: the interpreter's last collections
# walked every object still alive, a tenth of a second after a poll of 1,000 feeds. (Objects are
# still finalized as their last reference goes: only unreachable cycles are left to the OS.)
atexit.register(gc.freeze)


def utf8_stdout() -> None:
    """Data formats (JSON, CSV, OPML) are UTF-8 whatever the locale says; a lone surrogate from a
    feed becomes a \\udxxx escape, which JSON reads back as the same string."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")


def stop_on_closed_pipe() -> None:
    """The reader (head, less) went away: stop quietly with 128 + SIGPIPE, as Unix tools do."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
    sys.exit(141)


def user_errors(fn: Callable) -> Callable:
    """One line on stderr and an exit code instead of a traceback for the errors a user can fix."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NewswatchError as e:
            fail(str(e), e.exit_code)
        except sqlite3.Error as e:  # locked, full, corrupt: say so on one line
            fail(f"database error: {e}", 1)
        except BrokenPipeError:  # here, before click's own handler turns it into exit status 1
            stop_on_closed_pipe()
        except OSError as e:  # a file we were told to read or write
            fail(f"{e.filename or ''}: {e.strerror or e}".lstrip(": "), 1)
    return wrapper


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
                 "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        # Raw UTF-8 where stderr takes it (journald does); \u escapes, still JSON, where it may not.
        return json.dumps(entry, ensure_ascii=(sys.stderr.encoding or "").lower() not in ("utf-8", "utf8"))


def setup_logging(level: int, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # urllib3 logs malformed headers from hostile servers with a traceback; the feed's error says it.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newswatch")
@click.option("--config", "config_path", metavar="FILE", envvar="NEWSWATCH_CONFIG",
              help="Config file (default: config/newswatch.toml; env NEWSWATCH_CONFIG).")
@click.option("--db", "db_path", metavar="FILE", help="SQLite database, overriding [database] path.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """newswatch: follow Turkey–Syria relations in news feeds."""
    ctx.obj = Context(config_path, db_path)


pass_ctx = click.make_pass_decorator(Context)


@cli.command()
@click.option("--log-format", "log_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="One line per poll cycle and per digest, as plain text or JSON (for log shippers).")
@pass_ctx
@user_errors
def run(ctx: Context, log_format: str) -> None:
    """Run the daemon: poll every [poll] interval_minutes, digest daily at [digest] time."""
    from .daemon import run_daemon
    setup_logging(logging.INFO, json_lines=log_format == "json")
    run_daemon(ctx.writing_cfg())


@cli.command()
@click.option("--all", "all_feeds", is_flag=True, help="Poll every active feed, due or not.")
@pass_ctx
@user_errors
def poll(ctx: Context, all_feeds: bool) -> None:
    """Poll the feeds that are due once, store new items, print a summary."""
    from .poll import poll_cycle
    ctx.writing_cfg()
    if sys.stderr.isatty():  # a person waiting on a first poll of many feeds sees it move
        setup_logging(logging.ERROR)  # per-feed warnings would break the bar: `feeds list` has them
        bars: list = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(click.progressbar(length=total, label="polling", file=sys.stderr, show_pos=True))
                bars[0].__enter__()
            bars[0].update(1)

        try:
            summary = poll_cycle(ctx.cfg, all_feeds=all_feeds, progress=progress)
        finally:
            if bars:
                bars[0].__exit__(None, None, None)
    else:
        setup_logging(logging.WARNING)
        summary = poll_cycle(ctx.cfg, all_feeds=all_feeds)
    click.echo(summary.line())


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the digest; deliver nothing, mark nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "html"]), default="text", show_default=True,
              help="Format of the --dry-run preview.")
@pass_ctx
@user_errors
def digest(ctx: Context, dry_run: bool, fmt: str) -> None:
    """Deliver now every relevant item not yet delivered (SMTP, or the outbox)."""
    from .delivery import send_digest
    if fmt != "text" and not dry_run:
        raise click.UsageError("--format is for the --dry-run preview (the e-mail always has text and HTML)")
    if not dry_run:
        ctx.writing_cfg()
    setup_logging(logging.WARNING)
    summary = send_digest(ctx.cfg, dry_run=dry_run, fmt=fmt)
    if dry_run:
        click.echo(summary.preview, nl=False)
        return
    click.echo(summary.line())
    if summary.errors or summary.diverted:
        sys.exit(1)


@cli.command()
@click.argument("text", required=False)
@click.option("--jsonl", "jsonl", type=click.File("rb"), metavar="FILE|-",
              help='JSON lines with "title" and "summary" (optional "id", "content"); one verdict per line.')
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Processes for a --jsonl file of 1 MiB or more (default: one per core, at most 8).")
@pass_ctx
@user_errors
def classify(ctx: Context, text: str | None, jsonl, workers: int | None) -> None:
    """Classify TEXT (first line as title) and explain, or every line of --jsonl. Stores nothing."""
    if (text is None) == (jsonl is None):
        raise click.UsageError("give TEXT, or --jsonl FILE (or - for standard input)" if text is None
                               else "give TEXT or --jsonl FILE, not both")
    from .relevance.classify import classify as classify_item
    from .relevance.rules import load_rules
    ruleset = load_rules(ctx.cfg.classifier.rules)
    if text is not None:
        if text == "-":
            if sys.stdin is None:
                fail(CLOSED_STDIN, 2)
            text = sys.stdin.read()
        title, _, body = text.strip().partition("\n")
        click.echo(classify_item(ruleset, title, body).describe(ruleset.threshold))
        return
    from .jsonl import JsonLineError
    from .relevance.batch import WorkerDied, classify_jsonl
    utf8_stdout()
    try:
        classify_jsonl(ruleset, jsonl, sys.stdout.write, workers, sys.stdout.flush)  # bytes: decoded line by line
    except JsonLineError as e:
        fail(f"--jsonl {e}", 2)
    except WorkerDied as e:
        fail(str(e), 1)
    sys.stdout.flush()


def item_filters(fn: Callable) -> Callable:
    """The filters `search` and `export` share."""
    for option in reversed([
        click.option("--relevant/--irrelevant", "relevant", default=None, help="Only relevant (or irrelevant) items."),
        click.option("--since", metavar="WHEN", help="Published at or after: YYYY-MM-DD, YYYY-MM-DDTHH:MM, 7d, 12h."),
        click.option("--until", metavar="WHEN", help="Published before (same forms)."),
        click.option("--feed", metavar="URL|TEXT", help="A feed's URL, or part of its title or URL."),
        click.option("--lang", metavar="CODE", help="Language code: en, tr, ar..."),
    ]):
        fn = option(fn)
    return fn


def build_filter(relevant, since, until, feed, lang):
    from .export import parse_when
    from .records import ItemFilter
    return ItemFilter(relevant=relevant, since=parse_when(since, "--since"), until=parse_when(until, "--until"),
                      feed=feed, lang=lang)


@cli.command()
@click.argument("query")
@item_filters
@click.option("--limit", default=20, show_default=True, help="Most results.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "jsonl"]), default="table",
              show_default=True)
@pass_ctx
@user_errors
def search(ctx: Context, query: str, relevant, since, until, feed, lang, limit: int, fmt: str) -> None:
    """Full-text search (SQLite FTS5 syntax) of stored titles and summaries, best match first."""
    from .export import write_lines, write_rows
    from .store import Store
    if not query.strip():
        raise click.UsageError("QUERY is empty")
    flt = build_filter(relevant, since, until, feed, lang)
    with Store(ctx.cfg.database.path, create=False) as store:
        if fmt in ("csv", "jsonl"):
            sys.stdout.flush()
            n = write_lines(store, flt, fmt, sys.stdout.buffer, fts=query, limit=limit, header=True)
        else:
            if fmt == "json":
                utf8_stdout()
            n = write_rows(*store.query_rows(flt, fts=query, limit=limit, as_json=fmt == "json"), fmt, sys.stdout)
    if not n and fmt == "table":
        click.echo("no matches", err=True)


@cli.command()
@item_filters
@click.option("--query", "fts", metavar="FTS", help="Only items matching this full-text query.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "jsonl"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
@pass_ctx
@user_errors
def export(ctx: Context, relevant, since, until, feed, lang, fts, fmt: str, output: str | None) -> None:
    """Export stored items (newest first) as CSV, a JSON array or JSON lines."""
    from .export import export_items
    from .processes import default_workers
    from .store import Store
    flt = build_filter(relevant, since, until, feed, lang)
    db = Path(ctx.cfg.database.path)
    with Store(db, create=False) as store:  # a missing database is said before the output is created
        total = store.count_items(flt, fts) if output and sys.stderr.isatty() else None
    if output is None:
        sys.stdout.flush()
        export_items(db, flt, fts, fmt, sys.stdout.buffer, default_workers())
        return
    with open(output, "wb") as out:
        if total is not None:
            with click.progressbar(length=total, label="exporting", file=sys.stderr, show_pos=True) as bar:
                n = export_items(db, flt, fts, fmt, out, default_workers(), bar.update)
        else:
            n = export_items(db, flt, fts, fmt, out, default_workers())
    click.echo(f"exported {plural(n, 'item')} to {output}", err=True)


@cli.command()
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 700_000),
              help="Window for the per-day and per-feed counts.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_ctx
@user_errors
def stats(ctx: Context, days: int, fmt: str) -> None:
    """Items and relevant items per day and per feed, and feed health."""
    from .store import Store
    with Store(ctx.cfg.database.path, create=False) as store:
        data = store.stats(days)
    if fmt == "json":
        utf8_stdout()
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    t = data["totals"]
    click.echo(f"all stored: {plural(t['items'], 'item')}, {t['relevant']} relevant ({t['undelivered']} not yet "
               f"delivered); {plural(t['feeds'], 'active feed')}, {t['failing_feeds']} failing; "
               f"last poll {t['last_poll'] or 'never'}")
    # The window is by publication date: say so, or a month-old archive reads as an empty database.
    window = f"last {plural(days, 'day')} by publication date (since {data['since'][:10]}; --days N for more)"
    click.echo(f"\nper day, {window}:")
    for d in data["per_day"]:
        click.echo(f"  {d['day']}  {d['items']:>7} items  {d['relevant'] or 0:>5} relevant")
    if not data["per_day"]:
        click.echo("  none")
    click.echo("\nper feed, same window, most relevant first:")
    for f in data["per_feed"]:
        health = f"{f['last_status'] or 'never polled'}" + (f", {plural(f['error_count'], 'error')}" if f["error_count"] else "")
        click.echo(f"  {f['items']:>7} items {f['relevant']:>5} relevant  {health:24}  {f['feed'] or f['url']}")


@cli.command()
@click.argument("item")
@click.argument("verdict", type=click.Choice(["relevant", "irrelevant"]))
@click.option("--note", help="Why, for whoever tunes the rules.")
@pass_ctx
@user_errors
def label(ctx: Context, item: str, verdict: str, note: str | None) -> None:
    """Record a person's verdict on ITEM (its id or link): `rules eval --from-db` scores the rules on these."""
    from .store import Store
    with Store(ctx.cfg.database.path, create=False) as store:
        row = store.label(item, verdict == "relevant", note)
    agrees = row["classified_relevant"] == (verdict == "relevant")
    click.echo(f"labeled item {row['id']} {verdict} ({'agrees' if agrees else 'disagrees'} with the rules): "
               f"{row['title']}")


@cli.command()
@click.option("--max-age", "max_age", type=click.IntRange(1, 10**7), metavar="MINUTES",
              help="Stale when no feed was polled for this long (default: 3 x [poll] interval_minutes).")
@pass_ctx
@user_errors
def health(ctx: Context, max_age: int | None) -> None:
    """Exit 0 when polling is current and working, 1 when it is stale or every feed is failing (for
    monitoring and systemd watchdogs)."""
    from .health import polling_health
    result = polling_health(ctx.cfg, max_age)
    if not result.healthy:
        fail(result.message, 1)
    click.echo(result.message)


@cli.command()
@click.option("--days", type=click.IntRange(1, 36500),
              help="Delete irrelevant items older than this (default: [retention] irrelevant_days).")
@pass_ctx
@user_errors
def prune(ctx: Context, days: int | None) -> None:
    """Delete old irrelevant items; relevant, labeled and delivered ones are kept."""
    from .store import Store
    days = days if days is not None else ctx.cfg.retention.irrelevant_days
    if not days or days < 1:
        raise click.UsageError("give --days N (>= 1), or set [retention] irrelevant_days")
    with Store(ctx.cfg.database.path, create=False) as store:
        n = store.prune(days)
    click.echo(f"pruned {plural(n, 'irrelevant item')} older than {days} days")


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
@pass_ctx
@user_errors
def backup(ctx: Context, dest: str, force: bool) -> None:
    """Copy the database to DEST, consistently, even while the daemon writes (SQLite's backup API)."""
    from .store import backup_database
    size = backup_database(ctx.cfg.database.path, dest, force=force)
    click.echo(f"backed up {ctx.cfg.database.path} to {dest} ({size:,} bytes)")


@cli.group()
def feeds() -> None:
    """The feed list ([feeds] opml) and each feed's health."""


@feeds.command("list")
@pass_ctx
@user_errors
def feeds_list(ctx: Context) -> None:
    """Every feed in the list with its health: status, HTTP code, errors, items, last success, next poll."""
    from .health import FEED_TABLE_HEADER, listed_feeds
    rows = listed_feeds(ctx.cfg)
    click.echo(FEED_TABLE_HEADER)
    for row in rows:
        for line in row.lines():
            click.echo(line)


@feeds.command("add")
@click.argument("url")
@click.option("--title", help="A name for the feed (default: the feed's own title, fetched now).")
@click.option("--category", help="The group it goes in, e.g. 'Turkish outlets'.")
@click.option("--lang", "language", metavar="CODE", help="The feed's language (en, tr, ar...).")
@pass_ctx
@user_errors
def feeds_add(ctx: Context, url: str, title: str | None, category: str | None, language: str | None) -> None:
    """Add URL to the feed list, and fetch it once to record its own title; the next poll reads its items."""
    from .feeds import add_feed, editable_list, fetch_title
    from .store import Store
    opml = editable_list(ctx.cfg)
    new_list = not opml.exists()
    added = add_feed(opml, url, title, category, language)
    if new_list:  # run from the wrong directory, this is how the user finds out
        click.echo(f"created the feed list {opml.resolve()}")
    click.echo(f"added {url} to {opml}" if added else f"{url} is already in {opml}")
    if Path(ctx.cfg.database.path).exists():
        with Store(ctx.cfg.database.path) as store:
            store.enable_feed(url.strip())  # a feed disabled by a 410 and re-added is polled again
    if not added:
        return
    own, why_not = fetch_title(url.strip(), ctx.cfg.poll)
    if own is None:
        click.echo(f"could not read its title ({why_not}): it is shown as {title or 'its URL'} until a poll reads it")
        return
    with Store(ctx.writing_cfg().database.path) as store:
        store.set_feed_title(url.strip(), own)
    click.echo(f"fetched it once: its title is {own!r}" + (f" (shown as {title!r}, the name you gave)" if title else ""))


@feeds.command("remove")
@click.argument("url")
@pass_ctx
@user_errors
def feeds_remove(ctx: Context, url: str) -> None:
    """Remove URL from the feed list (its stored items stay)."""
    from .feeds import check_removable, remove_feed
    check_removable(ctx.cfg)
    if not remove_feed(ctx.cfg.feeds.opml, url):
        fail(f"{url} is not in {ctx.cfg.feeds.opml}", 1)
    click.echo(f"removed {url} from {ctx.cfg.feeds.opml}")


@feeds.command("import")
@click.argument("opml", type=click.Path(dir_okay=False))
@pass_ctx
@user_errors
def feeds_import(ctx: Context, opml: str) -> None:
    """Add the feeds of an OPML file (any feed reader's export), keeping their categories."""
    from .feeds import editable_list, import_opml
    target = editable_list(ctx.cfg)
    added, present = import_opml(target, opml)
    click.echo(f"imported {plural(added, 'feed')} into {target} ({present} already there)")


@feeds.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
@pass_ctx
@user_errors
def feeds_export(ctx: Context, output: str | None) -> None:
    """Write the feed list as OPML 2.0, for another feed reader: each feed under the name `feeds list`
    shows (the list's name for it, else its own title as last fetched)."""
    from .feeds import write_opml
    from .health import listed_feeds
    specs = [row.spec for row in listed_feeds(ctx.cfg)]
    if output:
        write_opml(output, specs, title="newswatch feeds")
        click.echo(f"exported {plural(len(specs), 'feed')} to {output}", err=True)
    else:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            write_opml(Path(tmp) / "feeds.opml", specs, title="newswatch feeds")
            utf8_stdout()  # the file declares encoding="UTF-8"
            click.echo((Path(tmp) / "feeds.opml").read_text(encoding="utf-8"), nl=False)


@cli.group()
def rules() -> None:
    """Derive a rules draft from seed articles; measure rules; suggest new terms from the stream."""


@rules.command("seed")
@click.argument("seeds", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the draft rules (TOML); - for stdout.")
@click.option("--background", metavar="FILE",
              help="Ordinary news to contrast with: JSON lines of items, or a WORD<TAB>COUNT table "
                   "(default: the bundled December 2022 corpus counts).")
@click.option("--rules", "rules_path", metavar="FILE",
              help="Rules whose terms are marked as known (default: [classifier] rules, if present).")
@click.option("--top", default=40, show_default=True, help="Candidates per group.")
@pass_ctx
@user_errors
def rules_seed(ctx: Context, seeds: tuple[str, ...], output: str, background: str | None,
               rules_path: str | None, top: int) -> None:
    """Derive a rules draft from seed articles: distinctive terms, each with its evidence."""
    from .relevance.background import load_background
    from .relevance.seed import derive, draft_toml, read_seed
    bg = load_background(background)
    known_rules = rules_path or ctx.cfg.classifier.rules
    from .relevance.rules import load_rules
    ruleset = load_rules(known_rules) if rules_path or Path(known_rules).exists() else None
    groups = derive([read_seed(s) for s in seeds], bg, ruleset, per_group=top)
    text = draft_toml(groups, [Path(s).name for s in seeds], bg)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(groups.items()) if not k.startswith("known:"))
        known = sum(len(v) for k, v in groups.items() if k.startswith("known:"))
        click.echo(f"wrote {output}: {counts}; {known} already in the rules")


@rules.command("eval")
@click.argument("labeled", type=click.Path(dir_okay=False), nargs=-1)
@click.option("--from-db", "from_db", is_flag=True, help="Use the verdicts recorded with `newswatch label`.")
@click.option("--show", default=50, show_default=True, help="Most false positives / negatives to list.")
@click.option("--rules", "rules_path", metavar="FILE", help="Rules to measure (default: [classifier] rules).")
@pass_ctx
@user_errors
def rules_eval(ctx: Context, labeled: tuple[str, ...], from_db: bool, show: int, rules_path: str | None) -> None:
    """Precision, recall, F1 and the errors on each LABELED.jsonl (title, summary, relevant), or --from-db."""
    from .relevance.evaluate import evaluate, provenance, read_labeled, report, summary_table
    if bool(labeled) == from_db:
        raise click.UsageError("give LABELED.jsonl files or --from-db (not both)")
    from .relevance.rules import load_rules
    ruleset = load_rules(rules_path or ctx.cfg.classifier.rules)
    if from_db:
        from .store import Store
        with Store(ctx.cfg.database.path, create=False) as store:
            items = [dict(i, relevant=bool(i["relevant"])) for i in store.labeled_items()]
        if not items:
            fail("no labeled items yet: record verdicts with `newswatch label ITEM relevant|irrelevant`", 1)
        click.echo(report(evaluate(ruleset, items), show=show))
        return
    sets = [(path, read_labeled(path)) for path in labeled]  # all read before any output
    evaluations = [(path, provenance(items), evaluate(ruleset, items)) for path, items in sets]
    if len(labeled) > 1:
        click.echo(summary_table([(path, kind, ev.overall) for path, kind, ev in evaluations]) + "\n")
    for n, (path, kind, evaluation) in enumerate(evaluations):
        if len(labeled) > 1:
            click.echo(f"{chr(10) if n else ''}== {path} ({kind} text)")
        click.echo(report(evaluation, show=show))


@rules.command("suggest")
@click.option("--since", metavar="WHEN", help="Start of the window: YYYY-MM-DD, YYYY-MM-DDTHH:MM, 7d, 12h "
                                               "(default: 14 days ago; the window ends now).")
@click.option("--rules", "rules_path", metavar="FILE", help="Rules whose terms are known (default: [classifier] rules).")
@click.option("--limit", default=20, show_default=True, help="Suggestions to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--accept", metavar="TERM", help="Add TERM (and its other spellings seen) to the local overlay of the rules.")
@click.option("--concept", metavar="NAME", help="With --accept: the concept TERM joins (default: the one suggested).")
@click.option("--reject", metavar="TERM", help="Never suggest TERM again.")
@pass_ctx
@user_errors
def rules_suggest(ctx: Context, since: str | None, rules_path: str | None, limit: int, fmt: str,
                  accept: str | None, concept: str | None, reject: str | None) -> None:
    """New names and phrases near the story that the rules do not know, with their evidence."""
    from .export import parse_when
    from .relevance.suggest import accept as accept_term
    from .relevance.suggest import suggest_from_store
    from .store import Store
    if accept and reject:
        raise click.UsageError("give --accept or --reject, not both")
    if concept and not accept:
        raise click.UsageError("--concept goes with --accept")
    path = rules_path or ctx.cfg.classifier.rules
    with Store(ctx.cfg.database.path, create=False) as store:
        if reject:
            store.reject_term(reject.strip())
            click.echo(f"rejected {reject.strip()!r}: it will not be suggested again")
            return
        from .relevance.rules import load_rules
        ruleset = load_rules(path)
        found = suggest_from_store(store, ruleset, parse_when(since, "--since"), limit=max(limit, 100) if accept else limit)
    if accept:
        wanted = accept.strip().lower()
        match = next((s for s in found if wanted == s.term or wanted in s.forms), None)
        if concept is None and (match is None or not match.concept):
            fail(f"{accept!r} is not among the suggestions of the window: say which concept it joins with --concept NAME", 2)
        forms = (match.forms if match and wanted in match.forms else []) or [wanted]
        target = concept or (match.concept if match else "")
        from datetime import date

        for form in [wanted, *[f for f in forms if f != wanted]]:
            overlay = accept_term(path, form, target, match, when=date.today().isoformat())
        also = [f for f in forms if f != wanted]
        click.echo(f"added {wanted!r}{' (and ' + ', '.join(map(repr, also)) + ')' if also else ''} to {target} in "
                   f"{overlay}; `newswatch rules apply` re-classifies what is stored")
        return
    if fmt == "json":
        utf8_stdout()
        click.echo(json.dumps([s.as_dict() for s in found], ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("no suggestions: no new term near the story has support (3 items from 2 feeds) in the window")
        return
    click.echo(f"{'#':>2}  {'term':28} {'lang':4} {'score':>6} {'items':>5} {'else':>5} {'feeds':>5}  {'concept':14} example")
    for n, s in enumerate(found, 1):
        click.echo(f"{n:>2}  {s.term[:28]:28} {s.lang:4} {s.score:6.2f} {s.items:>5} {s.background_items:>5} "
                   f"{s.feeds:>5}  {s.concept[:14]:14} {s.examples[0][:70] if s.examples else ''}")
    click.echo("accept: newswatch rules suggest --accept TERM [--concept NAME]; reject: --reject TERM")


@rules.command("apply")
@click.option("--since", metavar="WHEN", default="14d", show_default=True,
              help="Re-classify the items published since then: YYYY-MM-DD, 7d, 12h.")
@click.option("--rules", "rules_path", metavar="FILE", help="Rules to apply (default: [classifier] rules).")
@pass_ctx
@user_errors
def rules_apply(ctx: Context, since: str, rules_path: str | None) -> None:
    """Re-classify stored items with the current rules; delivery state is not touched."""
    from .export import parse_when
    from .relevance.rules import load_rules
    from .relevance.suggest import apply_rules
    from .store import Store
    ruleset = load_rules(rules_path or ctx.cfg.classifier.rules)
    start = parse_when(since, "--since")
    with Store(ctx.cfg.database.path, create=False) as store:
        checked, changed, now_relevant = apply_rules(store, ruleset, start)
    click.echo(f"re-classified {plural(checked, 'item')} published since {start}: {plural(changed, 'verdict')} changed "
               f"({now_relevant} now relevant, {changed - now_relevant} no longer); delivery state untouched")


@cli.command()
@click.option("--outbox", metavar="DIR", help="Where the digest goes (default: [digest] outbox).")
@pass_ctx
@user_errors
def demo(ctx: Context, outbox: str | None) -> None:
    """Offline tour: sample feeds on 127.0.0.1 -> throwaway database -> digest in the outbox."""
    from .demo import run_demo
    setup_logging(logging.WARNING)
    result = run_demo(ctx.cfg if outbox else ctx.writing_cfg(), outbox)
    click.echo(result.poll.line())
    for item in sorted(result.items, key=lambda i: -i.score):
        mark = "RELEVANT" if item.relevant else "        "
        click.echo(f"  {mark} {item.score:>5g}  [{item.lang or '?'}] {item.title}")
    click.echo(result.digest.line())


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite the files if they exist.")
@user_errors
def init(directory: str, force: bool) -> None:
    """Write an editable config, feed list and rules into DIRECTORY/config/ (default: here)."""
    from .config import init_files
    written = init_files(directory, force)
    for path in written:
        click.echo(f"wrote {path}")
    where = "" if Path(directory).resolve() == Path.cwd().resolve() else f"cd {directory} && "
    click.echo(f"""
Edit them, then run newswatch from {Path(directory).resolve()} (it reads config/newswatch.toml there):
  {written[0]}   [digest] to and from, [smtp] for mail (until then digests go to db/outbox/)
  {written[1]}   the feeds: or `newswatch feeds add URL`, `feeds remove URL`
  {written[2]}   the keyword rules (measure changes with `newswatch rules eval`)
Start with: {where}newswatch poll --all && newswatch digest --dry-run""")


NoArgsIsHelp = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a Latin-1 terminal gets \u015f, not a traceback
            stream.reconfigure(errors="backslashreplace")
    try:
        # Not standalone: click's own usage errors would take three lines (Usage, Try, Error).
        code = cli.main(prog_name="newswatch", standalone_mode=False)
    except NoArgsIsHelp as e:  # a bare group (`newswatch rules`): its help, as click would
        click.echo(e.format_message(), err=True)
        sys.exit(e.exit_code)
    except click.UsageError as e:
        where = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
        fail(e.format_message().rstrip(".") + where, e.exit_code)
    except click.ClickException as e:
        fail(e.format_message(), e.exit_code)
    except click.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort, a RuntimeError: first)
        click.echo("Aborted!", err=True)
        sys.exit(130)
    except RuntimeError as e:
        if "sys.stdin" not in str(e):
            raise
        fail(CLOSED_STDIN, 2)
    except BrokenPipeError:
        stop_on_closed_pipe()
    sys.exit(code if isinstance(code, int) else 0)
