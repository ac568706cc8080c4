"""Usage analytics: what you really use, with what, and how it went.

Every figure comes from generations recorded by this extension. Time buckets
are computed in the caller's time zone: each local bucket is a UTC interval
written as whole UTC days, hours and quarter hours of the rollups (see
`timeparts`), so zones with half- and quarter-hour offsets and DST bucket
exactly. A range reads whole UTC days from the per-day rollups and the raw
events only for the partial days at its ends.

The panel calls `Analytics` (built by `app.build` as `core.analytics`):
`summary(since, until, tz_name, bucket, top)`, `loras(since, until, sort,
limit, offset)`, `lora(prompt_name, since, until)`, `events_csv(since, until)`.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import timeparts
from .rollup_fold import aggregate
from ..library.clock import UTC, iso, utcnow
from .span import Span, add_counts, make_span, merge_totals
from .span import top as top_counts
from ..errors import InvalidInput
from .timeparts import floor_to

if TYPE_CHECKING:
    from ..storage.analytics_store import AnalyticsStore
    from ..storage.range_store import RangeStore
    from ..storage.usage_store import UsageStore

BUCKETS = ("day", "week", "month")
SORTS = {"uses": "uses", "last_used": "last_used", "name": "prompt_name"}


def zone(name: str | None):
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name[:60]!r}; use an IANA name such as Europe/Berlin") from None


def bucket_key(moment: datetime, tz, bucket: str) -> str:
    local = moment.astimezone(tz)
    if bucket == "day":
        return local.date().isoformat()
    if bucket == "week":  # ISO weeks start on Monday
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    return f"{local.year:04d}-{local.month:02d}"


def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    value = iso(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class Analytics:
    """The analytics panel's and the API's figures, from our own recorded events only.

    Every method takes an optional range `since` (inclusive) .. `until`
    (exclusive) as datetimes (naive means UTC). All time and whole UTC days
    read the rollups; the partial days at a range's ends read the raw events.
    """

    def __init__(self, analytics_store: AnalyticsStore, range_store: RangeStore, usage_store: UsageStore):
        self.analytics_store = analytics_store  # all time, from the rollups
        self.range_store = range_store  # ranges: whole days from the rollups, raw events at the edges
        self.usage_store = usage_store  # the raw events (the usage list, the CSV export)

    def _span(self, since, until) -> Span:
        first, last, raw_since = self.range_store.usage_extent()
        return make_span(since, until, first, last, raw_since)

    def _edges(self, span: Span) -> dict[str, dict]:
        """The raw events of the range's partial days, folded like the rollups."""
        out: dict[str, dict] = {}
        for a, b in span.edges:
            part = aggregate(*self.range_store.raw_rows(a, b))
            merge_totals(out.setdefault("totals", {}), part["totals"])
            for key in ("slots", "days"):
                acc = out.setdefault(key, {})
                for k, v in part[key].items():
                    have = acc.setdefault(k, [0, 0, 0])
                    for i in range(3):
                        have[i] += v[i]
            for key in ("weights", "families", "pairs", "triggers"):
                add_counts(out.setdefault(key, {}), part[key])
        return out

    def summary(self, since=None, until=None, tz_name: str | None = None, bucket: str = "day",
                top: int = 10) -> dict[str, Any]:
        """Library-wide figures for a range (default: all time).

        Returns a dict:
        - range: {since, until (ISO, as asked), time_zone, bucket, exact (False when an end fell in
          compacted history and was widened to a UTC day), raw_since (raw events start here; None: all kept)}
        - totals: {generations, mean_done_ms, timed (done generations with a duration), families:
          [{family, generations}], lora_failures: {not_found: n, not_applied: n}}
        - timeline: [{bucket: "2026-11-02" (day, week's Monday) or "2026-11" (month), generations, done,
          interrupted, failed}] in the time zone `tz_name` (IANA; default UTC), oldest first
        - most_used / least_used: [{id, prompt_name, uses, last_used}] (LoRAs used at least once)
        - never_used: {count, bytes, largest: [{id, prompt_name, size}]} LoRAs on disk unused in the range
        - co_usage: [{a, b, generations}] LoRA pairs applied together, most first (2 * top)
        - top_triggers: [{word, generations}] trigger words of applied LoRAs found in the prompt
        """
        if bucket not in BUCKETS:
            raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}")
        tz = zone(tz_name)
        span = self._span(since, until)
        all_time = since is None and until is None
        ranged = None
        if not all_time:
            # The range's three big reads run in SQL on their own connections while this thread folds
            # the raw partial days: sqlite3 and psycopg leave the GIL while a query runs.
            days = (span.days_from, span.days_to) if span.has_days else None
            pool = ThreadPoolExecutor(3, thread_name_prefix="lora-manager-analytics")
            ranged = {name: pool.submit(fn, days, span.edges, n) for name, fn, n in (
                ("top", self.range_store.ranged_top, top), ("never", self.range_store.ranged_never_used, top),
                ("pairs", self.range_store.ranged_pairs, top * 2))}
            pool.shutdown(wait=False)
        edges = self._edges(span)
        out = {
            "range": {"since": iso(since), "until": iso(until), "time_zone": tz_name or "UTC", "bucket": bucket,
                      "exact": span.exact, "raw_since": iso(span.raw_since)},
            "totals": self._totals(span, edges, all_time),
            "timeline": self._timeline(span, edges, tz, bucket),
        }
        if all_time:  # the all-time rollups answer, paged in SQL
            most = self.analytics_store.rollup_loras("uses", True, top, 0, used_only=True)[1]
            least = self.analytics_store.rollup_loras("uses", False, top, 0, used_only=True)[1]
            n, size = self.range_store.never_used_count()
            never = {"count": n, "bytes": size, "largest": self.analytics_store.never_used_largest(limit=top)}
            pairs = [((p["a"], p["b"]), p["generations"]) for p in self.analytics_store.co_usage(limit=top * 2)]
            words = [((w,), n) for w, n in self.range_store.top_triggers(top)]
        else:
            words = top_counts(self._counted("triggers", span, edges), top)
            ranked = ranged["top"].result()  # ranked and summed in SQL: a page comes back
            most, least = ranked["most"], ranked["least"]
            out["totals"]["lora_failures"] = {k: ranked[k] for k in ("not_found", "not_applied") if ranked[k]}
            never = ranged["never"].result()
            pairs = ranged["pairs"].result()
        out.update({
            "most_used": [self._brief(r) for r in most],
            "least_used": [self._brief(r) for r in least],
            "never_used": never,
            "co_usage": [{"a": a, "b": b, "generations": n} for (a, b), n in pairs],
            "top_triggers": [{"word": w, "generations": n} for (w,), n in words],
        })
        return out

    def _counted(self, kind: str, span: Span, edges, names=None) -> dict[tuple, int]:
        counts = self.range_store.day_counter_sums(kind, span.days_from, span.days_to, names) if span.has_days else {}
        extra = edges.get(kind, {})
        if names is not None:
            wanted = set(names)
            extra = {k: n for k, n in extra.items() if k[0] in wanted}
        return add_counts(counts, extra)

    def _totals(self, span: Span, edges, all_time: bool, failures: bool = True) -> dict[str, Any]:
        sums: dict[tuple[str, str], list[int]] = {}
        if span.has_days:
            for o, f, n, s, t in self.range_store.day_generation_sums(span.days_from, span.days_to):
                sums[(o, f)] = [n, s, t]
        for (_day, o, f), v in edges.get("days", {}).items():
            have = sums.setdefault((o, f), [0, 0, 0])
            for i in range(3):
                have[i] += v[i]
        fams: dict[str, int] = {}
        for (_o, f), (n, _s, _t) in sums.items():
            fams[f] = fams.get(f, 0) + n
        total = sum(v[0] for v in sums.values())
        done_ms = sum(v[1] for (o, _f), v in sums.items() if o == "done")
        timed = sum(v[2] for (o, _f), v in sums.items() if o == "done")
        # all time: from the totals; a ranged summary fills them in from its one grouping pass
        failures = self.analytics_store.lora_failure_totals() if failures and all_time else {}
        return {"generations": total, "mean_done_ms": (done_ms / timed) if timed else None, "timed": timed,
                "families": [{"family": f or None, "generations": n}
                             for f, n in sorted(fams.items(), key=lambda kv: (-kv[1], kv[0]))],
                "lora_failures": {k: n for k, n in failures.items() if n}}

    def _timeline(self, span: Span, edges, tz, bucket: str) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, int]] = {}

        def add(label: str, outcome: str, n: int) -> None:
            row = rows.setdefault(label, {"generations": 0, "done": 0, "interrupted": 0, "failed": 0})
            row["generations"] += n
            row[outcome] = row.get(outcome, 0) + n

        if span.has_days:
            wanted: dict[str, list] = {"day": [], "hour": [], "slot": []}
            for label, a, b in timeparts.buckets(span.days_from, span.days_to, tz, bucket):
                for unit, start, sign in timeparts.cover(a, b):
                    wanted[unit].append((start, label, sign))
            for unit, parts in wanted.items():
                if not parts:
                    continue
                counts = self.range_store.unit_counts(unit, [p[0] for p in parts])
                for start, label, sign in parts:
                    for outcome, n in counts.get(start, {}).items():
                        add(label, outcome, sign * n)
        for (slot, outcome, _f), v in edges.get("slots", {}).items():
            add(bucket_key(slot, tz, bucket), outcome, v[0])
        return [{"bucket": k, **v} for k, v in sorted(rows.items()) if v["generations"]]

    @staticmethod
    def _brief(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["lora_id"], "prompt_name": r["prompt_name"], "uses": int(r["uses"]),
                "last_used": iso(r["last_used"])}

    def loras(self, since=None, until=None, sort: str = "uses", limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Per-LoRA figures for a range, one page: {total, limit, offset, items: [item]}.

        sort: uses | last_used | name (newest/most first, names A-Z; a leading - flips it).
        Each item: {id (None when not indexed), prompt_name, uses (applied), requests (asked for),
        first_used, last_used (ISO), outcomes: {done, interrupted, failed, not_found}, weights:
        {"0.7": n} (rounded to 0.1), families: {"sdxl": n}, mean_ms_with, mean_ms_without (mean time
        of done generations with and without it)}.
        """
        key = sort.lstrip("-")
        if key not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)} (prefix - for ascending)")
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidInput("limit must be 1..10000 and offset >= 0")
        flipped = sort.startswith("-")
        descending = flipped if key == "name" else not flipped  # names A-Z, counts and dates newest first
        # all time: sort and page in SQL over the rollups, then detail only the page
        if since is None and until is None:
            totals = self._totals(self._span(None, None), {}, True, failures=False)
            total, rows = self.analytics_store.rollup_loras(key, descending, limit, offset)
            weights, families = self.analytics_store.rollup_weights_families([r["prompt_name"] for r in rows])
            counted = {"weights": {(n, w): c for _i, n, w, c in weights},
                       "families": {(n, f): c for _i, n, f, c in families}}
        else:
            span = self._span(since, until)
            days = (span.days_from, span.days_to) if span.has_days else None
            # the page is ranked in SQL on another connection while this thread folds the raw partial days
            pool = ThreadPoolExecutor(1, thread_name_prefix="lora-manager-analytics")
            page = pool.submit(self.range_store.ranged_loras, days, span.edges, key, descending, limit, offset)
            pool.shutdown(wait=False)
            edges = self._edges(span)
            totals = self._totals(span, edges, False, failures=False)  # the mean time of all generations is what's read
            total, rows = page.result()
            names = [r["prompt_name"] for r in rows]
            counted = {k: self._counted(k, span, edges, names) for k in ("weights", "families")}
        return {"total": total, "limit": limit, "offset": offset, "items": self._items(rows, counted, totals)}

    def lora(self, key: str | int, since=None, until=None) -> dict[str, Any] | None:
        """One LoRA's figures for a range (the item shape of `loras`), or None when it was never asked for.
        `key`: its prompt name (also one not in the library), or its id in the index."""
        prompt_name = self.range_store.prompt_names([key]).get(key) if isinstance(key, int) else key
        if prompt_name is None:
            return None
        if since is None and until is None:
            rows = self.analytics_store.rollup_lora(prompt_name)
            totals = self._totals(self._span(None, None), {}, True, failures=False)
            weights, families = self.analytics_store.rollup_weights_families([prompt_name])
            counted = {"weights": {(n, w): c for _i, n, w, c in weights},
                       "families": {(n, f): c for _i, n, f, c in families}}
        else:
            span = self._span(since, until)
            edges = self._edges(span)
            totals = self._totals(span, edges, False, failures=False)
            days = (span.days_from, span.days_to) if span.has_days else None
            rows = self.range_store.ranged_loras(
                days, span.edges, "name", False, 1, names=[prompt_name], with_total=False
            )[1]
            counted = {k: self._counted(k, span, edges, [prompt_name]) for k in ("weights", "families")}
        items = self._items(rows, counted, totals)
        return items[0] if items else None

    def figures(self, lora_id: int, prompt_name: str, since=None, until=None) -> dict[str, Any]:
        """`lora(prompt_name)` with the LoRA's id, every figure zero when it was never asked for."""
        figures = self.lora(prompt_name, since, until)
        if figures is None:
            figures = {"prompt_name": prompt_name, "uses": 0, "requests": 0, "first_used": None, "last_used": None,
                       "outcomes": {}, "weights": {}, "families": {}, "mean_ms_with": None, "mean_ms_without": None}
        return {**figures, "id": lora_id}

    @staticmethod
    def _items(rows, counted, totals) -> list[dict[str, Any]]:
        w_by: dict[str, dict[str, int]] = {}
        for (name, w), n in counted["weights"].items():
            label = f"{float(w):g}"
            w_by.setdefault(name, {})[label] = w_by.get(name, {}).get(label, 0) + int(n)
        f_by: dict[str, dict[str, int]] = {}
        for (name, fam), n in counted["families"].items():
            f_by.setdefault(name, {})[fam or "unknown"] = f_by.get(name, {}).get(fam or "unknown", 0) + int(n)
        all_ms, all_n = totals["mean_done_ms"], totals["timed"]
        items = []
        for r in rows:
            n_with = int(r["timed"] or 0)
            mean_with = (r["sum_ms"] / n_with) if n_with else None
            without = None
            if all_ms is not None and mean_with is not None and all_n > n_with:
                without = (all_ms * all_n - mean_with * n_with) / (all_n - n_with)
            items.append({
                "id": r["lora_id"], "prompt_name": r["prompt_name"], "uses": int(r["uses"] or 0),
                "requests": int(r["requests"]), "first_used": iso(r["first_used"]), "last_used": iso(r["last_used"]),
                "outcomes": {k: int(r[k] or 0) for k in ("done", "interrupted", "failed", "not_found")},
                "weights": w_by.get(r["prompt_name"], {}),
                "families": f_by.get(r["prompt_name"], {}),
                "mean_ms_with": round(mean_with, 1) if mean_with is not None else None,
                "mean_ms_without": round(without, 1) if without is not None else None,
            })
        return items

    def compact(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete raw events older than `retention_days` whole UTC days (0: keep all); every summary and
        per-LoRA figure stays the same, since the rollups hold them. Returns generations deleted."""
        if retention_days <= 0:
            return 0
        now = now or utcnow()
        return self.range_store.compact_usage(floor_to(now, 86400) - timedelta(days=retention_days))

    def list_usage(self, lora_id: int | None = None, prompt_name: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Recorded generations, newest first, each with its LoRAs (see UsageStore.list_usage)."""
        return self.usage_store.list_usage(lora_id=lora_id, prompt_name=prompt_name, since=since, until=until,
                                           limit=limit, offset=offset)

    def events_csv(self, since=None, until=None) -> Iterator[str]:
        """The raw events, one row per generation and LoRA, as CSV text chunks (those kept by the retention setting)."""
        header = ["generation_id", "started_at", "finished_at", "duration_ms", "outcome", "source", "checkpoint",
                  "checkpoint_family", "seed", "steps", "width", "height", "sampler", "lora", "lora_id",
                  "requested_weight", "applied_te", "applied_unet", "status"]
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for i, row in enumerate(self.usage_store.raw_events(since, until)):
            writer.writerow([_cell(v) for v in row])
            if i % 2000 == 1999:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
