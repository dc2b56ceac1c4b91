"""The event statistics rollup (PostgreSQL): one row per month, street, department and category, kept current by
triggers on gridapp_event in the writing statement's own transaction.  See ``gridapp/incidents/rollup.py`` for what it
holds and how it is read.  SQLite (the embedded mode, small data) has no rollup: its statistics read the events.
"""

from django.conf import settings
from django.db import migrations

# The statuses that count as open and the time zone of the months, as the code knew them when this ran; the
# reader checks both against the code's on every read and falls back to the events when they differ
# (``gridapp.incidents.rollup.event_rollup_rebuild`` brings them in line).
OPEN_STATUSES = ["accepted", "dispatched", "in_progress", "on_hold", "reported", "resolved", "verified"]

FORWARD = r"""
CREATE TABLE gridapp_event_rollup (
    month date NOT NULL,
    street_id bigint NOT NULL,
    department_id bigint NOT NULL,
    category_id bigint NOT NULL,
    cases integer NOT NULL,
    open integer NOT NULL,
    closed integer NOT NULL,
    resolved integer NOT NULL,
    was_overdue integer NOT NULL,
    duplicates integer NOT NULL,
    open_deadlines bigint[] NOT NULL,
    resolution_seconds double precision[] NOT NULL,
    PRIMARY KEY (month, street_id, department_id, category_id)
);
COMMENT ON TABLE gridapp_event_rollup IS 'Event statistics per month, street, department and category; kept by '
    'triggers on gridapp_event (gridapp/rollup.py). open_deadlines: the deadlines (microseconds since the epoch) '
    'of the open cases not yet escalated as overdue; resolution_seconds: every resolved case''s. Unordered.';

CREATE FUNCTION gridapp_event_rollup_zone() RETURNS text LANGUAGE sql IMMUTABLE AS %(zone)s;
CREATE FUNCTION gridapp_event_rollup_open() RETURNS text[] LANGUAGE sql IMMUTABLE AS %(open)s;

-- a minus b as multisets: one occurrence of a removed per occurrence in b
CREATE FUNCTION gridapp_multiset_minus(a anyarray, b anyarray) RETURNS anyarray LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x ORDER BY position), a[1:0])
      FROM (SELECT x, position, row_number() OVER (PARTITION BY x ORDER BY position) AS occurrence
              FROM unnest(a) WITH ORDINALITY AS items(x, position)) numbered
     WHERE occurrence > (SELECT count(*) FROM unnest(b) AS removed(y) WHERE y = numbered.x)
$$;

-- Add (sign 1) or take away (sign -1) the contribution of events given column by column.
CREATE FUNCTION gridapp_event_rollup_apply(
    sign integer, statuses text[], streets bigint[], departments bigint[], categories bigint[],
    reported timestamptz[], overdue boolean[], deadlines timestamptz[], resolutions double precision[]
) RETURNS void LANGUAGE sql AS $$
    WITH events AS (
        SELECT * FROM unnest(statuses, streets, departments, categories, reported, overdue, deadlines, resolutions)
                   AS e(status, street_id, department_id, category_id, reported_at, was_overdue, deadline,
                        resolution_seconds)
    ), contributions AS (
        SELECT date_trunc('month', reported_at AT TIME ZONE gridapp_event_rollup_zone())::date AS month,
               street_id, department_id, category_id,
               (status <> 'duplicate')::integer AS cases,
               (status = ANY (gridapp_event_rollup_open()))::integer AS open,
               (status = 'closed')::integer AS closed,
               (status <> 'duplicate' AND resolution_seconds IS NOT NULL)::integer AS resolved,
               (status <> 'duplicate' AND was_overdue)::integer AS was_overdue,
               (status = 'duplicate')::integer AS duplicates,
               CASE WHEN status = ANY (gridapp_event_rollup_open()) AND NOT was_overdue AND deadline IS NOT NULL
                    THEN (extract(epoch FROM deadline) * 1000000)::bigint END AS deadline_us,
               CASE WHEN status <> 'duplicate' THEN resolution_seconds END AS resolution
          FROM events
    ), cells AS (
        SELECT month, street_id, department_id, category_id,
               sign * sum(cases) AS cases, sign * sum(open) AS open, sign * sum(closed) AS closed,
               sign * sum(resolved) AS resolved, sign * sum(was_overdue) AS was_overdue,
               sign * sum(duplicates) AS duplicates,
               coalesce(array_agg(deadline_us) FILTER (WHERE deadline_us IS NOT NULL), '{}') AS deadlines,
               coalesce(array_agg(resolution) FILTER (WHERE resolution IS NOT NULL), '{}') AS resolutions
          FROM contributions
         GROUP BY month, street_id, department_id, category_id
    ), updated AS (
        UPDATE gridapp_event_rollup r
           SET cases = r.cases + c.cases, open = r.open + c.open, closed = r.closed + c.closed,
               resolved = r.resolved + c.resolved, was_overdue = r.was_overdue + c.was_overdue,
               duplicates = r.duplicates + c.duplicates,
               open_deadlines = CASE WHEN sign > 0 THEN r.open_deadlines || c.deadlines
                                     ELSE gridapp_multiset_minus(r.open_deadlines, c.deadlines) END,
               resolution_seconds = CASE WHEN sign > 0 THEN r.resolution_seconds || c.resolutions
                                         ELSE gridapp_multiset_minus(r.resolution_seconds, c.resolutions) END
          FROM cells c
         WHERE (r.month, r.street_id, r.department_id, r.category_id)
             = (c.month, c.street_id, c.department_id, c.category_id)
     RETURNING r.month, r.street_id, r.department_id, r.category_id
    )
    -- a cell the statement could not see yet: only additions can meet it (a removal's cell holds the removed)
    INSERT INTO gridapp_event_rollup AS r
    SELECT c.month, c.street_id, c.department_id, c.category_id, c.cases, c.open, c.closed, c.resolved,
           c.was_overdue, c.duplicates, c.deadlines, c.resolutions
      FROM cells c
     WHERE sign > 0 AND NOT EXISTS (
           SELECT 1 FROM updated u WHERE (u.month, u.street_id, u.department_id, u.category_id)
                                       = (c.month, c.street_id, c.department_id, c.category_id))
     ORDER BY c.month, c.street_id, c.department_id, c.category_id
        ON CONFLICT (month, street_id, department_id, category_id) DO UPDATE
       SET cases = r.cases + excluded.cases, open = r.open + excluded.open, closed = r.closed + excluded.closed,
           resolved = r.resolved + excluded.resolved, was_overdue = r.was_overdue + excluded.was_overdue,
           duplicates = r.duplicates + excluded.duplicates,
           open_deadlines = r.open_deadlines || excluded.open_deadlines,
           resolution_seconds = r.resolution_seconds || excluded.resolution_seconds
$$;

CREATE FUNCTION gridapp_event_rollup_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridapp_event_rollup_apply(1, array_agg(status), array_agg(street_id), array_agg(department_id),
                                       array_agg(category_id), array_agg(reported_at), array_agg(was_overdue),
                                       array_agg(deadline), array_agg(resolution_seconds))
       FROM new_rows
     HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE FUNCTION gridapp_event_rollup_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridapp_event_rollup_apply(-1, array_agg(status), array_agg(street_id), array_agg(department_id),
                                       array_agg(category_id), array_agg(reported_at), array_agg(was_overdue),
                                       array_agg(deadline), array_agg(resolution_seconds))
       FROM old_rows
     HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- Only the events whose counted columns changed: most updates (a note, an assignee, a version) touch none.
CREATE FUNCTION gridapp_event_rollup_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridapp_event_rollup_apply(-1, array_agg(o.status), array_agg(o.street_id), array_agg(o.department_id),
                                       array_agg(o.category_id), array_agg(o.reported_at), array_agg(o.was_overdue),
                                       array_agg(o.deadline), array_agg(o.resolution_seconds))
       FROM old_rows o JOIN new_rows n ON n.id = o.id
      WHERE (o.status, o.street_id, o.department_id, o.category_id, o.reported_at, o.was_overdue, o.deadline,
             o.resolution_seconds) IS DISTINCT FROM
            (n.status, n.street_id, n.department_id, n.category_id, n.reported_at, n.was_overdue, n.deadline,
             n.resolution_seconds)
     HAVING count(*) > 0;
    IF FOUND THEN
        PERFORM gridapp_event_rollup_apply(1, array_agg(n.status), array_agg(n.street_id),
                                           array_agg(n.department_id), array_agg(n.category_id),
                                           array_agg(n.reported_at), array_agg(n.was_overdue), array_agg(n.deadline),
                                           array_agg(n.resolution_seconds))
           FROM old_rows o JOIN new_rows n ON n.id = o.id
          WHERE (o.status, o.street_id, o.department_id, o.category_id, o.reported_at, o.was_overdue, o.deadline,
                 o.resolution_seconds) IS DISTINCT FROM
                (n.status, n.street_id, n.department_id, n.category_id, n.reported_at, n.was_overdue, n.deadline,
                 n.resolution_seconds)
         HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION gridapp_event_rollup_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM gridapp_event_rollup;
    RETURN NULL;
END $$;

-- Rebuild from the events (writes to them wait meanwhile).
CREATE FUNCTION gridapp_event_rollup_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE gridapp_event IN SHARE MODE;
    DELETE FROM gridapp_event_rollup;
    PERFORM gridapp_event_rollup_apply(1, array_agg(status), array_agg(street_id), array_agg(department_id),
                                       array_agg(category_id), array_agg(reported_at), array_agg(was_overdue),
                                       array_agg(deadline), array_agg(resolution_seconds))
       FROM gridapp_event
     HAVING count(*) > 0;
    RETURN (SELECT count(*) FROM gridapp_event_rollup);
END $$;

CREATE TRIGGER gridapp_event_rollup_insert AFTER INSERT ON gridapp_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridapp_event_rollup_inserted();
CREATE TRIGGER gridapp_event_rollup_update AFTER UPDATE ON gridapp_event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION gridapp_event_rollup_updated();
CREATE TRIGGER gridapp_event_rollup_delete AFTER DELETE ON gridapp_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION gridapp_event_rollup_deleted();
CREATE TRIGGER gridapp_event_rollup_truncate AFTER TRUNCATE ON gridapp_event
    FOR EACH STATEMENT EXECUTE FUNCTION gridapp_event_rollup_truncated();

SELECT gridapp_event_rollup_rebuild();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS gridapp_event_rollup_insert ON gridapp_event;
DROP TRIGGER IF EXISTS gridapp_event_rollup_update ON gridapp_event;
DROP TRIGGER IF EXISTS gridapp_event_rollup_delete ON gridapp_event;
DROP TRIGGER IF EXISTS gridapp_event_rollup_truncate ON gridapp_event;
DROP FUNCTION IF EXISTS gridapp_event_rollup_inserted(), gridapp_event_rollup_updated(),
    gridapp_event_rollup_deleted(), gridapp_event_rollup_truncated(), gridapp_event_rollup_rebuild(),
    gridapp_event_rollup_apply(integer, text[], bigint[], bigint[], bigint[], timestamptz[], boolean[],
                               timestamptz[], double precision[]),
    gridapp_multiset_minus(anyarray, anyarray), gridapp_event_rollup_zone(), gridapp_event_rollup_open();
DROP TABLE IF EXISTS gridapp_event_rollup;
"""


def _literal_body(value: str) -> str:
    """A function body returning ``value`` (an SQL expression), dollar-quoted."""
    return f"$body$ SELECT {value} $body$"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    zone = settings.TIME_ZONE.replace("'", "''")
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    schema_editor.execute(FORWARD % {"zone": _literal_body(f"'{zone}'::text"),
                                     "open": _literal_body(f"ARRAY[{statuses}]::text[]")})


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("gridapp", "0006_event_statistics")]

    operations = [migrations.RunPython(forward, backward)]
