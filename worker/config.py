"""Configuration: TOML file -> validated dataclasses. Every error names the file and the key."""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import UsageError

DEFAULT_CONFIG = Path("config/newswatch.toml")
CONFIG_ENV = "NEWSWATCH_CONFIG"
PACKAGED_SOURCE = "(packaged defaults)"
# What `init` writes, relative to its directory: the layout of the repository root, so that the
# default config (config/newswatch.toml, relative paths) works there unchanged.
INIT_FILES = ("newswatch.toml", "feeds.opml", "rules/turkey-syria.toml")


def packaged_file(name: str) -> Path:
    """A file shipped in the package (worker/defaults/NAME): the rules, the feed list, the config. The
    package is installed as a directory (setuptools, editable or not), so the file has a path; not
    asking importlib.resources saves every command about 10 ms of start-up."""
    return Path(__file__).parent / "defaults" / name


def is_packaged(path: str | Path) -> bool:
    """Whether a path is one of the shipped defaults (read-only: site-packages is not the user's)."""
    defaults = packaged_file("newswatch.toml").parent
    return Path(path).absolute().is_relative_to(defaults.absolute())


class ConfigError(UsageError):
    """A configuration that cannot be used; str() is the one line to show the user."""


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "db/newswatch.db"


@dataclass(frozen=True)
class FeedsConfig:
    opml: str = "config/feeds.opml"


@dataclass(frozen=True)
class PollConfig:
    interval_minutes: int = 15
    concurrency: int = 16
    per_host: int = 4  # requests at once to one host
    timeout_seconds: float = 20.0
    max_bytes: int = 10_000_000
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"


@dataclass(frozen=True)
class ClassifierConfig:
    rules: str = "config/rules/turkey-syria.toml"


@dataclass(frozen=True)
class DigestConfig:
    time: str = "07:00"
    timezone: str = "Europe/Istanbul"
    to: list[str] = field(default_factory=lambda: ["analyst@example.org"])
    from_: str = "newswatch@example.org"
    outbox: str = "db/outbox"
    subject: str = "newswatch digest: {items} on Turkey–Syria relations"
    send_empty: bool = False
    max_items: int = 200
    near_misses: int = 10  # at most this many items just under the threshold; 0 leaves the section out
    near_miss_margin: float = 2.0  # "just under": within this many points of the threshold
    failing_feed_hours: int = 24  # list feeds failing at least this long
    new_terms: int = 5  # "New near the story": this many suggested rule terms (0 leaves the section out)
    new_terms_days: int = 7  # at most once in this many days


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "NEWSWATCH_SMTP_PASSWORD"
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class RetentionConfig:
    irrelevant_days: int = 0  # 0 keeps everything; else irrelevant items older than this are deleted daily


@dataclass(frozen=True)
class AlertsConfig:
    webhook_url: str = ""  # empty: no instant alerts
    min_score: float = 10.0
    timeout_seconds: float = 10.0
    retries: int = 2  # more tries within one poll cycle, with a short pause
    max_attempts: int = 10  # over all cycles; then the error stays recorded and the digest carries it


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    source: str = "(built-in defaults)"

    def smtp_password(self) -> str:
        """The SMTP password, read from the environment variable that the config names."""
        return os.environ.get(self.smtp.password_env, "") if self.smtp.password_env else ""

    def check_smtp_password(self) -> None:
        """Fail now, not at digest time, when a login is configured and its password is missing."""
        if self.smtp.host and self.smtp.username and not self.smtp_password():
            raise ConfigError(f"{self.source}: [smtp] username is set but the environment variable "
                              f"{self.smtp.password_env or '(password_env is empty)'} holding the password is not")


_SECTION_TYPES = {"database": DatabaseConfig, "feeds": FeedsConfig, "poll": PollConfig,
                  "classifier": ClassifierConfig, "digest": DigestConfig, "smtp": SmtpConfig,
                  "alerts": AlertsConfig, "retention": RetentionConfig}


def _toml_key(name: str) -> str:
    return "from" if name == "from_" else name


