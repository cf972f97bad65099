-- 0006_api: the writes of ddns-api, one function each.
--
-- Each write is one statement ("SELECT api_...(...)"), hence one transaction
-- and one round trip: the records change, the changes rows are appended by
-- the records triggers, and the audit_log row is written, all or nothing.
-- Each function returns a jsonb object with the result for the client and
-- "changes": [[id, zone_id, name], ...], the change-log rows of this
-- transaction, which ddns-api adds to the stream dns:changes after commit.
--
-- ddns-api validates and normalizes every input before calling these (names,
-- types, contents, TTLs); they enforce ownership, the rules across rows and
-- the limits, and answer with these SQLSTATEs:
--   DDN01  no such domain or record of this user (the API answers 404 and
--          never tells another user's data from none)
--   DDN02  no base zone for this name
--   DDN04  a claimed name is more than one label below a base zone
--   DDN03  an RRset's name is not at or below the domain
--   DDU01  the user does not exist or is disabled
--   DDQ01  the user's domain quota is reached
--   DDR01  the name is in use by the operator (zone, NS, glue, ...)
--   DDL01  the domain's record limit is reached
-- and the constraints' own: 23505 domains_name_key (name taken),
-- records_name_type_content_key (record exists), records_one_cname and
-- records_cname_alone, 23P01 records_cname_exclusive (CNAME conflicts).

-- Helpers are either simple SQL expressions that the planner inlines (they
-- must not claim to be less volatile than their body, or it will not) or
-- PL/pgSQL, whose statements' plans are kept for the session: a SQL-language
-- function that cannot be inlined is parsed and planned at every call, which
-- was most of the database's work per API call.

-- A domain's records by name and type (RRsets); replaces records_domain_id.
CREATE INDEX records_domain_name_type ON records (domain_id, name, type);
DROP INDEX records_domain_id;

-- records_check looks the zone and the domain up for every row written;
-- an update that keeps the name, the zone, the domain and the type (a new
-- address, a new TTL: what dynamic DNS clients send) cannot break what it
-- checks, so the update trigger fires only when one of them changes.
DROP TRIGGER records_check ON records;
CREATE TRIGGER records_check BEFORE INSERT ON records
	FOR EACH ROW EXECUTE FUNCTION records_check();
CREATE TRIGGER records_check_update BEFORE UPDATE ON records
	FOR EACH ROW
	WHEN ((OLD.name, OLD.zone_id, OLD.domain_id, OLD.type)
	      IS DISTINCT FROM (NEW.name, NEW.zone_id, NEW.domain_id, NEW.type))
	EXECUTE FUNCTION records_check();

-- RFC 3339 in UTC with milliseconds: "2026-11-27T09:40:00.123Z".
CREATE FUNCTION api_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A record as the API shows it.
CREATE FUNCTION api_record_json(r records, domain text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', r.id, 'domain', domain, 'name', r.name, 'type', r.type,
		'content', r.content, 'ttl', r.ttl, 'created_at', api_time(r.created_at),
		'updated_at', api_time(r.updated_at))
$$;

-- The change-log rows this transaction appended.
CREATE FUNCTION api_tx_changes() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_array(id, zone_id, name) ORDER BY id), '[]')
		FROM changes WHERE xid = pg_current_xact_id_if_assigned());
END
$$;

