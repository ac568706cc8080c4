"""Scans over a library several hosts share: each host reads and writes its own file locations.

A LoRA is one row of `loras` whatever the number of hosts that see it; identity is the file's full
hash, and before hashing its size and header bytes (the key a scan already matches moves by). Each
host keeps, per LoRA, where it sees the file (`file_locations`): its index, what it marks missing and
what it hashes are its own, so two hosts with their own copies (or one share under two mount paths)
no longer swap the row's path at every scan, and a LoRA only one host has never turns missing after
another host's scan. The `loras` row holds the facts of the last host that wrote them; its state is
missing only when no host has the file (docs/several-hosts.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, insert, literal, select, update

from .at_once import AtOnce
from .base import H, L, LH, chunks, utcnow
from .failures import retry_conflicts
from .host_models import FileLocation
from .scan_store import HASHABLE, ON_DISK, HashResult, IndexRow, ScanStore, SqlScanStore
from .search import search_text

FL = FileLocation.__table__
PRESENT_HERE = ON_DISK


def _mark(path: str, host: str) -> str:
    """The `loras.path` of a row whose real path another host's row already holds (the column is unique)."""
    return f"{path}#{host}"


class HostScanStore(ScanStore):
    """ScanStore of one host in a shared library: the SQL store for hashes and identity, this host's
    file locations for the index, moves, missing and what to hash."""

    def __init__(self, inner: SqlScanStore, host_id: str, roots: list[str]):
        self.inner = inner
        self.db = inner.db
        self.host = host_id
        self.roots = list(roots)
        # LoRAs this host flagged missing on an offline root: never taken over by a copy elsewhere
        # (the original may still be there), as on one host
        self.offline: set[int] = set()
        # The hasher's walk of this host's files, built once (storage/at_once.py).
        self._pending = AtOnce(
            select(H.c.lora_id, FL.c.path, H.c.size).select_from(LH.join(FL, self._mine_to_hash()))
            .where(inner._needs_hash(), H.c.lora_id > bindparam("after", 0)).order_by(H.c.lora_id)
            .limit(bindparam("limit", 1)))

    # --- the index -----------------------------------------------------------------------------
    def file_index(self) -> dict[str, IndexRow]:
        self._claim()
        state = case((L.c.state == "trashed", L.c.state), else_=FL.c.state)
        q = (select(FL.c.path, L.c.id, FL.c.size, FL.c.mtime_ns, FL.c.companion_sig, state, L.c.header_digest,
                    H.c.sha256)
             .select_from(FL.join(L, L.c.id == FL.c.lora_id).join(H, H.c.lora_id == L.c.id))
             .where(FL.c.host_id == self.host))
        with self.db.engine.connect() as conn:
            return {r[0]: IndexRow(*r[1:]) for r in conn.execute(q)}

    @retry_conflicts
    def _claim(self) -> None:
        """Rows at a path under this host's roots that this host has not located yet are its own, as the
        row has them: a library from before several hosts, rows a file operation or a download wrote,
        and rows of hosts that reach the files under the same path (one share mounted at one path
        everywhere). The scan then compares them with the disk as it would on one host. (A row whose
        path is marked as another host's, `path#host`, is not a path here.)"""
        if not self.roots:
            return
        now = utcnow()
        mine = FL.alias("mine")
        with self.db.engine.begin() as conn:
            src = select(L.c.id, literal(self.host), L.c.path, L.c.root, L.c.folder, L.c.state, L.c.size,
                         L.c.mtime_ns, L.c.companion_sig, literal(now, FL.c.last_seen.type)).where(
                L.c.root.in_(self.roots), ~L.c.path.contains("#"),
                ~exists().where(FL.c.lora_id == L.c.id, FL.c.host_id == self.host),
                ~exists().where(mine.c.host_id == self.host, mine.c.path == L.c.path))
            conn.execute(insert(FL).from_select(
                ["lora_id", "host_id", "path", "root", "folder", "state", "size", "mtime_ns", "companion_sig",
                 "last_seen"], src))

    def _located(self, conn, ids) -> dict[int, tuple[str, int, int]]:
        """{id: (path, size, mtime_ns)} of this host's locations of `ids`."""
        out: dict[int, tuple[str, int, int]] = {}
        for part in chunks(sorted(set(ids))):
            q = select(FL.c.lora_id, FL.c.path, FL.c.size, FL.c.mtime_ns).where(
                FL.c.host_id == self.host, FL.c.lora_id.in_(part))
            out.update((r[0], (r[1], r[2], r[3])) for r in conn.execute(q))
        return out

    def _location(self, lid: int, row: dict[str, Any], now) -> dict[str, Any]:
        return {"lora_id": lid, "host_id": self.host, "path": row["path"], "root": row["root"],
                "folder": row.get("folder") or "", "state": row["state"], "size": row["size"],
                "mtime_ns": row["mtime_ns"], "companion_sig": row.get("companion_sig") or 0, "last_seen": now}

    def _taken(self, conn, paths, but: dict[str, int] | None = None) -> set[str]:
        """Paths another row of `loras` holds already (another host's file at the same path)."""
        taken: set[str] = set()
        for part in chunks(sorted(set(paths))):
            for path, lid in conn.execute(select(L.c.path, L.c.id).where(L.c.path.in_(part))):
                if but is None or but.get(path) != lid:
                    taken.add(path)
        return taken

    # --- writes of a scan ----------------------------------------------------------------------
    def insert_files(self, rows: list[dict[str, Any]]) -> int:
        """New files here: the LoRA another host already has (same size and header) gains this host's
        location; others become rows. Returns how many were LoRAs the library knew."""
        return sum(self._insert_part(part) for part in chunks(rows, 500))

    @retry_conflicts
    def _insert_part(self, part: list[dict[str, Any]]) -> int:
        now = utcnow()
        with self.db.engine.begin() as conn:
            here = exists().where(FL.c.lora_id == L.c.id, FL.c.host_id == self.host)
            wanted = sorted({r["header_digest"] for r in part if r.get("header_digest")})
            known: dict[tuple[int, str], list[tuple[int, str]]] = {}
            for digests in chunks(wanted):
                q = (select(L.c.size, L.c.header_digest, L.c.id, L.c.file_name)
                     .where(L.c.header_digest.in_(digests), L.c.state != "trashed", ~here).order_by(L.c.id))
                for size, digest, lid, name in conn.execute(q):
                    known.setdefault((size, digest), []).append((lid, name))
            # files without a readable header: the same size and name (as a scan matches their moves)
            names = sorted({r["file_name"] for r in part if not r.get("header_digest")})
            for part_names in chunks(names):
                q = (select(L.c.size, L.c.file_name, L.c.id)
                     .where(L.c.file_name.in_(part_names), L.c.header_digest.is_(None), L.c.state != "trashed", ~here)
                     .order_by(L.c.id))
                for size, name, lid in conn.execute(q):
                    known.setdefault((size, name), []).append((lid, name))
            located: list[dict[str, Any]] = []
            fresh: list[dict[str, Any]] = []
            # the file of the same name first: a copy under another name here is that LoRA only when no
            # file of its own name claims it
            def key(r):
                return r["size"], r.get("header_digest") or r["file_name"]

            for row in sorted(part, key=lambda r: not any(n == r["file_name"] for _, n in known.get(key(r), ()))):
                ids = known.get(key(row))
                if ids:
                    pick = next((c for c in ids if c[1] == row["file_name"]), ids[0])
                    ids.remove(pick)
                    located.append(self._location(pick[0], row, now))
                else:
                    fresh.append(row)
            if located:
                conn.execute(insert(FL), located)
                back = [loc["lora_id"] for loc in located if loc["state"] in ON_DISK]
                for ids in chunks(sorted(back)):  # present here: the LoRA is not missing any more
                    conn.execute(update(L).where(L.c.id.in_(ids), L.c.state == "missing")
                                 .values(state="ok", missing_since=None, offline=False))
            if fresh:
                taken = self._taken(conn, [r["path"] for r in fresh])
                rows = []
                for row in fresh:
                    row = dict(row)
                    if row["path"] in taken:
                        row["path"] = _mark(row["path"], self.host)
                    if "search_text" not in row:
                        row["search_text"] = search_text(row)
                    row["added_at"] = row["updated_at"] = now
                    rows.append(row)
                ids = self.db.insert_rows(conn, rows)  # with the derived columns, model tags and full-text rows
                conn.execute(insert(FL), [self._location(lid, orig, now) for lid, orig in zip(ids, fresh, strict=True)])
        return len(located)

    def update_files(self, updates: list[tuple[int, dict[str, Any]]], *,
                     moved_from: dict[int, tuple[str, str | None]] | None = None,
                     expect: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        """As SqlScanStore's, with `expect` read against this host's locations (the row's own path may
        be another host's)."""
        with self.db.engine.connect() as conn:
            located = self._located(conn, [lid for lid, _ in updates])
            keep = [(lid, row) for lid, row in updates
                    if expect is None or lid not in expect or located.get(lid) == expect[lid]]
            owners = {row["path"]: lid for lid, row in keep}
            taken = self._taken(conn, list(owners), but=owners)
        rows = [(lid, {**row, "path": _mark(row["path"], self.host)} if row["path"] in taken else row)
                for lid, row in keep]
        written = set(self.inner.update_files(rows, moved_from=moved_from))
        self.offline -= written
        self._relocate([(lid, row) for lid, row in keep if lid in written])
        return [lid for lid, _ in keep if lid in written]

    @retry_conflicts
    def _relocate(self, done: list[tuple[int, dict[str, Any]]]) -> None:
        if not done:
            return
        now = utcnow()
        with self.db.engine.begin() as conn:
            for lid, row in sorted(done, key=lambda d: d[0]):
                loc = self._location(lid, row, now)
                # a location this host had at the same path for another row is stale: the file is this one
                conn.execute(FL.delete().where(FL.c.host_id == self.host, FL.c.path == row["path"],
                                               FL.c.lora_id != lid))
                if conn.execute(update(FL).where(FL.c.lora_id == lid, FL.c.host_id == self.host)
                                .values(**{k: v for k, v in loc.items() if k not in ("lora_id", "host_id")})).rowcount:
                    continue
                conn.execute(insert(FL), [loc])

    def mark_missing(self, ids: list[int], offline: bool = False, *,
                     expect: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        """Missing here; missing for the library only when no other host has the file either."""
        flagged = self._missing_here(ids, expect)
        if offline:
            self.offline.update(flagged)
        if not flagged:
            return []
        with self.db.engine.connect() as conn:
            elsewhere: set[int] = set()
            for part in chunks(flagged):
                elsewhere.update(conn.execute(select(FL.c.lora_id).where(
                    FL.c.lora_id.in_(part), FL.c.host_id != self.host, FL.c.state.in_(ON_DISK))).scalars())
        gone = [i for i in flagged if i not in elsewhere]
        if gone:
            self.inner.mark_missing(gone, offline)
        return flagged

    @retry_conflicts
    def _missing_here(self, ids: list[int], expect) -> list[int]:
        now = utcnow()
        flagged: list[int] = []
        with self.db.engine.begin() as conn:
            located = self._located(conn, ids)
            keep = [i for i in sorted(located) if expect is None or i not in expect or located[i] == expect[i]]
            for part in chunks(keep):
                flagged += conn.execute(
                    update(FL).where(FL.c.host_id == self.host, FL.c.lora_id.in_(part), FL.c.state.in_(ON_DISK))
                    .values(state="missing", last_seen=now).returning(FL.c.lora_id)).scalars()
        return sorted(flagged)

    # --- hashing: this host hashes the files whose facts the row holds -------------------------
    def _mine_to_hash(self):
        return and_(FL.c.lora_id == L.c.id, FL.c.host_id == self.host, FL.c.state.in_(HASHABLE),
                    FL.c.size == L.c.size, FL.c.mtime_ns == L.c.mtime_ns)

    def pending_hashes(self, limit: int = 1000, after: int = 0) -> list[tuple[int, str, int]]:
        with self.db.engine.connect() as conn:
            return sorted(self._pending.rows(conn, after=after, limit=limit))

    def pending_hash_totals(self) -> tuple[int, int]:
        q = (select(func.count(), func.coalesce(func.sum(H.c.size), 0))
             .select_from(LH.join(FL, self._mine_to_hash())).where(self.inner._needs_hash()))
        with self.db.engine.connect() as conn:
            n, size = conn.execute(q).one()
        return int(n), int(size)

    def save_hashes(self, results: list[HashResult], stale: list[HashResult] | None = None,
                    stored: list[int] | None = None) -> list[int]:
        """As SqlScanStore's; a move the hash undid, or a missing entry a new file turned out to be,
        moved the rows' paths: this host's locations follow them."""
        held: list[int] = []
        merged = self.inner.save_hashes(results, stale, held)
        # an undone move is found by its id, an adopted entry by the hash it shares with the new file
        self._follow(L.c.id, sorted({r.id for r in results if r.sha256}))
        self._follow(H.c.sha256, sorted({r.sha256 for r in results if r.sha256}))
        adopted = self._adopt_here(sorted({r.id for r in results if r.sha256}))
        if stored is not None:
            stored.extend(adopted.get(i, i) for i in held)
        return merged + list(adopted)

    @retry_conflicts
    def _adopt_here(self, ids: list[int]) -> dict[int, int]:
        """A new row of a file only this host has, whose full hash a LoRA missing *here* has, is that
        LoRA moved (a move a scan could not tell by header alone). The library's own adoption needs the
        LoRA missing everywhere; here another host may still have it. Returns {row merged away: LoRA kept}."""
        gone: dict[int, int] = {}
        mine = and_(FL.c.lora_id == L.c.id, FL.c.host_id == self.host)
        hashes = H.c.lora_id == L.c.id
        other = FL.alias("other")
        with self.db.engine.begin() as conn:
            for part in chunks(ids):
                fresh = conn.execute(select(L.c.id, H.c.sha256).select_from(L.join(FL, mine).join(H, hashes)).where(
                    L.c.id.in_(part), H.c.sha256.is_not(None), FL.c.state.in_(ON_DISK),
                    ~exists().where(other.c.lora_id == L.c.id, other.c.host_id != self.host))).all()
                for new_id, sha in fresh:
                    old = conn.execute(select(L.c.id).select_from(L.join(FL, mine).join(H, hashes)).where(
                        H.c.sha256 == sha, L.c.id != new_id, FL.c.state == "missing", L.c.state != "trashed",
                        L.c.offline.is_(False))
                        .order_by(L.c.id).limit(1)).scalar()
                    if old is None or old in self.offline or len(self.db.existing_ids(conn, [old, new_id])) != 2:
                        continue
                    loc = dict(conn.execute(select(FL).where(FL.c.lora_id == new_id, FL.c.host_id == self.host))
                               .mappings().one())
                    self.inner._merge_user(conn, src=new_id, dst=old)
                    conn.execute(L.delete().where(L.c.id == new_id))  # its location goes with it
                    values = {k: v for k, v in loc.items() if k not in ("lora_id", "host_id", "last_seen")}
                    conn.execute(update(FL).where(FL.c.lora_id == old, FL.c.host_id == self.host)
                                 .values(**values, last_seen=utcnow()))
                    gone[new_id] = old
        return gone

    @retry_conflicts
    def _follow(self, col, keys: list) -> None:
        if not keys:
            return
        now = utcnow()
        with self.db.engine.begin() as conn:
            for part in chunks(keys):
                moved = conn.execute(
                    select(L.c.id, L.c.path, L.c.root, L.c.folder, L.c.state, L.c.size, L.c.mtime_ns,
                           L.c.companion_sig)
                    .select_from(L.join(FL, and_(FL.c.lora_id == L.c.id, FL.c.host_id == self.host))
                                 .join(H, H.c.lora_id == L.c.id))
                    .where(col.in_(part), L.c.root.in_(self.roots), FL.c.path != L.c.path,
                           ~L.c.path.endswith("#" + self.host))).all()
                for r in sorted(moved, key=lambda r: r.state != "missing"):  # the undone first: they free a path
                    conn.execute(update(FL).where(FL.c.lora_id == r.id, FL.c.host_id == self.host).values(
                        path=r.path, root=r.root, folder=r.folder, state=r.state, size=r.size, mtime_ns=r.mtime_ns,
                        companion_sig=r.companion_sig, last_seen=now))
        self._claim()  # the file an undone move left becomes a row of its own

    def duplicate_count(self) -> int:
        return self.inner.duplicate_count()


def overlay(conn, host: str, items: list[dict[str, Any]]) -> None:
    """Show this host's path, root, folder and state on entries it has a location for (a trashed
    entry stays as the trash has it)."""
    ids = [item["id"] for item in items if "id" in item and item.get("state") != "trashed"]
    if not ids:
        return
    here: dict[int, Any] = {}
    for part in chunks(ids):
        for r in conn.execute(select(FL.c.lora_id, FL.c.path, FL.c.root, FL.c.folder, FL.c.state)
                              .where(FL.c.host_id == host, FL.c.lora_id.in_(part))):
            here[r.lora_id] = r
    for item in items:
        r = here.get(item.get("id"))
        if r is None:
            continue
        for key in ("path", "root", "folder", "state"):
            if key in item:
                item[key] = getattr(r, key)


def follow(conn, host: str | None, lid: int, values: dict[str, Any]) -> None:
    """A file operation moved, renamed or restored this host's file of `lid`: its location follows
    (inside the operation's transaction)."""
    if not host:
        return
    keep = {k: values[k] for k in ("path", "root", "folder", "state", "size", "mtime_ns", "companion_sig")
            if k in values}
    if keep:
        conn.execute(update(FL).where(FL.c.lora_id == lid, FL.c.host_id == host).values(**keep, last_seen=utcnow()))
