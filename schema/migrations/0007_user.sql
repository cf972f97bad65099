-- 0007_user: the writes of ddns-user (accounts, email tokens, public keys).
--
-- ddns-user validates and normalizes every input before calling these (the
-- email lower-cased, the password hashed, tokens as their SHA-256, keys in
-- their canonical public JWK). Errors:
--   DDN01  no such key of this user (404)
--   DDT01  the email token is unknown, used or expired
--   DDU01  the user does not exist or is disabled
--   DDL02  the user's key limit is reached
-- and 23505 api_keys_kid_key (the key is registered already).

-- Only the newest email token of a purpose is valid: older ones end when a
-- new one is made.
CREATE FUNCTION user_token_put(p_user bigint, p_purpose text, p_hash bytea, p_ttl interval)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE email_tokens SET used_at = now()
	WHERE user_id = p_user AND purpose = p_purpose AND used_at IS NULL;
	INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at)
	VALUES (p_user, p_purpose, p_hash, now() + p_ttl);
END
$$;

-- A sign-up that meets an unverified account of the same email "contests"
-- it: two people chose a password for one mailbox, and only the mailbox
-- owner can tell which of them is real. Verifying a contested account
-- therefore makes neither password usable and asks for a reset by email
-- (user_verify), so nobody can sign up first with another person's address
-- and wait for its owner to verify it.
ALTER TABLE users ADD COLUMN contested boolean NOT NULL DEFAULT false;

-- A sign-up: a new unverified account with its verification token, or for
-- an unverified account of this email, a new token (the account contested).
-- Returns the id of the account the token belongs to; NULL for a verified
-- account (nothing to send). The caller answers the same in every case.
CREATE FUNCTION user_signup(p_email text, p_password_hash text, p_token_hash bytea,
			    p_ttl interval) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	uid bigint;
	verified boolean;
BEGIN
	INSERT INTO users (email, password_hash) VALUES (p_email, p_password_hash)
	ON CONFLICT (lower(email)) DO NOTHING
	RETURNING id INTO uid;
	IF uid IS NULL THEN
		SELECT id, verified_at IS NOT NULL INTO uid, verified FROM users
		WHERE lower(email) = lower(p_email) AND status = 'active'
		FOR UPDATE;
		IF uid IS NULL OR verified THEN
			RETURN NULL;
		END IF;
		UPDATE users SET contested = true WHERE id = uid;
	END IF;
	PERFORM user_token_put(uid, 'verify', p_token_hash, p_ttl);
	RETURN uid;
END
$$;

-- A new token of @p_purpose for the active account of @p_email: 'verify'
-- only while unverified. NULL when there is nothing to send.
CREATE FUNCTION user_token_new(p_email text, p_purpose text, p_token_hash bytea, p_ttl interval)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	uid bigint;
BEGIN
	SELECT id INTO uid FROM users
	WHERE lower(email) = lower(p_email) AND status = 'active'
	  AND (p_purpose <> 'verify' OR verified_at IS NULL)
	FOR UPDATE;
	IF uid IS NOT NULL THEN
		PERFORM user_token_put(uid, p_purpose, p_token_hash, p_ttl);
	END IF;
	RETURN uid;
END
$$;

-- Uses a token once: the owner's id, or DDT01.
CREATE FUNCTION user_token_use(p_purpose text, p_token_hash bytea) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	uid bigint;
BEGIN
	UPDATE email_tokens SET used_at = now()
	WHERE token_hash = p_token_hash AND purpose = p_purpose AND used_at IS NULL
	  AND expires_at > now()
	RETURNING user_id INTO uid;
	IF uid IS NULL THEN
		RAISE EXCEPTION 'the token is unknown, used or expired' USING ERRCODE = 'DDT01';
	END IF;
	RETURN uid;
END
$$;

-- Verifies the account of a token. A contested account (see user_signup)
-- loses its password and gets @p_reset_hash as a password reset token;
-- returns {"id", "email", "reset": whether that happened}.
CREATE FUNCTION user_verify(p_token_hash bytea, p_reset_hash bytea, p_ttl interval)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	uid bigint := user_token_use('verify', p_token_hash);
	u users;
BEGIN
	UPDATE users SET verified_at = coalesce(verified_at, now()),
			 password_hash = CASE WHEN contested THEN '!' ELSE password_hash END,
			 contested = false
	WHERE id = uid
	RETURNING * INTO u;
	IF u.password_hash = '!' THEN
		PERFORM user_token_put(uid, 'password_reset', p_reset_hash, p_ttl);
	END IF;
	RETURN jsonb_build_object('id', uid, 'email', u.email, 'reset', u.password_hash = '!');