def _check_type(value: Any, default: Any) -> str | None:
    """None when value fits the type of the default, else the expected type's name."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "a boolean"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "a list of strings"
    return None


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def parse_config(data: dict[str, Any], source: str) -> Config:
    def err(key: str, msg: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {msg}")

    sections: dict[str, Any] = {}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise err(section, f"unknown key outside any [section] (expected sections: {', '.join(_SECTION_TYPES)})"
                      if section not in _SECTION_TYPES else "must be a table")
        if section not in _SECTION_TYPES:
            raise err(f"[{section}]", f"unknown section (expected one of {', '.join(_SECTION_TYPES)})")
        cls = _SECTION_TYPES[section]
        defaults = cls()
        known = {_toml_key(f.name): f.name for f in fields(cls)}
        values = {}
        for key, value in body.items():
            if key not in known:
                raise err(f"[{section}] {key}", f"unknown key (expected one of {', '.join(known)})")
            expected = _check_type(value, getattr(defaults, known[key]))
            if expected:
                raise err(f"[{section}] {key}", f"must be {expected}, got {_type_name(value)}")
            values[known[key]] = float(value) if isinstance(getattr(defaults, known[key]), float) else value
        sections[section] = replace(defaults, **values)
    cfg = Config(**sections, source=source)
    _validate(cfg, err)
    return cfg


def _validate(cfg: Config, err) -> None:
    for key, name in (("[database] path", cfg.database.path), ("[feeds] opml", cfg.feeds.opml),
                      ("[classifier] rules", cfg.classifier.rules), ("[digest] outbox", cfg.digest.outbox)):
        if not name.strip() or "\x00" in name:  # no file has such a name; open() would raise ValueError
            raise err(key, f"not a usable file name: {name!r}")
    p = cfg.poll
    for key, value in (("interval_minutes", p.interval_minutes), ("concurrency", p.concurrency),
                       ("per_host", p.per_host), ("max_bytes", p.max_bytes)):
        if value < 1:
            raise err(f"[poll] {key}", "must be at least 1")
    if p.timeout_seconds <= 0:
        raise err("[poll] timeout_seconds", "must be greater than 0")
    d = cfg.digest
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", d.time):
        raise err("[digest] time", f"must be HH:MM (24-hour), got {d.time!r}")
    try:
        zoneinfo.ZoneInfo(d.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise err("[digest] timezone", f"unknown time zone {d.timezone!r}") from None
    if not d.to:
        raise err("[digest] to", "needs at least one address")
    for addr in d.to:
        if "@" not in addr:
            raise err("[digest] to", f"not an e-mail address: {addr!r}")
    if "@" not in d.from_:
        raise err("[digest] from", f"not an e-mail address: {d.from_!r}")
    if d.max_items < 1:
        raise err("[digest] max_items", "must be at least 1")
    if d.new_terms < 0 or d.new_terms_days < 1:
        raise err("[digest] new_terms" if d.new_terms < 0 else "[digest] new_terms_days",
                  "must be 0 or more" if d.new_terms < 0 else "must be at least 1")
    if cfg.retention.irrelevant_days < 0:
        raise err("[retention] irrelevant_days", "must be 0 (keep everything) or more")
    a = cfg.alerts
    if a.webhook_url and not a.webhook_url.startswith(("http://", "https://")):
        raise err("[alerts] webhook_url", f"must be an http(s) URL, got {a.webhook_url!r}")
    if a.timeout_seconds <= 0 or a.retries < 0 or a.max_attempts < 1:
        raise err("[alerts]", "timeout_seconds > 0, retries >= 0 and max_attempts >= 1")
    s = cfg.smtp
    if s.security not in ("starttls", "ssl", "none"):
        raise err("[smtp] security", f'must be "starttls", "ssl" or "none", got {s.security!r}')
    if not 0 < s.port < 65536:
        raise err("[smtp] port", "must be between 1 and 65535")


def config_path(explicit: str | None) -> Path | None:
    """The config file to read: named by the user (it must exist), else the default if present."""
    named = explicit or os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load_config(explicit: str | None = None, db_path: str | None = None) -> Config:
    """Read the config (explicit path, else $NEWSWATCH_CONFIG, else config/newswatch.toml, else defaults)."""
    path = config_path(explicit)
    if path is None:
        cfg = packaged_defaults()
    else:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except OSError as e:
            raise ConfigError(f"config file {path}: {e.strerror}") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from None
        cfg = parse_config(data, str(path))
    if db_path:
        cfg = replace(cfg, database=DatabaseConfig(path=db_path))
    return cfg


def packaged_defaults() -> Config:
    """The built-in config, for a directory with no config/newswatch.toml: the database and outbox
    in db/ of the working directory (as from the repository root), the feed list and rules from
    config/ when that directory has them, else the copies shipped in the package."""
    cfg = Config(source=PACKAGED_SOURCE)
    opml, rules = cfg.feeds.opml, cfg.classifier.rules
    return replace(cfg, feeds=FeedsConfig(opml if Path(opml).exists() else str(packaged_file("feeds.opml"))),
                   classifier=ClassifierConfig(rules if Path(rules).exists()
                                               else str(packaged_file("rules/turkey-syria.toml"))))


def first_run_note(cfg: Config) -> str | None:
    """On the packaged defaults, the one line saying where the database and outbox go, until they exist."""
    if cfg.source != PACKAGED_SOURCE or Path(cfg.database.path).parent.exists():
        return None
    return (f"no config/newswatch.toml here: newswatch runs on its packaged defaults and keeps the database "
            f"and outbox in {Path(cfg.database.path).parent.absolute()}/ (`newswatch init` writes a config to edit)")


def init_files(directory: str | Path, force: bool = False) -> list[Path]:
    """Write an editable config, feed list and rules into DIRECTORY/config/; returns the files written.
    An existing file is an error unless `force`: they are the user's edits."""
    import shutil  # only here: every command imports this module
    base = Path(directory) / "config"
    targets = [(packaged_file(name), base / name) for name in INIT_FILES]
    existing = [str(t) for _, t in targets if t.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
                          "not overwritten (--force replaces them)")
    for source, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return [t for _, t in targets]
