"""Portable bulk writes and keyed reads: the projector's only dialect-specific code.

Everything takes and returns plain dicts. On SQLite, the in-process driver makes executemany
cheap, so rows go to it as tuples for a statement compiled once per call (SQLAlchemy's per-row
parameter processing would cost more than SQLite itself). On PostgreSQL, one statement per row (even pipelined) or one huge
multi-VALUES statement costs far more than the work itself, so rows travel as one array per
column: `INSERT ... SELECT * FROM unnest(:a::bigint[], :b::text[], ...)`, with the same
`ON CONFLICT (...) DO UPDATE` clause that SQLite spells identically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

Row = dict[str, Any]
Merge = Callable[[sa.Table, Any], Mapping[str, Any]]
in_chunk_max = 500  # keys per IN (...) list on SQLite, far under its bound-parameter limit


def _is_pg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[Row]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    if _is_pg(conn):
        stmt = table.insert().from_select(cols, _unnest(table, cols))
        conn.execute(stmt, _arrays(table, cols, rows))
    else:
        _sqlite_many(conn, table.insert().values({c: sa.bindparam(c) for c in cols}), rows)


def upsert(conn: sa.Connection, table: sa.Table, keys: Sequence[str], rows: list[Row],
           merge: Merge | None = None) -> None:
    """Insert rows, or update the stored row with the same key (keys unique within `rows`).

    Without `merge` every other column takes the new value; `merge(table, excluded)` may return
    expressions combining old and new (running totals, extremes) for the columns to update.
    """
    if not rows:
        return
    cols = list(rows[0])
    pg = _is_pg(conn)
    if pg:
        stmt: Any = postgresql.insert(table).from_select(cols, _unnest(table, cols))
    else:
        stmt = sqlite.insert(table).values({c: sa.bindparam(c) for c in cols})
    new = stmt.excluded
    set_ = dict(merge(table, new)) if merge else {c: new[c] for c in cols if c not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
    if pg:
        conn.execute(stmt, _arrays(table, cols, rows))
    else:
        _sqlite_many(conn, stmt, rows)


def insert_returning_ids(conn: sa.Connection, table: sa.Table, rows: list[Row]) -> list[int]:
    """Insert rows into a table with an autoincrement `id`; their ids in the order of `rows`."""
    if not rows:
        return []
    if _is_pg(conn):
        # Draw the ids from the column's own sequence, then insert them explicitly.
        drawn = conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                    "FROM generate_series(1, :n)"), {"t": table.name, "n": len(rows)})
        ids = sorted(int(r[0]) for r in drawn)
    else:
        # SQLite gives an INTEGER PRIMARY KEY max(id) + 1 itself; taking the same ids here is
        # safe because the caller's transaction is the only writer of these tables.
        first = (conn.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
    insert_rows(conn, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def update_many(conn: sa.Connection, table: sa.Table, key: str, rows: Iterable[Row]) -> None:
    """UPDATE table SET <other columns> WHERE key = :key, one executemany per shape of row."""
    shapes: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for shape, group in shapes.items():
        # Bind names must differ from column names in an UPDATE's WHERE/VALUES.
        stmt = (
            table.update()
            .where(table.c[key] == sa.bindparam(f"b_{key}"))
            .values({name: sa.bindparam(f"b_{name}") for name in shape if name != key})
        )
        conn.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in group])


def select_by_keys(conn: sa.Connection, table: sa.Table, key_cols: Sequence[str],
                   keys: Sequence[tuple[Any, ...]]) -> list[Row]:
    """The stored rows whose (key_cols) value is one of `keys`."""
    if not keys:
        return []
    cols = [table.c[k] for k in key_cols]
    if _is_pg(conn):
        k = (sa.func.unnest(*[_array_bind(f"k{i}", c.type) for i, c in enumerate(cols)])
             .table_valued(*[f"k{i}" for i in range(len(cols))]).render_derived(name="k"))
        on = sa.and_(*[c == k.c[f"k{i}"] for i, c in enumerate(cols)])
        stmt = sa.select(table).join(k, on)
        params = {f"k{i}": [key[i] for key in keys] for i in range(len(cols))}
        return _as_dicts(conn.execute(stmt, params))
    out: list[Row] = []
    target = cols[0] if len(cols) == 1 else sa.tuple_(*cols)
    for part in chunks(keys, in_chunk_max // len(cols)):
        values = [key[0] for key in part] if len(cols) == 1 else list(part)
        out.extend(_as_dicts(conn.execute(sa.select(table).where(target.in_(values)))))
    return out


def _as_dicts(result: sa.CursorResult[Any]) -> list[Row]:
    """Rows as dicts; zipping plain tuples is several times cheaper than dict(RowMapping)."""
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def greatest(a: Any, b: Any) -> Any:
    return sa.case((b > a, b), else_=a)


def least(a: Any, b: Any) -> Any:
    return sa.case((b < a, b), else_=a)


def chunks(values: Sequence[Any], size: int = in_chunk_max) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _sqlite_many(conn: sa.Connection, stmt: Any, rows: list[Row]) -> None:
    compiled = stmt.compile(dialect=conn.dialect)
    names = compiled.positiontup
    if names is None:
        raise RuntimeError("expected a positional (qmark) statement for SQLite")
    if len(names) == 1:
        name = names[0]
        params = [(row[name],) for row in rows]
    else:
        values = itemgetter(*names)  # a tuple of the row's values, in C
        params = [values(row) for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def _array_bind(name: str, type_: Any) -> Any:
    return sa.cast(sa.bindparam(name), postgresql.ARRAY(type_))


def _unnest(table: sa.Table, cols: list[str]) -> sa.Select[Any]:
    source = sa.func.unnest(*[_array_bind(f"a_{c}", table.c[c].type) for c in cols])
    return sa.select(sa.literal_column("*")).select_from(source)


def _arrays(table: sa.Table, cols: list[str], rows: list[Row]) -> dict[str, str]:
    """One PostgreSQL array literal per column. Built here as text because the driver's own
    list adaptation (a regex per element) costs more than the whole INSERT on the server."""
    out = {}
    for c in cols:
        values = [row[c] for row in rows]
        numeric = isinstance(table.c[c].type, sa.Integer)
        out[f"a_{c}"] = _int_array(values) if numeric else _text_array(values)
    return out


def _int_array(values: list[Any]) -> str:
    if None in values:
        return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"
    return "{" + ",".join(map(str, map(int, values))) + "}"


def _text_array(values: list[Any]) -> str:
    """Every element double-quoted, backslashes and quotes escaped; None is NULL."""
    return "{" + ",".join([
        "NULL" if v is None else '"' + _text(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
        for v in values]) + "}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)
