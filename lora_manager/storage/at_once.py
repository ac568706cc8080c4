"""Reading a batch of rows in one step of SQLite, for a thread that runs beside the hashing threads.

Python's sqlite3 releases the interpreter's lock for every row it steps to and takes it back after. Beside two
hashing threads, each take-back waits for one of them to let go; measured on 10k warm files, reading the
hasher's 10k pending rows and the 10k rows checked before storing their hashes this way took 0.28 s of the
storing thread's wall time, for work SQLite does in a few milliseconds (docs/performance-hashing.md). On SQLite
the query is run as one row instead: `json_group_array` over it, one step with the lock released throughout,
and the array parsed by orjson at once. Other databases (psycopg fetches a whole result in one call) read rows
as usual.

The statement is built once by its owner (`AtOnce`), with its changing values as bound parameters that have a
default, and its SQLite text is compiled on first use: building and compiling a SELECT each call held the
interpreter's lock for about a millisecond, as long as SQLite took to answer it.

The rows come back as tuples of the query's columns, in no promised order (SQLite before 3.44 cannot order
an aggregate's input): the caller sorts what it needs in order. Columns must be of JSON's kinds (text,
integers, reals, NULL): a blob is refused by SQLite, and a boolean comes back as 0 or 1.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, select

from .hash_writes import ONE_STATEMENT


class AtOnce:
    """A SELECT of plain columns, built once, read in one step where the database is SQLite. Its changing values
    are `bindparam(name, default)`s, given to `rows` by name."""

    def __init__(self, query):
        self.query = query
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def rows(self, conn, **params) -> list[tuple]:
        if conn.dialect.name != "sqlite" or not ONE_STATEMENT:
            return [tuple(row) for row in conn.execute(self.query, params)]
        arrays = conn.exec_driver_sql(*self.sqlite_statement(conn.dialect, **params)).one()
        return list(zip(*map(orjson.loads, arrays), strict=True))

    def sqlite_statement(self, dialect, **params) -> tuple[str, tuple]:
        """The one-step read's SQLite text (compiled on first use) and its parameters, in their order."""
        if self._sqlite is None:
            self._sqlite = self._compile(dialect)
        sql, names, fixed = self._sqlite
        values = {**fixed, **params}
        return sql, tuple(values[n] for n in names)

    def _compile(self, dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        sub = self.query.subquery()
        # One array per column, all filled by the same steps of one aggregate query, so in the same order (a list
        # per row would be one more object per row for the garbage collector to track). A list of values (`in_`)
        # is written out as one parameter each, with the values it was built with.
        compiled = select(*(func.json_group_array(c) for c in sub.c)).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True})
        return str(compiled), tuple(compiled.positiontup), dict(compiled.params)
