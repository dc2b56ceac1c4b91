"""District-scale import of base records and boundaries.

Base records (``records_load``) arrive as columnar ``RecordBatch``es of ~100k
rows from a reader (``read_records_csv``, ``read_records_geojson``, or any
other code).  Each batch is validated row by row, converted to WGS-84 and
located with numpy over the whole batch, and streamed into a temporary table
(``COPY`` on PostgreSQL, ``executemany`` on SQLite); one ``INSERT ... SELECT
... ON CONFLICT (external_id) DO UPDATE ... WHERE <a column differs>`` then
moves every good row into ``gridapp_baserecord``, so an unchanged row is not
written at all (its ``updated_at`` stays) and the whole load is one
transaction: an exception anywhere leaves nothing behind.  No Django model
instance is built per row.

Boundaries (``boundaries_load``) are a GeoJSON FeatureCollection of polygons,
one feature per street, community, grid or industry grid.  Only what changed
gets a new version, in one new generation; importing the same file again
changes nothing.

Problems with single rows or features are ``Reject``s (file, 1-based line or
feature number, reason) and do not stop the import; a file that cannot be read
at all raises ``OSError`` or ``ImportFileError``.  The file formats are
described in ``gridapp/management/commands/import_base_data.py``.
"""

from gridapp.geography.importer.boundaries import LEVELS, boundaries_load
from gridapp.geography.importer.readers import RECORD_COLUMNS, read_records, read_records_csv, read_records_geojson
from gridapp.geography.importer.records import records_load
from gridapp.geography.importer.types import BATCH_SIZE, ImportFileError, ImportReport, RecordBatch, Reject

__all__ = [
    "BATCH_SIZE",
    "LEVELS",
    "RECORD_COLUMNS",
    "ImportFileError",
    "ImportReport",
    "RecordBatch",
    "Reject",
    "boundaries_load",
    "read_records",
    "read_records_csv",
    "read_records_geojson",
    "records_load",
]
