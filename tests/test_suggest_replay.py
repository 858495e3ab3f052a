"""The rule-suggestion replay (tests/suggest_replay.py): the real 2024-25 stream over real December 2022
days, polled through the pipeline from 127.0.0.1 with the rules of 2023. A small background here
(15 items a feed a day); tests/benchmarks/bench_suggest.py replays the full one."""

import pytest

from real_news import CORPUS, needs_corpus
from suggest_replay import SHARAA, TARGETS, replay, target_of

pytestmark = [needs_corpus, pytest.mark.slow]


def test_al_sharaa_is_suggested_within_a_week_of_his_first_appearance(tmp_path):
    days = replay(tmp_path, CORPUS, background_feeds=12, per_feed_day=15)
    first_seen = next(d.day for d in days if d.sharaa_in_stream)
    first_top10 = next((d.day for d in days if d.rank_of(SHARAA)), None)
    assert first_top10 is not None and first_top10 - first_seen <= 7, (first_seen, first_top10)
    # Every suggestion carries its evidence, and the stream's other new names come up too.
    offered = {target_of(s) for d in days for s in d.suggestions} - {None}
    assert {"al-Sharaa", "Assad's fall"} <= offered, offered
    for d in days:
        for s in d.suggestions:
            assert s.items >= 3 and s.feeds >= 2 and s.examples
    assert set(TARGETS) >= offered
