-- 0008_update_tokens: per-host update tokens for the dyndns2 protocol
-- (ddns-api's /nic/update). A token is 32 random bytes shown once; only its
-- SHA-256 is kept. It reaches one hostname (its domain), A and AAAA there,
-- and with "acme" also TXT at _acme-challenge.<host>.

CREATE TABLE update_tokens (
	id           bigserial PRIMARY KEY,
	domain_id    bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
	name         text CHECK (length(name) BETWEEN 1 AND 100),
	token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
	acme         boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	last_addr    inet,
	revoked_at   timestamptz
);
CREATE INDEX update_tokens_domain_id ON update_tokens (domain_id) WHERE revoked_at IS NULL;

CREATE FUNCTION api_update_token_json(t update_tokens) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', t.id, 'name', t.name, 'acme', t.acme,
		'created_at', api_time(t.created_at), 'last_used_at', api_time(t.last_used_at),
		'last_addr', host(t.last_addr))
$$;

-- A new token for the caller's domain @p_domain (DDN01 when not theirs;
-- DDL03 when it holds @p_limit live tokens already).
CREATE FUNCTION api_update_token_create(p_user bigint, p_domain text, p_name text,
					p_acme boolean, p_hash bytea, p_limit integer,
					p_actor text, p_addr inet, p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d domains;
	t update_tokens;
	n integer;
BEGIN
	PERFORM api_check_user(p_user);
	SELECT * INTO d FROM domains WHERE name = p_domain AND user_id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no domain "%" of this user', p_domain USING ERRCODE = 'DDN01';
	END IF;
	SELECT count(*) INTO n FROM update_tokens WHERE domain_id = d.id AND revoked_at IS NULL;
	IF n >= p_limit THEN
		RAISE EXCEPTION 'limit of % update tokens reached', p_limit USING ERRCODE = 'DDL03';
	END IF;
	INSERT INTO update_tokens (domain_id, name, token_hash, acme)
	VALUES (d.id, p_name, p_hash, p_acme)
	RETURNING * INTO t;
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'token.create', d.name, NULL,
			  jsonb_build_object('id', t.id, 'name', t.name, 'acme', t.acme));
	RETURN api_update_token_json(t);
END
$$;

-- Returns {} (a write of the API: no DNS change to announce).
CREATE FUNCTION api_update_token_revoke(p_user bigint, p_domain text, p_id bigint,
					p_actor text, p_addr inet, p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	t update_tokens;
BEGIN
	UPDATE update_tokens u SET revoked_at = now()
	FROM domains d
	WHERE u.id = p_id AND u.domain_id = d.id AND d.name = p_domain AND d.user_id = p_user
	  AND u.revoked_at IS NULL
	RETURNING u.* INTO t;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no update token % of this domain', p_id USING ERRCODE = 'DDN01';
	END IF;
	PERFORM api_audit(p_user, p_actor, p_addr, p_ua, 'token.revoke', p_domain,
			  jsonb_build_object('id', t.id, 'name', t.name), NULL);
	RETURN '{}'::jsonb;
END
$$;

-- What /nic/update needs of a host: its domain's owner (when it is a claimed
-- domain of an active user, and of @p_user unless that is NULL) and the
-- current addresses, one row; no row when it cannot be reached.
CREATE FUNCTION nic_state(p_host text, p_user bigint)
RETURNS TABLE (user_id bigint, a text[], aaaa text[])
LANGUAGE sql STABLE AS $$
	SELECT d.user_id,
	       coalesce(array_agg(r.content ORDER BY r.content) FILTER (WHERE r.type = 'A'), '{}'),
	       coalesce(array_agg(r.content ORDER BY r.content) FILTER (WHERE r.type = 'AAAA'), '{}')
	FROM domains d
	JOIN users u ON u.id = d.user_id AND u.status = 'active'
	LEFT JOIN records r ON r.domain_id = d.id AND r.name = d.name AND r.type IN ('A', 'AAAA')
	WHERE d.name = p_host AND (p_user IS NULL OR d.user_id = p_user)
	GROUP BY d.user_id
$$;
