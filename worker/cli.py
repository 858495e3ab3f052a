"""The `newswatch` command: thin click commands over the library."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import Config, load_config
from .errors import NewswatchError
from .rules import load_rules
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


def fail(message: str, code: int) -> None:
    click.echo(f"newswatch: error: {message}", err=True)
    sys.exit(code)


def user_errors(fn: Callable) -> Callable:
    """One line on stderr and an exit code instead of a traceback for the errors a user can fix."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NewswatchError as e:
            fail(str(e), e.exit_code)
        except BrokenPipeError:
            raise
        except OSError as e:  # a file we were told to read or write
            fail(f"{e.filename or ''}: {e.strerror or e}".lstrip(": "), 1)
    return wrapper


def setup_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


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
@pass_ctx
@user_errors
def run(ctx: Context) -> None:
    """Run the daemon: poll every [poll] interval_minutes, digest daily at [digest] time."""
    from .daemon import run_daemon
    setup_logging(logging.INFO)
    run_daemon(ctx.cfg)


@cli.command()
@click.option("--all", "all_feeds", is_flag=True, help="Poll every active feed, due or not.")
@pass_ctx
@user_errors
def poll(ctx: Context, all_feeds: bool) -> None:
    """Poll the feeds that are due once, store new items, print a summary."""
    from .pipeline import poll_cycle
    setup_logging(logging.WARNING)
    click.echo(poll_cycle(ctx.cfg, all_feeds=all_feeds).line())


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the digest; deliver nothing, mark nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "html"]), default="text", show_default=True,
              help="Format of the --dry-run preview.")
@pass_ctx
@user_errors
def digest(ctx: Context, dry_run: bool, fmt: str) -> None:
    """Deliver now every relevant item not yet delivered (SMTP, or the outbox)."""
    from .pipeline import send_digest
    setup_logging(logging.WARNING)
    summary = send_digest(ctx.cfg, dry_run=dry_run, fmt=fmt)
    if dry_run:
        click.echo(summary.preview, nl=False)
        return
    click.echo(summary.line())
    if summary.errors:
        sys.exit(1)


@cli.command()
@click.argument("text", required=False)
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), metavar="FILE|-",
              help='JSON lines with "title" and "summary" (optional "id", "content"); one verdict per line.')
@pass_ctx
@user_errors
def classify(ctx: Context, text: str | None, jsonl) -> None:
    """Classify TEXT (first line as title) and explain, or every line of --jsonl. Stores nothing."""
    if (text is None) == (jsonl is None):
        raise click.UsageError("give TEXT or --jsonl FILE (not both)")
    from .classify import classify as classify_item
    ruleset = load_rules(ctx.cfg.classifier.rules)
    if text is not None:
        if text == "-":
            text = sys.stdin.read()
        title, _, body = text.strip().partition("\n")
        click.echo(classify_item(ruleset, title, body).describe(ruleset.threshold))
        return
    out = sys.stdout
    dumps = json.dumps
    for n, line in enumerate(jsonl, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"--jsonl line {n}: invalid JSON ({e.msg})", 2)
        if not isinstance(obj, dict):
            fail(f"--jsonl line {n}: expected a JSON object", 2)
        fields = [obj.get(k) for k in ("title", "summary", "content")]
        if not all(v is None or isinstance(v, str) for v in fields):
            fail(f"--jsonl line {n}: title, summary and content must be strings", 2)
        v = classify_item(ruleset, *fields, explain=False)
        out.write(dumps({"id": obj.get("id"), "relevant": v.relevant, "score": v.score, "matches": v.matches},
                        ensure_ascii=False) + "\n")
    out.flush()


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, help="Most results to show.")
@click.option("--relevant", "relevant_only", is_flag=True, help="Only items classified relevant.")
@pass_ctx
@user_errors
def search(ctx: Context, query: str, limit: int, relevant_only: bool) -> None:
    """Full-text search (SQLite FTS5) of stored titles and summaries."""
    from .store import Store
    with Store(ctx.cfg.database.path, create=False) as store:
        rows = store.search(query, limit=limit, relevant_only=relevant_only)
    for r in rows:
        mark = "*" if r["relevant"] else " "
        click.echo(f"{r['id']:>7} {mark} {(r['published_at'] or '')[:16]:16} {r['score']:>5g}  {r['title']}")
    if not rows:
        click.echo("no matches", err=True)


