"""PostgreSQL-only helpers of ``records_load``: fast COPY text, and the bulk path that rebuilds indexes.

The bulk path moves a large staged load into the target table with its
secondary indexes, unique constraints and foreign keys dropped, then recreates
exactly what it dropped from the definitions PostgreSQL itself printed
(``pg_get_indexdef``, ``pg_get_constraintdef``).  Building an index once over
1.6 M rows is cheaper than maintaining it row by row (`bench/import.py` sets the load against a COPY into the
indexed table), and
re-adding a foreign key checks every row in one join instead of one trigger
call per row at commit.  It all happens inside the caller's transaction, so a
failure anywhere rolls the indexes and constraints back with the rows.  It takes
an ACCESS EXCLUSIVE lock on the table until the commit: readers wait for the load.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Memory for each index build of the bulk path (set for the rebuild only, like SET LOCAL).
MAINTENANCE_WORK_MEM = "256MB"
#: Memory for sorting the staged rows into file order while they move (set for the move only).
SORT_WORK_MEM = "256MB"

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = frozenset("\\\t\n\r")


def copy_text(rows: list[tuple], text_columns: tuple[int, ...], *, skip_first: bool = False,
              extra: str | None = None) -> str:
    """``rows`` in COPY text format; the ``text_columns`` are strings that may need escaping.

    The other values must be ints or floats (``repr`` round-trips a float), and
    no value may be None (``\\N``) here: records_load never stages a NULL.
    ``skip_first`` leaves each row's first value out; ``extra`` (which needs no
    escaping) is added as the last column of every row.  Usually no string
    holds a tab, newline, carriage return or backslash, and one ``%`` format
    per row is all it takes (checked on the whole block).
    """
    if not rows:
        return ""
    width = len(rows[0])
    fields = ["%s" if index in text_columns else "%r" for index in range(width)][skip_first:]
    if extra is not None:
        fields.append(extra.replace("%", "%%"))
    line = ("%.0s" if skip_first else "") + "\t".join(fields) + "\n"
    text = "".join([line % row for row in rows])
    if (text.count("\n") == len(rows) and text.count("\t") == (len(fields) - 1) * len(rows)
            and "\\" not in text and "\r" not in text):
        return text
    columns = [list(column) for column in zip(*rows, strict=True)]
    for index in range(width):
        values = columns[index]
        if index not in text_columns:
            columns[index] = list(map(repr, values))
        elif not _COPY_SPECIAL.isdisjoint("".join(values)):
            columns[index] = [value.translate(_COPY_ESCAPES) for value in values]
    columns = columns[skip_first:]
    if extra is not None:
        columns.append([extra] * len(rows))
    return "".join(f"{line}\n" for line in map("\t".join, zip(*columns, strict=True)))


@dataclass(frozen=True)
class _Dropped:
    name: str  # as PostgreSQL quotes it
    create: str  # the statement that recreates it
    drop: str  # the statement that drops it
    foreign_key: bool


def secondary_schema(cursor, table: str, *, keep_unique: bool) -> list[_Dropped]:
    """What the bulk path drops from ``table``, in the order to recreate it.

    Every index but the primary key's, every unique or exclusion constraint and
    every foreign key; with ``keep_unique`` the unique ones stay (an ``ON
    CONFLICT`` needs them).  Unique indexes that a foreign key of another
    table refers to always stay (dropping them would fail).
    """
    cursor.execute(
        """
        SELECT quote_ident(c.conname), c.contype = 'f', pg_get_constraintdef(c.oid), NULL
          FROM pg_constraint c
         WHERE c.conrelid = %(table)s::regclass AND c.contype IN ('u', 'x', 'f')
           AND NOT (c.contype <> 'f' AND (%(keep_unique)s OR EXISTS (
                    SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))
        UNION ALL
        SELECT i.indexrelid::regclass::text, false, NULL, pg_get_indexdef(i.indexrelid)
          FROM pg_index i
         WHERE i.indrelid = %(table)s::regclass AND NOT i.indisprimary
           AND NOT (i.indisunique AND %(keep_unique)s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conindid = i.indexrelid AND (c.conrelid = i.indrelid OR c.contype = 'f'))
        """,
        {"table": table, "keep_unique": keep_unique},
    )
    found = []
    for name, foreign_key, constraint_definition, index_definition in cursor.fetchall():
        if index_definition is not None:
            found.append(_Dropped(name, index_definition, f"DROP INDEX {name}", False))
        else:
            found.append(_Dropped(name, f"ALTER TABLE {table} ADD CONSTRAINT {name} {constraint_definition}",
                                  f"ALTER TABLE {table} DROP CONSTRAINT {name}", foreign_key))
    # plain indexes first, then unique/exclusion constraints, foreign keys last (one validating pass each)
    return sorted(found, key=lambda item: (item.foreign_key, item.create.startswith("ALTER")))


def schema_drop(cursor, table: str, dropped: list[_Dropped]) -> None:
    _pending_checks_run(cursor, table)
    for item in dropped:
        cursor.execute(item.drop)


def _pending_checks_run(cursor, table: str) -> None:
    """Run now the deferred foreign-key checks queued on ``table`` and the tables it refers to.

    ALTER TABLE refuses a table with "pending trigger events": rows written
    earlier in this transaction (grids created in the same test, say) whose
    deferred checks would otherwise wait for the commit.  The checks run at
    SET CONSTRAINTS ... IMMEDIATE; the constraints then go back to their
    declared mode (one a caller had switched to IMMEDIATE becomes DEFERRED again).
    """
    cursor.execute(
        """
        WITH related AS (SELECT %(table)s::regclass AS rel
                         UNION SELECT confrelid FROM pg_constraint
                                WHERE conrelid = %(table)s::regclass AND contype = 'f')
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.conname), c.condeferred
          FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE c.condeferrable
           AND (c.conrelid IN (SELECT rel FROM related) OR c.confrelid IN (SELECT rel FROM related))
        """,
        {"table": table},
    )
    found = cursor.fetchall()
    if found:
        cursor.execute(f"SET CONSTRAINTS {', '.join(name for name, _deferred in found)} IMMEDIATE")
        deferred = [name for name, initially_deferred in found if initially_deferred]
        if deferred:
            cursor.execute(f"SET CONSTRAINTS {', '.join(deferred)} DEFERRED")


def schema_restore(cursor, dropped: list[_Dropped]) -> None:
    if not dropped:
        return
    cursor.execute("SELECT current_setting('maintenance_work_mem'), set_config('maintenance_work_mem', %s, true)",
                   [MAINTENANCE_WORK_MEM])
    before = cursor.fetchone()[0]
    for item in dropped:
        cursor.execute(item.create)
    cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [before])