CREATE FUNCTION api_audit(p_user bigint, p_actor text, p_addr inet, p_ua text, p_action text,
			  p_domain text, p_old jsonb, p_new jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (user_id, actor, client_addr, user_agent, action, domain_name,
			       old_value, new_value)
	VALUES (p_user, p_actor, p_addr, p_ua, p_action, p_domain, p_old, p_new);
END
$$;

-- The active user, locked: a user's claims and releases run one at a time,
-- so the quota cannot be overrun by concurrent requests.
CREATE FUNCTION api_lock_user(p_user bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE id = p_user AND status = 'active' FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % does not exist or is disabled', p_user USING ERRCODE = 'DDU01';
	END IF;
END
$$;

-- The user must be active for every write. No row lock: a lock would write
-- the user's row on every request (and FOR KEY SHARE would not hold off a
-- disabling anyway, a non-key update); a deletion cascades through the
-- domain row, which the writes lock.
CREATE FUNCTION api_check_user(p_user bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE id = p_user AND status = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % does not exist or is disabled', p_user USING ERRCODE = 'DDU01';
	END IF;
END
$$;

-- The caller's domain that @p_name is at or below, locked (FOR UPDATE when
-- @p_lock: the record limit and rrset replacements of one domain are
-- serialized).
CREATE FUNCTION api_user_domain(p_user bigint, p_name text, p_lock boolean) RETURNS domains
LANGUAGE plpgsql AS $$
DECLARE
	d domains;
BEGIN
	IF p_lock THEN
		SELECT * INTO d FROM domains
		WHERE user_id = p_user
		  AND (p_name = name OR right(p_name, length(name) + 1) = '.' || name)
		FOR UPDATE;
	ELSE
		SELECT * INTO d FROM domains
		WHERE user_id = p_user
		  AND (p_name = name OR right(p_name, length(name) + 1) = '.' || name);
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no domain of this user holds "%"', p_name USING ERRCODE = 'DDN01';
	END IF;
	RETURN d;
END
$$;

CREATE FUNCTION api_domain_json(d domains) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('name', d.name,
		'zone', (SELECT name FROM zones WHERE id = d.zone_id),
		'created_at', api_time(d.created_at),
		'record_count', (SELECT count(*) FROM records WHERE domain_id = d.id));
END
$$;

CREATE FUNCTION api_domain_claim(p_user bigint, p_name text, p_quota integer, p_actor text,
				 p_addr inet, p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	z zones;
	d domains;
	n integer;
BEGIN
	SELECT * INTO z FROM zones
	WHERE name = substr(p_name, strpos(p_name, '.') + 1) AND kind = 'base';
	IF NOT FOUND THEN
		IF EXISTS (SELECT 1 FROM zones
			   WHERE kind = 'base' AND right(p_name, length(name) + 1) = '.' || name) THEN
			RAISE EXCEPTION '"%" is more than one label below a base zone', p_name
				USING ERRCODE = 'DDN04';
		END IF;
		RAISE EXCEPTION 'no base zone holds "%"', p_name USING ERRCODE = 'DDN02';
	END IF;
	PERFORM api_lock_user(p_user);
	-- names the operator uses (NS hosts, glue, sub-zones) cannot be claimed
	IF EXISTS (SELECT 1 FROM records
		   WHERE domain_id IS NULL
		     AND (reverse(name) = reverse(p_name)
			  OR reverse(name) LIKE reverse(p_name) || '.%'))
	   OR EXISTS (SELECT 1 FROM zones
		      WHERE name = p_name OR right(name, length(p_name) + 1) = '.' || p_name) THEN
		RAISE EXCEPTION '"%" is in use by the operator', p_name USING ERRCODE = 'DDR01';
	END IF;
	SELECT count(*) INTO n FROM domains WHERE user_id = p_user;
	IF n >= p_quota THEN
		RAISE EXCEPTION 'quota of % domains reached', p_quota USING ERRCODE = 'DDQ01';
	END IF;
	INSERT INTO domains (zone_id, user_id, name) VALUES (z.id, p_user, p_name)
	RETURNING * INTO d;
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'domain.claim', d.name, NULL,
			  jsonb_build_object('name', d.name, 'zone', z.name));
	RETURN jsonb_build_object('domain', api_domain_json(d), 'changes', api_tx_changes());
END
$$;

CREATE FUNCTION api_domain_release(p_user bigint, p_name text, p_actor text, p_addr inet,
				   p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d domains;
	old jsonb;
BEGIN
	PERFORM api_lock_user(p_user);
	SELECT * INTO d FROM domains WHERE name = p_name AND user_id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no domain "%" of this user', p_name USING ERRCODE = 'DDN01';
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object('name', r.name, 'type', r.type,
			'content', r.content, 'ttl', r.ttl) ORDER BY r.name, r.type, r.content), '[]')
	INTO old FROM records r WHERE r.domain_id = d.id;
	-- the records go with it (ON DELETE CASCADE), each logged by its trigger
	DELETE FROM domains WHERE id = d.id;
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'domain.release', d.name,
			  jsonb_build_object('name', d.name, 'records', old), NULL);
	RETURN jsonb_build_object('changes', api_tx_changes());
END
$$;

