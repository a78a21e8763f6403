"""The still_open, still_active and still_awaiting counts, and the triggers that keep them too.

The statements are written out as this migration ran them (reports/rollup.py of its day):
install the triggers, recount every slot, and remove them. A later change to rollup.py cannot
change what this migration does; the triggers in use are rollup.py's, checked after every
`migrate` (ReportsConfig.ready).
"""

from django.db import migrations, models

STATEMENTS = {
    "postgresql": {
        "install": [
            (
                "CREATE OR REPLACE FUNCTION reports_tickets_inserted() RETURNS trigger LANGUAGE plpgsql "
                "AS $$\n"
                "            DECLARE direction integer := 1;\n"
                "            BEGIN INSERT INTO reports_activityslot (slot, created, created_low, "
                "created_normal, created_high, created_urgent, still_open, still_active, still_awaiting, "
                "into_closed, out_of_closed, into_active, out_of_active) SELECT slot, SUM(CASE WHEN true "
                "THEN n ELSE 0 END), SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END), SUM(CASE WHEN "
                "priority = 'normal' THEN n ELSE 0 END), SUM(CASE WHEN priority = 'high' THEN n ELSE 0 "
                "END), SUM(CASE WHEN priority = 'urgent' THEN n ELSE 0 END), SUM(CASE WHEN status = "
                "'open' THEN n ELSE 0 END), SUM(CASE WHEN status = 'active' THEN n ELSE 0 END), SUM(CASE "
                "WHEN status <> 'closed' AND first_response_at IS NULL THEN n ELSE 0 END), 0, 0, 0, 0 "
                "FROM (SELECT to_timestamp(floor(extract(epoch FROM created_at) / 900) * 900) AS slot, "
                "direction AS n, priority, status, first_response_at FROM changed WHERE true) AS d WHERE "
                "true GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active; RETURN NULL; END $$"
            ),
            (
                "CREATE OR REPLACE FUNCTION reports_tickets_deleted() RETURNS trigger LANGUAGE plpgsql "
                "AS $$\n"
                "            DECLARE direction integer := -1;\n"
                "            BEGIN UPDATE reports_activityslot SET created = "
                "reports_activityslot.created + d.created, created_low = "
                "reports_activityslot.created_low + d.created_low, created_normal = "
                "reports_activityslot.created_normal + d.created_normal, created_high = "
                "reports_activityslot.created_high + d.created_high, created_urgent = "
                "reports_activityslot.created_urgent + d.created_urgent, still_open = "
                "reports_activityslot.still_open + d.still_open, still_active = "
                "reports_activityslot.still_active + d.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + d.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + d.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + d.out_of_closed, into_active = "
                "reports_activityslot.into_active + d.into_active, out_of_active = "
                "reports_activityslot.out_of_active + d.out_of_active FROM (SELECT slot, SUM(CASE WHEN "
                "true THEN n ELSE 0 END) AS created, SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END) "
                "AS created_low, SUM(CASE WHEN priority = 'normal' THEN n ELSE 0 END) AS created_normal, "
                "SUM(CASE WHEN priority = 'high' THEN n ELSE 0 END) AS created_high, SUM(CASE WHEN "
                "priority = 'urgent' THEN n ELSE 0 END) AS created_urgent, SUM(CASE WHEN status = 'open' "
                "THEN n ELSE 0 END) AS still_open, SUM(CASE WHEN status = 'active' THEN n ELSE 0 END) AS "
                "still_active, SUM(CASE WHEN status <> 'closed' AND first_response_at IS NULL THEN n "
                "ELSE 0 END) AS still_awaiting, 0 AS into_closed, 0 AS out_of_closed, 0 AS into_active, "
                "0 AS out_of_active FROM (SELECT to_timestamp(floor(extract(epoch FROM created_at) / "
                "900) * 900) AS slot, direction AS n, priority, status, first_response_at FROM changed "
                "WHERE true) AS rows WHERE true GROUP BY slot) AS d WHERE reports_activityslot.slot = "
                "d.slot; RETURN NULL; END $$"
            ),
            (
                "CREATE OR REPLACE FUNCTION reports_ticket_moved() RETURNS trigger LANGUAGE plpgsql AS "
                "$$\n"
                "            BEGIN INSERT INTO reports_activityslot (slot, created, created_low, "
                "created_normal, created_high, created_urgent, still_open, still_active, still_awaiting, "
                "into_closed, out_of_closed, into_active, out_of_active) SELECT slot, SUM(CASE WHEN true "
                "THEN n ELSE 0 END), SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END), SUM(CASE WHEN "
                "priority = 'normal' THEN n ELSE 0 END), SUM(CASE WHEN priority = 'high' THEN n ELSE 0 "
                "END), SUM(CASE WHEN priority = 'urgent' THEN n ELSE 0 END), SUM(CASE WHEN status = "
                "'open' THEN n ELSE 0 END), SUM(CASE WHEN status = 'active' THEN n ELSE 0 END), SUM(CASE "
                "WHEN status <> 'closed' AND first_response_at IS NULL THEN n ELSE 0 END), 0, 0, 0, 0 "
                "FROM (SELECT to_timestamp(floor(extract(epoch FROM OLD.created_at) / 900) * 900) AS "
                "slot, -1 AS n, OLD.priority AS priority, OLD.status AS status, OLD.first_response_at AS "
                "first_response_at WHERE true UNION ALL SELECT to_timestamp(floor(extract(epoch FROM "
                "NEW.created_at) / 900) * 900) AS slot, 1 AS n, NEW.priority AS priority, NEW.status AS "
                "status, NEW.first_response_at AS first_response_at WHERE true) AS d WHERE true GROUP BY "
                "slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active; RETURN NULL; END $$"
            ),
            "DROP TRIGGER IF EXISTS reports_tickets_inserted ON tickets_ticket",
            "DROP TRIGGER IF EXISTS reports_tickets_deleted ON tickets_ticket",
            "DROP TRIGGER IF EXISTS reports_ticket_moved ON tickets_ticket",
            (
                "CREATE TRIGGER reports_tickets_inserted AFTER INSERT ON tickets_ticket REFERENCING NEW "
                "TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reports_tickets_inserted()"
            ),
            (
                "CREATE TRIGGER reports_tickets_deleted AFTER DELETE ON tickets_ticket REFERENCING OLD "
                "TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reports_tickets_deleted()"
            ),
            (
                "CREATE TRIGGER reports_ticket_moved AFTER UPDATE OF created_at, priority, status, "
                "first_response_at ON tickets_ticket FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM "
                "NEW.created_at OR OLD.priority IS DISTINCT FROM NEW.priority OR OLD.status IS DISTINCT "
                "FROM NEW.status OR OLD.first_response_at IS DISTINCT FROM NEW.first_response_at) "
                "EXECUTE FUNCTION reports_ticket_moved()"
            ),
            (
                "CREATE OR REPLACE FUNCTION reports_events_inserted() RETURNS trigger LANGUAGE plpgsql "
                "AS $$\n"
                "            DECLARE direction integer := 1;\n"
                "            BEGIN INSERT INTO reports_activityslot (slot, created, created_low, "
                "created_normal, created_high, created_urgent, still_open, still_active, still_awaiting, "
                "into_closed, out_of_closed, into_active, out_of_active) SELECT slot, 0, 0, 0, 0, 0, 0, "
                "0, 0, SUM(CASE WHEN to_value = 'closed' THEN n ELSE 0 END), SUM(CASE WHEN from_value = "
                "'closed' THEN n ELSE 0 END), SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END), "
                "SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) FROM (SELECT "
                "to_timestamp(floor(extract(epoch FROM created_at) / 900) * 900) AS slot, direction AS "
                "n, from_value, to_value FROM changed WHERE kind = 'status') AS d WHERE true GROUP BY "
                "slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active; RETURN NULL; END $$"
            ),
            (
                "CREATE OR REPLACE FUNCTION reports_events_deleted() RETURNS trigger LANGUAGE plpgsql AS "
                "$$\n"
                "            DECLARE direction integer := -1;\n"
                "            BEGIN UPDATE reports_activityslot SET created = "
                "reports_activityslot.created + d.created, created_low = "
                "reports_activityslot.created_low + d.created_low, created_normal = "
                "reports_activityslot.created_normal + d.created_normal, created_high = "
                "reports_activityslot.created_high + d.created_high, created_urgent = "
                "reports_activityslot.created_urgent + d.created_urgent, still_open = "
                "reports_activityslot.still_open + d.still_open, still_active = "
                "reports_activityslot.still_active + d.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + d.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + d.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + d.out_of_closed, into_active = "
                "reports_activityslot.into_active + d.into_active, out_of_active = "
                "reports_activityslot.out_of_active + d.out_of_active FROM (SELECT slot, 0 AS created, 0 "
                "AS created_low, 0 AS created_normal, 0 AS created_high, 0 AS created_urgent, 0 AS "
                "still_open, 0 AS still_active, 0 AS still_awaiting, SUM(CASE WHEN to_value = 'closed' "
                "THEN n ELSE 0 END) AS into_closed, SUM(CASE WHEN from_value = 'closed' THEN n ELSE 0 "
                "END) AS out_of_closed, SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END) AS "
                "into_active, SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) AS out_of_active "
                "FROM (SELECT to_timestamp(floor(extract(epoch FROM created_at) / 900) * 900) AS slot, "
                "direction AS n, from_value, to_value FROM changed WHERE kind = 'status') AS rows WHERE "
                "true GROUP BY slot) AS d WHERE reports_activityslot.slot = d.slot; RETURN NULL; END $$"
            ),
            (
                "CREATE OR REPLACE FUNCTION reports_event_moved() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                "            BEGIN INSERT INTO reports_activityslot (slot, created, created_low, "
                "created_normal, created_high, created_urgent, still_open, still_active, still_awaiting, "
                "into_closed, out_of_closed, into_active, out_of_active) SELECT slot, 0, 0, 0, 0, 0, 0, "
                "0, 0, SUM(CASE WHEN to_value = 'closed' THEN n ELSE 0 END), SUM(CASE WHEN from_value = "
                "'closed' THEN n ELSE 0 END), SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END), "
                "SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) FROM (SELECT "
                "to_timestamp(floor(extract(epoch FROM OLD.created_at) / 900) * 900) AS slot, -1 AS n, "
                "OLD.from_value AS from_value, OLD.to_value AS to_value WHERE OLD.kind = 'status' UNION "
                "ALL SELECT to_timestamp(floor(extract(epoch FROM NEW.created_at) / 900) * 900) AS slot, "
                "1 AS n, NEW.from_value AS from_value, NEW.to_value AS to_value WHERE NEW.kind = "
                "'status') AS d WHERE true GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET "
                "created = reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active; RETURN NULL; END $$"
            ),
            "DROP TRIGGER IF EXISTS reports_events_inserted ON tickets_ticketevent",
            "DROP TRIGGER IF EXISTS reports_events_deleted ON tickets_ticketevent",
            "DROP TRIGGER IF EXISTS reports_event_moved ON tickets_ticketevent",
            (
                "CREATE TRIGGER reports_events_inserted AFTER INSERT ON tickets_ticketevent REFERENCING "
                "NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reports_events_inserted()"
            ),
            (
                "CREATE TRIGGER reports_events_deleted AFTER DELETE ON tickets_ticketevent REFERENCING "
                "OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reports_events_deleted()"
            ),
            (
                "CREATE TRIGGER reports_event_moved AFTER UPDATE OF created_at, kind, from_value, "
                "to_value ON tickets_ticketevent FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM "
                "NEW.created_at OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.from_value IS DISTINCT FROM "
                "NEW.from_value OR OLD.to_value IS DISTINCT FROM NEW.to_value) EXECUTE FUNCTION "
                "reports_event_moved()"
            ),
        ],
        "rebuild": [
            "LOCK TABLE tickets_ticket, tickets_ticketevent IN SHARE MODE",
            "DELETE FROM reports_activityslot",
            (
                "INSERT INTO reports_activityslot (slot, created, created_low, created_normal, "
                "created_high, created_urgent, still_open, still_active, still_awaiting, into_closed, "
                "out_of_closed, into_active, out_of_active) SELECT slot, SUM(CASE WHEN true THEN n ELSE "
                "0 END), SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END), SUM(CASE WHEN priority = "
                "'normal' THEN n ELSE 0 END), SUM(CASE WHEN priority = 'high' THEN n ELSE 0 END), "
                "SUM(CASE WHEN priority = 'urgent' THEN n ELSE 0 END), SUM(CASE WHEN status = 'open' "
                "THEN n ELSE 0 END), SUM(CASE WHEN status = 'active' THEN n ELSE 0 END), SUM(CASE WHEN "
                "status <> 'closed' AND first_response_at IS NULL THEN n ELSE 0 END), 0, 0, 0, 0 FROM "
                "(SELECT to_timestamp(floor(extract(epoch FROM created_at) / 900) * 900) AS slot, 1 AS "
                "n, priority, status, first_response_at FROM tickets_ticket WHERE true) AS d WHERE true "
                "GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active"
            ),
            (
                "INSERT INTO reports_activityslot (slot, created, created_low, created_normal, "
                "created_high, created_urgent, still_open, still_active, still_awaiting, into_closed, "
                "out_of_closed, into_active, out_of_active) SELECT slot, 0, 0, 0, 0, 0, 0, 0, 0, "
                "SUM(CASE WHEN to_value = 'closed' THEN n ELSE 0 END), SUM(CASE WHEN from_value = "
                "'closed' THEN n ELSE 0 END), SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END), "
                "SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) FROM (SELECT "
                "to_timestamp(floor(extract(epoch FROM created_at) / 900) * 900) AS slot, 1 AS n, "
                "from_value, to_value FROM tickets_ticketevent WHERE kind = 'status') AS d WHERE true "
                "GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active"
            ),
        ],
        "uninstall": [
            "DROP TRIGGER IF EXISTS reports_tickets_inserted ON tickets_ticket",
            "DROP TRIGGER IF EXISTS reports_tickets_deleted ON tickets_ticket",
            "DROP TRIGGER IF EXISTS reports_ticket_moved ON tickets_ticket",
            "DROP TRIGGER IF EXISTS reports_events_inserted ON tickets_ticketevent",
            "DROP TRIGGER IF EXISTS reports_events_deleted ON tickets_ticketevent",
            "DROP TRIGGER IF EXISTS reports_event_moved ON tickets_ticketevent",
            "DROP FUNCTION IF EXISTS reports_tickets_inserted()",
            "DROP FUNCTION IF EXISTS reports_tickets_deleted()",
            "DROP FUNCTION IF EXISTS reports_ticket_moved()",
            "DROP FUNCTION IF EXISTS reports_events_inserted()",
            "DROP FUNCTION IF EXISTS reports_events_deleted()",
            "DROP FUNCTION IF EXISTS reports_event_moved()",
        ],
    },
    "sqlite": {
        "install": [
            "DROP TRIGGER IF EXISTS reports_tickets_inserted",
            "DROP TRIGGER IF EXISTS reports_tickets_deleted",
            "DROP TRIGGER IF EXISTS reports_ticket_moved",
            (
                "CREATE TRIGGER reports_tickets_inserted AFTER INSERT ON tickets_ticket BEGIN INSERT "
                "INTO reports_activityslot (slot, created, created_low, created_normal, created_high, "
                "created_urgent, still_open, still_active, still_awaiting, into_closed, out_of_closed, "
                "into_active, out_of_active) SELECT slot, SUM(CASE WHEN true THEN n ELSE 0 END), "
                "SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END), SUM(CASE WHEN priority = 'normal' "
                "THEN n ELSE 0 END), SUM(CASE WHEN priority = 'high' THEN n ELSE 0 END), SUM(CASE WHEN "
                "priority = 'urgent' THEN n ELSE 0 END), SUM(CASE WHEN status = 'open' THEN n ELSE 0 "
                "END), SUM(CASE WHEN status = 'active' THEN n ELSE 0 END), SUM(CASE WHEN status <> "
                "'closed' AND first_response_at IS NULL THEN n ELSE 0 END), 0, 0, 0, 0 FROM (SELECT "
                "datetime((CAST(strftime('%s', substr(NEW.created_at, 1, 16)) AS INTEGER) / 900) * 900, "
                "'unixepoch') AS slot, 1 AS n, NEW.priority AS priority, NEW.status AS status, "
                "NEW.first_response_at AS first_response_at WHERE true) AS d WHERE true GROUP BY slot "
                "ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = reports_activityslot.created + "
                "excluded.created, created_low = reports_activityslot.created_low + "
                "excluded.created_low, created_normal = reports_activityslot.created_normal + "
                "excluded.created_normal, created_high = reports_activityslot.created_high + "
                "excluded.created_high, created_urgent = reports_activityslot.created_urgent + "
                "excluded.created_urgent, still_open = reports_activityslot.still_open + "
                "excluded.still_open, still_active = reports_activityslot.still_active + "
                "excluded.still_active, still_awaiting = reports_activityslot.still_awaiting + "
                "excluded.still_awaiting, into_closed = reports_activityslot.into_closed + "
                "excluded.into_closed, out_of_closed = reports_activityslot.out_of_closed + "
                "excluded.out_of_closed, into_active = reports_activityslot.into_active + "
                "excluded.into_active, out_of_active = reports_activityslot.out_of_active + "
                "excluded.out_of_active; END"
            ),
            (
                "CREATE TRIGGER reports_tickets_deleted AFTER DELETE ON tickets_ticket BEGIN UPDATE "
                "reports_activityslot SET created = reports_activityslot.created + d.created, "
                "created_low = reports_activityslot.created_low + d.created_low, created_normal = "
                "reports_activityslot.created_normal + d.created_normal, created_high = "
                "reports_activityslot.created_high + d.created_high, created_urgent = "
                "reports_activityslot.created_urgent + d.created_urgent, still_open = "
                "reports_activityslot.still_open + d.still_open, still_active = "
                "reports_activityslot.still_active + d.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + d.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + d.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + d.out_of_closed, into_active = "
                "reports_activityslot.into_active + d.into_active, out_of_active = "
                "reports_activityslot.out_of_active + d.out_of_active FROM (SELECT slot, SUM(CASE WHEN "
                "true THEN n ELSE 0 END) AS created, SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END) "
                "AS created_low, SUM(CASE WHEN priority = 'normal' THEN n ELSE 0 END) AS created_normal, "
                "SUM(CASE WHEN priority = 'high' THEN n ELSE 0 END) AS created_high, SUM(CASE WHEN "
                "priority = 'urgent' THEN n ELSE 0 END) AS created_urgent, SUM(CASE WHEN status = 'open' "
                "THEN n ELSE 0 END) AS still_open, SUM(CASE WHEN status = 'active' THEN n ELSE 0 END) AS "
                "still_active, SUM(CASE WHEN status <> 'closed' AND first_response_at IS NULL THEN n "
                "ELSE 0 END) AS still_awaiting, 0 AS into_closed, 0 AS out_of_closed, 0 AS into_active, "
                "0 AS out_of_active FROM (SELECT datetime((CAST(strftime('%s', substr(OLD.created_at, 1, "
                "16)) AS INTEGER) / 900) * 900, 'unixepoch') AS slot, -1 AS n, OLD.priority AS priority, "
                "OLD.status AS status, OLD.first_response_at AS first_response_at WHERE true) AS rows "
                "WHERE true GROUP BY slot) AS d WHERE reports_activityslot.slot = d.slot; END"
            ),
            (
                "CREATE TRIGGER reports_ticket_moved AFTER UPDATE OF created_at, priority, status, "
                "first_response_at ON tickets_ticket WHEN OLD.created_at IS NOT NEW.created_at OR "
                "OLD.priority IS NOT NEW.priority OR OLD.status IS NOT NEW.status OR "
                "OLD.first_response_at IS NOT NEW.first_response_at BEGIN INSERT INTO "
                "reports_activityslot (slot, created, created_low, created_normal, created_high, "
                "created_urgent, still_open, still_active, still_awaiting, into_closed, out_of_closed, "
                "into_active, out_of_active) SELECT slot, SUM(CASE WHEN true THEN n ELSE 0 END), "
                "SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END), SUM(CASE WHEN priority = 'normal' "
                "THEN n ELSE 0 END), SUM(CASE WHEN priority = 'high' THEN n ELSE 0 END), SUM(CASE WHEN "
                "priority = 'urgent' THEN n ELSE 0 END), SUM(CASE WHEN status = 'open' THEN n ELSE 0 "
                "END), SUM(CASE WHEN status = 'active' THEN n ELSE 0 END), SUM(CASE WHEN status <> "
                "'closed' AND first_response_at IS NULL THEN n ELSE 0 END), 0, 0, 0, 0 FROM (SELECT "
                "datetime((CAST(strftime('%s', substr(OLD.created_at, 1, 16)) AS INTEGER) / 900) * 900, "
                "'unixepoch') AS slot, -1 AS n, OLD.priority AS priority, OLD.status AS status, "
                "OLD.first_response_at AS first_response_at WHERE true UNION ALL SELECT "
                "datetime((CAST(strftime('%s', substr(NEW.created_at, 1, 16)) AS INTEGER) / 900) * 900, "
                "'unixepoch') AS slot, 1 AS n, NEW.priority AS priority, NEW.status AS status, "
                "NEW.first_response_at AS first_response_at WHERE true) AS d WHERE true GROUP BY slot "
                "ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = reports_activityslot.created + "
                "excluded.created, created_low = reports_activityslot.created_low + "
                "excluded.created_low, created_normal = reports_activityslot.created_normal + "
                "excluded.created_normal, created_high = reports_activityslot.created_high + "
                "excluded.created_high, created_urgent = reports_activityslot.created_urgent + "
                "excluded.created_urgent, still_open = reports_activityslot.still_open + "
                "excluded.still_open, still_active = reports_activityslot.still_active + "
                "excluded.still_active, still_awaiting = reports_activityslot.still_awaiting + "
                "excluded.still_awaiting, into_closed = reports_activityslot.into_closed + "
                "excluded.into_closed, out_of_closed = reports_activityslot.out_of_closed + "
                "excluded.out_of_closed, into_active = reports_activityslot.into_active + "
                "excluded.into_active, out_of_active = reports_activityslot.out_of_active + "
                "excluded.out_of_active; END"
            ),
            "DROP TRIGGER IF EXISTS reports_events_inserted",
            "DROP TRIGGER IF EXISTS reports_events_deleted",
            "DROP TRIGGER IF EXISTS reports_event_moved",
            (
                "CREATE TRIGGER reports_events_inserted AFTER INSERT ON tickets_ticketevent BEGIN INSERT "
                "INTO reports_activityslot (slot, created, created_low, created_normal, created_high, "
                "created_urgent, still_open, still_active, still_awaiting, into_closed, out_of_closed, "
                "into_active, out_of_active) SELECT slot, 0, 0, 0, 0, 0, 0, 0, 0, SUM(CASE WHEN to_value "
                "= 'closed' THEN n ELSE 0 END), SUM(CASE WHEN from_value = 'closed' THEN n ELSE 0 END), "
                "SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END), SUM(CASE WHEN from_value = "
                "'active' THEN n ELSE 0 END) FROM (SELECT datetime((CAST(strftime('%s', "
                "substr(NEW.created_at, 1, 16)) AS INTEGER) / 900) * 900, 'unixepoch') AS slot, 1 AS n, "
                "NEW.from_value AS from_value, NEW.to_value AS to_value WHERE NEW.kind = 'status') AS d "
                "WHERE true GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active; END"
            ),
            (
                "CREATE TRIGGER reports_events_deleted AFTER DELETE ON tickets_ticketevent BEGIN UPDATE "
                "reports_activityslot SET created = reports_activityslot.created + d.created, "
                "created_low = reports_activityslot.created_low + d.created_low, created_normal = "
                "reports_activityslot.created_normal + d.created_normal, created_high = "
                "reports_activityslot.created_high + d.created_high, created_urgent = "
                "reports_activityslot.created_urgent + d.created_urgent, still_open = "
                "reports_activityslot.still_open + d.still_open, still_active = "
                "reports_activityslot.still_active + d.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + d.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + d.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + d.out_of_closed, into_active = "
                "reports_activityslot.into_active + d.into_active, out_of_active = "
                "reports_activityslot.out_of_active + d.out_of_active FROM (SELECT slot, 0 AS created, 0 "
                "AS created_low, 0 AS created_normal, 0 AS created_high, 0 AS created_urgent, 0 AS "
                "still_open, 0 AS still_active, 0 AS still_awaiting, SUM(CASE WHEN to_value = 'closed' "
                "THEN n ELSE 0 END) AS into_closed, SUM(CASE WHEN from_value = 'closed' THEN n ELSE 0 "
                "END) AS out_of_closed, SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END) AS "
                "into_active, SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) AS out_of_active "
                "FROM (SELECT datetime((CAST(strftime('%s', substr(OLD.created_at, 1, 16)) AS INTEGER) / "
                "900) * 900, 'unixepoch') AS slot, -1 AS n, OLD.from_value AS from_value, OLD.to_value "
                "AS to_value WHERE OLD.kind = 'status') AS rows WHERE true GROUP BY slot) AS d WHERE "
                "reports_activityslot.slot = d.slot; END"
            ),
            (
                "CREATE TRIGGER reports_event_moved AFTER UPDATE OF created_at, kind, from_value, "
                "to_value ON tickets_ticketevent WHEN OLD.created_at IS NOT NEW.created_at OR OLD.kind "
                "IS NOT NEW.kind OR OLD.from_value IS NOT NEW.from_value OR OLD.to_value IS NOT "
                "NEW.to_value BEGIN INSERT INTO reports_activityslot (slot, created, created_low, "
                "created_normal, created_high, created_urgent, still_open, still_active, still_awaiting, "
                "into_closed, out_of_closed, into_active, out_of_active) SELECT slot, 0, 0, 0, 0, 0, 0, "
                "0, 0, SUM(CASE WHEN to_value = 'closed' THEN n ELSE 0 END), SUM(CASE WHEN from_value = "
                "'closed' THEN n ELSE 0 END), SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END), "
                "SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) FROM (SELECT "
                "datetime((CAST(strftime('%s', substr(OLD.created_at, 1, 16)) AS INTEGER) / 900) * 900, "
                "'unixepoch') AS slot, -1 AS n, OLD.from_value AS from_value, OLD.to_value AS to_value "
                "WHERE OLD.kind = 'status' UNION ALL SELECT datetime((CAST(strftime('%s', "
                "substr(NEW.created_at, 1, 16)) AS INTEGER) / 900) * 900, 'unixepoch') AS slot, 1 AS n, "
                "NEW.from_value AS from_value, NEW.to_value AS to_value WHERE NEW.kind = 'status') AS d "
                "WHERE true GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE SET created = "
                "reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active; END"
            ),
        ],
        "rebuild": [
            "DELETE FROM reports_activityslot",
            (
                "INSERT INTO reports_activityslot (slot, created, created_low, created_normal, "
                "created_high, created_urgent, still_open, still_active, still_awaiting, into_closed, "
                "out_of_closed, into_active, out_of_active) SELECT slot, SUM(CASE WHEN true THEN n ELSE "
                "0 END), SUM(CASE WHEN priority = 'low' THEN n ELSE 0 END), SUM(CASE WHEN priority = "
                "'normal' THEN n ELSE 0 END), SUM(CASE WHEN priority = 'high' THEN n ELSE 0 END), "
                "SUM(CASE WHEN priority = 'urgent' THEN n ELSE 0 END), SUM(CASE WHEN status = 'open' "
                "THEN n ELSE 0 END), SUM(CASE WHEN status = 'active' THEN n ELSE 0 END), SUM(CASE WHEN "
                "status <> 'closed' AND first_response_at IS NULL THEN n ELSE 0 END), 0, 0, 0, 0 FROM "
                "(SELECT datetime((CAST(strftime('%s', substr(created_at, 1, 16)) AS INTEGER) / 900) * "
                "900, 'unixepoch') AS slot, 1 AS n, priority, status, first_response_at FROM "
                "tickets_ticket WHERE true) AS d WHERE true GROUP BY slot ORDER BY slot ON CONFLICT "
                "(slot) DO UPDATE SET created = reports_activityslot.created + excluded.created, "
                "created_low = reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active"
            ),
            (
                "INSERT INTO reports_activityslot (slot, created, created_low, created_normal, "
                "created_high, created_urgent, still_open, still_active, still_awaiting, into_closed, "
                "out_of_closed, into_active, out_of_active) SELECT slot, 0, 0, 0, 0, 0, 0, 0, 0, "
                "SUM(CASE WHEN to_value = 'closed' THEN n ELSE 0 END), SUM(CASE WHEN from_value = "
                "'closed' THEN n ELSE 0 END), SUM(CASE WHEN to_value = 'active' THEN n ELSE 0 END), "
                "SUM(CASE WHEN from_value = 'active' THEN n ELSE 0 END) FROM (SELECT "
                "datetime((CAST(strftime('%s', substr(created_at, 1, 16)) AS INTEGER) / 900) * 900, "
                "'unixepoch') AS slot, 1 AS n, from_value, to_value FROM tickets_ticketevent WHERE kind "
                "= 'status') AS d WHERE true GROUP BY slot ORDER BY slot ON CONFLICT (slot) DO UPDATE "
                "SET created = reports_activityslot.created + excluded.created, created_low = "
                "reports_activityslot.created_low + excluded.created_low, created_normal = "
                "reports_activityslot.created_normal + excluded.created_normal, created_high = "
                "reports_activityslot.created_high + excluded.created_high, created_urgent = "
                "reports_activityslot.created_urgent + excluded.created_urgent, still_open = "
                "reports_activityslot.still_open + excluded.still_open, still_active = "
                "reports_activityslot.still_active + excluded.still_active, still_awaiting = "
                "reports_activityslot.still_awaiting + excluded.still_awaiting, into_closed = "
                "reports_activityslot.into_closed + excluded.into_closed, out_of_closed = "
                "reports_activityslot.out_of_closed + excluded.out_of_closed, into_active = "
                "reports_activityslot.into_active + excluded.into_active, out_of_active = "
                "reports_activityslot.out_of_active + excluded.out_of_active"
            ),
        ],
        "uninstall": [
            "DROP TRIGGER IF EXISTS reports_tickets_inserted",
            "DROP TRIGGER IF EXISTS reports_tickets_deleted",
            "DROP TRIGGER IF EXISTS reports_ticket_moved",
            "DROP TRIGGER IF EXISTS reports_events_inserted",
            "DROP TRIGGER IF EXISTS reports_events_deleted",
            "DROP TRIGGER IF EXISTS reports_event_moved",
        ],
    },
}


def run(schema_editor, *steps: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise NotImplementedError(f"The report counts have no triggers for {vendor}.")
    # No parameters: the statements hold SQLite's strftime('%s', ...) as it is.
    with schema_editor.connection.cursor() as cursor:
        for step in steps:
            for statement in STATEMENTS[vendor][step]:
                cursor.execute(statement)


def install(apps, schema_editor):
    run(schema_editor, "install", "rebuild")


def uninstall(apps, schema_editor):
    run(schema_editor, "uninstall")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        # The triggers go first: SQLite adds a column by rebuilding the table (a copy renamed
        # into place), and a rename checks every trigger that names the table, which the
        # rebuild has just dropped ("error in trigger ...: no such table").
        migrations.RunPython(uninstall, migrations.RunPython.noop, elidable=False),
        migrations.AddField(
            model_name="activityslot",
            name="still_open",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="activityslot",
            name="still_active",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="activityslot",
            name="still_awaiting",
            field=models.IntegerField(default=0),
        ),
        # The triggers now keep the new counts too (a status change or a first response moves a
        # ticket between them): replaced, and everything recounted. Going back removes them
        # (this code's triggers write the columns going back removes); the older code installs
        # its own at its next `migrate` (ReportsConfig.ready).
        migrations.RunPython(install, uninstall, elidable=False),
    ]