@cli.group()
def feeds() -> None:
    """The feed list ([feeds] opml) and each feed's health."""


@feeds.command("list")
@pass_ctx
@user_errors
def feeds_list(ctx: Context) -> None:
    """Every feed in the list with its health: status, HTTP code, errors, items, last success, next poll."""
    from .feeds import read_opml
    from .store import Store
    specs = read_opml(ctx.cfg.feeds.opml)
    health = {}
    if Path(ctx.cfg.database.path).exists():
        with Store(ctx.cfg.database.path) as store:
            health = {h["url"]: h for h in store.feed_health()}
    click.echo(f"{'STATUS':12} {'HTTP':>4} {'ERR':>4} {'ITEMS':>6}  {'LAST SUCCESS':16}  {'NEXT POLL':16}  FEED")
    for spec in specs:
        h = health.get(spec.url, {})
        status = "disabled" if h.get("disabled_reason") else (h.get("last_status") or "never polled")
        click.echo(f"{status:12} {h.get('http_status') or '':>4} {h.get('error_count') or 0:>4} "
                   f"{h.get('items', 0):>6}  {_short_time(h.get('last_success_at')):16}  "
                   f"{_short_time(h.get('next_poll_at')) if status != 'disabled' else '':16}  "
                   f"{spec.title or ''} <{spec.url}>")
        if h.get("disabled_reason"):
            click.echo(f"{'':14}disabled: {h['disabled_reason']}")
        elif h.get("error_count"):
            click.echo(f"{'':14}{plural(h['error_count'], 'error')}: {h['last_error']}")
        elif h.get("last_status") == "warning":
            click.echo(f"{'':14}warning: {h['last_error']}")


def _short_time(iso: str | None) -> str:
    return iso.replace("T", " ")[:16] if iso else "never"


@cli.group()
def rules() -> None:
    """Derive a rules draft from seed articles; measure rules on labeled items."""


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
    from .seed import derive, draft_toml, load_background, read_seed
    bg = load_background(background)
    known_rules = rules_path or ctx.cfg.classifier.rules
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
@click.argument("labeled", type=click.Path(dir_okay=False))
@click.option("--show", default=50, show_default=True, help="Most false positives / negatives to list.")
@click.option("--rules", "rules_path", metavar="FILE", help="Rules to measure (default: [classifier] rules).")
@pass_ctx
@user_errors
def rules_eval(ctx: Context, labeled: str, show: int, rules_path: str | None) -> None:
    """Precision, recall, F1 and the errors on LABELED.jsonl (title, summary, relevant)."""
    from .evaluate import evaluate, read_labeled, report
    ruleset = load_rules(rules_path or ctx.cfg.classifier.rules)
    click.echo(report(evaluate(ruleset, read_labeled(labeled)), show=show))


@cli.command()
@click.option("--outbox", metavar="DIR", help="Where the digest goes (default: [digest] outbox).")
@pass_ctx
@user_errors
def demo(ctx: Context, outbox: str | None) -> None:
    """Offline tour: sample feeds on 127.0.0.1 -> throwaway database -> digest in the outbox."""
    from .demo import run_demo
    setup_logging(logging.WARNING)
    result = run_demo(ctx.cfg, outbox)
    click.echo(result.poll.line())
    for item in sorted(result.items, key=lambda i: -i.score):
        mark = "RELEVANT" if item.relevant else "        "
        click.echo(f"  {mark} {item.score:>5g}  [{item.lang or '?'}] {item.title}")
    click.echo(result.digest.line())


def main() -> None:
    try:
        cli(prog_name="newswatch")
    except BrokenPipeError:
        # The reader (head, less) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
