-- 0004_cname_constraint: a CNAME stands alone, enforced by PostgreSQL itself.
--
-- records_check took one advisory lock per written row to make its CNAME
-- check race-free; locks are held to the end of the transaction, so a bulk
-- write (a zone import, 100,000 rows) ran out of lock table ("out of shared
-- memory"). An exclusion constraint and a partial unique index give the same
-- guarantee without locks; the trigger keeps its check for the clear message
-- in the common, unraced case.

-- btree_gist: '=' on text inside a GiST exclusion constraint (a trusted
-- extension: the database owner may create it)
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- no CNAME next to a record of another type at the same name
ALTER TABLE records ADD CONSTRAINT records_cname_exclusive
	EXCLUDE USING gist (name WITH =, (type = 'CNAME') WITH <>);

-- and at most one CNAME at a name
CREATE UNIQUE INDEX records_one_cname ON records (name) WHERE type = 'CNAME';

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
	-- a CNAME stands alone at its name (RFC 1034 3.6.2): this check gives the
	-- clear message; records_cname_exclusive and records_one_cname are the
	-- race-free guarantee
	IF TG_OP = 'INSERT' OR NEW.name <> OLD.name OR NEW.type <> OLD.type THEN
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
