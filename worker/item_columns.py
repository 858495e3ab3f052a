"""What a person gets for a stored item in search results and exports, as SQL text: the columns, and
each row rendered by SQLite as a line of JSON or a CSV record. Like schema.py, this module holds SQL
that only the store runs."""

from __future__ import annotations

# What a feed is called wherever a person reads it: the name given in the feed list, else its own title.
FEED_NAME = "COALESCE(f.list_title, f.title, f.url)"

# (name, SQL expression) over items i, their feed f and their label l.
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "i.id"), ("published_at", "COALESCE(i.published_at, i.fetched_at)"), ("fetched_at", "i.fetched_at"),
    ("feed", FEED_NAME), ("feed_url", "f.url"), ("title", "i.title"), ("summary", "i.summary"),
    ("link", "i.link"), ("lang", "i.lang"), ("score", "i.score"), ("relevant", "i.relevant"),
    ("label", "l.relevant"), ("story_id", "i.story_id"), ("digest_id", "i.digest_id"),
    ("delivered_at", "i.delivered_at"), ("matches", "i.matches"), ("explanation", "i.explanation"))
CSV_HEADER = ",".join(name for name, _ in ITEM_COLUMNS) + "\r\n"

# Columns of text a feed chose (or a URL it redirected to): in CSV, defused if they would start a
# formula. The others are numbers, or times and JSON we write, which never start so.
CSV_TEXT_COLUMNS = frozenset({"feed", "feed_url", "title", "summary", "link", "lang"})
# JSON true and false are constants SQLite computes once per query, not a json() parse per row.
_JSON_VALUE = {"matches": "json(i.matches)", "explanation": "json(i.explanation)",
               "relevant": "CASE i.relevant WHEN 1 THEN json('true') ELSE json('false') END",
               "label": "CASE l.relevant WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"}


def json_object_sql() -> str:
    """SQL for the item as a JSON object."""
    return "json_object(" + ", ".join(f"'{name}', {_JSON_VALUE.get(name, expr)}" for name, expr in ITEM_COLUMNS) + ")"


def csv_record_sql() -> str:
    """SQL for the item as a CSV record, byte for byte what Python's csv.writer writes (a cell is quoted
    only when it holds a comma, a quote or a line break; NULL is empty; CRLF ends it; a score, rounded
    to 3 decimals, reads the same as Python's repr), except that a cell of a feed's text that a
    spreadsheet would run as a formula (=, +, -, @, tab or CR first) starts with a single quote, as
    OWASP advises against CSV injection."""
    cells = []
    for name, expr in ITEM_COLUMNS:
        if name in CSV_TEXT_COLUMNS:
            text = f"CASE WHEN unicode({expr}) IN (61, 43, 45, 64, 9, 13) THEN '''' || {expr} ELSE {expr} END"
        elif name in ("matches", "explanation"):
            text = expr
        else:  # numbers, and times we write
            cells.append(f"COALESCE({expr}, '')")
            continue
        special = " OR ".join(f"instr({expr}, {c})" for c in ("','", "'\"'", "char(10)", "char(13)"))
        cells.append(f"""COALESCE(CASE WHEN {special} THEN '"' || replace({text}, '"', '""') || '"' ELSE {text} END, '')""")
    return f"{_joined(cells)} || char(13, 10)"


def _joined(cells: list[str]) -> str:
    """cells joined by commas with ||, nested in halves: a flat a || b || c ... copies the growing
    line once per cell (10% slower for the month), and printf('%s') would cut a cell at a NUL."""
    if len(cells) == 1:
        return cells[0]
    half = len(cells) // 2
    return f"({_joined(cells[:half])} || ',' || {_joined(cells[half:])})"
