"""Database helpers Django does not have in the form we need."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


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
