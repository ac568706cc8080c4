"""The one cache of reads: kept while nothing was written here and younger than its ttl;
least recently used goes first."""

from __future__ import annotations

from lora_manager.storage.ttl_cache import TtlCache


def test_a_write_drops_what_was_read_before_it():
    version = [0]
    cache: TtlCache[str] = TtlCache(3600, version=lambda: version[0])
    loads = []
    assert cache.get_or_load("k", lambda: loads.append(1) or "a") == "a"
    assert cache.get_or_load("k", lambda: loads.append(1) or "b") == "a" and len(loads) == 1
    version[0] += 1  # a commit in this process
    assert cache.get("k") is None
    assert cache.get_or_load("k", lambda: "c") == "c"


def test_a_value_read_while_a_write_happened_is_not_kept():
    version = [0]
    cache: TtlCache[str] = TtlCache(3600, version=lambda: version[0])
    read_at = version[0]
    version[0] += 1  # written while the read ran
    cache.put("k", "stale", read_at)
    assert cache.get("k") is None and len(cache) == 0


def test_an_expired_value_is_read_again():
    cache: TtlCache[str] = TtlCache(0)  # every value is already as old as the ttl
    cache.put("k", "a")
    assert cache.get("k") is None and cache.get_or_load("k", lambda: "b") == "b"


def test_the_least_recently_used_go_first_by_count_and_by_bytes():
    cache: TtlCache[bytes] = TtlCache(3600, max_items=3, max_bytes=10)
    for key in "abc":
        cache.put(key, b"xx")
    assert cache.get("a") == b"xx"  # a is now the most recent
    cache.put("d", b"xx")
    assert cache.get("b") is None and [cache.get(k) for k in "acd"] == [b"xx"] * 3
    cache.put("e", b"x" * 8)  # 2 + 2 + 8 > 10: the oldest go until it fits
    assert cache.size <= 10 and cache.get("e") == b"x" * 8 and cache.get("a") is None
    cache.put("huge", b"x" * 11)  # bigger than the whole budget: not kept
    assert cache.get("huge") is None and cache.get("e") == b"x" * 8
    cache.discard("e")
    assert cache.get("e") is None and cache.size == sum(len(cache.get(k) or b"") for k in "acd")


def test_a_purge_drops_the_stale_entries_of_every_cache_and_keeps_the_fresh():
    import time

    from lora_manager.storage.ttl_cache import purge_all

    version = [0]
    by_version: TtlCache[bytes] = TtlCache(3600, version=lambda: version[0], max_bytes=100)
    by_age: TtlCache[str] = TtlCache(0.2)
    by_version.put("old", b"x" * 10)
    by_age.put("a", "aged")
    version[0] += 1  # a write since "old" was read
    by_version.put("new", b"y" * 5)
    time.sleep(0.25)
    by_age.put("b", "young")
    assert purge_all() >= 2  # caches made elsewhere in the process may hold stale entries too
    assert len(by_version) == 1 and by_version.size == 5 and by_version.get("new") == b"y" * 5
    assert len(by_age) == 1 and by_age.get("b") == "young"
    assert by_version.purge() == 0 and by_age.purge() == 0