CREATE FUNCTION api_record_create(p_user bigint, p_name text, p_type text, p_content text,
				  p_ttl integer, p_limit integer, p_actor text, p_addr inet,
				  p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d domains;
	r records;
	n integer;
	rec jsonb;
BEGIN
	PERFORM api_check_user(p_user);
	d := api_user_domain(p_user, p_name, true);
	SELECT count(*) INTO n FROM records WHERE domain_id = d.id;
	IF n >= p_limit THEN
		RAISE EXCEPTION 'limit of % records reached', p_limit USING ERRCODE = 'DDL01';
	END IF;
	INSERT INTO records (zone_id, domain_id, name, type, content, ttl)
	VALUES (d.zone_id, d.id, p_name, p_type, p_content, p_ttl)
	RETURNING * INTO r;
	rec := api_record_json(r, d.name);
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'record.create', d.name, NULL, rec);
	RETURN jsonb_build_object('record', rec, 'changes', api_tx_changes());
END
$$;

-- Replaces every field of a record (PUT; PATCH merges first). The new name
-- must be under one of the caller's domains; the record may move to another
-- of them (within that domain's record limit; audited under both). Nothing
-- is written when nothing differs.
CREATE FUNCTION api_record_update(p_user bigint, p_id bigint, p_name text, p_type text,
				  p_content text, p_ttl integer, p_limit integer, p_actor text,
				  p_addr inet, p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	od domains;
	d domains;
	r records;
	n integer;
	old jsonb;
	rec jsonb;
BEGIN
	PERFORM api_check_user(p_user);
	SELECT rr.* INTO r FROM records rr JOIN domains dd ON dd.id = rr.domain_id
	WHERE rr.id = p_id AND dd.user_id = p_user FOR UPDATE OF rr;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no record % of this user', p_id USING ERRCODE = 'DDN01';
	END IF;
	SELECT * INTO od FROM domains WHERE id = r.domain_id;
	old := api_record_json(r, od.name);
	IF (r.name, r.type, r.content, r.ttl) = (p_name, p_type, p_content, p_ttl) THEN
		RETURN jsonb_build_object('record', old, 'changes', '[]'::jsonb);
	END IF;
	IF p_name = od.name OR right(p_name, length(od.name) + 1) = '.' || od.name THEN
		d := od;
	ELSE
		d := api_user_domain(p_user, p_name, true);
		SELECT count(*) INTO n FROM records WHERE domain_id = d.id;
		IF n >= p_limit THEN
			RAISE EXCEPTION 'limit of % records reached', p_limit USING ERRCODE = 'DDL01';
		END IF;
	END IF;
	UPDATE records SET name = p_name, type = p_type, content = p_content, ttl = p_ttl,
			   domain_id = d.id, zone_id = d.zone_id
	WHERE id = p_id RETURNING * INTO r;
	rec := api_record_json(r, d.name);
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'record.update', d.name, old, rec);
	IF d.id <> od.id THEN
		PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'record.update', od.name, old, rec);
	END IF;
	RETURN jsonb_build_object('record', rec, 'changes', api_tx_changes());
END
$$;

CREATE FUNCTION api_record_delete(p_user bigint, p_id bigint, p_actor text, p_addr inet,
				  p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	r records;
	dname text;
BEGIN
	PERFORM api_check_user(p_user);
	DELETE FROM records rr USING domains dd
	WHERE rr.id = p_id AND dd.id = rr.domain_id AND dd.user_id = p_user
	RETURNING rr.* INTO r;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no record % of this user', p_id USING ERRCODE = 'DDN01';
	END IF;
	SELECT name INTO dname FROM domains WHERE id = r.domain_id;
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'record.delete', dname,
			  api_record_json(r, dname), NULL);
	RETURN jsonb_build_object('changes', api_tx_changes());
END
$$;

-- The RRsets of a domain as the API shows them, for the (name, type) pairs of
-- @p_sets (a set without records shows the ttl asked for).
CREATE FUNCTION api_rrsets_json(p_domain bigint, p_sets jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('name', e.v->>'name', 'type', e.v->>'type',
			'ttl', coalesce(x.ttl, (e.v->>'ttl')::integer), 'records', coalesce(x.records, '[]'))
		ORDER BY e.ord), '[]')
	FROM jsonb_array_elements(p_sets) WITH ORDINALITY AS e(v, ord)
	LEFT JOIN LATERAL (
		SELECT min(r.ttl) AS ttl, jsonb_agg(r.content ORDER BY r.content) AS records
		FROM records r
		WHERE r.domain_id = p_domain AND r.name = e.v->>'name' AND r.type = e.v->>'type'
	) x ON true);
END
$$;

