"""Database helpers Django does not have in the form we need."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, connections
from django.db.models import Model, QuerySet


def rows_update(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Save ``fields`` of each of ``objects`` (all of one model): one prepared ``UPDATE ... WHERE pk = %s`` run
    for every row with ``executemany``, values prepared by the fields as ``save()`` prepares them.

    Django's ``bulk_update`` builds a ``CASE WHEN`` expression per row and field in Python; for a vision
    worker's batch of snapshots that cost more than the rest of the recording together (``bench/vision.py``).
    No signals are sent and ``auto_now`` fields are not touched, as with ``bulk_update``.
    """
    if not objects:
        return
    meta = type(objects[0])._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns] + [obj.pk]
            for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@contextmanager
def binary_cursor(using: str = "default") -> Iterator:
    """A cursor whose results come in PostgreSQL's binary format, wrapped as Django wraps its own (queries
    logged in debug and counted by tests, errors mapped to Django's).

    Django's psycopg cursors bind parameters on the client, which rules out binary results; this one binds
    on the server.  Numbers, booleans and arrays then arrive ready to use instead of as text to parse: faster
    for thousands of rows (the map layer and the statistics rollup: `bench/api.py --only layer,stats`).
    PostgreSQL only.
    """
    import psycopg
    from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

    database = connections[using]
    database.ensure_connection()
    raw = psycopg.Cursor(database.connection)
    raw.format = psycopg.pq.Format.BINARY
    with (CursorDebugWrapper if database.queries_logged else CursorWrapper)(raw, database) as cursor:
        yield cursor


def rows_fetch(queryset: QuerySet) -> list[tuple]:
    """The rows of a ``values_list`` queryset, as ``list(queryset)`` gives them, read in binary on PostgreSQL.

    For columns Django does not convert on reading (numbers, text, booleans, ids): the SQL is Django's own,
    only the transfer changes.  Elsewhere (SQLite) it is ``list(queryset)``.
    """
    if connections[queryset.db].vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with binary_cursor(queryset.db) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
