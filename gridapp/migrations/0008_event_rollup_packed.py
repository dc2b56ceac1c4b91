"""Each rollup row also holds itself in the binary form the reader takes (``gridapp/incidents/rollup.py``): its key and
counts packed big-endian, and its two lists as their values' bytes, big-endian, one after the other.  Encoding ~9,400 rows and
400,000 list elements at every read cost most of it; now a write encodes the one or two rows it changes (a
BEFORE trigger on the rollup) and a read only concatenates.
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE gridapp_event_rollup
    ADD COLUMN packed bytea NOT NULL DEFAULT '',
    ADD COLUMN open_deadlines_sent bytea NOT NULL DEFAULT '',
    ADD COLUMN resolution_seconds_sent bytea NOT NULL DEFAULT '';
COMMENT ON COLUMN gridapp_event_rollup.packed IS 'month (days since 1970-01-01, int4), street, department, '
    'category (int8), cases, open, closed, resolved, was_overdue, duplicates, the lists'' lengths (int4): '
    'big-endian, for gridapp/rollup.py';

CREATE FUNCTION gridapp_event_rollup_pack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.packed := int4send(NEW.month - DATE '1970-01-01') || int8send(NEW.street_id) || int8send(NEW.department_id)
        || int8send(NEW.category_id) || int4send(NEW.cases) || int4send(NEW.open) || int4send(NEW.closed)
        || int4send(NEW.resolved) || int4send(NEW.was_overdue) || int4send(NEW.duplicates)
        || int4send(coalesce(cardinality(NEW.open_deadlines), 0))
        || int4send(coalesce(cardinality(NEW.resolution_seconds), 0));
    NEW.open_deadlines_sent := coalesce(
        (SELECT string_agg(int8send(deadline), ''::bytea) FROM unnest(NEW.open_deadlines) AS deadline), '');
    NEW.resolution_seconds_sent := coalesce(
        (SELECT string_agg(float8send(seconds), ''::bytea) FROM unnest(NEW.resolution_seconds) AS seconds), '');
    RETURN NEW;
END $$;

CREATE TRIGGER gridapp_event_rollup_pack BEFORE INSERT OR UPDATE ON gridapp_event_rollup
    FOR EACH ROW EXECUTE FUNCTION gridapp_event_rollup_pack();

UPDATE gridapp_event_rollup SET packed = packed;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS gridapp_event_rollup_pack ON gridapp_event_rollup;
DROP FUNCTION IF EXISTS gridapp_event_rollup_pack();
ALTER TABLE gridapp_event_rollup DROP COLUMN IF EXISTS packed, DROP COLUMN IF EXISTS open_deadlines_sent,
    DROP COLUMN IF EXISTS resolution_seconds_sent;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("gridapp", "0007_event_rollup")]

    operations = [migrations.RunPython(forward, backward)]