-- Replaces the RRsets named in @p_sets ([{"name", "type", "ttl", "records":
-- [content, ...]}], distinct (name, type) pairs, names at or below the
-- domain, contents canonical) in one transaction: removals first, so that
-- an A set can give way to a CNAME in the same request; a content that goes
-- is rewritten in place to one that comes where it can (a changed address
-- is one UPDATE, one changes row), the rest deleted and inserted. An empty "records"
-- deletes the set. Nothing is written, and no audit entry, when every set
-- already holds exactly what is asked ("changed": false).
CREATE FUNCTION api_rrsets_replace(p_user bigint, p_domain text, p_sets jsonb, p_limit integer,
				   p_actor text, p_addr inet, p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d domains;
	s record;
	n integer;
	changed boolean := false;
	inserted boolean := false; /* only then can the record limit be passed */
	old jsonb;
	new jsonb;
BEGIN
	PERFORM api_check_user(p_user);
	SELECT * INTO d FROM domains WHERE name = p_domain AND user_id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no domain "%" of this user', p_domain USING ERRCODE = 'DDN01';
	END IF;
	old := api_rrsets_json(d.id, p_sets);
	FOR s IN SELECT * FROM jsonb_to_recordset(p_sets) AS x(name text, type text, ttl integer,
								records text[])
	LOOP
		IF NOT (s.name = d.name OR right(s.name, length(d.name) + 1) = '.' || d.name) THEN
			RAISE EXCEPTION '"%" is not at or below "%"', s.name, d.name
				USING ERRCODE = 'DDN03';
		END IF;
		-- a record whose content goes is given a new content of the set
		-- when there is one (an address that changed: one row, one change)
		WITH gone AS (
			SELECT id, row_number() OVER (ORDER BY id) AS k FROM records
			WHERE domain_id = d.id AND name = s.name AND type = s.type
			  AND content <> ALL (s.records)
		), coming AS (
			SELECT c, row_number() OVER (ORDER BY c) AS k
			FROM unnest(s.records) AS c
			WHERE NOT EXISTS (SELECT 1 FROM records r
					  WHERE r.domain_id = d.id AND r.name = s.name
					    AND r.type = s.type AND r.content = c)
		)
		UPDATE records r SET content = coming.c, ttl = s.ttl
		FROM gone JOIN coming USING (k) WHERE r.id = gone.id;
		GET DIAGNOSTICS n = ROW_COUNT;
		changed := changed OR n > 0;
		DELETE FROM records
		WHERE domain_id = d.id AND name = s.name AND type = s.type
		  AND content <> ALL (s.records);
		GET DIAGNOSTICS n = ROW_COUNT;
		changed := changed OR n > 0;
	END LOOP;
	FOR s IN SELECT * FROM jsonb_to_recordset(p_sets) AS x(name text, type text, ttl integer,
								records text[])
	LOOP
		UPDATE records SET ttl = s.ttl
		WHERE domain_id = d.id AND name = s.name AND type = s.type AND ttl <> s.ttl;
		GET DIAGNOSTICS n = ROW_COUNT;
		changed := changed OR n > 0;
		INSERT INTO records (zone_id, domain_id, name, type, content, ttl)
		SELECT d.zone_id, d.id, s.name, s.type, c, s.ttl
		FROM unnest(s.records) AS c
		WHERE NOT EXISTS (SELECT 1 FROM records r
				  WHERE r.domain_id = d.id AND r.name = s.name
				    AND r.type = s.type AND r.content = c);
		GET DIAGNOSTICS n = ROW_COUNT;
		changed := changed OR n > 0;
		inserted := inserted OR n > 0;
	END LOOP;
	IF NOT changed THEN
		RETURN jsonb_build_object('changed', false, 'rrsets', old, 'changes', '[]'::jsonb);
	END IF;
	IF inserted THEN
		SELECT count(*) INTO n FROM records WHERE domain_id = d.id;
		IF n > p_limit THEN
			RAISE EXCEPTION 'limit of % records reached', p_limit USING ERRCODE = 'DDL01';
		END IF;
	END IF;
	-- the sets now hold exactly what was asked: no need to read them back
	SELECT jsonb_agg(jsonb_build_object('name', e.v->>'name', 'type', e.v->>'type',
			'ttl', (e.v->>'ttl')::integer,
			'records', (SELECT coalesce(jsonb_agg(c ORDER BY c), '[]')
				    FROM jsonb_array_elements_text(e.v->'records') AS c))
		ORDER BY e.ord)
	INTO new FROM jsonb_array_elements(p_sets) WITH ORDINALITY AS e(v, ord);
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'rrsets.replace', d.name, old, new);
	RETURN jsonb_build_object('changed', true, 'rrsets', new, 'changes', api_tx_changes());
END
$$;