END
$$;

-- A new password for an active account; reset links still out end with it.
CREATE FUNCTION user_password_set(p_user bigint, p_password_hash text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE users SET password_hash = p_password_hash WHERE id = p_user AND status = 'active';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % does not exist or is disabled', p_user USING ERRCODE = 'DDU01';
	END IF;
	UPDATE email_tokens SET used_at = now()
	WHERE user_id = p_user AND purpose = 'password_reset' AND used_at IS NULL;
END
$$;

-- A password reset: the new hash; following the link proves the mailbox, so
-- the account counts as verified too. Returns the user's id and email.
CREATE FUNCTION user_password_reset(p_token_hash bytea, p_password_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	uid bigint := user_token_use('password_reset', p_token_hash);
	em text;
BEGIN
	UPDATE users SET password_hash = p_password_hash,
			 verified_at = coalesce(verified_at, now()), contested = false
	WHERE id = uid AND status = 'active'
	RETURNING email INTO em;
	IF em IS NULL THEN
		RAISE EXCEPTION 'user % does not exist or is disabled', uid USING ERRCODE = 'DDU01';
	END IF;
	RETURN jsonb_build_object('id', uid, 'email', em);
END
$$;

CREATE FUNCTION user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', u.id, 'email', u.email,
		'verified', u.verified_at IS NOT NULL, 'created_at', api_time(u.created_at),
		'domains', (SELECT count(*) FROM domains WHERE user_id = u.id),
		'keys', (SELECT count(*) FROM api_keys WHERE user_id = u.id AND revoked_at IS NULL))
$$;

CREATE FUNCTION user_key_json(k api_keys) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('kid', k.kid, 'name', k.name, 'algorithm', k.algorithm,
		'public_jwk', k.public_jwk, 'created_at', api_time(k.created_at),
		'last_used_at', api_time(k.last_used_at))
$$;

CREATE FUNCTION user_key_add(p_user bigint, p_kid text, p_name text, p_alg text, p_jwk jsonb,
			     p_limit integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	k api_keys;
	n integer;
BEGIN
	PERFORM api_lock_user(p_user);
	SELECT count(*) INTO n FROM api_keys WHERE user_id = p_user AND revoked_at IS NULL;
	IF n >= p_limit THEN
		RAISE EXCEPTION 'limit of % keys reached', p_limit USING ERRCODE = 'DDL02';
	END IF;
	INSERT INTO api_keys (kid, user_id, name, algorithm, public_jwk)
	VALUES (p_kid, p_user, p_name, p_alg, p_jwk)
	RETURNING * INTO k;
	PERFORM api_audit(p_user, 'session', NULL, NULL, 'key.add', NULL, NULL,
			  jsonb_build_object('kid', k.kid, 'name', k.name, 'algorithm', k.algorithm));
	RETURN user_key_json(k);
END
$$;

-- Revokes a key (the row stays: its kid can never be registered again).
CREATE FUNCTION user_key_revoke(p_user bigint, p_kid text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE api_keys SET revoked_at = now()
	WHERE user_id = p_user AND kid = p_kid AND revoked_at IS NULL;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no key "%" of this user', p_kid USING ERRCODE = 'DDN01';
	END IF;
	PERFORM api_audit(p_user, 'session', NULL, NULL, 'key.revoke', NULL,
			  jsonb_build_object('kid', p_kid), NULL);
END
$$;

-- Deletes an account with its domains, records (each logged in changes by
-- its trigger), keys and tokens. Returns {"kids": [the keys that were in
-- use], "changes": [[id, zone_id, name], ...]} for the events after commit.
-- The audit entry stays, without its user.
CREATE FUNCTION user_delete(p_user bigint, p_addr inet, p_ua text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	kids jsonb;
	doms jsonb;
BEGIN
	PERFORM api_lock_user(p_user);
	SELECT coalesce(jsonb_agg(kid ORDER BY kid), '[]') INTO kids
	FROM api_keys WHERE user_id = p_user AND revoked_at IS NULL;
	SELECT coalesce(jsonb_agg(name ORDER BY name), '[]') INTO doms
	FROM domains WHERE user_id = p_user;
	PERFORM api_audit(p_user, 'session', p_addr, p_ua, 'account.delete', NULL,
			  jsonb_build_object('domains', doms, 'keys', kids), NULL);
	DELETE FROM users WHERE id = p_user;
	RETURN jsonb_build_object('kids', kids, 'changes', api_tx_changes());
END
$$;
