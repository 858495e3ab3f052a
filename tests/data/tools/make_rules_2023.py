#!/usr/bin/env python3
"""Write tests/data/rules-2023.toml: the shipped rules without any name or term that entered the story
after 2023, the starting point of the `rules suggest` replay (it must find them in the stream).

    python tests/data/tools/make_rules_2023.py

Left out: al-Sharaa (and al-Jolani, the name he fought under) in every spelling, al-Shaibani, Abu
Qasra, HTS, Khattab, al-Bashir, the 2025 ministers (Louka, al-Shaar, Barnieh, al-Salameh, Haykal,
Badr, Moulhem), the new, interim, transitional or caretaker administration, "the new Syria", Assad's
fall as a date. Fidan stays, as he was in 2023: the intelligence chief.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from worker.relevance.rules import load_rules

NEW = re.compile(
    r"shara|şara|sara\b|الشرع|jolani|golani|colani|culani|الجولاني|shaibani|şeybani|الشيباني|qasra|kasra|قصرة|"
    r"\bhts\b|khattab|hattab|أنس خطاب|bashir|beşir|البشير|louka|لوقا|shaar|الشعار|barnieh|برنية|berniye|"
    r"salameh|السلامة|haykal|هيكل|yarub|يعرب|moulhem|ملحم|new administration|yeni yönetim|الإدارة الجديدة|"
    r"new syria|yeni suriye|سوريا الجديدة|transitional|geçiş hükümeti|geçiş dönemi|الانتقالية|interim|caretaker|"
    r"new syrian government|post.assad|fall of|'s fall|ouster|toppling|düşüş|devrilme|çöküş|kaçış|سقوط|ما بعد الأسد|هروب الأسد")
KEEP = {"باب السلامة"}  # a border crossing's name, not the minister


def main() -> None:
    source = (REPO / "config" / "rules" / "turkey-syria.toml").read_text(encoding="utf-8")
    dropped: list[str] = []

    def strip(match: re.Match) -> str:
        term = match.group(0)
        if NEW.search(term[1:-1].lower()) and term[1:-1] not in KEEP:
            dropped.append(term)
            return ""
        return term

    out = []
    in_terms = False
    for line in source.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith("terms = ["):
            in_terms = True
        if in_terms and not stripped.startswith("#"):
            line = re.sub(r'"[^"]*"', strip, line)
            line = re.sub(r",(\s*,)+", ",", line)
            line = re.sub(r"\[\s*,\s*", "[", line)
            line = re.sub(r"^(\s*),\s*", r"\1", line)
            line = re.sub(r",\s*\]", "]", line)
            if not line.strip().strip(","):
                line = ""
        if in_terms and "]" in line and not stripped.startswith("#"):
            in_terms = False
        out.append(line)
    header = ("# The rules of 2026-12-07 without any name or term that entered the story after 2023: the start of\n"
              "# the `rules suggest` replay. Made by tests/data/tools/make_rules_2023.py; do not edit by hand.\n")
    text = header + "".join(out)
    target = REPO / "tests" / "data" / "rules-2023.toml"
    target.write_text(text, encoding="utf-8")
    load_rules(target)  # still a valid rules file
    print(f"{target}: {len(dropped)} terms left out")
    for term in dropped:
        print("  ", term)


if __name__ == "__main__":
    main()
