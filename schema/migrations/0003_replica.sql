-- 0003_replica: what the DNS replica (ddns-cache and ddns-backend) needs.

-- Is there anything below a name (an empty non-terminal, or a name with
-- children)? A range scan on the reversed names: "x.a.b." reversed starts
-- with ".b.a." reversed plus ".", for names of the DNS alphabet ('~' sorts
-- after every character a name may contain).
CREATE INDEX records_name_rev ON records (reverse(name) text_pattern_ops);

-- The SOA serial of a zone is max(zones.serial, the highest change of the zone).
CREATE INDEX changes_zone_id_id ON changes (zone_id, id);

-- ddns-cache re-reads the changes of transactions that were still in progress
-- in its previous snapshot (ids are taken at insert, commits come in their own order).
CREATE INDEX changes_xid ON changes (xid);

-- The ancestors of @name strictly between it and @zone, nearest first:
-- dns_ancestors('a.b.c.z.', 'z.') = 'b.c.z.', 'c.z.'.
CREATE FUNCTION dns_ancestors(name text, zone text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT AS $$
	WITH RECURSIVE a(n) AS (
		SELECT substr(name, strpos(name, '.') + 1)
		WHERE length(name) > length(zone)
		UNION ALL
		SELECT substr(n, strpos(n, '.') + 1) FROM a WHERE length(n) > length(zone)
	)
	SELECT n FROM a WHERE length(n) > length(zone)
$$;

-- An upsert (INSERT ... ON CONFLICT DO UPDATE) of an existing CNAME met the
-- CNAME-alone check with its own twin: rows of the same type and content are
-- the unique constraint's business, not a second record at the name.
CREATE OR REPLACE FUNCTION records_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	zname text;
	dname text;
	dzone bigint;
BEGIN
	SELECT name INTO zname FROM zones WHERE id = NEW.zone_id;
	IF zname IS NOT NULL AND NOT (NEW.name = zname OR right(NEW.name, length(zname) + 1) = '.' || zname) THEN
		RAISE EXCEPTION 'record "%" is outside zone "%"', NEW.name, zname
			USING ERRCODE = 'check_violation', CONSTRAINT = 'records_name_in_zone';
	END IF;
	IF NEW.domain_id IS NOT NULL THEN
		SELECT name, zone_id INTO dname, dzone FROM domains WHERE id = NEW.domain_id;
		IF dname IS NOT NULL AND (dzone <> NEW.zone_id OR NOT (NEW.name = dname
			OR right(NEW.name, length(dname) + 1) = '.' || dname)) THEN
			RAISE EXCEPTION 'record "%" is outside domain "%"', NEW.name, dname
				USING ERRCODE = 'check_violation', CONSTRAINT = 'records_name_in_domain';
		END IF;
	END IF;
	-- a CNAME stands alone at its name (RFC 1034 3.6.2); the lock serializes
	-- concurrent writers of one name so that the check cannot race
	IF TG_OP = 'INSERT' OR NEW.name <> OLD.name OR NEW.type <> OLD.type THEN
		PERFORM pg_advisory_xact_lock(hashtextextended(NEW.name, 0));
		IF EXISTS (SELECT 1 FROM records r
			   WHERE r.name = NEW.name AND r.id <> NEW.id
			     AND (r.type = 'CNAME' OR NEW.type = 'CNAME')
			     AND NOT (r.type = NEW.type AND r.content = NEW.content)) THEN
			RAISE EXCEPTION 'a CNAME record at "%" cannot have other records', NEW.name
				USING ERRCODE = 'unique_violation', CONSTRAINT = 'records_cname_alone';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
