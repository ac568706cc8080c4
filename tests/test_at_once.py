"""The hasher's reads beside its hashing threads (storage/at_once.py): on SQLite one statement of one row, with the
same rows a plain read gives, on both databases."""

from __future__ import annotations

from sqlalchemy import bindparam, event, select

from lora_manager.storage.at_once import AtOnce
from lora_manager.storage.base import H, L, LH

from .loras import write_lora

# Names a plain read must give back as they are: accents, a script other than Latin, a character beyond the
# basic plane, quotes and a backslash, which JSON escapes.
ODD_NAMES = ["café", "Ωμέγα", "emoji_🎨", 'quote"d', "back\\slash", "plain"]


def _library(app, library):
    for i, name in enumerate(ODD_NAMES):
        write_lora(library / "sub dir" / f"{name}.safetensors", seed=i)
    app.scan(hash_after=False)


def test_rows_read_at_once_are_the_rows_a_plain_read_gives(app, library):
    _library(app, library)
    query = (select(H.c.lora_id, L.c.path, H.c.size, H.c.mtime_ns, H.c.sha256, L.c.prev_sha256).select_from(LH)
             .where(H.c.lora_id > bindparam("after", 0), H.c.state.in_(["ok", "unsupported"])))
    with app.db.engine.connect() as conn:
        plain = sorted(tuple(r) for r in conn.execute(query, {"after": 1}))
        got = sorted(AtOnce(query).rows(conn, after=1))
        assert got == plain and len(got) == len(ODD_NAMES) - 1
        assert all(r[3] > 1 << 60 for r in got)  # nanosecond mtimes, past what a double holds exactly
        assert {r[4] for r in got} == {None}
        assert AtOnce(query).rows(conn, after=10**9) == []


def test_the_hashers_batch_is_one_statement_on_sqlite_and_in_id_order(app, library, db_url):
    _library(app, library)
    store = app.hasher.scan_store
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(app.db.engine, "before_cursor_execute", seen)
    try:
        rows = store.pending_hashes(4, after=0)
    finally:
        event.remove(app.db.engine, "before_cursor_execute", seen)
    with app.db.engine.connect() as conn:
        want = [tuple(r) for r in conn.execute(
            select(H.c.lora_id, L.c.path, H.c.size).select_from(LH).order_by(H.c.lora_id).limit(4))]
    assert rows == want
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1
    assert ("json_group_array" in reads[0]) == db_url.startswith("sqlite")

