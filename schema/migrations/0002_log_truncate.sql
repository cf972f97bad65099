-- 0002_log_truncate: TRUNCATE fires no row triggers, so a TRUNCATE of records
-- (directly, or cascaded from users, domains or zones) left no trace in the
-- change log, and a replica built from it kept serving the removed names.
-- Statement triggers log every name before it goes, like a DELETE would.
-- (The change log itself may still be truncated to prune it.)

CREATE FUNCTION records_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO changes (zone_id, name)
		SELECT DISTINCT zone_id, name FROM records ORDER BY zone_id, name;
	RETURN NULL;
END
$$;
CREATE TRIGGER records_log_truncate BEFORE TRUNCATE ON records
	FOR EACH STATEMENT EXECUTE FUNCTION records_log_truncate();

CREATE FUNCTION zones_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO changes (zone_id, name) SELECT id, name FROM zones ORDER BY id;
	RETURN NULL;
END
$$;
CREATE TRIGGER zones_log_truncate BEFORE TRUNCATE ON zones
	FOR EACH STATEMENT EXECUTE FUNCTION zones_log_truncate();
